"""Nested calls through the pipeline (docs/design.md section 5), with in-memory fakes: governance hands a server a
delegation token bound to the invocation; a nested call made with it is authorized for that server (and the
person, in ``intersect`` mode), charged to the person's team, bounded by the parent's allowance, and recorded
with the chain; cycles, depth, spent allowances and servers that may not delegate are refused."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest

from mcp_steward.adapters.memory import InMemoryGrantStore, InMemoryRegistry
from mcp_steward.adapters.memory_budgets import InMemoryBudgetLedger
from mcp_steward.adapters.secrets_delegation_keys import StaticDelegationKeys
from mcp_steward.domain.budgets import Owner, OwnerKind, period_of
from mcp_steward.domain.delegation import DelegationClaims, verify
from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.identity import Principal, PrincipalId, TeamName
from mcp_steward.domain.money import Micros
from mcp_steward.domain.names import ExposedName, ServerName
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.registry import (
    DelegationMode,
    DelegationPolicy,
    ServerKind,
    ServerRecord,
    ToolRecord,
    ToolStatus,
)
from mcp_steward.protocol.errors import GovernanceDeniedError, UnknownToolError
from mcp_steward.services.calls import CallRequest, CallTool
from mcp_steward.services.tools import ToolService

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
DEADLINE_MS = int(NOW.timestamp() * 1000) + 20_000
ALICE = Principal(PrincipalId("alice"), TeamName("finance"))
KEYS = StaticDelegationKeys({"k1": b"k" * 32}, current="k1")
PRICE = Price(price=Micros(1_000_000))


@dataclass
class Functions:
    """Fake tool functions: each invocation's envelope is kept, and a server's ``during`` script runs inside
    its invocation (where a real server makes its nested calls), given the invocation's token."""

    envelopes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    during: dict[str, Callable[[DelegationClaims], object]] = field(default_factory=dict)

    def invoke(
        self, server: ServerRecord, envelope: dict[str, Any], *, deadline_ms: int, version: str | None = None
    ) -> dict[str, Any]:
        self.envelopes.append((server.name, envelope))
        script = self.during.pop(server.name, None)
        if script is not None:
            script(verify(envelope["steward"]["delegation"], KEYS.key, now_s=int(NOW.timestamp())))
        result = {"content": [{"type": "text", "text": "ok"}], "structuredContent": {"ok": True}}
        return {"jsonrpc": "2.0", "id": envelope["message"]["id"], "result": result}


@dataclass
class Plane:
    call: CallTool
    budgets: InMemoryBudgetLedger
    grants: InMemoryGrantStore
    registry: InMemoryRegistry
    functions: Functions

    def run(self, name: str, request_id: str, delegation: DelegationClaims | None = None) -> dict[str, Any]:
        request = CallRequest(ALICE, request_id, 1, name, {}, DEADLINE_MS, delegation=delegation)
        return self.call(request)

    def token_of(self, request_id: str) -> DelegationClaims:
        """The delegation token governance put in the envelope of ``request_id``'s invocation, verified."""
        envelope = next(e for _, e in self.functions.envelopes if e["steward"]["request_id"] == request_id)
        return verify(envelope["steward"]["delegation"], KEYS.key, now_s=int(NOW.timestamp()))

    def team(self) -> tuple[int, int, int]:
        budget = self.budgets.period_budget(Owner(OwnerKind.TEAM, "finance"), period_of(NOW))
        assert budget is not None
        return budget.available, budget.reserved, budget.charged

    def denial(self, name: str, request_id: str, delegation: DelegationClaims) -> dict[str, Any]:
        with pytest.raises(GovernanceDeniedError) as denied:
            self.run(name, request_id, delegation)
        data: dict[str, Any] = denied.value.data or {}
        return data


def _server(name: str, policy: DelegationPolicy) -> tuple[ServerRecord, list[ToolRecord]]:
    tool = ToolRecord(
        ExposedName(f"{name}__run"),
        "run",
        ServerName(name),
        {"name": "run", "inputSchema": {"type": "object"}},
        ToolStatus.APPROVED,
        PRICE,
    )
    tool = replace(tool, pinned_hash=tool.current_hash)
    server = ServerRecord(ServerName(name), ServerKind.INTERNAL, f"fn-{name}", 10, version="1", delegation=policy)
    return server, [tool]


def build(mode: DelegationMode = DelegationMode.SERVICE, calls: int = 2, credit: int = 2_000_000) -> Plane:
    registry, grants = InMemoryRegistry(), InMemoryGrantStore()
    delegating = DelegationPolicy(calls=calls, credit=Micros(credit), mode=mode)
    for name, policy in (
        ("research", delegating),
        ("search", delegating),
        ("archive", delegating),
        ("quotes", DelegationPolicy()),
    ):
        registry.put_server(*_server(name, policy))
    grants.add(Grant(SubjectKind.PRINCIPAL, "alice", "research__run"))
    for caller, target in (
        ("research", "quotes"),
        ("research", "search"),
        ("search", "archive"),
        ("archive", "research"),
    ):
        grants.add(Grant(SubjectKind.SERVER, caller, f"{target}__run"))
    budgets = InMemoryBudgetLedger(grants, registry)
    budgets.set_limit(Owner(OwnerKind.TEAM, "finance"), "finance", Micros(100_000_000), period_of(NOW))
    functions = Functions()
    call = CallTool(ToolService(registry, grants), budgets, functions, clock=lambda: NOW, delegation_keys=KEYS)
    return Plane(call, budgets, grants, registry, functions)


