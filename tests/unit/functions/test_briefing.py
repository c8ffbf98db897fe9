"""The briefing tool function: it asks its source through nested governance with its invocation's delegation
token, attributes the answer, and turns a refusal or a failed source into an ``isError`` result."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.unit.functions.conftest import load_with_env

ANSWER = {"content": [{"type": "text", "text": "Sunny, 21 C"}], "structuredContent": {"temperature_c": 21}}


@pytest.fixture(scope="module")
def app() -> Iterator[ModuleType]:
    yield from load_with_env("briefing")


def envelope(delegation: str | None, source: str = "weather__forecast") -> dict[str, Any]:
    return {
        "steward": {
            "v": 1,
            "request_id": "req-1",
            "deadline_ms": 4_102_444_800_000,
            "principal": {"id": "alice", "team": "finance", "obo": None},
            "delegation": delegation,
        },
        "message": {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "brief", "arguments": {"source": source, "arguments": {"city": "Basel"}}},
        },
    }


def run(app: ModuleType, answer: dict[str, Any], delegation: str | None = "token-of-this-invocation") -> Any:
    sent: list[tuple[dict[str, Any], int]] = []

    def nested(event: dict[str, Any], timeout_ms: int) -> dict[str, Any]:
        sent.append((event, timeout_ms))
        return answer

    result = app.build_server(nested).handler(envelope(delegation), None)["result"]
    return result, sent


def test_the_source_is_asked_with_the_invocations_token_and_its_answer_attributed(app: ModuleType) -> None:
    result, sent = run(app, {"result": ANSWER})
    assert result["isError"] is False
    assert result["structuredContent"] == {
        "source": "weather__forecast",
        "text": "Sunny, 21 C",
        "data": {"temperature_c": 21},
    }
    assert result["_meta"] == {"steward/units": 1}
    [(event, timeout_ms)] = sent
    assert event == {
        "delegation": "token-of-this-invocation",
        "name": "weather__forecast",
        "arguments": {"city": "Basel"},
    }
    assert timeout_ms > 0


def test_a_refusal_or_a_failed_source_is_an_error_result(app: ModuleType) -> None:
    refused = {"error": {"code": -31000, "message": "budget spent", "data": {"reason": "delegation_invalid"}}}
    result, _ = run(app, refused)
    assert result["isError"] is True
    assert result["content"][0]["text"] == "weather__forecast could not be asked: budget spent"
    failed = {"result": {"content": [{"type": "text", "text": "vendor down"}], "isError": True}}
    result, _ = run(app, failed)
    assert (result["isError"], result["content"][0]["text"]) == (True, "weather__forecast failed: vendor down")


def test_without_a_delegation_token_nothing_is_sent(app: ModuleType) -> None:
    result, sent = run(app, {"result": ANSWER}, delegation=None)
    assert result["isError"] is True and sent == []
    assert "may not call other tools" in result["content"][0]["text"]
