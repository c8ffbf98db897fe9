"""The egress service against a misbehaving vendor on loopback HTTPS: every refusal and failure is an ``isError``
result saying why, and the credential goes out only on the request and never comes back."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from mcp_steward.domain.egress_policy import EgressPolicy, IPAddress
from mcp_steward.domain.vendor_secrets import credential_origin, stored_credential
from mcp_steward.egress.credentials import CredentialCache
from mcp_steward.egress.service import EgressService
from mcp_steward.egress.transport import ssl_context
from tests.tls import TlsFiles
from tests.unit.egress.fake_vendor import VendorState

PREFIX = "steward-test/vendor/"
SECRET_ID = f"{PREFIX}fake"


#: Where the tests' credential may be sent besides the fake vendor's own origin (a name resolved in a test).
NAMED_VENDOR = "https://vendor.example"


class Secrets:
    """A secret store whose credential the test can rotate, stored as put-vendor stores it (with the origins it
    may be sent to); ``raw`` replaces the whole stored value. Counts reads."""

    def __init__(self, value: str, origins: list[str] | None = None) -> None:
        self.value = value
        self.origins = [NAMED_VENDOR, *(origins or [])]
        self.raw: str | None = None
        self.reads = 0

    def __call__(self, secret_id: str) -> str:
        assert secret_id == SECRET_ID
        self.reads += 1
        if self.raw is not None:
            return self.raw
        return stored_credential(self.value, [credential_origin(origin) for origin in self.origins])


def service(
    tls: TlsFiles, origin: str | None, secrets: Secrets | None = None, resolver: Any = None, **policy: Any
) -> EgressService:
    local = [origin] if origin else []
    kwargs = {"resolver": resolver} if resolver else {}
    return EgressService(
        EgressPolicy.of(local_origins=local, **policy),
        CredentialCache(secrets or Secrets("tok-1", local)),
        secret_prefix=PREFIX,
        ssl_context=ssl_context(str(tls.ca_file)),
        **kwargs,
    )


def call(
    svc: EgressService,
    url: str,
    *,
    method: str = "tools/call",
    hosts: list[str] | None = None,
    secret: bool = True,
    deadline_s: float = 3.0,
) -> dict[str, Any]:
    host = urlsplit(url).hostname or ""
    event = {
        "steward": {"v": 1, "request_id": "r1", "deadline_ms": int((time.time() + deadline_s) * 1000)},
        "message": {"jsonrpc": "2.0", "id": 7, "method": method, "params": {"name": "echo", "arguments": {}}},
        "vendor": {
            "server": "fake",
            "url": url,
            "allowed_hosts": hosts if hosts is not None else [host],
            "secret_id": SECRET_ID if secret else None,
            "auth_header": None,
        },
    }
    return asyncio.run(svc.handle(event))


def meta(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["id"] == 7
    assert answer["result"]["isError"] is True
    return dict(answer["result"]["_meta"])


def test_a_vendor_call_carries_the_credential_and_drops_the_vendors_steward_meta(
    tls: TlsFiles, origin: str, state: VendorState
) -> None:
    answer = call(service(tls, origin), f"{origin}/mcp")
    assert answer["result"]["content"][0]["text"] == "ok"
    assert answer["result"]["_meta"] == {"vendor/x": 1}  # a vendor cannot claim a refusal or units
    assert state.seen_auth == ["Bearer tok-1"]


def test_tools_list_goes_through_the_same_path(tls: TlsFiles, origin: str) -> None:
    answer = call(service(tls, origin), f"{origin}/mcp", method="tools/list")
    assert [tool["name"] for tool in answer["result"]["tools"]] == ["echo"]


def test_loopback_is_refused_unless_its_exact_origin_is_listed(tls: TlsFiles, origin: str, state: VendorState) -> None:
    port = int(origin.rsplit(":", 1)[1])
    for listed in (None, "https://127.0.0.1:1", f"https://localhost:{port}"):
        answer = call(service(tls, listed), f"{origin}/mcp")
        assert meta(answer) == {
            "steward/reason": "egress_refused",
            "steward/rule": "loopback_address",
            "steward/sent": False,
        }
    assert state.seen_auth == []


def test_a_name_that_resolves_to_a_private_address_is_refused_before_connecting(tls: TlsFiles) -> None:
    resolved: list[str] = []

    async def resolver(host: str, port: int) -> list[IPAddress]:
        resolved.append(host)
        return [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("10.0.0.7")]

    answer = call(service(tls, None, resolver=resolver), "https://vendor.example/mcp")
    assert meta(answer)["steward/rule"] == "private_address"
    assert resolved == ["vendor.example"]


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("https://[::1]/mcp", "loopback_address"),
        ("https://[::ffff:127.0.0.1]/mcp", "loopback_address"),
        ("https://[::ffff:169.254.169.254]/mcp", "metadata_address"),
        ("https://[fd00:ec2::254]/mcp", "metadata_address"),
        ("https://169.254.169.254/latest/meta-data", "metadata_address"),
        ("https://2130706433/mcp", "numeric_host"),
        ("https://0x7f000001/mcp", "numeric_host"),
        ("http://vendor.example/mcp", "scheme"),
    ],
)
def test_literal_and_numeric_forms_of_internal_addresses_are_refused(tls: TlsFiles, url: str, rule: str) -> None:
    assert meta(call(service(tls, None), url))["steward/rule"] == rule


def test_a_host_outside_the_vendors_allowlist_is_refused(tls: TlsFiles, origin: str) -> None:
    assert meta(call(service(tls, origin), f"{origin}/mcp", hosts=["other.example"]))["steward/rule"] == (
        "host_not_allowed"
    )


def test_a_redirect_is_a_refusal_and_its_target_is_never_contacted(tls: TlsFiles, origin: str) -> None:
    resolved: list[str] = []

    async def resolver(host: str, port: int) -> list[IPAddress]:
        resolved.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    answer = call(service(tls, origin, resolver=resolver), f"{origin}/redirect")
    assert meta(answer) == {"steward/reason": "egress_refused", "steward/rule": "redirect", "steward/sent": True}
    assert resolved == []  # 127.0.0.1 is a literal; 10.0.0.1 was never looked up or connected to


def test_an_oversized_answer_is_cut_and_refused(tls: TlsFiles, origin: str) -> None:
    assert meta(call(service(tls, origin), f"{origin}/big"))["steward/rule"] == "response_too_large"


def test_a_vendor_past_the_deadline_times_out(tls: TlsFiles, origin: str) -> None:
    answer = call(service(tls, origin), f"{origin}/slow", deadline_s=1.0)
    assert meta(answer) == {"steward/reason": "vendor_timeout", "steward/sent": True}


def test_a_deadline_already_passed_refuses_without_calling(tls: TlsFiles, origin: str, state: VendorState) -> None:
    answer = call(service(tls, origin), f"{origin}/mcp", deadline_s=0.0)
    assert meta(answer)["steward/rule"] == "deadline"
    assert state.seen_auth == []


def test_garbage_is_a_malformed_response(tls: TlsFiles, origin: str) -> None:
    assert meta(call(service(tls, origin), f"{origin}/garbage"))["steward/reason"] == "malformed_response"


@pytest.mark.parametrize("path", ["/input", "/sse-elicit"])
def test_a_vendor_that_needs_the_user_is_refused_as_interactive(tls: TlsFiles, origin: str, path: str) -> None:
    answer = call(service(tls, origin), f"{origin}{path}")
    assert meta(answer)["steward/reason"] == "interactive"
    assert answer["result"]["content"][0]["text"] == "interactive vendor tools are not supported"


def test_a_proxy_variable_in_the_environment_has_no_effect(
    tls: TlsFiles, origin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "HTTP_PROXY"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")
    monkeypatch.setenv("SSL_CERT_FILE", str(Path("/nonexistent.pem")))
    assert call(service(tls, origin), f"{origin}/mcp")["result"]["content"][0]["text"] == "ok"


def test_a_rotated_credential_is_read_again_once_on_a_401(tls: TlsFiles, origin: str, state: VendorState) -> None:
    secrets = Secrets("tok-1", [origin])
    svc = service(tls, origin, secrets)
    assert call(svc, f"{origin}/mcp")["result"]["isError"] is False
    state.token, secrets.value = "tok-2", "tok-2"  # rotated at the vendor and in Secrets Manager
    assert call(svc, f"{origin}/mcp")["result"]["content"][0]["text"] == "ok"
    assert secrets.reads == 2
    assert state.seen_auth == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]
    state.token = "tok-3"  # rotated at the vendor only: one more read, then a clear refusal
    assert meta(call(svc, f"{origin}/mcp"))["steward/reason"] == "vendor_unauthorized"
    assert secrets.reads == 3


def test_a_vendor_that_echoes_the_credential_gets_it_redacted(tls: TlsFiles, origin: str) -> None:
    answer = call(service(tls, origin, Secrets("tok-echo-secret", [origin])), f"{origin}/echo")
    assert "tok-echo-secret" not in str(answer)
    assert answer["result"]["content"][0]["text"] == "you sent Bearer [redacted]"


def test_a_legacy_only_vendor_is_initialized_and_its_session_renewed_on_404(
    tls: TlsFiles, origin: str, state: VendorState
) -> None:
    svc = service(tls, origin)
    assert call(svc, f"{origin}/legacy", secret=False)["result"]["content"][0]["text"] == "legacy ok"
    assert call(svc, f"{origin}/legacy", secret=False)["result"]["content"][0]["text"] == "legacy ok"
    assert state.initializes == 1  # the session is kept for the sandbox's life
    state.sessions.clear()  # the vendor forgot it
    assert call(svc, f"{origin}/legacy", secret=False)["result"]["content"][0]["text"] == "legacy ok"
    assert state.initializes == 2


def test_self_references_are_refused(tls: TlsFiles, origin: str) -> None:
    answer = call(service(tls, origin, self_urls=[origin]), f"{origin}/mcp")
    assert meta(answer)["steward/rule"] == "self"