def test_a_delegating_server_gets_a_token_bound_to_its_invocation_and_a_nested_call_is_charged_to_the_person() -> None:
    plane = build()
    seen: list[dict[str, Any]] = []

    def research(token: DelegationClaims) -> None:
        assert (token.rid, token.root_rid, token.caller, token.sub, token.team, token.chain, token.depth) == (
            "outer",
            "outer",
            "server:research",
            "alice",
            "finance",
            ("research",),
            1,
        )
        assert token.deadline_ms == DEADLINE_MS
        seen.append(plane.run("quotes__run", "inner", token))  # granted to the research server, not to alice
        assert plane.team() == (98_000_000, 1_000_000, 1_000_000)  # the outer call open, the nested one charged

    plane.functions.during["research"] = research
    plane.run("research__run", "outer")
    assert seen == [{"content": [{"type": "text", "text": "ok"}], "structuredContent": {"ok": True}}]
    nested = next(e for e in plane.budgets.ledger if e.request_id == "inner")
    assert (nested.team, nested.principal, nested.parent, nested.chain) == (
        "finance",
        "alice",
        "outer",
        ("research", "quotes"),
    )
    audit = next(r for r in plane.budgets.audit if r.request_id == "inner")
    assert audit.detail is not None and (audit.detail["parent"], audit.detail["chain"]) == (
        "outer",
        ["research", "quotes"],
    )
    quotes_envelope = next(e for name, e in plane.functions.envelopes if name == "quotes")
    assert quotes_envelope["steward"]["delegation"] is None  # quotes may not delegate: no token
    assert quotes_envelope["steward"]["principal"] == {"id": "alice", "team": "finance", "obo": None}


def test_a_person_cannot_call_directly_what_only_the_server_is_granted() -> None:
    plane = build()
    with pytest.raises(UnknownToolError):
        plane.run("quotes__run", "direct")


def test_intersect_mode_also_needs_the_persons_grant() -> None:
    plane = build(mode=DelegationMode.INTERSECT)

    def research(token: DelegationClaims) -> None:
        with pytest.raises(UnknownToolError):
            plane.run("quotes__run", "inner", token)
        plane.grants.add(Grant(SubjectKind.TEAM, "finance", "quotes__*"))
        assert plane.run("quotes__run", "inner-2", token)["structuredContent"] == {"ok": True}

    plane.functions.during["research"] = research
    plane.run("research__run", "outer")


def test_the_parent_allowance_bounds_nested_calls_and_a_replayed_token_spends_nothing_more() -> None:
    plane = build(calls=2, credit=5_000_000)
    denials: list[dict[str, Any]] = []

    def research(token: DelegationClaims) -> None:
        plane.run("quotes__run", "n1", token)
        plane.run("quotes__run", "n2", token)
        denials.append(plane.denial("quotes__run", "n3", token))

    plane.functions.during["research"] = research
    plane.run("research__run", "outer")
    assert denials == [{"reason": "delegation_invalid", "why": "budget"}]
    assert next(r for r in plane.budgets.audit if r.request_id == "n3").reason == "delegation_invalid"
    # After the call that minted it has ended, the token buys nothing.
    assert plane.denial("quotes__run", "late", plane.token_of("outer"))["why"] == "budget"


def test_a_cycle_and_a_chain_deeper_than_three_are_refused() -> None:
    plane = build(calls=5, credit=50_000_000)
    plane.grants.add(Grant(SubjectKind.SERVER, "archive", "quotes__run"))
    refusals: list[str] = []

    def archive(third: DelegationClaims) -> None:  # research -> search -> archive
        assert (third.chain, third.depth) == (("research", "search", "archive"), 3)
        refusals.append(plane.denial("research__run", "n3", third)["why"])  # archive -> research: a cycle
        refusals.append(plane.denial("quotes__run", "n4", third)["why"])  # a fourth server: too deep

    plane.functions.during["research"] = lambda first: plane.run("search__run", "n1", first)
    plane.functions.during["search"] = lambda second: plane.run("archive__run", "n2", second)
    plane.functions.during["archive"] = archive
    plane.run("research__run", "outer")
    assert refusals == ["cycle", "depth"]


def test_a_server_that_may_not_delegate_cannot_use_a_token_naming_it() -> None:
    plane = build()
    refusals: list[str] = []

    def research(token: DelegationClaims) -> None:
        plane.registry.set_delegation(ServerName("research"), DelegationPolicy())
        refusals.append(plane.denial("quotes__run", "inner", token)["why"])

    plane.functions.during["research"] = research
    plane.run("research__run", "outer")
    assert refusals == ["target"]


def test_a_servers_idempotency_key_is_namespaced_by_its_parent_call_and_reads_nothing_of_the_persons() -> None:
    """A tool server may put any key in a nested call's ``_meta``: it never replays the person's own results
    (here of research__run, which the server is not granted to call for itself)."""
    plane = build()
    meta = {"steward/idempotencyKey": "K"}
    plane.call(CallRequest(ALICE, "alices-own", 1, "research__run", {}, DEADLINE_MS, meta=meta))
    answers: list[dict[str, Any]] = []

    def research(token: DelegationClaims) -> None:
        request = CallRequest(ALICE, "inner", 1, "quotes__run", {}, DEADLINE_MS, meta=meta, delegation=token)
        answers.append(plane.call(request))

    plane.functions.during["research"] = research
    plane.run("research__run", "outer")
    assert [name for name, _ in plane.functions.envelopes] == ["research", "research", "quotes"]
    assert answers == [{"content": [{"type": "text", "text": "ok"}], "structuredContent": {"ok": True}}]
    assert next(e for e in plane.budgets.ledger if e.request_id == "inner").tool == "quotes__run"
