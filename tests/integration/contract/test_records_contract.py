"""The ledger, audit, aggregate and period-budget contracts, for the fakes and the DynamoDB adapters alike; the
item formats the settle transaction writes; and fail-closed behaviour when DynamoDB throttles, errs or times
out."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from mcp_steward.adapters.dynamodb_records import (
    DynamoDbRecords,
    audit_item,
    audit_record_from_item,
    ledger_entry_from_item,
    ledger_item,
    shard_of,
)
from mcp_steward.adapters.dynamodb_usage import DynamoDbAggregates, DynamoDbPeriods, DynamoDbTeams
from mcp_steward.adapters.memory_records import InMemoryAggregates, InMemoryPeriods, InMemoryRecords
from mcp_steward.domain.ports import StoreUnavailableError
from mcp_steward.domain.records import AuditRecord, Decision, LedgerEntry, Outcome
from mcp_steward.domain.usage import DailyUsage
from tests.integration.contract.conftest import FAULTS, dynamodb_client

pytestmark = pytest.mark.moto
NOW = datetime(2026, 11, 24, 21, 31, 5, 123456, tzinfo=UTC)
DAY = NOW.date()


def entry(request_id: str, at: datetime = NOW, team: str = "finance", **changes: Any) -> LedgerEntry:
    fields: dict[str, Any] = {
        "request_id": request_id,
        "at": at,
        "principal": "alice",
        "obo": None,
        "team": team,
        "tool": "currency__convert",
        "server": "currency",
        "cost_micros": 1_500_000,
        "units": 1,
        "outcome": Outcome.OK,
        "latency_ms": 42,
    }
    fields.update(changes)
    return LedgerEntry(**fields)


def decision(request_id: str, at: datetime = NOW, **changes: Any) -> AuditRecord:
    fields: dict[str, Any] = {
        "kind": "decision",
        "at": at,
        "request_id": request_id,
        "principal": "alice",
        "team": "finance",
        "tool": "currency__convert",
        "decision": Decision.ALLOWED,
        "detail": {"cost_micro": 1_500_000},
    }
    fields.update(changes)
    return AuditRecord(**fields)


@dataclass
class Records:
    """A records reader and how to write into it the way the settle transaction does."""

    reader: Any
    append_ledger: Callable[[LedgerEntry], None]
    append_audit: Callable[[AuditRecord], None]


@pytest.fixture(params=["memory", "dynamodb"])
def records(request: pytest.FixtureRequest, moto_url: str, fresh_table: Callable[[str], str]) -> Records:
    if request.param == "memory":
        fake = InMemoryRecords(clock=lambda: NOW)
        return Records(fake, fake.append_ledger, fake.append_audit)
    client = dynamodb_client(moto_url)
    ledger, audit = fresh_table("LedgerTable"), fresh_table("AuditTable")
    return Records(
        DynamoDbRecords(client, ledger, audit, clock=lambda: NOW),
        lambda e: client.put_item(TableName=ledger, Item=ledger_item(e)),
        lambda r: client.put_item(TableName=audit, Item=audit_item(r)),
    )


@pytest.fixture(params=["memory", "dynamodb"])
def aggregates(request: pytest.FixtureRequest, moto_url: str, fresh_table: Callable[[str], str]) -> Any:
    if request.param == "memory":
        return InMemoryAggregates()
    return DynamoDbAggregates(dynamodb_client(moto_url), fresh_table("LedgerTable"))


@dataclass
class Periods:
    store: Any
    set_limit: Callable[[str, int], None]
    set_period: Callable[..., None]
    raw: Callable[[str, str], dict[str, Any]] | None = None


def _period_item(team: str, period: str, *, limit: int, reserved: int = 0, charged: int = 0) -> dict[str, Any]:
    return {
        "pk": {"S": f"TEAM#{team}"},
        "sk": {"S": f"PERIOD#{period}"},
        "limit": {"N": str(limit)},
        "available": {"N": str(limit - reserved - charged)},
        "reserved": {"N": str(reserved)},
        "charged": {"N": str(charged)},
        "owner_kind": {"S": "team"},
        "owner": {"S": team},
        "team": {"S": team},
        "period": {"S": period},
    }


@pytest.fixture(params=["memory", "dynamodb"])
def periods(request: pytest.FixtureRequest, moto_url: str, fresh_table: Callable[[str], str]) -> Periods:
    if request.param == "memory":
        fake = InMemoryPeriods()
        return Periods(fake, fake.set_limit, fake.set_period)
    client = dynamodb_client(moto_url)
    table = fresh_table("BudgetsTable")

    def set_limit(team: str, limit: int) -> None:
        item = {"pk": {"S": f"TEAM#{team}"}, "sk": {"S": "LIMIT"}, "limit": {"N": str(limit)}}
        client.put_item(TableName=table, Item={**item, "owner_kind": {"S": "team"}, "owner": {"S": team}})

    def set_period(team: str, period: str, **amounts: int) -> None:
        client.put_item(TableName=table, Item=_period_item(team, period, **amounts))

    def raw(team: str, period: str) -> dict[str, Any]:
        key = {"pk": {"S": f"TEAM#{team}"}, "sk": {"S": f"PERIOD#{period}"}}
        return dict(client.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"])

    return Periods(DynamoDbPeriods(client, table, clock=lambda: NOW), set_limit, set_period, raw)


# --- item formats (the contract with the settle transaction) -----------------------------------------------


def test_ledger_items_are_sharded_by_team_day_and_request_id_and_parse_back() -> None:
    item = ledger_item(entry("req-1", obo="carol"), retention_days=400)
    shard = int(hashlib.sha256(b"req-1").hexdigest(), 16) % 8
    assert shard_of("req-1") == shard
    assert item["pk"] == {"S": f"LEDGER#finance#2026-11-24#{shard}"}
    assert item["sk"] == {"S": "2026-11-24T21:31:05.123456Z#req-1"}
    assert item["cost"] == {"N": "1500000"} and item["units"] == {"N": "1"} and item["latency_ms"] == {"N": "42"}
    assert item["outcome"] == {"S": "ok"} and item["obo"] == {"S": "carol"} and item["at"]["S"].endswith("Z")
    assert item["ttl"] == {"N": str(int(NOW.timestamp()) + 400 * 86_400)}
    assert ledger_entry_from_item(item) == entry("req-1", obo="carol")
    assert {"obo", "parent", "chain"}.isdisjoint(ledger_item(entry("req-1")))
    nested = entry("req-2", parent="req-1", chain=("research", "vendor-fx"))
    item = ledger_item(nested)
    assert item["chain"] == {"L": [{"S": "research"}, {"S": "vendor-fx"}]} and item["parent"] == {"S": "req-1"}
    assert ledger_entry_from_item(item) == nested


def test_audit_items_are_sharded_by_day_keep_only_set_fields_and_parse_back() -> None:
    record = decision("req-1", reason=None, detail={"b": 1, "a": "x"})
    item = audit_item(record, retention_days=30)
    assert item["pk"] == {"S": f"AUDIT#2026-11-24#{shard_of('req-1')}"}
    assert item["sk"] == {"S": "2026-11-24T21:31:05.123456Z#req-1#decision"}
    assert item["detail"] == {"S": '{"a":"x","b":1}'}
    assert item["decision"] == {"S": "allowed"}
    assert {"obo", "reason", "actor", "action"}.isdisjoint(item)
    assert item["ttl"] == {"N": str(int(NOW.timestamp()) + 30 * 86_400)}
    assert audit_record_from_item(item) == record


def test_a_naive_time_is_taken_as_utc() -> None:
    naive = NOW.replace(tzinfo=None)
    assert ledger_item(entry("r", at=naive))["sk"] == ledger_item(entry("r"))["sk"]


# --- ledger --------------------------------------------------------------------------------------------------


def test_ledger_entries_of_a_team_come_back_in_time_order_across_every_shard(records: Records) -> None:
    written = [entry(f"req-{i}", at=NOW + timedelta(seconds=i)) for i in range(24)]
    for e in reversed(written):
        records.append_ledger(e)
    records.append_ledger(entry("other-team", team="support"))
    records.append_ledger(entry("next-day", at=NOW + timedelta(days=1)))
    assert len({shard_of(e.request_id) for e in written}) > 1
    assert records.reader.ledger("finance", DAY, DAY) == written


def test_ledger_covers_every_day_of_the_range_inclusive(records: Records) -> None:
    first = entry("day-1", at=NOW - timedelta(days=1))
    second = entry("day-2", at=NOW)
    records.append_ledger(first)
    records.append_ledger(second)
    records.append_ledger(entry("day-3", at=NOW + timedelta(days=1)))
    assert records.reader.ledger("finance", DAY - timedelta(days=1), DAY) == [first, second]
    assert records.reader.ledger("finance", DAY + timedelta(days=2), DAY + timedelta(days=5)) == []


def test_ledger_for_all_teams_reads_the_teams_named_or_every_team_without_a_list(records: Records) -> None:
    finance, support, ops = entry("f", team="finance"), entry("s", team="support"), entry("o", team="ops")
    for e in (finance, support, ops):
        records.append_ledger(e)
    key = lambda e: e.request_id  # noqa: E731
    assert sorted(records.reader.ledger(None, DAY, DAY, teams=["finance", "ops"]), key=key) == [finance, ops]
    assert sorted(records.reader.ledger(None, DAY, DAY), key=key) == [finance, ops, support]


# --- audit ---------------------------------------------------------------------------------------------------


def test_audit_records_between_two_times_inclusive_across_days(records: Records) -> None:
    before = decision("r0", at=NOW - timedelta(days=1, microseconds=1))
    start = decision("r1", at=NOW - timedelta(days=1))
    denied = decision("r2", at=NOW - timedelta(hours=3), decision=Decision.DENIED, reason="budget_exceeded")
    end = decision("r3", at=NOW)
    after = decision("r4", at=NOW + timedelta(microseconds=1))
    for record in (after, end, denied, start, before):
        records.append_audit(record)
    assert records.reader.audit(NOW - timedelta(days=1), NOW) == [start, denied, end]


def test_audit_filters_by_kind_and_reads_up_to_now_without_an_until(records: Records) -> None:
    call = decision("r1", at=NOW - timedelta(minutes=5))
    admin = AuditRecord(
        kind="admin", at=NOW - timedelta(minutes=1), request_id="adm-1", actor="admin", action="grants.add"
    )
    records.append_audit(call)
    records.reader.record_admin(admin)
    records.append_audit(decision("future", at=NOW + timedelta(minutes=1)))
    assert records.reader.audit(NOW - timedelta(hours=1), kind="admin") == [admin]
    assert records.reader.audit(NOW - timedelta(hours=1)) == [call, admin]
    assert records.reader.audit(NOW - timedelta(hours=1), kind="decision") == [call]
    assert records.reader.audit(NOW, NOW - timedelta(hours=1)) == []


# --- aggregates ----------------------------------------------------------------------------------------------


def usage(day: date, team: str, tool: str, calls: int) -> DailyUsage:
    return DailyUsage(day, team, tool, calls, calls * 10, calls, 0, NOW)


def test_replacing_a_day_overwrites_it_and_drops_stale_rows_of_those_teams_only(aggregates: Any) -> None:
    aggregates.replace_day(
        DAY, ["finance", "support"], [usage(DAY, "finance", "a__x", 1), usage(DAY, "support", "b__y", 2)]
    )
    aggregates.replace_day(DAY - timedelta(days=1), ["finance"], [usage(DAY - timedelta(days=1), "finance", "a__x", 7)])
    aggregates.replace_day(DAY, ["finance"], [usage(DAY, "finance", "a__z", 3)])
    assert aggregates.month("2026-11") == [
        usage(DAY - timedelta(days=1), "finance", "a__x", 7),
        usage(DAY, "finance", "a__z", 3),
        usage(DAY, "support", "b__y", 2),
    ]
    assert aggregates.month("2026-11", "support") == [usage(DAY, "support", "b__y", 2)]
    assert aggregates.month("2026-10") == []


def test_replacing_a_day_twice_with_the_same_rows_leaves_the_same_rows(aggregates: Any) -> None:
    rows = [usage(DAY, "finance", "a__x", 1), usage(DAY, "finance", "a__y", 2)]
    aggregates.replace_day(DAY, ["finance"], rows)
    aggregates.replace_day(DAY, ["finance"], rows)
    assert aggregates.month("2026-11") == rows


# --- period budgets and alert claims -------------------------------------------------------------------------


def test_a_period_item_gives_the_balance_else_the_standing_limit_else_nothing(periods: Periods) -> None:
    periods.set_period("finance", "2026-11", limit=100, reserved=10, charged=52)
    periods.set_limit("support", 70)
    balance = periods.store.balance("finance", "2026-11")
    assert (balance.limit, balance.available, balance.reserved, balance.charged) == (100, 38, 10, 52)
    assert balance.materialized and balance.alerts == frozenset() and balance.burn_percent == 52
    standing = periods.store.balance("support", "2026-11")
    assert (standing.limit, standing.available, standing.charged, standing.materialized) == (70, 70, 0, False)
    assert periods.store.balance("ops", "2026-11") is None


def test_only_the_first_claim_of_a_threshold_wins_and_nothing_else_on_the_item_changes(periods: Periods) -> None:
    periods.set_period("finance", "2026-11", limit=100, reserved=10, charged=85)
    before = periods.raw("finance", "2026-11") if periods.raw else None
    assert periods.store.claim_alert("finance", "2026-11", 50, "t1") is True
    assert periods.store.claim_alert("finance", "2026-11", 50, "t2") is False
    assert periods.store.claim_alert("finance", "2026-11", 80, "t2") is True
    assert periods.store.balance("finance", "2026-11").alerts == {50, 80}
    if periods.raw is not None and before is not None:
        after = periods.raw("finance", "2026-11")
        assert {k: v for k, v in after.items() if not k.startswith("alert_")} == before


def test_no_threshold_can_be_claimed_on_a_period_that_does_not_exist(periods: Periods) -> None:
    periods.set_limit("finance", 100)
    assert periods.store.claim_alert("finance", "2026-11", 50, "t1") is False
    assert periods.store.balance("finance", "2026-11").alerts == frozenset()


def test_a_claim_is_released_only_by_its_own_writer(periods: Periods) -> None:
    periods.set_period("finance", "2026-11", limit=100, charged=60)
    assert periods.store.claim_alert("finance", "2026-11", 50, "mine")
    periods.store.release_alert("finance", "2026-11", 50, "someone-else")
    assert periods.store.balance("finance", "2026-11").alerts == {50}
    periods.store.release_alert("finance", "2026-11", 50, "mine")
    assert periods.store.balance("finance", "2026-11").alerts == frozenset()
    assert periods.store.claim_alert("finance", "2026-11", 50, "retry")


def test_the_team_list_is_every_team_holding_a_key(moto_url: str, fresh_table: Callable[[str], str]) -> None:
    client = dynamodb_client(moto_url)
    table = fresh_table("KeysTable")
    for digest, team in (("a", "finance"), ("b", "support"), ("c", "finance")):
        client.put_item(
            TableName=table,
            Item={"pk": {"S": f"KEY#{digest}"}, "sk": {"S": "KEY"}, "team": {"S": team}, "principal": {"S": "p"}},
        )
    assert DynamoDbTeams(client, table)() == ["finance", "support"]


# --- fail closed ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_every_records_and_usage_operation_fails_closed_when_dynamodb_cannot_answer(
    fault: str, moto_url: str, fresh_table: Callable[[str], str]
) -> None:
    ledger, audit, budgets, keys = (fresh_table(t) for t in ("LedgerTable", "AuditTable", "BudgetsTable", "KeysTable"))
    client = dynamodb_client(moto_url, fault)
    records = DynamoDbRecords(client, ledger, audit, clock=lambda: NOW)
    aggregates = DynamoDbAggregates(client, ledger)
    periods = DynamoDbPeriods(client, budgets)
    operations: list[Callable[[], object]] = [
        lambda: records.ledger("finance", DAY, DAY),
        lambda: records.ledger(None, DAY, DAY),
        lambda: records.audit(NOW - timedelta(hours=1)),
        lambda: records.record_admin(decision("r1", kind="admin")),
        lambda: aggregates.replace_day(DAY, ["finance"], [usage(DAY, "finance", "a__x", 1)]),
        lambda: aggregates.month("2026-11"),
        lambda: periods.balance("finance", "2026-11"),
        lambda: periods.claim_alert("finance", "2026-11", 50, "t"),
        lambda: periods.release_alert("finance", "2026-11", 50, "t"),
        lambda: DynamoDbTeams(client, keys)(),
    ]
    for operation in operations:
        with pytest.raises(StoreUnavailableError):
            operation()
