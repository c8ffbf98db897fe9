"""The tools/call pipeline as a decision table, with in-memory fakes: each case's answer, charge, ledger and
audit record (docs/design.md section 3)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mcp_steward.adapters.memory import InMemoryGrantStore, InMemoryRegistry
from mcp_steward.adapters.memory_budgets import InMemoryBudgetLedger
from mcp_steward.domain.budgets import Owner, OwnerKind, RateLimit, RateScope, period_of
from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.identity import Principal, PrincipalId, TeamName
from mcp_steward.domain.money import Micros
from mcp_steward.domain.names import ExposedName, ServerName
from mcp_steward.domain.pinning import definition_hash
from mcp_steward.domain.ports import InvocationError
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.records import Decision, Outcome
from mcp_steward.domain.registry import ServerKind, ServerRecord, ToolRecord, ToolStatus
from mcp_steward.protocol.errors import GovernanceDeniedError, UnknownToolError
from mcp_steward.services.caching import CachedGrants
from mcp_steward.services.calls import CallRequest, CallTool
from mcp_steward.services.tools import ToolService

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ALICE = Principal(PrincipalId("alice"), TeamName("finance"))
AGENT = Principal(PrincipalId("agent"), TeamName("finance"), obo=PrincipalId("carol"))
SCHEMA = {
    "type": "object",
    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    "required": ["a", "b"],
    "additionalProperties": False,
}
OUTPUT = {"type": "object", "properties": {"result": {"type": "integer"}}, "required": ["result"]}
PRICE = Price(price=Micros(1_000_000), unit_price=Micros(100_000), max_units=5)  # 1 credit + up to 0.5


@dataclass
class Tool:
    """A fake tool function: answers what ``behaviour`` says and counts its invocations."""

    behaviour: Callable[[dict[str, Any]], dict[str, Any]] = lambda args: {
        "content": [{"type": "text", "text": "ok"}],
        "structuredContent": {"result": args["a"] + args["b"]},
        "_meta": {"steward/units": 3},
    }
    calls: list[dict[str, Any]] = field(default_factory=list)
    versions: list[str | None] = field(default_factory=list)

    def invoke(
        self, server: ServerRecord, envelope: dict[str, Any], *, deadline_ms: int, version: str | None = None
    ) -> dict[str, Any]:
        self.calls.append(envelope)
        self.versions.append(version)
        arguments = envelope["message"]["params"]["arguments"]
        return {"jsonrpc": "2.0", "id": envelope["message"]["id"], "result": self.behaviour(arguments)}


@dataclass
class Pipeline:
    call: CallTool
    budgets: InMemoryBudgetLedger
    grants: InMemoryGrantStore
    registry: InMemoryRegistry
    tool: Tool
    cache_clock: list[float]

    def advance(self, seconds: float) -> None:
        """Move the caches' clock on (admin changes show within their stated staleness)."""
        self.cache_clock[0] += seconds

    def run(self, principal: Principal = ALICE, name: str = "calc__add", **kwargs: Any) -> dict[str, Any]:
        arguments = kwargs.pop("arguments", {"a": 1, "b": 2})
        request_id = kwargs.pop("request_id", f"r{len(self.budgets.audit)}-{len(self.tool.calls)}")
        return self.call(
            CallRequest(principal, request_id, 1, name, arguments, deadline_ms=4_102_444_800_000, **kwargs)
        )

    def team(self) -> tuple[int, int, int, int]:
        budget = self.budgets.period_budget(Owner(OwnerKind.TEAM, "finance"), period_of(NOW))
        assert budget is not None and budget.balanced
        return budget.limit, budget.available, budget.reserved, budget.charged

    def last_audit(self) -> tuple[Decision | None, str | None]:
        record = self.budgets.audit[-1]
        return record.decision, record.reason


