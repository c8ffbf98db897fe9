"""Which grant items a call re-checks, as a decision table: an agent acting for a person, each holding a principal
grant, a team grant or none, in the same team or another, with and without a cap. On the in-memory fake and on the
DynamoDB adapter over the moto server alike, the reserve names each grant item once (an agent and its teammate
may both be allowed by their shared team grant: one item, which DynamoDB refuses to see twice in a transaction),
and a call is allowed exactly when both hold a grant.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mcp_steward.adapters.dynamodb_grants import DynamoDbGrantStore
from mcp_steward.adapters.dynamodb_registry import DynamoDbRegistry
from mcp_steward.adapters.memory import InMemoryGrantStore, InMemoryRegistry
from mcp_steward.adapters.memory_budgets import InMemoryBudgetLedger
from mcp_steward.domain.budgets import Owner, OwnerKind, Reservation, ReservationRequest, period_of, settlement_of
from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.identity import Principal, PrincipalId, TeamName
from mcp_steward.domain.money import Micros
from mcp_steward.domain.names import ExposedName, ServerName
from mcp_steward.domain.pinning import definition_hash
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.records import Outcome
from mcp_steward.domain.registry import ServerKind, ServerRecord, ToolRecord, ToolStatus
from mcp_steward.protocol.errors import UnknownToolError
from mcp_steward.services.tools import ToolService
from tests.integration.contract.conftest import budget_ledger, dynamodb_client, metering_tables

pytestmark = pytest.mark.moto

NOW = datetime(2026, 11, 24, 12, 0, 30, tzinfo=UTC)
PERIOD = period_of(NOW)
PIN = definition_hash({"name": "add"})
PRICE = Price(price=Micros(1_000_000))
TOOL = "calc__add"

#: What each of the agent and the person holds for the tool.
HOLDINGS = ("none", "principal", "team")


@dataclass(frozen=True)
class Case:
    agent: str
    person: str
    same_team: bool
    cap: bool

    def holds(self, who: str) -> str:
        """What ``who`` ("agent" or "person") is allowed by: its own grant, else its team's (which in the same
        team is the other's team grant too), else nothing."""
        own, other = (self.agent, self.person) if who == "agent" else (self.person, self.agent)
        if own != "none":
            return own
        return "team" if other == "team" and self.same_team else "none"

    @property
    def allowed(self) -> bool:
        return self.holds("agent") != "none" and self.holds("person") != "none"

    def __str__(self) -> str:
        team = "same-team" if self.same_team else "other-team"
        return f"agent-{self.agent}/person-{self.person}/{team}/{'cap' if self.cap else 'no-cap'}"


CASES = [Case(*combo) for combo in itertools.product(HOLDINGS, HOLDINGS, (True, False), (True, False))]


@dataclass
class Stores:
    grants: Any
    registry: Any
    ledger: Any


@pytest.fixture(params=["memory", "dynamodb"])
def stores(request: pytest.FixtureRequest, moto_url: str, fresh_table: Callable[[str], str]) -> Iterator[Stores]:
    if request.param == "memory":
        grants, registry = InMemoryGrantStore(), InMemoryRegistry()
        yield Stores(grants, registry, InMemoryBudgetLedger(grants, registry))
        return
    client = dynamodb_client(moto_url)
    tables = metering_tables(fresh_table)
    ledger = budget_ledger(client, tables, clock=lambda: NOW, sleep=lambda _: None)
    try:
        yield Stores(DynamoDbGrantStore(client, tables["grants"]), DynamoDbRegistry(client, tables["registry"]), ledger)
    finally:
        client.close()


def _grant(holding: str, principal: str, team: str) -> Grant | None:
    if holding == "principal":
        return Grant(SubjectKind.PRINCIPAL, principal, TOOL)
    if holding == "team":
        return Grant(SubjectKind.TEAM, team, TOOL)
    return None


@pytest.mark.parametrize("case", CASES, ids=str)
def test_an_agent_acting_for_a_person_needs_both_grants_and_each_item_is_checked_once(
    stores: Stores, case: Case
) -> None:
    agent_team, person_team = "finance", "finance" if case.same_team else "research"
    tool = ToolRecord(
        ExposedName(TOOL), "add", ServerName("calc"), {"name": "add"}, ToolStatus.APPROVED, pinned_hash=PIN
    )
    stores.registry.put_server(ServerRecord(ServerName("calc"), ServerKind.INTERNAL, "fn", 10), [tool])
    for grant in (_grant(case.agent, "bot", agent_team), _grant(case.person, "alice", person_team)):
        if grant is not None:
            stores.grants.add(grant)
    team = Owner(OwnerKind.TEAM, agent_team)
    stores.ledger.set_limit(team, agent_team, Micros(10_000_000), PERIOD)
    assert stores.ledger.open_period(team, PERIOD)
    if case.cap:
        cap = Owner(OwnerKind.PRINCIPAL, "bot")
        stores.ledger.set_limit(cap, agent_team, Micros(5_000_000), PERIOD)
        assert stores.ledger.open_period(cap, PERIOD)
    agent = Principal(PrincipalId("bot"), TeamName(agent_team), obo=PrincipalId("alice"))
    service = ToolService(stores.registry, stores.grants, team_of={"alice": person_team, "bot": agent_team}.get)

    if not case.allowed:
        with pytest.raises(UnknownToolError):
            service.resolve(agent, TOOL)
        return
    resolved, chosen = service.resolve(agent, TOOL)
    request = ReservationRequest(
        request_id=f"call-{case}",
        principal=agent,
        tool=TOOL,
        server="calc",
        grants=chosen,
        price=PRICE,
        team_budget=True,
        cap=case.cap,
        rate_limits=(),
        idempotency_key=None,
        at=NOW,
        expires_at=NOW + timedelta(seconds=90),
        pin=resolved.pinned_hash,
    )
    assert len(request.grants) == len(set(request.grants))
    both_by_team = case.holds("agent") == case.holds("person") == "team" and case.same_team
    assert len(request.grants) == (1 if both_by_team else 2)
    reservation = stores.ledger.reserve(request)
    assert isinstance(reservation, Reservation)
    settled = settlement_of(
        reservation, at=NOW, cost=PRICE.price, units=0, outcome=Outcome.OK, latency_ms=5, reason="ok"
    )
    assert stores.ledger.settle(settled)
    budget = stores.ledger.period_budget(team, PERIOD)
    assert budget is not None and budget.balanced and budget.charged == 1_000_000
    if case.cap:
        capped = stores.ledger.period_budget(Owner(OwnerKind.PRINCIPAL, "bot"), PERIOD)
        assert capped is not None and capped.balanced and capped.charged == 1_000_000


def test_a_grant_named_twice_is_checked_once() -> None:
    """The reservation request itself keeps one of each item, whoever built it."""
    grant = Grant(SubjectKind.TEAM, "finance", TOOL)
    request = ReservationRequest(
        request_id="r",
        principal=Principal(PrincipalId("bot"), TeamName("finance"), obo=PrincipalId("alice")),
        tool=TOOL,
        server="calc",
        grants=(grant, grant),
        price=Price(),
        team_budget=False,
        cap=False,
        rate_limits=(),
        idempotency_key=None,
        at=NOW,
        expires_at=NOW + timedelta(seconds=90),
    )
    assert request.grants == (grant,)
