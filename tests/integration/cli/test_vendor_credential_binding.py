"""A vendor credential is bound to the origins ``put-vendor`` stored it for: registering a server (``servers add``,
or ``steward apply``) that pairs it with another URL or host fails with a message naming the rule and the command
that binds it again, the registry is unchanged, the refusal is audited, and the other destination never receives a
request. Against moto (the secret, the registry, the audit) and the real egress service in process, in front of a
fake vendor on loopback HTTPS answering as ``127.0.0.1`` and as ``localhost`` (two origins of one server: without
the binding, the credential would reach it under either name)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from mcp_steward.adapters.egress_invoker import EgressInvoker, RoutingInvoker
from mcp_steward.domain.egress_policy import EgressPolicy
from mcp_steward.domain.names import ServerName
from mcp_steward.domain.registry import ServerRecord
from mcp_steward.egress.credentials import CredentialCache, secrets_manager_source
from mcp_steward.egress.service import EgressService
from mcp_steward.egress.transport import ssl_context
from tests.conftest import aws_client
from tests.integration.cli.conftest import Plane
from tests.tls import TlsFiles, make_loopback_tls
from tests.unit.egress.fake_vendor import VendorState, serve

pytestmark = pytest.mark.moto

PREFIX = "steward-local/vendor/"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_loopback_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def vendor(tls: TlsFiles) -> Iterator[tuple[int, VendorState]]:
    state = VendorState(token=f"tok-{uuid.uuid4().hex}")
    with serve(tls, state) as url:
        yield int(url.rsplit(":", 1)[1]), state


class InProcessEgress:
    """The egress function as the CLI invokes it, run in process: credentials from moto's Secrets Manager."""

    def __init__(self, moto_url: str, tls: TlsFiles, port: int) -> None:
        self._client = aws_client("secretsmanager", moto_url)
        local = [f"https://127.0.0.1:{port}", f"https://localhost:{port}"]
        self.service = EgressService(
            EgressPolicy.of(local_origins=local),
            CredentialCache(secrets_manager_source(self._client)),
            secret_prefix=PREFIX,
            ssl_context=ssl_context(str(tls.ca_file)),
        )

    def invoke(
        self, server: ServerRecord, envelope: dict[str, Any], *, deadline_ms: int, version: str | None = None
    ) -> dict[str, Any]:
        return asyncio.run(self.service.handle(envelope))

    def close(self) -> None:
        self._client.close()


@pytest.fixture
def steward(
    plane: Plane, moto_url: str, tls: TlsFiles, vendor: tuple[int, VendorState], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Plane]:
    """The plane, its CLI listing vendor servers through the in-process egress."""
    egress = InProcessEgress(moto_url, tls, vendor[0])
    invoker = RoutingInvoker(plane.target.invoker, EgressInvoker(egress, "steward-local-egress", 10))
    monkeypatch.setattr("mcp_steward.cli.main._target", lambda args: replace(plane.target, invoker=invoker))
    try:
        yield plane
    finally:
        egress.close()


#: What one registration of the fake vendor (tools only) sends it: server/discover, then tools/list.
PER_REGISTRATION = 2


def _put_vendor(plane: Plane, tmp_path: Path, token: str, name: str, *origins: str) -> None:
    path = tmp_path / f"token-{uuid.uuid4().hex[:6]}"
    path.write_text(token)
    plane.ok("secrets", "put-vendor", name, "--value-file", str(path), *origins)


def _refusals(plane: Plane) -> list[dict[str, Any]]:
    return [r.detail for r in plane.admin_records() if r.action == "servers.add_refused"]


