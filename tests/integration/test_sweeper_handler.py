"""events/sweeper/*.json through the sweeper's real handler against the moto server: an abandoned
reservation is settled once (fixed price, outcome unknown), and a second scheduled run closes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from mcp_steward.adapters.dynamodb_grants import DynamoDbGrantStore
from mcp_steward.adapters.dynamodb_records import DynamoDbRecords
from mcp_steward.adapters.dynamodb_registry import DynamoDbRegistry
from mcp_steward.domain.budgets import Owner, OwnerKind, Reservation, ReservationRequest, period_of
from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.identity import Principal, PrincipalId, TeamName
from mcp_steward.domain.money import Micros
from mcp_steward.domain.names import ExposedName, ServerName
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.records import Outcome
from mcp_steward.domain.registry import ServerKind, ServerRecord, ToolRecord, ToolStatus
from tests.integration.contract.conftest import budget_ledger, dynamodb_client, metering_tables
from tests.lambda_harness import run_event_files

pytestmark = pytest.mark.moto


def test_the_scheduled_sweeper_settles_an_abandoned_reservation_once(
    moto_url: str, fresh_table: Callable[[str], str]
) -> None:
    client = dynamodb_client(moto_url)
    tables = metering_tables(fresh_table)
    grant = Grant(SubjectKind.PRINCIPAL, "alice", "calc__*")
    DynamoDbGrantStore(client, tables["grants"]).add(grant)
    price = Price(price=Micros(1_000_000), unit_price=Micros(10_000), max_units=100)
    tool = ToolRecord(ExposedName("calc__add"), "add", ServerName("calc"), {"name": "add"}, ToolStatus.APPROVED, price)
    DynamoDbRegistry(client, tables["registry"]).put_server(
        ServerRecord(ServerName("calc"), ServerKind.INTERNAL, "fn", 10), [tool]
    )
    budgets = budget_ledger(client, tables)
    started = datetime.now(UTC) - timedelta(minutes=10)
    team = Owner(OwnerKind.TEAM, "finance")
    budgets.set_limit(team, "finance", Micros(10_000_000), period_of(started))
    assert budgets.open_period(team, period_of(started))
    held = budgets.reserve(
        ReservationRequest(
            request_id="crashed-call",
            principal=Principal(PrincipalId("alice"), TeamName("finance")),
            tool="calc__add",
            server="calc",
            grants=(grant,),
            price=price,
            team_budget=True,
            cap=False,
            rate_limits=(),
            idempotency_key=None,
            at=started,
            expires_at=started + timedelta(seconds=88),
        )
    )
    assert isinstance(held, Reservation)
    environment = {
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_DYNAMODB": moto_url,
        "POWERTOOLS_SERVICE_NAME": "sweeper",
        **{f"{name.upper()}_TABLE": table for name, table in tables.items()},
    }
    assert run_event_files("sweeper", environment) == {"scheduled.json": {"ok": {"closed": 1}}}
    assert run_event_files("sweeper", environment) == {"scheduled.json": {"ok": {"closed": 0}}}
    budget = budgets.period_budget(team, period_of(started))
    assert budget is not None and budget.balanced
    assert (budget.reserved, budget.charged) == (0, 1_000_000)
    ledger = DynamoDbRecords(client, tables["ledger"], tables["audit"]).ledger(
        "finance", started.date(), datetime.now(UTC).date()
    )
    assert [(e.request_id, e.outcome, e.cost_micros) for e in ledger] == [("crashed-call", Outcome.UNKNOWN, 1_000_000)]
    client.close()
