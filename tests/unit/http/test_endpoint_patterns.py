"""tools/call over HTTP (in process) against tools whose schemas hold hostile regular expressions: a JSON-RPC
result with HTTP 200, never a 5xx, and the pattern never reaches Python's ``re``."""

from __future__ import annotations

import json
import types
from typing import Any

import pytest
from starlette.testclient import TestClient

from mcp_steward.adapters.memory import InProcessInvoker
from mcp_steward.bootstrap import build_endpoint
from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.names import ServerName
from mcp_steward.domain.registry import ToolStatus
from mcp_steward.http.app import create_app
from mcp_steward.services.registration import register_internal_server
from tests.unit.fakes import TOKENS, Plane, settings

TOOLS = [
    {
        "name": "lookup",
        "description": "Looks a code up.",
        "inputSchema": {
            "type": "object",
            "properties": {"code": {"type": "string", "pattern": "^(a+)+$"}},
            "required": ["code"],
        },
    },
    {
        "name": "twice",
        "description": "Says a word twice.",
        "inputSchema": {"type": "object", "properties": {"word": {"type": "string", "pattern": r"^(\w+) \1$"}}},
    },
]


@pytest.fixture(autouse=True)
def no_python_re(monkeypatch: pytest.MonkeyPatch) -> None:
    import jsonschema._format  # type: ignore[import-untyped]
    import jsonschema._keywords  # type: ignore[import-untyped]
    import jsonschema._legacy_keywords  # type: ignore[import-untyped]
    import jsonschema._utils  # type: ignore[import-untyped]

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a schema regular expression reached Python's re")

    stub = types.SimpleNamespace(search=refuse, compile=refuse, match=refuse, fullmatch=refuse, error=ValueError)
    for module in (jsonschema._keywords, jsonschema._utils, jsonschema._legacy_keywords, jsonschema._format):
        monkeypatch.setattr(module, "re", stub)


@pytest.fixture
def invoked() -> list[str]:
    return []


@pytest.fixture
def plane(invoked: list[str]) -> Plane:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        message = event["message"]
        if message["method"] == "tools/list":
            return {"jsonrpc": "2.0", "id": message["id"], "result": {"tools": TOOLS}}
        invoked.append(message["params"]["name"])
        return {"jsonrpc": "2.0", "id": message["id"], "result": {"content": [{"type": "text", "text": "ok"}]}}

    plane = Plane()
    plane.invoker = InProcessInvoker({"steward-local-tool-codes": handler})
    register_internal_server(
        plane.registry,
        plane.invoker,
        name="codes",
        function_name="steward-local-tool-codes",
        function_timeout_s=10,
        versions=lambda _: "1",
        status=ToolStatus.APPROVED,
    )
    plane.grants.add(Grant(SubjectKind.PRINCIPAL, "alice", "codes__*"))
    return plane


@pytest.fixture
def client(plane: Plane) -> TestClient:
    return TestClient(create_app(build_endpoint(settings(), plane.ports())), base_url="http://127.0.0.1:8787")


def call(client: TestClient, name: str, arguments: dict[str, Any]) -> Any:
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
    headers = {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "authorization": f"Bearer {TOKENS['alice']}",
        "mcp-protocol-version": "2025-11-25",
    }
    return client.post("/mcp", content=json.dumps(body), headers=headers)


def test_registration_flagged_both_patterns(plane: Plane) -> None:
    tools = {tool.upstream_name: tool for tool in plane.registry.tools_of(ServerName("codes"))}
    assert {f["rule"] for f in tools["lookup"].findings} == {"backtracking_regex"}
    assert {f["rule"] for f in tools["twice"].findings} == {"unsupported_regex"}
    assert tools["lookup"].verdict == tools["twice"].verdict == "suspicious"


def test_a_catastrophic_pattern_answers_invalid_arguments_with_200(client: TestClient, invoked: list[str]) -> None:
    response = call(client, "codes__lookup", {"code": "a" * 40 + "!"})
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["isError"] is True
    assert result["_meta"]["steward/reason"] == "invalid_arguments"
    assert result["_meta"]["steward/violations"][0]["pointer"] == "/code"
    assert invoked == []
    valid = call(client, "codes__lookup", {"code": "a" * 100_000})
    assert valid.status_code == 200 and not valid.json()["result"].get("isError")
    assert invoked == ["lookup"]


def test_a_pattern_re2_cannot_evaluate_refuses_the_call_with_200(client: TestClient, invoked: list[str]) -> None:
    for arguments in ({"word": "hey hey"}, {}):
        response = call(client, "codes__twice", arguments)
        assert response.status_code == 200
        result = response.json()["result"]
        assert result["isError"] is True and result["_meta"]["steward/reason"] == "invalid_arguments"
        assert "backreference" in result["content"][0]["text"]
    assert invoked == []