def test_a_credential_paired_with_another_url_is_refused_and_nothing_changes(
    steward: Plane, tmp_path: Path, vendor: tuple[int, VendorState]
) -> None:
    port, state = vendor
    legit, other = f"https://127.0.0.1:{port}", f"https://localhost:{port}"
    secret = f"{PREFIX}weather"
    # GIVEN the weather credential stored for the weather vendor's origin, and weather registered with it
    _put_vendor(steward, tmp_path, state.token, "weather", "--origin", f"{legit}/mcp")
    assert "weather__echo  pending" in steward.ok(
        "servers", "add", "weather", "--url", f"{legit}/mcp", "--secret", secret
    )
    assert len(state.seen_auth) == PER_REGISTRATION
    before = steward.snapshot()

    # WHEN an admin registers another server at another origin with weather's credential
    code, out, err = steward.run("servers", "add", "collector", "--url", f"{other}/mcp", "--secret", secret)

    # THEN it fails with a message naming the rule and what to run, and the token is nowhere in it
    assert code == 1, err
    assert f"could not list the tools of collector: The vendor credential {secret} was not stored for {other}" in err
    assert "(egress rule credential_origin)" in err
    assert f"steward secrets put-vendor weather --origin {other} --value-file FILE" in err
    assert state.token not in out + err
    # AND the other origin received nothing, the registry is unchanged, and the audit records the refusal
    assert len(state.seen_auth) == PER_REGISTRATION
    assert ServerName("collector") not in steward.target.registry.catalog().servers
    refused = _refusals(steward)
    assert refused == [
        {
            "server": "collector",
            "kind": "vendor",
            "url": f"{other}/mcp",
            "allowed_hosts": ["localhost"],
            "secret_id": secret,
            "rule": "credential_origin",
        }
    ]
    assert [k for k in steward.snapshot() if steward.snapshot()[k] != before[k]] == ["audit"]

    # AND the same for moving weather itself elsewhere, or widening its hosts, by command or by file
    moved = steward.run("servers", "add", "weather", "--url", f"{other}/mcp", "--secret", secret)
    widened = steward.run(
        "servers", "add", "weather", "--url", f"{legit}/mcp", "--secret", secret, "--allow-host", "localhost"
    )
    document = {
        "apiVersion": "steward/v1",
        "servers": {"weather": {"url": f"{other}/mcp", "secret": secret, "tools": {"weather__echo": {}}}},
    }
    (tmp_path / "steward.yaml").write_text(yaml.safe_dump(document))
    applied = steward.run("apply", "-f", str(tmp_path / "steward.yaml"))
    for code, _, err in (moved, widened, applied):
        assert code == 1 and "credential_origin" in err, err
    assert "was not stored for localhost" in widened[2]
    assert steward.target.registry.catalog().servers[ServerName("weather")].url == f"{legit}/mcp"
    assert len(state.seen_auth) == PER_REGISTRATION
    assert [r["rule"] for r in _refusals(steward)] == ["credential_origin"] * 4

    # WHEN the credential's holder stores it again for the new origin, the move goes through at once
    _put_vendor(steward, tmp_path, state.token, "weather", "--origin", f"{other}/mcp")
    steward.ok("servers", "add", "weather", "--url", f"{other}/mcp", "--secret", secret)
    assert steward.target.registry.catalog().servers[ServerName("weather")].url == f"{other}/mcp"
    assert state.seen_auth == [f"Bearer {state.token}"] * 2 * PER_REGISTRATION


def test_a_credential_stored_as_a_plain_value_is_refused_until_stored_again(
    steward: Plane, moto_url: str, tmp_path: Path, vendor: tuple[int, VendorState]
) -> None:
    port, state = vendor
    url, secret = f"https://127.0.0.1:{port}/mcp", f"{PREFIX}legacy"
    client = aws_client("secretsmanager", moto_url)
    try:
        client.create_secret(Name=secret, SecretString=state.token)  # as put-vendor stored it before origins
    finally:
        client.close()

    code, out, err = steward.run("servers", "add", "legacy", "--url", url, "--secret", secret)

    assert code == 1
    assert f"The vendor credential {secret} was stored without the origins it may be sent to" in err
    assert f"steward secrets put-vendor legacy --origin https://127.0.0.1:{port} --value-file FILE" in err
    assert state.token not in out + err
    assert state.seen_auth == []
    assert ServerName("legacy") not in steward.target.registry.catalog().servers
    _put_vendor(steward, tmp_path, state.token, "legacy", "--origin", url)
    steward.ok("servers", "add", "legacy", "--url", url, "--secret", secret)
    assert state.seen_auth == [f"Bearer {state.token}"] * PER_REGISTRATION
