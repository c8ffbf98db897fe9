"""Only Unicode text from tools and callers: a result, a listing or a nested call holding a lone surrogate (or
anything JSON cannot write) is refused where it comes in, so every answer and record can be written."""

from __future__ import annotations

import base64
import json
from typing import Any, cast

import pytest

from mcp_steward.adapters.memory import InMemoryGrantStore, InMemoryRegistry, InProcessInvoker
from mcp_steward.adapters.memory_budgets import InMemoryBudgetLedger
from mcp_steward.adapters.secrets_delegation_keys import StaticDelegationKeys
from mcp_steward.domain.budgets import Owner, OwnerKind, period_of
from mcp_steward.domain.identity import Principal, PrincipalId, TeamName
from mcp_steward.domain.names import ServerName
from mcp_steward.domain.ports import InvocationError
from mcp_steward.domain.records import Decision, Outcome
from mcp_steward.domain.registry import ServerKind, ServerRecord
from mcp_steward.protocol.errors import InvalidParamsError
from mcp_steward.protocol.jsonrpc import is_utf8_json
from mcp_steward.services.calls import CallRequest, CallTool
from mcp_steward.services.nested import NestedGovernance
from mcp_steward.services.oidc import jwt_header
from mcp_steward.services.registration import RegistrationError, discover_tools
from mcp_steward.services.sync import sync_server
from mcp_steward.services.tools import ToolService, tool_result
from tests.unit.services.test_call_tool import NOW, PRICE, build

TEXT = {"type": "text", "text": "ok"}
NOT_WRITABLE = [
    {"content": [{"type": "text", "text": "bad \udc80"}]},
    {"content": [TEXT], "structuredContent": {"rows": [{"v": "\ud800"}]}},
    {"content": [TEXT], "_meta": {"steward/units": 1, "note": "\udfff"}},
    {"content": [TEXT], "structuredContent": {"\udbff": 1}},  # in a key
    {"content": [TEXT], "structuredContent": {"v": float("nan")}},
    {"content": [TEXT], "structuredContent": {"v": float("inf")}},  # 1e400 parses as inf
]


@pytest.mark.parametrize("result", NOT_WRITABLE)
def test_a_result_that_cannot_be_written_as_utf8_json_is_malformed(result: dict[str, Any]) -> None:
    assert tool_result({"jsonrpc": "2.0", "id": 1, "result": result}, "calc__add") is None


def test_a_well_formed_result_with_any_unicode_text_is_kept() -> None:
    result = {"content": [{"type": "text", "text": "żółw \U0001f422"}], "structuredContent": {"ü": "\U0001f600"}}
    assert tool_result({"jsonrpc": "2.0", "id": 1, "result": result}, "calc__add") is result


def test_a_tool_error_shows_only_an_integer_code() -> None:
    answer = tool_result({"jsonrpc": "2.0", "id": 1, "error": {"code": "\ud800" * 3}}, "calc__add")
    assert answer is not None and is_utf8_json(answer)
    assert answer["content"][0]["text"] == "The tool calc__add answered with an error (code None)."


@pytest.mark.parametrize("result", NOT_WRITABLE)
def test_a_charged_call_whose_result_has_a_lone_surrogate_answers_malformed_at_the_fixed_price(
    result: dict[str, Any],
) -> None:
    pipeline = build()
    pipeline.tool.behaviour = lambda args: result
    answer = pipeline.run()
    assert is_utf8_json(answer)
    assert answer["isError"] is True
    assert answer["_meta"]["steward/reason"] == "malformed"
    entry = pipeline.budgets.ledger[-1]
    assert (entry.cost_micros, entry.units, entry.outcome) == (PRICE.price, 0, Outcome.UNKNOWN)
    assert pipeline.team() == (10_000_000, 9_000_000, 0, 1_000_000)  # the reservation is closed
    assert pipeline.last_audit() == (Decision.ALLOWED, "unknown")


def test_the_in_process_invoker_reads_an_answer_as_the_lambda_boundary_does() -> None:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": "\udc80"}]}}

    server = ServerRecord(ServerName("calc"), ServerKind.INTERNAL, "fn", 10)
    with pytest.raises(InvocationError) as excinfo:
        InProcessInvoker({"fn": handler}).invoke(server, {"message": {"id": 1}}, deadline_ms=0)
    assert excinfo.value.reason == "malformed_response"


# --- listings: registration and sync -------------------------------------------------------------------


class Listing:
    """A tool function whose ``tools/list`` answer is given as is (no JSON round trip)."""

    def __init__(self, tools: list[dict[str, Any]]) -> None:
        self.tools = tools

    def invoke(
        self, server: ServerRecord, envelope: dict[str, Any], *, deadline_ms: int, version: str | None = None
    ) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": 1, "result": {"tools": self.tools}}


SERVER = ServerRecord(ServerName("calc"), ServerKind.INTERNAL, "fn-calc", 10)


@pytest.mark.parametrize(
    "definition",
    [
        {"name": "add", "description": "adds \ud800", "inputSchema": {"type": "object"}},
        {"name": "add", "inputSchema": {"type": "object"}, "_meta": {"x": "\udc80"}},  # not a pinned field
        {"name": "add", "inputSchema": {"type": "object", "properties": {"\ud800": {}}}},
    ],
)
def test_a_listing_with_a_lone_surrogate_is_refused_at_registration_and_sync(definition: dict[str, Any]) -> None:
    with pytest.raises(RegistrationError, match="malformed"):
        discover_tools(Listing([definition]), SERVER)
    registry = InMemoryRegistry()
    report = sync_server(registry, Listing([definition]), SERVER, lambda server: "1")
    assert report.error is not None and "malformed" in report.error
    assert registry.tools_of(SERVER.name) == []


def test_a_cursor_that_decodes_to_a_lone_surrogate_is_invalid() -> None:
    cursor = base64.urlsafe_b64encode(b'{"after":"\\ud800"}').decode().rstrip("=")
    service = ToolService(InMemoryRegistry(), InMemoryGrantStore())
    with pytest.raises(InvalidParamsError):
        service.list_tools(Principal(PrincipalId("alice"), TeamName("finance")), cursor)


def test_a_jwt_header_with_a_lone_surrogate_is_not_a_jwt() -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"RS256","kid":"\\ud800"}').decode().rstrip("=")
    assert jwt_header(f"{header}.e30.c2ln") is None


# --- nested calls --------------------------------------------------------------------------------------


def refuse_to_call(request: CallRequest) -> dict[str, Any]:
    raise AssertionError("a nested call that is not Unicode text must not reach the pipeline")


@pytest.mark.parametrize(
    "event",
    [
        {"delegation": "token", "name": "quotes__price\ud800", "arguments": {}},
        {"delegation": "token", "name": "quotes__price", "arguments": {"symbol": "\udc80"}},
        {"delegation": "token", "name": "quotes__price", "_meta": {"\udc80": 1}},
    ],
)
def test_a_nested_call_with_a_lone_surrogate_is_a_parse_error_and_nothing_is_recorded(event: dict[str, Any]) -> None:
    budgets = InMemoryBudgetLedger(InMemoryGrantStore(), InMemoryRegistry())
    keys = StaticDelegationKeys({"k1": b"s" * 32}, current="k1")
    answer = NestedGovernance(cast(CallTool, refuse_to_call), keys, budgets).handle(json.loads(json.dumps(event)))
    assert answer["error"]["code"] == -32700
    assert is_utf8_json(answer)
    assert budgets.audit == []
    assert budgets.period_budget(Owner(OwnerKind.TEAM, "finance"), period_of(NOW)) is None