def build(price: Price = PRICE, status: ToolStatus = ToolStatus.APPROVED, credits: int | None = 10) -> Pipeline:
    grants, registry = InMemoryGrantStore(), InMemoryRegistry()
    grants.add(Grant(SubjectKind.PRINCIPAL, "alice", "calc__*"))
    grants.add(Grant(SubjectKind.TEAM, "finance", "calc__add"))
    definition = {"name": "add", "inputSchema": SCHEMA, "outputSchema": OUTPUT}
    pin = definition_hash(definition)
    tool = ToolRecord(
        ExposedName("calc__add"),
        "add",
        ServerName("calc"),
        definition,
        status,
        price,
        pinned_hash=pin,
        pinned_version="3",
    )
    server = ServerRecord(ServerName("calc"), ServerKind.INTERNAL, "fn-calc", 10, version="4")  # since deployed again
    registry.put_server(server, [tool])
    budgets = InMemoryBudgetLedger(grants, registry)
    if credits is not None:
        budgets.set_limit(Owner(OwnerKind.TEAM, "finance"), "finance", Micros(credits * 1_000_000), period_of(NOW))
    fake = Tool()
    cache_clock = [0.0]
    users = {"carol": "treasury"}  # principal entities: a user an agent may act for, and her team
    service = ToolService(registry, CachedGrants(grants, clock=lambda: cache_clock[0]), team_of=users.get)
    call = CallTool(service, budgets, fake, clock=lambda: NOW)
    return Pipeline(call, budgets, grants, registry, fake, cache_clock)


def test_an_allowed_call_is_invoked_charged_for_its_units_and_recorded() -> None:
    pipeline = build()
    result = pipeline.run()
    assert result["structuredContent"] == {"result": 3}
    assert pipeline.team() == (10_000_000, 8_700_000, 0, 1_300_000)  # 1 credit + 3 units x 0.1
    entry = pipeline.budgets.ledger[-1]
    assert (entry.cost_micros, entry.units, entry.outcome, entry.tool) == (1_300_000, 3, Outcome.OK, "calc__add")
    assert pipeline.last_audit() == (Decision.ALLOWED, "ok")
    assert pipeline.tool.calls[0]["steward"]["principal"] == {"id": "alice", "team": "finance", "obo": None}
    assert pipeline.tool.versions == ["3"]  # the approved code: the pinned version, not the latest deployed


def test_a_tool_without_a_grant_answers_like_an_unknown_tool_and_is_recorded() -> None:
    pipeline = build()
    bob = Principal(PrincipalId("bob"), TeamName("support"))
    with pytest.raises(UnknownToolError):
        pipeline.run(principal=bob)
    with pytest.raises(UnknownToolError):
        pipeline.run(name="calc__nope")
    assert pipeline.tool.calls == []
    assert pipeline.last_audit() == (Decision.DENIED, "unknown_tool")


@pytest.mark.parametrize("status", [ToolStatus.PENDING, ToolStatus.QUARANTINED])
def test_a_granted_tool_awaiting_review_is_denied_as_quarantined(status: ToolStatus) -> None:
    pipeline = build(status=status)
    with pytest.raises(GovernanceDeniedError) as denied:
        pipeline.run()
    assert denied.value.denial_reason == "quarantined"
    assert pipeline.tool.calls == []


@pytest.mark.parametrize("status", [ToolStatus.DISABLED, ToolStatus.REJECTED])
def test_a_disabled_or_rejected_tool_is_unknown(status: ToolStatus) -> None:
    with pytest.raises(UnknownToolError):
        build(status=status).run()


def test_invalid_arguments_are_a_tool_error_not_invoked_not_charged() -> None:
    pipeline = build()
    result = pipeline.run(arguments={"a": "one", "c": 1})
    assert result["isError"] is True
    assert result["_meta"]["steward/reason"] == "invalid_arguments"
    pointers = {v["pointer"] for v in result["_meta"]["steward/violations"]}
    assert pointers == {"/a", "/b", "/c"}
    assert pipeline.tool.calls == []
    assert pipeline.budgets.period_budget(Owner(OwnerKind.TEAM, "finance"), period_of(NOW)) is None  # nothing held
    assert pipeline.budgets.ledger == []
    assert pipeline.last_audit() == (Decision.DENIED, "invalid_arguments")


