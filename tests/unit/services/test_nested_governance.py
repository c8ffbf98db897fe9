"""Nested governance end to end in one process: a tool server built with the SDK calls another tool with
``ctx.call_tool``; the call goes (as JSON, like the Lambda invoke) to nested governance, which accepts only
the delegation token its invocation was given."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from mcp_steward.adapters.memory import InMemoryGrantStore, InMemoryRegistry, InProcessInvoker
from mcp_steward.adapters.memory_budgets import InMemoryBudgetLedger
from mcp_steward.adapters.secrets_delegation_keys import StaticDelegationKeys
from mcp_steward.domain.budgets import Owner, OwnerKind, period_of
from mcp_steward.domain.delegation import mint, root_claims
from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.identity import Principal, PrincipalId, TeamName
from mcp_steward.domain.money import Micros
from mcp_steward.domain.names import ExposedName, ServerName
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.registry import DelegationPolicy, ToolStatus
from mcp_steward.sdk import NestedCallError, ToolContext, ToolServer
from mcp_steward.services.calls import CallRequest, CallTool
from mcp_steward.services.nested import NestedGovernance
from mcp_steward.services.registration import register_internal_server
from mcp_steward.services.tools import ToolService

ALICE = Principal(PrincipalId("alice"), TeamName("finance"))
KEYS = StaticDelegationKeys({"k1": b"s" * 32}, current="k1")


class World:
    """Two internal servers: ``research`` (its tool calls ``quotes__price`` through Steward) and ``quotes``."""

    def __init__(self, *, calls: int = 2) -> None:
        self.registry, self.grants = InMemoryRegistry(), InMemoryGrantStore()
        self.budgets = InMemoryBudgetLedger(self.grants, self.registry)
        self.seen: list[dict[str, Any]] = []
        self.refusals: list[str] = []
        research = ToolServer("research", "1.0.0", nested=self._nested)
        quotes = ToolServer("quotes", "1.0.0")

        @research.tool()
        def brief(ctx: ToolContext, symbol: str, times: int = 1) -> dict[str, Any]:
            """Brief on a symbol, with its latest quote."""
            answers = []
            for _ in range(times):
                try:
                    answers.append(ctx.call_tool("quotes__price", {"symbol": symbol}))
                except NestedCallError as refused:
                    self.refusals.append(f"{refused.reason}:{refused.data.get('why', '')}")
            self.seen.append({"token": ctx.delegation})
            return {"answers": [a["structuredContent"] for a in answers]}

        @quotes.tool()
        def price(ctx: ToolContext, symbol: str) -> dict[str, Any]:
            """The latest price of a symbol."""
            self.seen.append({"quotes_principal": ctx.principal.id, "quotes_token": ctx.delegation})
            return {"symbol": symbol, "price": "101.5"}

        invoker = InProcessInvoker({"fn-research": research.handler, "fn-quotes": quotes.handler})
        for name, function in (("research", "fn-research"), ("quotes", "fn-quotes")):
            register_internal_server(
                self.registry,
                invoker,
                name=name,
                function_name=function,
                function_timeout_s=10,
                versions=lambda _: "1",
                status=ToolStatus.APPROVED,
            )
        self.registry.set_delegation(ServerName("research"), DelegationPolicy(calls=calls, credit=Micros(5_000_000)))
        catalog = self.registry.catalog()
        for tool in ("research__brief", "quotes__price"):
            self.registry.set_price(catalog.tools[ExposedName(tool)], Price(price=Micros(1_000_000)))
        self.grants.add(Grant(SubjectKind.PRINCIPAL, "alice", "research__brief"))
        self.grants.add(Grant(SubjectKind.SERVER, "research", "quotes__*"))
        self.budgets.set_limit(Owner(OwnerKind.TEAM, "finance"), "finance", Micros(50_000_000), period_of(self.now()))
        self.call = CallTool(ToolService(self.registry, self.grants), self.budgets, invoker, delegation_keys=KEYS)
        self.nested = NestedGovernance(self.call, KEYS, self.budgets)

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    def _nested(self, event: dict[str, Any], timeout_ms: int) -> dict[str, Any]:
        assert 0 < timeout_ms <= 30_000
        return json.loads(json.dumps(self.nested.handle(json.loads(json.dumps(event)))))  # type: ignore[no-any-return]

    def brief(self, request_id: str, times: int = 1) -> dict[str, Any]:
        deadline = int(self.now().timestamp() * 1000) + 20_000
        arguments = {"symbol": "ACME", "times": times}
        return self.call(CallRequest(ALICE, request_id, 1, "research__brief", arguments, deadline))

    def charged(self) -> int:
        budget = self.budgets.period_budget(Owner(OwnerKind.TEAM, "finance"), period_of(self.now()))
        assert budget is not None and budget.reserved == 0
        return budget.charged


def test_a_tool_calls_another_through_steward_and_the_person_is_charged_for_both() -> None:
    world = World()
    result = world.brief("outer")
    assert result["isError"] is False, result
    assert result["structuredContent"] == {"answers": [{"symbol": "ACME", "price": "101.5"}]}
    assert world.charged() == 2_000_000
    inner = [e for e in world.budgets.ledger if e.parent == "outer"]
    assert [(e.tool, e.team, e.principal, e.chain) for e in inner] == [
        ("quotes__price", "finance", "alice", ("research", "quotes"))
    ]
    assert {"quotes_principal": "alice", "quotes_token": None} in world.seen  # quotes may not delegate


def test_the_allowance_refuses_the_third_nested_call_of_one_invocation() -> None:
    world = World(calls=2)
    result = world.brief("outer", times=3)
    assert len(result["structuredContent"]["answers"]) == 2
    assert world.refusals == ["delegation_invalid:budget"]
    assert world.charged() == 3_000_000


def test_a_forged_expired_or_absent_token_is_refused_and_audited_without_a_principal() -> None:
    world = World()
    now_s = int(world.now().timestamp())
    forged = mint(
        root_claims(
            kid="k1",
            request_id="made-up",
            server="research",
            person="alice",
            obo=None,
            team="treasury",
            now_s=now_s,
            deadline_ms=(now_s + 20) * 1000,
        ),
        b"not-the-key" * 3,
    )
    for token, why in ((forged, "forged"), (None, "forged"), ("x.y", "forged")):
        answer = world.nested.handle({"delegation": token, "name": "quotes__price", "arguments": {"symbol": "A"}})
        assert answer["error"]["code"] == -31000
        assert answer["error"]["data"] == {"reason": "delegation_invalid", "why": why}
    assert [(r.reason, r.principal, r.detail) for r in world.budgets.audit] == [
        ("delegation_invalid", None, {"why": "forged"})
    ] * 3
    assert world.budgets.ledger == []


def test_a_bearer_token_or_a_malformed_event_is_not_a_delegation() -> None:
    world = World()
    answer = world.nested.handle({"authorization": "Bearer stw_x", "name": "quotes__price"})
    assert answer["error"]["data"]["reason"] == "delegation_invalid"
    assert world.nested.handle([])["error"]["code"] == -32602  # type: ignore[arg-type]


def test_without_a_token_the_sdk_refuses_before_calling_anything() -> None:
    server = ToolServer("lonely", "1.0.0", nested=lambda event, timeout: pytest.fail("must not be called"))

    @server.tool()
    def ask(ctx: ToolContext) -> str:
        """Ask another tool."""
        ctx.call_tool("quotes__price", {"symbol": "A"})
        return "unreachable"

    envelope = {
        "steward": {
            "v": 1,
            "request_id": "r",
            "deadline_ms": 4_102_444_800_000,
            "principal": {"id": "alice", "team": "finance", "obo": None},
            "delegation": None,
        },
        "message": {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "ask", "arguments": {}}},
    }
    answer = server.handler(envelope)
    assert answer["result"]["isError"] is True
    assert "may not call other tools" in answer["result"]["content"][0]["text"]
