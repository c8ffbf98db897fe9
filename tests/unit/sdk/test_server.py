from __future__ import annotations

import json
import logging
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field

from mcp_steward.sdk import ToolContext, ToolError, ToolServer
from tests.unit.sdk.helpers import call, envelope, steward

SECRET_TEXT = "password=hunter2"


class Greeting(BaseModel):
    text: str
    principal: str


class Seen(BaseModel):
    request_id: str
    principal: str
    team: str
    obo: str | None
    delegation: str | None


def _server() -> ToolServer:
    server = ToolServer(name="demo", version="1.0.0")

    @server.tool()
    def greet(
        ctx: ToolContext,
        name: Annotated[str, Field(min_length=1, examples=["Ada"])],
        times: Annotated[int, Field(ge=1, le=3)] = 1,
    ) -> Greeting:
        ctx.report_units(times)
        return Greeting(text=" ".join([f"hello {name}"] * times), principal=ctx.principal.id)

    @server.tool()
    def whoami(ctx: ToolContext) -> Seen:
        return Seen(
            request_id=ctx.request_id,
            principal=ctx.principal.id,
            team=ctx.principal.team,
            obo=ctx.principal.obo,
            delegation=ctx.delegation,
        )

    @server.tool()
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool()
    async def shout(text: str) -> str:
        return text.upper()

    @server.tool()
    def refuse(ctx: ToolContext) -> str:
        ctx.report_units(2)
        raise ToolError("quota for this account is used up")

    @server.tool()
    def crash() -> str:
        raise RuntimeError(SECRET_TEXT)

    @server.tool()
    def wrong_output() -> Greeting:
        return {"text": 1}  # type: ignore[return-value]

    return server


SERVER = _server()


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def _result(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["jsonrpc"] == "2.0"
    assert "error" not in answer, answer
    result: dict[str, Any] = answer["result"]
    return result


def test_a_call_returns_structured_content_and_the_same_json_as_text() -> None:
    result = _result(SERVER.handler(call("greet", {"name": "Ada", "times": 2}, request_id="r-9"), None))
    assert result["isError"] is False
    assert result["structuredContent"] == {"text": "hello Ada hello Ada", "principal": "alice"}
    assert result["content"] == [{"type": "text", "text": '{"text":"hello Ada hello Ada","principal":"alice"}'}]
    assert json.loads(result["content"][0]["text"]) == result["structuredContent"]


def test_reported_units_are_returned_in_meta() -> None:
    result = _result(SERVER.handler(call("greet", {"name": "Ada", "times": 3}), None))
    assert result["_meta"] == {"steward/units": 3}


def test_a_call_without_reported_units_has_no_meta() -> None:
    result = _result(SERVER.handler(call("add", {"a": 1, "b": 2}), None))
    assert "_meta" not in result


def test_the_request_id_is_echoed_whether_string_or_integer() -> None:
    assert SERVER.handler(call("add", {"a": 1, "b": 2}, request_id="abc"), None)["id"] == "abc"
    assert SERVER.handler(call("add", {"a": 1, "b": 2}, request_id=42), None)["id"] == 42


def test_a_primitive_result_is_wrapped_as_an_object() -> None:
    result = _result(SERVER.handler(call("add", {"a": 40, "b": 2}), None))
    assert result["structuredContent"] == {"result": 42}
    assert result["content"][0]["text"] == '{"result":42}'


def test_async_tools_are_awaited() -> None:
    result = _result(SERVER.handler(call("shout", {"text": "hi"}), None))
    assert result["structuredContent"] == {"result": "HI"}


def test_the_context_carries_the_envelope() -> None:
    event = call("whoami", {})
    event["steward"] = steward(principal={"id": "svc-bot", "team": "ops", "obo": "carol"}, delegation="tok.sig")
    result = _result(SERVER.handler(event, None))
    assert result["structuredContent"] == {
        "request_id": "req-123",
        "principal": "svc-bot",
        "team": "ops",
        "obo": "carol",
        "delegation": "tok.sig",
    }


def test_missing_arguments_are_treated_as_an_empty_object() -> None:
    result = _result(SERVER.handler(call("whoami"), None))
    assert result["isError"] is False


def test_invalid_arguments_are_a_tool_error_listing_each_violation_with_its_location() -> None:
    result = _result(SERVER.handler(call("greet", {"name": "", "times": "2", "extra": True}), None))
    assert result["isError"] is True
    assert "structuredContent" not in result
    assert result["_meta"]["steward/reason"] == "invalid_arguments"
    paths = [v["path"] for v in result["_meta"]["steward/violations"]]
    assert paths == ["/name", "/times", "/extra"]
    text = result["content"][0]["text"]
    assert all(path in text for path in paths)


def test_a_missing_required_argument_is_located() -> None:
    result = _result(SERVER.handler(call("add", {"a": 1}), None))
    assert result["isError"] is True
    assert [v["path"] for v in result["_meta"]["steward/violations"]] == ["/b"]


def test_a_tool_error_is_answered_with_its_message_and_any_units_reported() -> None:
    result = _result(SERVER.handler(call("refuse", {}), None))
    assert result["isError"] is True
    assert result["content"] == [{"type": "text", "text": "quota for this account is used up"}]
    assert result["_meta"] == {"steward/units": 2}


def test_an_unexpected_exception_is_answered_generically_and_logged_with_the_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="mcp_steward.sdk"):
        answer = SERVER.handler(call("crash", {}), None)
    result = _result(answer)
    assert result["isError"] is True
    assert result["content"] == [{"type": "text", "text": "tool failed: RuntimeError"}]
    assert SECRET_TEXT not in json.dumps(answer)
    assert any("req-123" in record.getMessage() and record.exc_info for record in caplog.records)


