"""The BudgetLedger contract: the in-memory fake and the DynamoDB adapter (moto server, and behind a conflict
injector) reserve, settle, refuse and recover exactly alike."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mcp_steward.adapters.dynamodb_grants import DynamoDbGrantStore
from mcp_steward.adapters.dynamodb_registry import DynamoDbRegistry
from mcp_steward.adapters.memory import InMemoryGrantStore, InMemoryRegistry
from mcp_steward.adapters.memory_budgets import InMemoryBudgetLedger
from mcp_steward.domain.budgets import (
    Denied,
    GrantRevoked,
    NestedAllowance,
    Owner,
    OwnerKind,
    PeriodMissing,
    RateLimit,
    RateScope,
    Replay,
    Reservation,
    ReservationRequest,
    Settlement,
    ToolNotCallable,
    period_of,
)
from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.idempotency import IdempotencyKey
from mcp_steward.domain.identity import Principal, PrincipalId, TeamName
from mcp_steward.domain.money import Micros
from mcp_steward.domain.names import ExposedName, ServerName
from mcp_steward.domain.pinning import definition_hash
from mcp_steward.domain.ports import LimitBelowUsageError
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.records import AuditRecord, Decision, LedgerEntry, Outcome
from mcp_steward.domain.registry import ServerKind, ServerRecord, ToolRecord, ToolStatus
from tests.integration.contract.conftest import _error_response, budget_ledger, dynamodb_client, metering_tables

pytestmark = pytest.mark.moto

NOW = datetime(2026, 11, 24, 12, 0, 30, tzinfo=UTC)
PERIOD = period_of(NOW)
ALICE = Principal(PrincipalId("alice"), TeamName("finance"))
TEAM = Owner(OwnerKind.TEAM, "finance")
CAP = Owner(OwnerKind.PRINCIPAL, "alice")
GRANT = Grant(SubjectKind.PRINCIPAL, "alice", "calc__*")
PRICED = Price(price=Micros(2_000_000), unit_price=Micros(100_000), max_units=10)  # max 3 credits
FREE = Price()


@dataclass
class Plane:
    ledger: Any
    grants: Any
    registry: Any
    retries: list[int]
    kind: str


PIN = definition_hash({"name": "add"})


def _tool(status: ToolStatus = ToolStatus.APPROVED, pin: str | None = PIN, name: str = "add") -> ToolRecord:
    return ToolRecord(ExposedName(f"calc__{name}"), name, ServerName("calc"), {"name": "add"}, status, pinned_hash=pin)


def _seed(grants: Any, registry: Any) -> None:
    grants.add(GRANT)
    registry.put_server(ServerRecord(ServerName("calc"), ServerKind.INTERNAL, "fn", 10), [_tool(), _tool(name="mul")])


class LostAnswerInjector:
    """The next ``pending`` TransactWriteItems commit, then their answer is lost and botocore sends them again
    (what its retry does after a read timeout): the caller sees the answer to the second attempt."""

    def __init__(self) -> None:
        self.pending = 0

    def __call__(self, request: Any, **_: Any) -> Any:
        if self.pending <= 0:
            return None
        self.pending -= 1
        from botocore.httpsession import URLLib3Session

        first = URLLib3Session().send(request)  # committed (or refused); its answer never reaches the caller
        assert first.status_code in (200, 400)
        return None  # botocore now sends the very same request: the retry


LOST = LostAnswerInjector()


class LostAnswers:
    """The in-memory ledger behind the same fault: each of the next ``pending`` reserves and settles is applied
    twice, and the caller sees the second answer."""

    def __init__(self, ledger: InMemoryBudgetLedger) -> None:
        self._ledger = ledger
        self.pending = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._ledger, name)
        if name not in ("reserve", "settle"):
            return method

        def twice(argument: Any) -> Any:
            if self.pending <= 0:
                return method(argument)
            self.pending -= 1
            method(argument)
            return method(argument)

        return twice


class ConflictInjector:
    """Cancels the next ``pending`` TransactWriteItems with TransactionConflict, as DynamoDB does under load."""

    def __init__(self) -> None:
        self.pending = 0

    def __call__(self, request: Any, **_: Any) -> Any:
        if self.pending <= 0:  # registered for TransactWriteItems only
            return None
        self.pending -= 1
        items = len(json.loads(request.body)["TransactItems"])
        response = _error_response("TransactionCanceledException", 400)
        reasons = [{"Code": "TransactionConflict", "Message": "conflict"}] + [{"Code": "None"}] * (items - 1)
        body = {
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "message": "Transaction cancelled",
            "CancellationReasons": reasons,
        }
        response.raw._body = json.dumps(body).encode()
        return response


INJECTOR = ConflictInjector()


@pytest.fixture(params=["memory", "dynamodb", "dynamodb+conflicts"])
def plane(request: pytest.FixtureRequest, moto_url: str, fresh_table: Callable[[str], str]) -> Iterator[Plane]:
    retries: list[int] = []
    if request.param == "memory":
        memory_grants, memory_registry = InMemoryGrantStore(), InMemoryRegistry()
        _seed(memory_grants, memory_registry)
        lossy = LostAnswers(InMemoryBudgetLedger(memory_grants, memory_registry))
        yield Plane(lossy, memory_grants, memory_registry, retries, request.param)
        return
    client = dynamodb_client(moto_url)
    tables = metering_tables(fresh_table)
    grants, registry = DynamoDbGrantStore(client, tables["grants"]), DynamoDbRegistry(client, tables["registry"])
    _seed(grants, registry)
    if request.param == "dynamodb+conflicts":
        client.meta.events.register("before-send.dynamodb.TransactWriteItems", INJECTOR)
    client.meta.events.register("before-send.dynamodb.TransactWriteItems", LOST)
    ledger = budget_ledger(client, tables, clock=lambda: NOW, sleep=lambda _: None, on_retry=lambda: retries.append(1))
    try:
        yield Plane(ledger, grants, registry, retries, request.param)
    finally:
        INJECTOR.pending = LOST.pending = 0
        client.close()


def lose_answers(plane: Plane, count: int) -> None:
    """The next ``count`` reserve or settle transactions commit, then their answers are lost and retried."""
    if isinstance(plane.ledger, LostAnswers):
        plane.ledger.pending = count
    else:
        LOST.pending = count


def request(
    request_id: str = "r1",
    price: Price = PRICED,
    cap: bool = False,
    rate_limits: tuple[RateLimit, ...] = (),
    key: str | None = None,
    principal: Principal = ALICE,
    pin: str | None = PIN,
    tool: str = "calc__add",
    arguments: str = "digest-1",
    at: datetime = NOW,
) -> ReservationRequest:
    scoped = None
    if key is not None:
        scoped = IdempotencyKey(key, principal.id, principal.obo, None, (), tool, arguments)
    return ReservationRequest(
        request_id=request_id,
        principal=principal,
        tool=tool,
        server="calc",
        grants=(GRANT,),
        price=price,
        team_budget=True,
        cap=cap,
        rate_limits=rate_limits,
        idempotency_key=scoped,
        at=at,
        expires_at=at + timedelta(seconds=90),
        pin=pin,
    )


def settlement(
    reservation: Reservation, cost: int, result: dict[str, Any] | None = None, outcome: Outcome = Outcome.OK
) -> Settlement:
    entry = LedgerEntry(
        reservation.request_id,
        NOW,
        reservation.principal,
        None,
        reservation.team,
        reservation.tool,
        reservation.server,
        cost,
        0,
        outcome,
        12,
    )
    audit = AuditRecord(
        "decision",
        NOW,
        reservation.request_id,
        principal=reservation.principal,
        team=reservation.team,
        tool=reservation.tool,
        decision=Decision.ALLOWED,
        reason="ok",
    )
    return Settlement(reservation, Micros(cost), entry, audit, replay=result, token=f"settle-{cost}")


def funded(plane: Plane, credits: int = 10) -> None:
    plane.ledger.set_limit(TEAM, "finance", Micros(credits * 1_000_000), PERIOD)
    assert plane.ledger.open_period(TEAM, PERIOD)


def held(plane: Plane, req: ReservationRequest) -> Reservation:
    outcome = plane.ledger.reserve(req)
    assert isinstance(outcome, Reservation)
    return outcome


def balance(plane: Plane, owner: Owner = TEAM) -> tuple[int, int, int, int]:
    budget = plane.ledger.period_budget(owner, PERIOD)
    assert budget is not None and budget.balanced
    return budget.limit, budget.available, budget.reserved, budget.charged


# --- reserve and settle -----------------------------------------------------------------------------------


def test_a_reservation_holds_the_maximum_and_settling_charges_the_actual_cost(plane: Plane) -> None:
    funded(plane)
    reservation = held(plane, request())
    assert reservation.amount == 3_000_000
    assert balance(plane) == (10_000_000, 7_000_000, 3_000_000, 0)
    assert plane.ledger.settle(settlement(reservation, 2_300_000)) is True
    assert balance(plane) == (10_000_000, 7_700_000, 0, 2_300_000)


def test_nested_calls_spend_the_parent_allowance_only_while_the_parent_runs(plane: Plane) -> None:
    """Two nested calls fit the parent's allowance (3 credits, 2 calls); a third, or a replay of the token
    after the parent settled, is refused before anything is held."""
    funded(plane, credits=100)
    parent = held(plane, replace(request("parent"), allowance=NestedAllowance(calls=2, credit=Micros(7_000_000))))
    nested = replace(request("child-1"), parent="parent", chain=("research", "calc"))
    first = held(plane, nested)  # 3 credits of the 7
    assert (first.parent, first.chain) == ("parent", ("research", "calc"))
    held(plane, replace(nested, request_id="child-2"))  # 6 of 7, the second of 2 calls
    with pytest.raises(Denied) as spent:
        plane.ledger.reserve(replace(nested, request_id="child-3"))
    assert (spent.value.reason, spent.value.data) == ("delegation_invalid", {"why": "budget"})
    assert balance(plane)[2] == 9_000_000  # the parent's 3 and the two children's 6: the refusal held nothing

    other = held(plane, replace(request("other"), allowance=NestedAllowance(calls=5, credit=Micros(2_000_000))))
    with pytest.raises(Denied):  # one call's 3 credits exceed the 2 left
        plane.ledger.reserve(replace(nested, request_id="child-4", parent="other"))
    assert plane.ledger.settle(settlement(other, 0)) is True
    with pytest.raises(Denied) as ended:  # the parent's call is over: its token buys nothing more
        plane.ledger.reserve(replace(nested, request_id="child-5", parent="other", price=FREE))
    assert (ended.value.reason, ended.value.data) == ("delegation_invalid", {"why": "budget"})
    with pytest.raises(Denied):  # an unknown parent
        plane.ledger.reserve(replace(nested, request_id="child-6", parent="nobody"))
    assert plane.ledger.settle(settlement(first, 1_000_000)) is True
    assert plane.ledger.settle(settlement(parent, 0)) is True


def test_settling_twice_charges_once(plane: Plane) -> None:
    funded(plane)
    reservation = held(plane, request())
    assert plane.ledger.settle(settlement(reservation, 2_000_000)) is True
    assert plane.ledger.settle(settlement(reservation, 3_000_000)) is False
    assert balance(plane) == (10_000_000, 8_000_000, 0, 2_000_000)


def test_an_over_budget_call_is_refused_with_the_remaining_credit(plane: Plane) -> None:
    funded(plane, credits=2)
    with pytest.raises(Denied) as refused:
        plane.ledger.reserve(request())
    assert refused.value.reason == "budget_exceeded"
    assert refused.value.data["remaining_micro"] == 2_000_000 and refused.value.data["cost_micro"] == 3_000_000
    assert refused.value.data["team"] == "finance" and refused.value.data["period"] == PERIOD
    assert balance(plane) == (2_000_000, 2_000_000, 0, 0)


def test_a_missing_period_is_opened_from_the_standing_limit(plane: Plane) -> None:
    plane.ledger.set_limit(TEAM, "finance", Micros(5_000_000), PERIOD)
    with pytest.raises(PeriodMissing):
        plane.ledger.reserve(request())
    assert plane.ledger.open_period(TEAM, PERIOD) is True
    assert plane.ledger.open_period(TEAM, PERIOD) is True  # a second opener changes nothing
    held(plane, request())
    assert balance(plane) == (5_000_000, 2_000_000, 3_000_000, 0)


def test_no_standing_limit_means_no_period_can_open(plane: Plane) -> None:
    assert plane.ledger.open_period(TEAM, PERIOD) is False


def test_a_principal_cap_is_drawn_down_with_the_team(plane: Plane) -> None:
    funded(plane)
    plane.ledger.set_limit(CAP, "finance", Micros(4_000_000), PERIOD)
    assert plane.ledger.open_period(CAP, PERIOD)
    first = held(plane, request("r1", cap=True))
    with pytest.raises(Denied) as refused:
        plane.ledger.reserve(request("r2", cap=True))
    assert refused.value.reason == "cap_exceeded" and refused.value.data["principal"] == "alice"
    plane.ledger.settle(settlement(first, 3_000_000))
    assert balance(plane, CAP) == (4_000_000, 1_000_000, 0, 3_000_000)
    assert balance(plane) == (10_000_000, 7_000_000, 0, 3_000_000)


def test_free_calls_touch_no_budget(plane: Plane) -> None:
    reservation = held(plane, request(price=Price()))
    assert reservation.amount == 0
    assert plane.ledger.settle(settlement(reservation, 0)) is True
    assert plane.ledger.period_budget(TEAM, PERIOD) is None


def test_a_revoked_grant_or_an_unapproved_tool_refuses_the_reservation(plane: Plane) -> None:
    funded(plane)
    plane.registry.set_status(_tool(), ToolStatus.QUARANTINED)
    with pytest.raises(ToolNotCallable):
        plane.ledger.reserve(request("r1"))
    plane.registry.set_status(_tool(), ToolStatus.APPROVED)
    plane.grants.remove(GRANT)
    with pytest.raises(GrantRevoked):
        plane.ledger.reserve(request("r2"))
    assert balance(plane) == (10_000_000, 10_000_000, 0, 0)


def test_a_reservation_needs_the_pin_the_caller_resolved(plane: Plane) -> None:
    funded(plane)
    # GIVEN the tool was re-pinned after the caller read the catalog
    plane.registry.put_tool(_tool(pin="0" * 64))
    # THEN the caller's stale pin (and no pin at all) refuses the reservation, and nothing is held
    for request_id, pin in (("r1", PIN), ("r2", None)):
        with pytest.raises(ToolNotCallable):
            plane.ledger.reserve(request(request_id, pin=pin))
    assert balance(plane) == (10_000_000, 10_000_000, 0, 0)
    assert held(plane, request("r3", pin="0" * 64)).amount > 0


def test_a_rate_limit_counts_calls_per_minute(plane: Plane) -> None:
    limit = RateLimit(RateScope.PRINCIPAL, "alice", 2)
    for request_id in ("r1", "r2"):
        held(plane, request(request_id, price=Price(), rate_limits=(limit,)))
    with pytest.raises(Denied) as refused:
        plane.ledger.reserve(request("r3", price=Price(), rate_limits=(limit,)))
    assert refused.value.reason == "rate_limited"
    assert refused.value.data["limit"] == 2 and 1 <= refused.value.data["retry_after_s"] <= 60


def test_an_idempotent_repeat_waits_then_replays_the_stored_result(plane: Plane) -> None:
    funded(plane)
    first = held(plane, request("r1", key="k-1"))
    with pytest.raises(Denied) as running:
        plane.ledger.reserve(request("r2", key="k-1"))
    assert running.value.reason == "idempotency_in_progress"
    result = {"content": [{"type": "text", "text": "42"}], "structuredContent": {"result": 42}}
    plane.ledger.settle(settlement(first, 2_000_000, result))
    assert plane.ledger.reserve(request("r3", key="k-1")) == Replay(result, original="r1")
    assert balance(plane) == (10_000_000, 8_000_000, 0, 2_000_000)  # charged once


def test_a_result_too_large_to_keep_answers_not_kept(plane: Plane) -> None:
    funded(plane)
    first = held(plane, request("r1", key="big"))
    plane.ledger.settle(settlement(first, 2_000_000, {"content": [{"type": "text", "text": "x" * 70_000}]}))
    with pytest.raises(Denied) as refused:
        plane.ledger.reserve(request("r2", key="big"))
    assert refused.value.reason == "idempotency_result_not_kept"
    assert refused.value.data == {"why": "too_large"}


@pytest.mark.parametrize(
    ("tool", "arguments", "why"),
    [("calc__mul", "digest-1", "other_tool"), ("calc__add", "digest-2", "other_arguments")],
)
def test_a_key_reused_for_another_tool_or_other_arguments_is_refused_not_replayed(
    plane: Plane, tool: str, arguments: str, why: str
) -> None:
    funded(plane)
    first = held(plane, request("r1", key="k"))
    plane.ledger.settle(settlement(first, 2_000_000, {"content": [{"type": "text", "text": "HR profile"}]}))
    with pytest.raises(Denied) as refused:
        plane.ledger.reserve(request("r2", key="k", tool=tool, arguments=arguments))
    assert refused.value.reason == "idempotency_key_reused"
    assert refused.value.data == {"why": why}
    assert balance(plane) == (10_000_000, 8_000_000, 0, 2_000_000)  # nothing held for the refusal


def test_the_same_key_in_another_scope_is_another_call(plane: Plane) -> None:
    funded(plane)
    for_alice = Principal(PrincipalId("agent"), TeamName("finance"), obo=PrincipalId("alice"))
    for_bob = Principal(PrincipalId("agent"), TeamName("finance"), obo=PrincipalId("bob"))
    first = held(plane, request("r1", key="req-1", principal=for_alice))
    plane.ledger.settle(settlement(first, 2_000_000, {"content": [{"type": "text", "text": "alice's"}]}))
    second = held(plane, request("r2", key="req-1", principal=for_bob))  # not alice's result
    assert second.request_id == "r2"
    assert plane.ledger.reserve(request("r3", key="req-1", principal=for_alice)) == Replay(
        {"content": [{"type": "text", "text": "alice's"}]}, original="r1"
    )


def test_a_key_whose_call_never_settled_says_so_and_expires(plane: Plane) -> None:
    from mcp_steward.domain.budgets import IDEMPOTENCY_TTL
    from mcp_steward.services.sweeper import sweep

    funded(plane)
    held(plane, request("crashed", key="k"))  # the governance function dies here
    after_expiry = NOW + timedelta(minutes=5)
    with pytest.raises(Denied) as unsettled:
        plane.ledger.reserve(request("r2", key="k", at=after_expiry))
    assert unsettled.value.reason == "idempotency_result_not_kept" and unsettled.value.data == {"why": "abandoned"}
    assert sweep(plane.ledger, after_expiry) == ["crashed"]
    with pytest.raises(Denied) as swept:
        plane.ledger.reserve(request("r3", key="k", at=after_expiry))
    assert swept.value.reason == "idempotency_result_not_kept" and swept.value.data == {"why": "abandoned"}
    # a record expires like any other: the key is free again a day later
    later = after_expiry + IDEMPOTENCY_TTL + timedelta(minutes=1)
    plane.ledger.open_period(TEAM, period_of(later))
    assert held(plane, request("r4", key="k", at=later)).request_id == "r4"


# --- transactions that survive their own retries ----------------------------------------------------------


def test_a_reserve_that_committed_before_its_answer_was_lost_succeeds_once(plane: Plane) -> None:
    funded(plane)
    limit = RateLimit(RateScope.PRINCIPAL, "alice", 5)
    lose_answers(plane, 1)
    reservation = held(plane, request("r1", key="k", rate_limits=(limit,)))
    assert reservation.request_id == "r1"
    assert balance(plane) == (10_000_000, 7_000_000, 3_000_000, 0)  # held once
    # the rate counter counted the call once: four more fit in the minute
    for index in range(4):
        held(plane, request(f"more-{index}", price=FREE, rate_limits=(limit,)))
    with pytest.raises(Denied) as refused:
        plane.ledger.reserve(request("one-too-many", price=FREE, rate_limits=(limit,)))
    assert refused.value.reason == "rate_limited"


def test_a_settle_that_committed_before_its_answer_was_lost_is_recognized_as_its_own(plane: Plane) -> None:
    funded(plane)
    reservation = held(plane, request("r1", key="k"))
    lose_answers(plane, 1)
    assert plane.ledger.settle(settlement(reservation, 2_000_000, {"content": []})) is True
    assert balance(plane) == (10_000_000, 8_000_000, 0, 2_000_000)  # charged once
    # another closer's settle is still told the reservation was closed by someone else
    assert plane.ledger.settle(settlement(reservation, 1_000_000)) is False
    assert plane.ledger.reserve(request("r2", key="k")) == Replay({"content": []}, original="r1")


def test_open_reservations_past_their_expiry_are_found_until_closed(plane: Plane) -> None:
    funded(plane)
    reservation = held(plane, request())
    assert plane.ledger.open_reservations(NOW) == []
    later = NOW + timedelta(minutes=5)
    assert [r.request_id for r in plane.ledger.open_reservations(later)] == ["r1"]
    plane.ledger.settle(settlement(reservation, 2_000_000))
    assert plane.ledger.open_reservations(later) == []


def test_open_reservations_are_counted_in_flight_and_past_their_expiry_until_closed(plane: Plane) -> None:
    # GIVEN one reservation held now
    funded(plane)
    reservation = held(plane, request())
    later = NOW + timedelta(minutes=5)
    # THEN it counts as open, and as past its expiry only once its owner is provably gone
    assert plane.ledger.count_open_reservations() == 1
    assert plane.ledger.count_open_reservations(expired_before=NOW) == 0
    assert plane.ledger.count_open_reservations(expired_before=later) == 1
    # WHEN it is settled THEN nothing is open any more
    plane.ledger.settle(settlement(reservation, 2_000_000))
    assert plane.ledger.count_open_reservations() == 0
    assert plane.ledger.count_open_reservations(expired_before=later) == 0


def test_a_limit_cannot_go_below_what_is_charged_and_reserved(plane: Plane) -> None:
    funded(plane)
    held(plane, request())
    with pytest.raises(LimitBelowUsageError):
        plane.ledger.set_limit(TEAM, "finance", Micros(2_000_000), PERIOD)
    plane.ledger.set_limit(TEAM, "finance", Micros(20_000_000), PERIOD)
    assert balance(plane) == (20_000_000, 17_000_000, 3_000_000, 0)


def test_rate_limits_and_limits_are_listed(plane: Plane) -> None:
    plane.ledger.set_rate_limit(RateLimit(RateScope.TOOL, "calc__add", 5))
    plane.ledger.set_rate_limit(RateLimit(RateScope.PRINCIPAL, "alice", 7))
    plane.ledger.set_rate_limit(RateLimit(RateScope.PRINCIPAL, "alice", 0))  # cleared
    assert plane.ledger.rate_limits() == [RateLimit(RateScope.TOOL, "calc__add", 5)]
    funded(plane)
    assert plane.ledger.limits() == [(TEAM, "finance", 10_000_000)]
    config = plane.ledger.call_config("finance", "alice", "calc__add")
    assert config.team_limit == 10_000_000 and config.cap is None
    assert config.rate_limits == (RateLimit(RateScope.TOOL, "calc__add", 5),)


def test_a_removed_limit_is_no_longer_listed_and_a_team_without_one_opens_no_period(plane: Plane) -> None:
    funded(plane)
    plane.ledger.set_limit(CAP, "finance", Micros(1_000_000), PERIOD)

    assert plane.ledger.remove_limit(CAP) is True
    assert plane.ledger.remove_limit(CAP) is False
    assert plane.ledger.limits() == [(TEAM, "finance", 10_000_000)]
    assert plane.ledger.call_config("finance", "alice", "calc__add").cap is None
    assert plane.ledger.remove_limit(TEAM) is True
    assert plane.ledger.limits() == []
    assert plane.ledger.call_config("finance", "alice", "calc__add").team_limit is None
    assert not plane.ledger.open_period(TEAM, period_of(NOW + timedelta(days=40)))
    assert balance(plane) == (10_000_000, 10_000_000, 0, 0)  # this period's figures stay


def test_transaction_conflicts_are_retried(plane: Plane) -> None:
    funded(plane)
    INJECTOR.pending = 2
    reservation = held(plane, request())
    INJECTOR.pending = 1
    assert plane.ledger.settle(settlement(reservation, 2_000_000))
    assert balance(plane) == (10_000_000, 8_000_000, 0, 2_000_000)
    # only the conflict-injecting plane saw conflicts: two on reserve, one on settle, each retried
    assert len(plane.retries) == (3 if plane.kind == "dynamodb+conflicts" else 0)


# --- the sweeper ------------------------------------------------------------------------------------------


def test_a_crash_between_reserve_and_settle_is_recovered_by_the_sweeper_exactly_once(plane: Plane) -> None:
    from mcp_steward.services.sweeper import sweep

    funded(plane)
    abandoned = held(plane, request("crashed"))  # the governance function dies here: no settle
    later = NOW + timedelta(minutes=5)
    assert sweep(plane.ledger, NOW) == []  # not yet expired: its owner may still be running
    assert sweep(plane.ledger, later) == ["crashed"]
    assert sweep(plane.ledger, later) == []  # a second sweeper run changes nothing
    assert plane.ledger.settle(settlement(abandoned, 3_000_000)) is False  # the late settle changes nothing
    # charged like a timeout after invoking: the fixed price, no metered units
    assert balance(plane) == (10_000_000, 8_000_000, 0, 2_000_000)


@pytest.mark.parametrize("fault", ["throttled", "server_error", "timeout"])
def test_a_reservation_fails_closed_when_dynamodb_cannot_answer(
    fault: str, moto_url: str, fresh_table: Callable[[str], str]
) -> None:
    from mcp_steward.domain.ports import StoreUnavailableError
    from tests.integration.contract.conftest import FAULTS

    assert fault in FAULTS
    tables = metering_tables(fresh_table)
    ledger = budget_ledger(dynamodb_client(moto_url, fault), tables, clock=lambda: NOW, sleep=lambda _: None)
    for operation in (
        lambda: ledger.reserve(request()),
        lambda: ledger.call_config("finance", "alice", "calc__add"),
        lambda: ledger.open_period(TEAM, PERIOD),
        lambda: ledger.period_budget(TEAM, PERIOD),
    ):
        with pytest.raises(StoreUnavailableError):
            operation()


def test_every_attempt_of_a_transaction_has_its_own_client_request_token(
    moto_url: str, fresh_table: Callable[[str], str]
) -> None:
    """botocore re-sends an attempt with its token (DynamoDB then answers a committed attempt with success), but
    a reserve made again after its period was opened must not reuse the token of the attempt that was cancelled."""
    client = dynamodb_client(moto_url)
    tables = metering_tables(fresh_table)
    grants, registry = DynamoDbGrantStore(client, tables["grants"]), DynamoDbRegistry(client, tables["registry"])
    _seed(grants, registry)
    tokens: list[str] = []
    client.meta.events.register(
        "before-send.dynamodb.TransactWriteItems",
        lambda request, **_: tokens.append(json.loads(request.body)["ClientRequestToken"]),
    )
    ledger = budget_ledger(client, tables, clock=lambda: NOW, sleep=lambda _: None)
    ledger.set_limit(TEAM, "finance", Micros(10_000_000), PERIOD)
    with pytest.raises(PeriodMissing):
        ledger.reserve(request("r1"))
    assert ledger.open_period(TEAM, PERIOD)
    reservation = ledger.reserve(request("r1"))
    assert isinstance(reservation, Reservation)
    assert ledger.settle(settlement(reservation, 2_000_000))
    assert len(tokens) == 4 and len(set(tokens)) == 4  # set_limit, two reserves, one settle
    assert all(1 <= len(token) <= 36 for token in tokens)


def test_a_call_whose_tool_never_ran_frees_its_key(plane: Plane) -> None:
    funded(plane)
    first = held(plane, request("r1", key="k"))
    refusal = {"content": [{"type": "text", "text": "throttled"}], "isError": True}
    assert plane.ledger.settle(settlement(first, 0, refusal, outcome=Outcome.NOT_INVOKED))
    retry = held(plane, request("r2", key="k"))  # runs again: the refusal is not replayed
    assert retry.request_id == "r2"
    assert balance(plane) == (10_000_000, 7_000_000, 3_000_000, 0)
