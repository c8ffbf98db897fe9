"""A vendor credential goes only to the origins it was stored for: whatever URL and hosts the registry (or an
egress invocation) names, the egress refuses any other destination (rule ``credential_origin``) after reading the
secret and before anything is sent; a credential stored without origins goes nowhere.

The fake vendor answers for every name in its certificate (a.example, b.example, a.example.evil.com, loopback), each
resolved to it and listed for the test plane: without the binding, each refused request below would have reached it
with the credential.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mcp_steward.domain.egress_policy import EgressPolicy, EgressRefusedError, IPAddress
from mcp_steward.domain.vendor_secrets import credential_origin, stored_credential
from mcp_steward.egress.credentials import CredentialCache
from mcp_steward.egress.service import EgressService
from mcp_steward.egress.transport import pinned_client, ssl_context
from tests.tls import TlsFiles, make_loopback_tls
from tests.unit.egress.fake_vendor import VendorState, serve

PREFIX = "steward-test/vendor/"
SECRET_ID = f"{PREFIX}fake"
NAMES = ("a.example", "b.example", "a.example.evil.com")


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_loopback_tls(tmp_path_factory.mktemp("tls"), ("127.0.0.1", "localhost", *NAMES))


@pytest.fixture
def state() -> VendorState:
    return VendorState()


@pytest.fixture
def port(tls: TlsFiles, state: VendorState) -> Iterator[int]:
    with serve(tls, state) as url:
        yield int(url.rsplit(":", 1)[1])


class Secrets:
    """The secret store: ``value`` as Secrets Manager returns it, replaced by the next of ``later`` after each
    read (a value stored again between two reads); counts reads."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.later: list[str] = []
        self.reads = 0

    def __call__(self, secret_id: str) -> str:
        assert secret_id == SECRET_ID
        self.reads += 1
        value = self.value
        if self.later:
            self.value = self.later.pop(0)
        return value


def bound(credential: str, *origins: str) -> Secrets:
    """A credential stored as ``steward secrets put-vendor`` stores it, for ``origins``."""
    return Secrets(stored_credential(credential, [credential_origin(origin) for origin in origins]))


class Resolver:
    """Every name resolves to the fake vendor on loopback; records what was looked up."""

    def __init__(self) -> None:
        self.looked_up: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.looked_up.append(host)
        return [ipaddress.ip_address("127.0.0.1")]


def service(tls: TlsFiles, port: int, secrets: Secrets, resolver: Resolver) -> EgressService:
    """An egress for which every name of the fake vendor, at its port, is a listed local origin."""
    local = [f"https://{name}:{port}" for name in ("127.0.0.1", *NAMES)]
    return EgressService(
        EgressPolicy.of(local_origins=local),
        CredentialCache(secrets),
        secret_prefix=PREFIX,
        ssl_context=ssl_context(str(tls.ca_file)),
        resolver=resolver,
    )


def call(svc: EgressService, url: str, *, method: str = "tools/call", hosts: list[str] | None = None) -> dict[str, Any]:
    host = httpx.URL(url).host if "@" not in url else "b.example"
    event = {
        "steward": {"v": 1, "request_id": "r1", "deadline_ms": int((time.time() + 5) * 1000)},
        "message": {"jsonrpc": "2.0", "id": 7, "method": method, "params": {"name": "echo", "arguments": {}}},
        "vendor": {
            "server": "fake",
            "url": url,
            "allowed_hosts": hosts if hosts is not None else [host],
            "secret_id": SECRET_ID,
            "auth_header": None,
        },
    }
    return asyncio.run(svc.handle(event))