def test_a_call_over_budget_is_denied_before_invoking() -> None:
    pipeline = build(credits=1)  # the call may cost 1.5
    with pytest.raises(GovernanceDeniedError) as denied:
        pipeline.run()
    assert denied.value.denial_reason == "budget_exceeded"
    assert denied.value.data == {
        "reason": "budget_exceeded",
        "team": "finance",
        "period": "2026-11",
        "remaining_micro": 1_000_000,
        "remaining": "1.000000",
        "cost_micro": 1_500_000,
        "cost": "1.500000",
    }
    assert pipeline.tool.calls == []
    assert pipeline.last_audit() == (Decision.DENIED, "budget_exceeded")


def test_a_priced_tool_without_any_budget_is_refused_and_a_free_one_allowed() -> None:
    with pytest.raises(GovernanceDeniedError) as denied:
        build(credits=None).run()
    assert denied.value.denial_reason == "budget_exceeded"
    free = build(price=Price(), credits=None)
    assert free.run()["structuredContent"] == {"result": 3}
    assert free.budgets.ledger[-1].cost_micros == 0


def test_a_rate_limited_principal_is_denied_with_retry_after() -> None:
    pipeline = build(price=Price())
    pipeline.budgets.set_rate_limit(RateLimit(RateScope.PRINCIPAL, "alice", 2))
    pipeline.run()
    pipeline.run()
    with pytest.raises(GovernanceDeniedError) as denied:
        pipeline.run()
    assert denied.value.denial_reason == "rate_limited"
    assert denied.value.data is not None
    assert denied.value.data["retry_after_s"] == 60 and denied.value.data["scope"] == "principal"
    assert len(pipeline.tool.calls) == 2


def test_a_repeated_idempotency_key_runs_and_charges_once() -> None:
    pipeline = build()
    meta = {"steward/idempotencyKey": "order-7"}
    first = pipeline.run(meta=meta, request_id="a")
    again = pipeline.run(meta=meta, request_id="b")
    assert again == first
    assert len(pipeline.tool.calls) == 1
    assert pipeline.team()[3] == 1_300_000


@pytest.mark.parametrize("key", ["", "k" * 257, 7])
def test_a_malformed_idempotency_key_is_invalid_params(key: object) -> None:
    from mcp_steward.protocol.errors import InvalidParamsError

    with pytest.raises(InvalidParamsError):
        build().run(meta={"steward/idempotencyKey": key})


def test_a_tool_error_result_costs_the_fixed_price() -> None:
    pipeline = build()
    pipeline.tool.behaviour = lambda args: {"content": [{"type": "text", "text": "no"}], "isError": True}
    assert pipeline.run()["isError"] is True
    assert pipeline.team()[3] == 1_000_000
    assert pipeline.budgets.ledger[-1].outcome is Outcome.TOOL_ERROR


@pytest.mark.parametrize(
    ("reason", "charged", "outcome"),
    [
        ("timeout", 1_000_000, Outcome.UNKNOWN),
        ("transport_error", 1_000_000, Outcome.UNKNOWN),
        ("malformed_response", 1_000_000, Outcome.UNKNOWN),
        ("response_too_large", 1_000_000, Outcome.UNKNOWN),
        ("function_error", 1_000_000, Outcome.TOOL_ERROR),
        ("function_not_found", 0, Outcome.NOT_INVOKED),
        ("throttled", 0, Outcome.NOT_INVOKED),
        ("deadline_exceeded", 0, Outcome.NOT_INVOKED),
    ],
)
def test_who_pays_when_the_invocation_fails(reason: str, charged: int, outcome: Outcome) -> None:
    pipeline = build()

    def fail(args: dict[str, Any]) -> dict[str, Any]:
        raise InvocationError(reason, "failed")

    pipeline.tool.behaviour = fail
    result = pipeline.run()
    assert result["isError"] is True and result["_meta"]["steward/reason"] == reason
    assert pipeline.team() == (10_000_000, 10_000_000 - charged, 0, charged)
    assert pipeline.budgets.ledger[-1].outcome is outcome


