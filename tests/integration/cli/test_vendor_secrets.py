"""``steward secrets put-vendor``: the credential lands under ``<stack>/vendor/`` with the origins it may be sent
to and the egress-only resource policy, is never printed, logged or audited, and a second put replaces it; refused
input changes nothing."""

from __future__ import annotations

import argparse
import io
import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mcp_steward.cli.admin import UsageError
from mcp_steward.cli.target import EGRESS_ROLE_OUTPUT, TargetError, local_egress_role_arn, stack_output
from mcp_steward.cli.vendor_secrets import origins_of
from mcp_steward.domain.egress_policy import origin_text
from mcp_steward.domain.vendor_secrets import MAX_ORIGINS, MAX_VALUE_BYTES, egress_only_policy
from mcp_steward.services.registration import vendor_server
from tests.conftest import aws_client
from tests.integration.cli.conftest import Plane

pytestmark = pytest.mark.moto

STACK = "steward-local"  # the Plane's state file names no stack: the local plane's default
VALUE = "vnd-" + uuid.uuid4().hex  # distinct per run, so finding it anywhere is a leak
ORIGIN = ("--origin", "https://mcp.weather.example/mcp")


@pytest.fixture
def secrets(moto_url: str) -> Iterator[Any]:
    client = aws_client("secretsmanager", moto_url)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def name() -> str:
    return f"weather-{uuid.uuid4().hex[:8]}"


def _file(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / f"credential-{uuid.uuid4().hex[:6]}"
    path.write_bytes(content)
    return path


def _stdin(monkeypatch: pytest.MonkeyPatch, content: bytes) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(content)))


def _exists(secrets: Any, secret_id: str) -> bool:
    return any(s["Name"] == secret_id for s in secrets.list_secrets(MaxResults=100)["SecretList"])