def refusal(answer: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The refusal's ``_meta`` and text (a tools/call result with isError)."""
    assert answer["id"] == 7 and answer["result"]["isError"] is True, answer
    return dict(answer["result"]["_meta"]), str(answer["result"]["content"][0]["text"])


def test_the_credential_goes_to_the_origin_it_was_stored_for(tls: TlsFiles, port: int, state: VendorState) -> None:
    secrets, resolver = bound("tok-1", f"https://a.example:{port}"), Resolver()
    svc = service(tls, port, secrets, resolver)
    answer = call(svc, f"https://A.Example:{port}/mcp")  # the same origin, written otherwise
    assert answer["result"]["content"][0]["text"] == "ok"
    assert call(svc, f"https://a.example:{port}/mcp", method="tools/list")["result"]["tools"][0]["name"] == "echo"
    assert state.seen_auth == ["Bearer tok-1", "Bearer tok-1"]


@pytest.mark.parametrize(
    ("stored", "destination", "rule"),
    [
        ("https://a.example:{port}", "https://b.example:{port}/mcp", "credential_origin"),  # another host
        ("https://a.example", "https://a.example:{port}/mcp", "credential_origin"),  # another port (443 stored)
        ("https://a.example:{port}", "https://a.example.evil.com:{port}/mcp", "credential_origin"),  # a suffix
        ("https://a.example:{port}", "https://127.0.0.1:{port}/mcp", "credential_origin"),  # its address
        ("https://a.example:{port}", "http://a.example:{port}/mcp", "scheme"),  # plain HTTP: refused before reading
        ("https://a.example:{port}", "https://a.example:{port}@b.example:{port}/mcp", "credentials_in_url"),
    ],
)
def test_the_credential_is_sent_to_no_other_destination(
    tls: TlsFiles, port: int, state: VendorState, stored: str, destination: str, rule: str
) -> None:
    secrets, resolver = bound("tok-1", stored.format(port=port)), Resolver()
    svc = service(tls, port, secrets, resolver)
    for method in ("tools/call", "tools/list"):
        answer = call(svc, destination.format(port=port), method=method)
        if method == "tools/call":
            meta, _ = refusal(answer)
            assert meta == {"steward/reason": "egress_refused", "steward/rule": rule, "steward/sent": False}
        else:
            assert answer["error"]["data"] == {"reason": "egress_refused", "rule": rule}
    # nothing was sent: no request reached the vendor, no name was even looked up
    assert state.seen_auth == []
    assert resolver.looked_up == []


def test_the_refusal_tells_the_admin_what_to_store(tls: TlsFiles, port: int, state: VendorState) -> None:
    svc = service(tls, port, bound("tok-secret-1", f"https://a.example:{port}"), Resolver())
    meta, text = refusal(call(svc, f"https://b.example:{port}/mcp"))
    assert meta["steward/rule"] == "credential_origin"
    assert f"was not stored for https://b.example:{port}" in text
    assert f"steward secrets put-vendor fake --origin https://b.example:{port} --value-file FILE" in text
    assert "tok-secret-1" not in text


def test_an_allowed_host_the_credential_was_not_stored_for_is_refused(
    tls: TlsFiles, port: int, state: VendorState
) -> None:
    """The registry may not widen where the credential could go, even while its URL is still the stored one."""
    svc = service(tls, port, bound("tok-1", f"https://a.example:{port}"), Resolver())
    meta, text = refusal(call(svc, f"https://a.example:{port}/mcp", hosts=["a.example", "cdn.example"]))
    assert meta == {"steward/reason": "egress_refused", "steward/rule": "credential_origin", "steward/sent": False}
    assert "was not stored for cdn.example" in text and "--allow-host cdn.example" in text
    assert state.seen_auth == []


@pytest.mark.parametrize(
    "value",
    [
        "tok-1",  # a plain credential, stored before origins were recorded
        '{"credential":"tok-1"}',  # no origins
        '{"v":1,"credential":"tok-1","origins":[]}',
        '{"v":2,"credential":"tok-1","origins":["https://a.example"]}',
        '{"v":1,"credential":"tok-1","origins":["https://a.example/mcp"]}',  # not just an origin
        '{"v":1,"credential":"tok-1","origins":["http://a.example"]}',
        '{"v":1,"credential":"tok-1","origins":["*"]}',
    ],
)
def test_a_credential_stored_without_valid_origins_is_sent_nowhere(
    tls: TlsFiles, port: int, state: VendorState, value: str
) -> None:
    secrets = Secrets(value)
    svc = service(tls, port, secrets, Resolver())
    meta, text = refusal(call(svc, f"https://a.example:{port}/mcp"))
    assert meta == {"steward/reason": "egress_refused", "steward/rule": "credential_origin", "steward/sent": False}
    assert "stored without the origins" in text
    assert f"steward secrets put-vendor fake --origin https://a.example:{port}" in text
    assert "tok-1" not in text
    assert state.seen_auth == []
    call(svc, f"https://a.example:{port}/mcp")
    assert secrets.reads == 2  # not cached: storing it again takes effect at the next call


def test_storing_it_again_for_a_new_origin_takes_effect_at_once(tls: TlsFiles, port: int, state: VendorState) -> None:
    """A cached credential that does not cover the target is read once more before the refusal."""
    secrets = bound("tok-1", f"https://a.example:{port}")
    svc = service(tls, port, secrets, Resolver())
    assert call(svc, f"https://a.example:{port}/mcp")["result"]["isError"] is False
    assert refusal(call(svc, f"https://b.example:{port}/mcp"))[0]["steward/rule"] == "credential_origin"
    assert secrets.reads == 2
    secrets.value = bound("tok-1", f"https://b.example:{port}").value  # put-vendor ... --origin https://b.example
    assert call(svc, f"https://b.example:{port}/mcp")["result"]["content"][0]["text"] == "ok"
    assert state.seen_auth == ["Bearer tok-1", "Bearer tok-1"]


def test_a_credential_read_again_after_a_401_is_checked_again(tls: TlsFiles, port: int, state: VendorState) -> None:
    secrets = bound("tok-1", f"https://a.example:{port}")
    secrets.later = [bound("tok-2", f"https://b.example:{port}").value]  # rotated, and stored for b.example only
    state.token = "tok-2"  # the vendor answers tok-1 with a 401: the egress reads the secret again
    meta, _ = refusal(call(service(tls, port, secrets, Resolver()), f"https://a.example:{port}/mcp"))
    assert meta == {"steward/reason": "egress_refused", "steward/rule": "credential_origin", "steward/sent": False}
    assert state.seen_auth == ["Bearer tok-1"]  # the rotated credential never went to a.example


def test_the_transport_refuses_any_request_outside_the_origins(tls: TlsFiles, port: int, state: VendorState) -> None:
    """The same check on each request as httpx sends it (a redirect followed or a URL parsed otherwise would
    still be refused there)."""
    resolver = Resolver()
    local = [f"https://{name}:{port}" for name in NAMES]
    origins = frozenset({credential_origin(f"https://a.example:{port}")})

    async def send(url: str) -> int:
        http, _ = pinned_client(
            EgressPolicy.of(local_origins=local),
            timeout_s=5,
            resolver=resolver,
            context=ssl_context(str(tls.ca_file)),
            credential_origins=origins,
        )
        async with http:
            response = await http.post(url, headers={"Authorization": "Bearer tok-1"}, content=b"{}")
            return response.status_code

    for url in (f"https://b.example:{port}/mcp", f"https://a.example:{port}@b.example:{port}/mcp"):
        with pytest.raises(EgressRefusedError) as refused:
            asyncio.run(send(url))
        assert refused.value.rule == "credential_origin"
    assert (state.seen_auth, resolver.looked_up) == ([], [])
    asyncio.run(send(f"https://a.example:{port}/mcp"))  # the stored origin is reachable through the same client
    assert state.seen_auth == ["Bearer tok-1"]