def test_output_that_violates_the_output_schema_is_an_error_charged_with_a_finding() -> None:
    pipeline = build()
    pipeline.tool.behaviour = lambda args: {"content": [], "structuredContent": {"result": "three"}}
    result = pipeline.run()
    assert result["isError"] is True and result["_meta"]["steward/reason"] == "invalid_output"
    assert pipeline.budgets.ledger[-1].outcome is Outcome.INVALID_OUTPUT
    assert pipeline.team()[3] == 1_000_000
    assert pipeline.budgets.audit[-1].detail["finding"] == "invalid_output"


def test_metered_units_are_capped_at_the_maximum() -> None:
    pipeline = build()
    pipeline.tool.behaviour = lambda args: {
        "content": [],
        "structuredContent": {"result": 1},
        "_meta": {"steward/units": 99},
    }
    pipeline.run()
    assert pipeline.budgets.ledger[-1].cost_micros == 1_500_000


def test_an_agent_for_a_user_needs_both_grants() -> None:
    pipeline = build()
    pipeline.grants.add(Grant(SubjectKind.PRINCIPAL, "agent", "calc__*"))
    with pytest.raises(UnknownToolError):
        pipeline.run(principal=AGENT)  # carol has no grant
    pipeline.grants.add(Grant(SubjectKind.PRINCIPAL, "carol", "calc__add"))
    pipeline.advance(6)  # past the grant cache's 5 s staleness
    assert pipeline.run(principal=AGENT)["structuredContent"] == {"result": 3}
    assert pipeline.tool.calls[-1]["steward"]["principal"]["obo"] == "carol"
    assert pipeline.budgets.ledger[-1].obo == "carol"


def test_a_revoked_grant_stops_calls_at_once_despite_the_grant_cache() -> None:
    pipeline = build()
    pipeline.run()  # the grant is now cached
    pipeline.grants.remove(Grant(SubjectKind.PRINCIPAL, "alice", "calc__*"))
    with pytest.raises(UnknownToolError):
        pipeline.run()
    assert len(pipeline.tool.calls) == 1
    assert pipeline.last_audit() == (Decision.DENIED, "grant_revoked")


def test_a_settle_that_cannot_be_written_still_answers_and_leaves_the_reservation_to_the_sweeper(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from mcp_steward.domain.ports import StoreUnavailableError

    pipeline = build()

    def unavailable(settlement: object) -> bool:
        raise StoreUnavailableError("injected")

    pipeline.budgets.settle = unavailable  # type: ignore[method-assign]
    assert pipeline.run()["structuredContent"] == {"result": 3}  # the tool ran: its answer is not lost
    assert pipeline.team() == (10_000_000, 8_500_000, 1_500_000, 0)  # still held, for the sweeper
    assert len(pipeline.budgets.open_reservations(NOW + timedelta(minutes=5))) == 1
    assert "sweeper will close" in caplog.text


def test_an_agent_for_a_user_may_use_the_users_team_grant_but_never_borrows_its_own_teams_for_her() -> None:
    pipeline = build()
    pipeline.grants.add(Grant(SubjectKind.PRINCIPAL, "agent", "calc__*"))
    pipeline.grants.add(Grant(SubjectKind.TEAM, "treasury", "calc__add"))  # carol's team
    assert pipeline.run(principal=AGENT)["structuredContent"] == {"result": 3}
    # a user with no known team has only her own grants: the agent's team (finance) grant does not count for her
    stranger = Principal(PrincipalId("agent"), TeamName("finance"), obo=PrincipalId("dave"))
    with pytest.raises(UnknownToolError):
        pipeline.run(principal=stranger)