def _stored(secrets: Any, secret_id: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(secrets.get_secret_value(SecretId=secret_id)["SecretString"])
    return document


def _put_vendor_records(plane: Plane) -> list[dict[str, Any]]:
    return [
        {"actor": r.actor, "action": r.action, "detail": r.detail}
        for r in plane.admin_records()
        if r.action == "secrets.put_vendor"
    ]


def test_the_credential_is_stored_under_the_vendor_prefix_with_the_egress_only_policy(
    plane: Plane, secrets: Any, name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Every record at INFO and above (botocore's own DEBUG records show request bodies, like any AWS client's).
    caplog.set_level(logging.INFO)
    # GIVEN a credential in a file, with the newline an editor adds
    # WHEN the admin stores it
    code, out, err = plane.run(
        "secrets", "put-vendor", name, "--value-file", str(_file(tmp_path, VALUE.encode() + b"\n")), *ORIGIN
    )
    logged = caplog.text
    # THEN it is <stack>/vendor/NAME, holding exactly the credential and the origin it may be sent to
    assert code == 0, err
    secret_id = f"{STACK}/vendor/{name}"
    assert _stored(secrets, secret_id) == {"v": 1, "credential": VALUE, "origins": ["https://mcp.weather.example"]}
    # AND its resource policy denies reading it to all but the (local stand-in of the) egress role
    policy = json.loads(secrets.get_resource_policy(SecretId=secret_id)["ResourcePolicy"])
    assert policy == egress_only_policy(local_egress_role_arn(STACK))
    # AND the admin is told the id to register with and where the credential goes, never the value
    assert secret_id in out and "the egress sends it only to: https://mcp.weather.example" in out
    assert VALUE not in out + err + logged
    # AND the audit names the secret, that it was set and its origins, nothing more
    records = _put_vendor_records(plane)
    assert [r["detail"] for r in records] == [
        {"secret_id": secret_id, "created": True, "origins": ["https://mcp.weather.example"]}
    ]
    assert VALUE not in json.dumps(records)
    assert VALUE not in json.dumps(plane.snapshot())


def test_a_second_put_replaces_the_value_read_from_standard_input(
    plane: Plane, secrets: Any, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_id = f"{STACK}/vendor/{name}"
    plane.ok("secrets", "put-vendor", name, "--value-file", str(_file(tmp_path, b"first-value")), *ORIGIN)
    _stdin(monkeypatch, VALUE.encode())
    code, out, err = plane.run("secrets", "put-vendor", name, "--from-stdin", "--origin", "https://api.other.example")
    assert code == 0, err
    assert "updated" in out
    assert VALUE not in out + err
    assert _stored(secrets, secret_id) == {"v": 1, "credential": VALUE, "origins": ["https://api.other.example"]}
    assert json.loads(secrets.get_resource_policy(SecretId=secret_id)["ResourcePolicy"]) == egress_only_policy(
        local_egress_role_arn(STACK)
    )
    records = _put_vendor_records(plane)
    assert [r["detail"]["created"] for r in records] == [True, False]
    assert "first-value" not in json.dumps(records)


@pytest.mark.parametrize(
    ("secret_name", "content"),
    [
        ("Weather", VALUE.encode()),  # a name outside ^[a-z0-9][a-z0-9-]{0,63}$
        ("../weather", VALUE.encode()),
        (None, b""),  # empty
        (None, b"\n"),  # empty once the newline is dropped
        (None, b"a" * (MAX_VALUE_BYTES + 1)),  # over Secrets Manager's 64 KiB
        (None, VALUE.encode() + b"\nsecond line"),  # cannot go in a header
    ],
)
def test_refused_input_exits_2_and_changes_nothing(
    plane: Plane, secrets: Any, name: str, tmp_path: Path, secret_name: str | None, content: bytes
) -> None:
    before = plane.snapshot()
    target_name = secret_name or name
    path = str(_file(tmp_path, content))
    code, out, err = plane.run("secrets", "put-vendor", target_name, "--value-file", path, *ORIGIN)
    assert code == 2
    assert VALUE not in out + err
    assert not _exists(secrets, f"{STACK}/vendor/{target_name}")
    assert plane.snapshot() == before


def test_a_missing_file_or_two_sources_are_refused(plane: Plane, secrets: Any, name: str, tmp_path: Path) -> None:
    assert plane.run("secrets", "put-vendor", name, "--value-file", str(tmp_path / "absent"), *ORIGIN)[0] == 2
    assert plane.run("secrets", "put-vendor", name, *ORIGIN)[0] == 2
    both = ("secrets", "put-vendor", name, "--from-stdin", "--value-file", str(_file(tmp_path, b"x")), *ORIGIN)
    assert plane.run(*both)[0] == 2
    assert not _exists(secrets, f"{STACK}/vendor/{name}")


@pytest.mark.parametrize(
    "origins",
    [
        (),  # nowhere named: the credential would go nowhere
        ("--origin", "http://mcp.weather.example"),  # https only
        ("--origin", "https://mcp.weather.example@evil.example"),
        ("--origin", "https://mcp.weather.example:0"),
        ("--allow-host", "cdn.weather.example:8443"),  # a host, not an origin
        ("--for-server", "calc"),  # an internal server has no URL
        ("--for-server", "absent"),
        tuple(arg for i in range(MAX_ORIGINS + 1) for arg in ("--allow-host", f"h{i}.weather.example")),
    ],
)
def test_origins_are_required_and_checked_before_the_value_is_read(
    plane: Plane, secrets: Any, name: str, origins: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    _stdin(monkeypatch, VALUE.encode())
    before = plane.snapshot()
    code, out, err = plane.run("secrets", "put-vendor", name, "--from-stdin", *origins)
    assert code == 2, err
    assert VALUE not in out + err
    assert not _exists(secrets, f"{STACK}/vendor/{name}")
    assert plane.snapshot() == before
    if not origins:
        assert "--origin" in err and "--for-server" in err  # says how to name them


def test_a_registered_vendor_servers_url_and_hosts_are_its_origins(
    plane: Plane, secrets: Any, name: str, tmp_path: Path
) -> None:
    server = vendor_server(
        "weather",
        url="https://mcp.weather.example:8443/mcp",
        allowed_hosts=["cdn.weather.example"],
        secret_prefix=f"{STACK}/vendor/",
    )
    plane.target.registry.put_server(server, [])
    path = str(_file(tmp_path, VALUE.encode()))
    extra = ("--origin", "https://backup.weather.example/", "--allow-host", "CDN.weather.example")
    plane.ok("secrets", "put-vendor", name, "--value-file", path, "--for-server", "weather", *extra)
    assert _stored(secrets, f"{STACK}/vendor/{name}")["origins"] == [
        "https://backup.weather.example",
        "https://cdn.weather.example",
        "https://mcp.weather.example:8443",  # the URL's own host at its port only
    ]


class _CloudFormation:
    def __init__(self, outputs: list[dict[str, str]] | None) -> None:
        self._outputs = outputs

    def describe_stacks(self, StackName: str) -> dict[str, Any]:  # noqa: N803 - boto3's parameter name
        stack: dict[str, Any] = {"StackName": StackName}
        if self._outputs is not None:
            stack["Outputs"] = self._outputs
        return {"Stacks": [stack]}


def test_a_stacks_egress_role_comes_from_its_output() -> None:
    role = "arn:aws:iam::123456789012:role/mcp-steward-dev-EgressFunctionRole-AbC"
    outputs = [
        {"OutputKey": "McpUrl", "OutputValue": "https://x"},
        {"OutputKey": EGRESS_ROLE_OUTPUT, "OutputValue": role},
    ]
    assert stack_output(_CloudFormation(outputs), "mcp-steward-dev", EGRESS_ROLE_OUTPUT) == role
    for missing in (None, outputs[:1]):
        with pytest.raises(TargetError, match=EGRESS_ROLE_OUTPUT):
            stack_output(_CloudFormation(missing), "mcp-steward-dev", EGRESS_ROLE_OUTPUT)


def test_a_loopback_or_private_origin_is_for_the_local_plane_only(plane: Plane) -> None:
    """On a stack the egress never reaches such an address (only the local plane lists loopback vendors)."""
    for url, rule in (("https://127.0.0.1:8443", "loopback_address"), ("https://10.0.0.5", "private_address")):
        args = argparse.Namespace(origin=[url], allow_host=None, for_server=None)
        assert [origin_text(o) for o in origins_of(plane.target, args)] == [url]
        with pytest.raises(UsageError, match=rule):
            origins_of(replace(plane.target, local=False), args)
