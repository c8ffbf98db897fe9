"""Only Unicode text crosses the endpoint: a lone surrogate anywhere in a request is a parse error (400), a tool
result holding one is a malformed result, and no such input gets a 5xx or an answer that is not UTF-8 JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mcp_steward.bootstrap import build_endpoint
from mcp_steward.domain.records import Outcome
from mcp_steward.http.app import create_app
from tests.unit import fakes
from tests.unit.fakes import TOKENS, Plane

MODERN = "2026-07-28"
HEADERS = {
    "content-type": "application/json",
    "accept": "application/json, text/event-stream",
    "authorization": f"Bearer {TOKENS['alice']}",
    "mcp-protocol-version": "2025-11-25",
}


def client_for(plane: Plane) -> TestClient:
    app = create_app(build_endpoint(fakes.settings(), plane.ports()))
    # A 500 must show as a response here, as a client would see it, not as an exception in the test.
    return TestClient(app, base_url="http://127.0.0.1:8787", raise_server_exceptions=False)


def answer_of(response: Any) -> dict[str, Any]:
    """The body as a client reads it: strict UTF-8, then JSON (which must not need NaN and the like)."""
    text = response.content.decode("utf-8")
    decoded: dict[str, Any] = json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in the answer"))
    return decoded


def assert_parse_error(response: Any) -> None:
    assert response.status_code == 400
    answer = answer_of(response)
    assert answer["id"] is None
    assert answer["error"]["code"] == -32700


@pytest.mark.parametrize(
    "body",
    [
        b'{"jsonrpc":"2.0","id":"\\ud800","method":"ping"}',
        b'{"jsonrpc":"2.0","id":"\\udc80","method":"tools/list"}',
        b'{"jsonrpc":"2.0","id":1,"method":"ping\\ud800"}',
        b'{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"\\ud800"}}',
        b'{"jsonrpc":"2.0","id":"\xed\xa0\x80","method":"ping"}',
    ],
)
def test_a_lone_surrogate_in_a_request_is_a_parse_error_with_400(body: bytes) -> None:
    assert_parse_error(client_for(Plane()).post("/mcp", content=body, headers=HEADERS))


def test_a_modern_request_with_a_lone_surrogate_in_its_id_and_meta_is_a_parse_error() -> None:
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
    body = json.dumps({"jsonrpc": "2.0", "id": "\ud800", "method": "tools/list", "params": {"_meta": meta}})
    headers = {**HEADERS, "mcp-protocol-version": MODERN, "mcp-method": "tools/list"}
    assert_parse_error(client_for(Plane()).post("/mcp", content=body.encode(), headers=headers))


def test_a_tools_call_whose_name_has_a_lone_surrogate_is_refused_before_anything_is_recorded() -> None:
    plane = Plane()
    body = b'{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"demo__echo\\udfff","arguments":{}}}'
    assert_parse_error(client_for(plane).post("/mcp", content=body, headers=HEADERS))
    assert plane.budgets.audit == []  # refused at parse: no principal yet, nothing to audit, nothing to fail


def test_a_surrogate_pair_is_text_and_goes_through() -> None:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "demo__echo"}}
    body["params"]["arguments"] = {"message": "\U0001f600"}
    response = client_for(Plane()).post("/mcp", content=json.dumps(body).encode(), headers=HEADERS)
    assert response.status_code == 200
    assert answer_of(response)["result"]["structuredContent"]["message"] == "\U0001f600"


ECHO = fakes.echo_handler


def surrogate_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The demo server, except that ``echo`` answers with a lone surrogate (it emits it as the JSON escape
    ``\\udc80``, as a Lambda runtime would)."""
    answer = ECHO(event, context)
    if event["message"]["method"] == "tools/call":
        answer["result"]["content"][0]["text"] = "bad \udc80"
    return answer


def test_a_tool_result_with_a_lone_surrogate_is_a_malformed_result_not_a_500(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fakes, "echo_handler", surrogate_handler)
    plane = Plane()
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "demo__echo"}}
    body["params"]["arguments"] = {"message": "hi"}
    response = client_for(plane).post("/mcp", content=json.dumps(body).encode(), headers=HEADERS)
    assert response.status_code == 200
    result = answer_of(response)["result"]
    assert result["isError"] is True
    assert result["_meta"]["steward/reason"] == "malformed_response"
    assert plane.budgets.ledger[-1].outcome is Outcome.UNKNOWN
    assert plane.budgets.open_reservations(datetime.now(UTC)) == []


# --- arbitrary text, surrogates included, anywhere in a valid request -----------------------------------------

#: Any text, lone surrogates included and drawn often (``st.text`` leaves them out, whatever its alphabet).
ANY_TEXT = st.lists(st.one_of(st.characters(exclude_categories=()), st.characters(categories=["Cs"])), max_size=8).map(
    "".join
)
TEMPLATES = [
    {"jsonrpc": "2.0", "id": "ID", "method": "ping"},
    {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"cursor": "ID"}},
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "demo__echo", "arguments": {"message": "ID"}},
    },
    {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "ID", "arguments": {}}},
    {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"_meta": {"ID": ["ID"]}, "protocolVersion": "ID"}},
]


@pytest.fixture(scope="module")
def shared_client() -> TestClient:
    return client_for(Plane())


@settings(max_examples=80, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    template=st.sampled_from(TEMPLATES),
    fragment=ANY_TEXT,
    how=st.sampled_from(["escaped", "raw", "anywhere"]),
    where=st.integers(min_value=0, max_value=200),
)
def test_any_text_anywhere_gets_an_answer_below_500_that_is_utf8_json(
    shared_client: TestClient, template: dict[str, Any], fragment: str, how: str, where: int
) -> None:
    text = json.dumps(template, ensure_ascii=False)
    if how == "escaped":  # inside the strings, as JSON escapes (a surrogate becomes \udXXX)
        body = text.replace("ID", json.dumps(fragment)[1:-1]).encode()
    elif how == "raw":  # inside the strings, as raw bytes (a surrogate becomes CESU-8, not UTF-8)
        body = text.replace("ID", fragment.replace("\\", "").replace('"', "")).encode("utf-8", "surrogatepass")
    else:  # at any position of the text, breaking it or not
        at = where % (len(text) + 1)
        body = (text[:at] + fragment + text[at:]).encode("utf-8", "surrogatepass")
    response = shared_client.post("/mcp", content=body, headers=HEADERS)
    assert response.status_code < 500
    if response.status_code == 202:  # it became a notification (the "id" key broken, say): acknowledged only
        assert response.content == b""
    else:
        answer_of(response)
