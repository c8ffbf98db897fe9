"""Regressions of the trust holes an adversarial review found in the pipeline, with in-memory fakes: idempotency
keys replayed across tools, people and arguments; units beyond every bound; answers that cannot be read or
kept; a store that refuses a settle or a reserve. Each test failed before its fix."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest

from mcp_steward.adapters.memory import InMemoryGrantStore, InMemoryRegistry
from mcp_steward.adapters.memory_budgets import InMemoryBudgetLedger
from mcp_steward.domain.budgets import Owner, OwnerKind, Settlement, period_of
from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.identity import Principal, PrincipalId, TeamName
from mcp_steward.domain.money import Micros
from mcp_steward.domain.names import ExposedName, ServerName
from mcp_steward.domain.pinning import definition_hash
from mcp_steward.domain.ports import StoreRejectedError
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.records import Decision, Outcome
from mcp_steward.domain.registry import ServerKind, ServerRecord, ToolRecord, ToolStatus
from mcp_steward.protocol.errors import GovernanceDeniedError, InvalidParamsError, StewardError
from mcp_steward.services.calls import CallRequest, CallTool
from mcp_steward.services.tools import ToolService

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
BOB = Principal(PrincipalId("bob"), TeamName("finance"))
FOR_ALICE = Principal(PrincipalId("agent"), TeamName("finance"), obo=PrincipalId("alice"))
FOR_BOB = Principal(PrincipalId("agent"), TeamName("finance"), obo=PrincipalId("bob"))
IDEM = "steward/idempotencyKey"
METERED = Price(price=Micros(1_000_000), unit_price=Micros(100_000), max_units=5)  # at most 1.5 credits


@dataclass
class Functions:
    """Tool functions that answer who and what they ran for, unless ``answer`` says otherwise."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    answer: Callable[[dict[str, Any]], Any] | None = None

    def invoke(
        self, server: ServerRecord, envelope: dict[str, Any], *, deadline_ms: int, version: str | None = None
    ) -> dict[str, Any]:
        self.calls.append(envelope)
        if self.answer is not None:
            return {"jsonrpc": "2.0", "id": 1, "result": self.answer(envelope)}
        who = envelope["steward"]["principal"]
        params = envelope["message"]["params"]
        marker = f"{server.name}:{params['name']} for {who['id']}/{who['obo']} with {params['arguments']}"
        return {"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": marker}]}}