def test_output_not_matching_the_return_annotation_is_an_invalid_output_error() -> None:
    result = _result(SERVER.handler(call("wrong_output", {}), None))
    assert result["isError"] is True
    assert result["_meta"]["steward/reason"] == "invalid_output"


def test_tools_list_answers_every_tool() -> None:
    answer = SERVER.handler(envelope("tools/list", request_id=7), None)
    assert answer["id"] == 7
    names = [tool["name"] for tool in answer["result"]["tools"]]
    assert names == ["greet", "whoami", "add", "shout", "refuse", "crash", "wrong_output"]
    assert "nextCursor" not in answer["result"]


@pytest.mark.parametrize("method", ["initialize", "ping", "resources/list", "tools/lists"])
def test_any_other_method_is_method_not_found(method: str) -> None:
    answer = SERVER.handler(envelope(method, request_id=5), None)
    assert answer == {"jsonrpc": "2.0", "id": 5, "error": {"code": -32601, "message": f"Method not found: {method}"}}


@pytest.mark.parametrize("params", [{"name": "nope"}, {}, {"name": 3}])
def test_an_unknown_or_missing_tool_name_is_invalid_params(params: dict[str, Any]) -> None:
    answer = SERVER.handler(envelope("tools/call", params, request_id="x"), None)
    assert answer["id"] == "x"
    assert answer["error"]["code"] == -32602


def test_arguments_that_are_not_an_object_are_invalid_params() -> None:
    answer = SERVER.handler(call("add", [1, 2]), None)
    assert answer["error"]["code"] == -32602


@pytest.mark.parametrize(
    "event",
    [
        None,
        [],
        "tools/list",
        {},
        {"message": {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}},
        {"steward": {}, "message": "tools/list"},
    ],
)
def test_a_malformed_envelope_is_invalid_request_with_a_null_id_when_none_is_readable(event: Any) -> None:
    answer = SERVER.handler(event, None)
    assert answer["error"]["code"] == -32600
    expected_id = 1 if isinstance(event, dict) and isinstance(event.get("message"), dict) else None
    assert answer["id"] == expected_id


@pytest.mark.parametrize(
    "steward_overrides",
    [
        {"v": 2},
        {"v": "1"},
        {"request_id": None},
        {"deadline_ms": "soon"},
        {"principal": {"id": "alice"}},
        {"delegation": 5},
    ],
)
def test_an_invalid_steward_context_is_invalid_request_echoing_the_message_id(
    steward_overrides: dict[str, Any],
) -> None:
    event = envelope("tools/list", request_id="m-1")
    event["steward"] = steward(**steward_overrides)
    answer = SERVER.handler(event, None)
    assert answer["id"] == "m-1"
    assert answer["error"]["code"] == -32600


@pytest.mark.parametrize(
    "message",
    [
        {"jsonrpc": "1.0", "id": 1, "method": "tools/list"},
        {"jsonrpc": "2.0", "method": "tools/list"},
        {"jsonrpc": "2.0", "id": None, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": True, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 1, "method": 5},
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": ["add"]},
    ],
)
def test_a_message_that_is_not_a_json_rpc_request_is_invalid_request(message: dict[str, Any]) -> None:
    answer = SERVER.handler({"steward": steward(), "message": message}, None)
    assert answer["error"]["code"] == -32600


def test_unknown_envelope_keys_are_ignored_for_forward_compatibility() -> None:
    event = envelope("tools/list")
    event["steward"]["budget"] = {"remaining": 3}
    event["extension"] = True
    assert "result" in SERVER.handler(event, None)


@pytest.mark.parametrize("arguments", [{"a": float("nan"), "b": 1}, {"a": 1, "b": 1, "deep": _nested(5000)}])
def test_arguments_that_are_not_json_are_invalid_arguments_not_a_crash(arguments: dict[str, Any]) -> None:
    result = _result(SERVER.handler(call("add", arguments), None))
    assert result["isError"] is True
    assert result["_meta"]["steward/reason"] == "invalid_arguments"
    assert [v["path"] for v in result["_meta"]["steward/violations"]] == [""]


def test_a_failure_inside_the_server_still_answers_json_rpc(monkeypatch: pytest.MonkeyPatch) -> None:
    server = _server()

    def broken() -> list[dict[str, Any]]:
        raise RuntimeError("bug")

    monkeypatch.setattr(server, "list_tools", broken)
    answer = server.handler(envelope("tools/list", request_id=11), None)
    assert answer == {"jsonrpc": "2.0", "id": 11, "error": {"code": -32603, "message": "Internal error"}}
