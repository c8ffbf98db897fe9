"""The metered tools/call pipeline over the DynamoDB adapters on the serialized moto server: 50 concurrent
calls against a budget that allows exactly k, and the round trips a warm call makes (counted by a botocore
event hook)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from mcp_steward.adapters.dynamodb_budgets import DynamoDbBudgetLedger
from mcp_steward.adapters.dynamodb_grants import DynamoDbGrantStore
from mcp_steward.adapters.dynamodb_records import DynamoDbRecords
from mcp_steward.adapters.dynamodb_registry import DynamoDbRegistry
from mcp_steward.domain.budgets import Owner, OwnerKind, period_of
from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.identity import Principal, PrincipalId, TeamName
from mcp_steward.domain.money import Micros
from mcp_steward.domain.names import ExposedName, ServerName
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.registry import ServerKind, ServerRecord, ToolRecord, ToolStatus
from mcp_steward.protocol.errors import GovernanceDeniedError, UnknownToolError
from mcp_steward.services.caching import CachedGrants, CachedRegistry
from mcp_steward.services.calls import CallRequest, CallTool
from mcp_steward.services.tools import ToolService
from tests.integration.contract.conftest import budget_ledger, dynamodb_client, metering_tables

pytestmark = pytest.mark.moto

ALICE = Principal(PrincipalId("alice"), TeamName("finance"))
PRICE = Price(price=Micros(1_000_000))  # one credit a call


class Invoker:
    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def invoke(
        self, server: ServerRecord, envelope: dict[str, Any], *, deadline_ms: int, version: str | None = None
    ) -> dict[str, Any]:
        with self._lock:
            self.calls += 1
        result = {"content": [{"type": "text", "text": "ok"}], "structuredContent": {"ok": True}}
        return {"jsonrpc": "2.0", "id": envelope["message"]["id"], "result": result}


@dataclass
class Setup:
    call: CallTool
    budgets: DynamoDbBudgetLedger
    records: DynamoDbRecords
    invoker: Invoker
    round_trips: list[str]
    retries: list[int]


@pytest.fixture
def setup(moto_url: str, fresh_table: Callable[[str], str]) -> Iterator[Setup]:
    client = dynamodb_client(moto_url)
    round_trips: list[str] = []
    client.meta.events.register("before-send.dynamodb", lambda **kw: round_trips.append(kw["event_name"]))
    tables = metering_tables(fresh_table)
    grants, registry = DynamoDbGrantStore(client, tables["grants"]), DynamoDbRegistry(client, tables["registry"])
    grants.add(Grant(SubjectKind.TEAM, "finance", "calc__*"))
    tool = ToolRecord(ExposedName("calc__add"), "add", ServerName("calc"), {"name": "add"}, ToolStatus.APPROVED, PRICE)
    registry.put_server(ServerRecord(ServerName("calc"), ServerKind.INTERNAL, "fn", 10), [tool])
    retries: list[int] = []
    budgets = budget_ledger(client, tables, on_retry=lambda: retries.append(1))
    invoker = Invoker()
    call = CallTool(ToolService(CachedRegistry(registry), CachedGrants(grants)), budgets, invoker)
    try:
        yield Setup(
            call, budgets, DynamoDbRecords(client, tables["ledger"], tables["audit"]), invoker, round_trips, retries
        )
    finally:
        client.close()


def run(setup: Setup, request_id: str, name: str = "calc__add") -> dict[str, Any] | str:
    try:
        return setup.call(CallRequest(ALICE, request_id, 1, name, {}, deadline_ms=4_102_444_800_000))
    except GovernanceDeniedError as denied:
        return denied.denial_reason


def test_fifty_concurrent_calls_against_a_budget_for_seven_charge_exactly_seven(setup: Setup) -> None:
    period = period_of(datetime.now(UTC))
    team = Owner(OwnerKind.TEAM, "finance")
    setup.budgets.set_limit(team, "finance", Micros(7_000_000), period)
    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(lambda i: run(setup, f"r{i}"), range(50)))
    allowed = [a for a in answers if isinstance(a, dict)]
    assert len(allowed) == 7
    assert sorted({a for a in answers if isinstance(a, str)}) == ["budget_exceeded"]
    assert setup.invoker.calls == 7
    budget = setup.budgets.period_budget(team, period)
    assert budget is not None and budget.balanced
    assert (budget.available, budget.reserved, budget.charged) == (0, 0, 7_000_000)
    today = datetime.now(UTC).date()
    ledger = setup.records.ledger("finance", today, today)
    assert len(ledger) == 7 and sum(entry.cost_micros for entry in ledger) == budget.charged


def test_a_warm_allowed_call_makes_two_round_trips_and_a_warm_denial_at_most_two(setup: Setup) -> None:
    period = period_of(datetime.now(UTC))
    team = Owner(OwnerKind.TEAM, "finance")
    setup.budgets.set_limit(team, "finance", Micros(2_000_000), period)
    assert isinstance(run(setup, "cold"), dict)  # cold caches and the period's creation, counted apart
    setup.round_trips.clear()
    assert isinstance(run(setup, "warm"), dict)
    assert setup.round_trips == ["before-send.dynamodb.TransactWriteItems"] * 2  # reserve, settle
    setup.round_trips.clear()
    assert run(setup, "over") == "budget_exceeded"
    assert setup.round_trips == ["before-send.dynamodb.TransactWriteItems", "before-send.dynamodb.PutItem"]
    setup.round_trips.clear()
    with pytest.raises(UnknownToolError):
        run(setup, "unknown", name="calc__nope")
    assert setup.round_trips == ["before-send.dynamodb.PutItem"]  # the denial's audit record