@dataclass
class Plane:
    call: CallTool
    budgets: InMemoryBudgetLedger
    functions: Functions
    registry: InMemoryRegistry

    def run(
        self,
        name: str,
        principal: Principal = BOB,
        key: str | None = None,
        arguments: dict[str, Any] | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        meta = {"steward/idempotencyKey": key} if key is not None else None
        rid = request_id or f"r{len(self.budgets.audit)}"
        return self.call(CallRequest(principal, rid, 1, name, arguments or {}, 4_102_444_800_000, meta=meta))

    def text(self, answer: dict[str, Any]) -> str:
        return str(answer["content"][0]["text"])

    def team(self) -> tuple[int, int, int, int]:
        budget = self.budgets.period_budget(Owner(OwnerKind.TEAM, "finance"), period_of(NOW))
        assert budget is not None and budget.balanced
        return budget.limit, budget.available, budget.reserved, budget.charged

    def refusal(self, name: str, **kwargs: Any) -> str:
        with pytest.raises(GovernanceDeniedError) as refused:
            self.run(name, **kwargs)
        return refused.value.denial_reason


def build(budgets_factory: Callable[[InMemoryGrantStore, InMemoryRegistry], Any] = InMemoryBudgetLedger) -> Plane:
    grants, registry = InMemoryGrantStore(), InMemoryRegistry()
    for server, tool, price in (("hr", "get_employee", Price()), ("currency", "convert", METERED)):
        definition = {"name": tool, "inputSchema": {"type": "object"}}
        record = ToolRecord(
            ExposedName(f"{server}__{tool}"),
            tool,
            ServerName(server),
            definition,
            ToolStatus.APPROVED,
            price,
            pinned_hash=definition_hash(definition),
        )
        registry.put_server(ServerRecord(ServerName(server), ServerKind.INTERNAL, f"fn-{server}", 10), [record])
    grants.add(Grant(SubjectKind.TEAM, "finance", "hr__*"))
    grants.add(Grant(SubjectKind.TEAM, "finance", "currency__*"))
    budgets = budgets_factory(grants, registry)
    budgets.set_limit(Owner(OwnerKind.TEAM, "finance"), "finance", Micros(10_000_000), period_of(NOW))
    budgets.open_period(Owner(OwnerKind.TEAM, "finance"), period_of(NOW))
    functions = Functions()
    teams = {"alice": "finance", "bob": "finance", "agent": "finance"}
    call = CallTool(ToolService(registry, grants, team_of=teams.get), budgets, functions, clock=lambda: NOW)
    return Plane(call, budgets, functions, registry)


# --- idempotency: an exact scope ------------------------------------------------------------------------------


def test_a_key_used_for_one_tool_does_not_answer_another_tool() -> None:
    plane = build()
    profile = plane.run("hr__get_employee", key="K", arguments={"id": "e-1"})
    assert plane.text(profile).startswith("hr:get_employee for bob")
    assert plane.refusal("currency__convert", key="K", arguments={"amount": 5}) == "idempotency_key_reused"
    assert len(plane.functions.calls) == 1  # the currency tool never ran, and nothing was charged
    assert plane.team()[3] == 0
    refused = plane.budgets.audit[-1]
    assert (refused.decision, refused.reason, refused.tool) == (
        Decision.DENIED,
        "idempotency_key_reused",
        "currency__convert",
    )


def test_the_same_key_with_other_arguments_is_refused() -> None:
    plane = build()
    plane.run("currency__convert", key="K", arguments={"amount": 5})
    assert plane.refusal("currency__convert", key="K", arguments={"amount": 500}) == "idempotency_key_reused"
    assert len(plane.functions.calls) == 1


def test_an_agent_acting_for_two_people_never_hands_one_the_others_result() -> None:
    plane = build()
    for_alice = plane.run("hr__get_employee", principal=FOR_ALICE, key="req-1", arguments={"id": "me"})
    for_bob = plane.run("hr__get_employee", principal=FOR_BOB, key="req-1", arguments={"id": "me"})
    assert "agent/alice" in plane.text(for_alice) and "agent/bob" in plane.text(for_bob)
    assert len(plane.functions.calls) == 2


def test_a_repeat_of_the_same_call_replays_uncharged_and_is_audited_pointing_at_the_original() -> None:
    plane = build()
    first = plane.run("currency__convert", key="K", arguments={"amount": 5, "to": "EUR"}, request_id="first")
    charged = plane.team()[3]
    again = plane.run("currency__convert", key="K", arguments={"to": "EUR", "amount": 5}, request_id="again")
    assert again == first  # the same arguments in another order are the same call (RFC 8785)
    assert plane.team()[3] == charged and len(plane.functions.calls) == 1
    replay = plane.budgets.audit[-1]
    assert (replay.request_id, replay.decision, replay.reason, replay.detail) == (
        "again",
        Decision.ALLOWED,
        "idempotent_replay",
        {"original": "first"},
    )
    assert [entry.request_id for entry in plane.budgets.ledger] == ["first"]  # a replay is no ledger entry


# --- units, answers and stores that misbehave after a call ran --------------------------------------------------


@pytest.mark.parametrize("units", [10**30, 10**200, -(10**200), 6])
def test_metered_units_are_clamped_before_anything_is_stored(units: int) -> None:
    plane = build()
    plane.functions.answer = lambda _: {"content": [{"type": "text", "text": "ok"}], "_meta": {"steward/units": units}}
    answer = plane.run("currency__convert")
    entry = plane.budgets.ledger[-1]
    expected_units = 5 if units > 0 else 0
    assert entry.units == expected_units
    assert entry.cost_micros == 1_000_000 + 100_000 * expected_units
    assert plane.budgets.audit[-1].detail == {"cost_micro": entry.cost_micros, "units": expected_units}
    assert answer["_meta"]["steward/units"] == expected_units  # what the caller reads is what was charged


def test_an_answer_that_cannot_be_kept_still_settles_and_a_repeat_says_why() -> None:
    plane = build()
    plane.functions.answer = lambda _: {"content": [{"type": "text", "text": "x" * 70_000}]}
    plane.run("currency__convert", key="big")
    assert plane.team() == (10_000_000, 9_000_000, 0, 1_000_000)
    with pytest.raises(GovernanceDeniedError) as refused:
        plane.run("currency__convert", key="big")
    assert refused.value.denial_reason == "idempotency_result_not_kept"
    assert refused.value.data is not None and refused.value.data["why"] == "too_large"


def test_an_invoker_that_raises_anything_still_settles_at_the_fixed_price() -> None:
    plane = build()

    def explode(_: dict[str, Any]) -> Any:
        raise RuntimeError("the transport fell over")

    plane.functions.answer = explode
    answer = plane.run("currency__convert")
    assert answer["isError"] is True
    assert plane.team() == (10_000_000, 9_000_000, 0, 1_000_000)
    assert plane.budgets.ledger[-1].outcome is Outcome.UNKNOWN
    assert plane.budgets.count_open_reservations() == 0


class RefusesKeptResults(InMemoryBudgetLedger):
    """A store that refuses a settlement carrying a result to keep (as DynamoDB refuses an item it cannot take)."""

    def settle(self, settlement: Settlement) -> bool:
        if settlement.replay is not None:
            raise StoreRejectedError("the item is too large")
        return super().settle(settlement)


def test_a_settlement_the_store_refuses_is_settled_again_without_its_result() -> None:
    plane = build(RefusesKeptResults)
    answer = plane.run("currency__convert", key="K")
    assert "currency:convert" in plane.text(answer)  # the caller still gets the tool's answer
    assert plane.budgets.count_open_reservations() == 0  # and the money is settled now, not by the sweeper
    assert plane.team()[3] == 1_000_000
    with pytest.raises(GovernanceDeniedError) as refused:
        plane.run("currency__convert", key="K")  # not replayable, and not run again
    assert refused.value.data == {"reason": "idempotency_result_not_kept", "why": "unencodable"}


class RefusesReservations(InMemoryBudgetLedger):
    def reserve(self, request: Any) -> Any:
        raise StoreRejectedError("Transaction request cannot include multiple operations on one item")


def test_a_reserve_the_store_refuses_as_invalid_is_an_audited_internal_error_not_try_again() -> None:
    plane = build(RefusesReservations)
    with pytest.raises(StewardError) as failed:
        plane.run("currency__convert")
    assert failed.value.reason == "internal_error" and failed.value.code == -32603
    assert "try again" not in failed.value.message
    refused = plane.budgets.audit[-1]
    assert (refused.decision, refused.reason) == (Decision.DENIED, "internal_error")
    assert plane.functions.calls == []


def test_a_registered_input_schema_that_is_not_a_schema_refuses_calls_without_a_5xx() -> None:
    plane = build()
    tool = plane.registry.catalog().tools[ExposedName("hr__get_employee")]
    broken = {"name": "get_employee", "inputSchema": {"type": "object", "properties": {"id": {"type": 7}}}}
    plane.registry.put_tool(replace(tool, definition=broken, pinned_hash=definition_hash(broken), revision=0))
    answer = plane.run("hr__get_employee", arguments={"id": "e-1"})
    assert answer["isError"] is True and answer["_meta"]["steward/reason"] == "invalid_arguments"
    assert plane.functions.calls == []
    refused = plane.budgets.audit[-1]
    assert (refused.decision, refused.reason, refused.detail) == (
        Decision.DENIED,
        "invalid_arguments",
        {"schema": "invalid"},
    )


@pytest.mark.parametrize("key", ["", "k" * 257, 7])
def test_a_malformed_idempotency_key_is_refused_and_recorded(key: object) -> None:
    plane = build()
    with pytest.raises(InvalidParamsError):
        plane.call(CallRequest(BOB, "bad-key", 1, "hr__get_employee", {}, 4_102_444_800_000, meta={IDEM: key}))
    refused = plane.budgets.audit[-1]
    assert (refused.request_id, refused.decision, refused.reason) == (
        "bad-key",
        Decision.DENIED,
        "invalid_idempotency_key",
    )
    assert plane.functions.calls == []


def test_a_call_whose_tool_never_ran_frees_its_key_so_a_retry_runs() -> None:
    from mcp_steward.domain.ports import InvocationError

    plane = build()
    throttled = [True]

    def answer(envelope: dict[str, Any]) -> Any:
        if throttled[0]:
            throttled[0] = False
            raise InvocationError("throttled", "The tool is busy: try again.")
        return {"content": [{"type": "text", "text": "converted"}]}

    plane.functions.answer = answer
    first = plane.run("currency__convert", key="K", arguments={"amount": 5})
    assert first["isError"] is True and first["_meta"]["steward/reason"] == "throttled"
    retry = plane.run("currency__convert", key="K", arguments={"amount": 5})
    assert plane.text(retry) == "converted"  # ran, not a replay of the refusal
    assert len(plane.functions.calls) == 2 and plane.team()[3] == 1_000_000  # charged once, for the call that ran
