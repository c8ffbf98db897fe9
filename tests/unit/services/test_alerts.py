"""Budget alerts: each threshold of each team's period announced exactly once, even when the check runs twice or
concurrently; a failed delivery is retried by the next run; the period item's amounts are never touched."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from mcp_steward.adapters.memory_records import InMemoryAlertSink, InMemoryPeriods
from mcp_steward.domain.usage import AlertDeliveryError, BudgetAlert, PeriodBalance
from mcp_steward.services.alerts import BudgetAlerts, crossed

CREDIT = 1_000_000
PERIOD = "2026-11"


def periods_with(**charged_percent: int) -> InMemoryPeriods:
    periods = InMemoryPeriods()
    for team, percent in charged_percent.items():
        periods.set_period(team, PERIOD, limit=100 * CREDIT, charged=percent * CREDIT)
    return periods


def test_thresholds_are_crossed_by_charged_at_or_above_each_percent() -> None:
    def balance(charged: int, limit: int = 100, reserved: int = 0) -> PeriodBalance:
        return PeriodBalance("t", PERIOD, limit, limit - charged - reserved, reserved, charged)

    assert crossed(balance(49)) == []
    assert crossed(balance(49, reserved=51)) == []  # reservations are not burn
    assert crossed(balance(50)) == [50]
    assert crossed(balance(80)) == [50, 80]
    assert crossed(balance(100)) == [50, 80, 100]
    assert crossed(balance(0, limit=0)) == []


def test_each_crossed_threshold_is_emitted_once_even_when_run_twice() -> None:
    periods, sink = periods_with(finance=85, support=10), InMemoryAlertSink()
    alerts = BudgetAlerts(periods, sink, lambda: ["finance", "support", "ops"])
    first = alerts(PERIOD)
    second = alerts(PERIOD)
    assert [(a.team, a.threshold) for a in first.emitted] == [("finance", 50), ("finance", 80)]
    assert second.emitted == () and second.failed == ()
    assert sink.alerts == [
        BudgetAlert("finance", PERIOD, 50, 100 * CREDIT, 85 * CREDIT, 0),
        BudgetAlert("finance", PERIOD, 80, 100 * CREDIT, 85 * CREDIT, 0),
    ]


def test_a_later_crossing_emits_only_the_new_threshold() -> None:
    periods, sink = periods_with(finance=55), InMemoryAlertSink()
    alerts = BudgetAlerts(periods, sink, lambda: ["finance"])
    alerts(PERIOD)
    periods.set_period("finance", PERIOD, limit=100 * CREDIT, charged=100 * CREDIT)
    assert [a.threshold for a in alerts(PERIOD).emitted] == [80, 100]
    assert [a.threshold for a in sink.alerts] == [50, 80, 100]


def test_a_team_without_a_period_item_gets_no_alert() -> None:
    periods, sink = InMemoryPeriods(), InMemoryAlertSink()
    periods.set_limit("finance", 0)
    assert BudgetAlerts(periods, sink, lambda: ["finance", "ops"])(PERIOD).emitted == ()


def test_a_failed_delivery_is_released_and_retried_by_the_next_run() -> None:
    periods, sink = periods_with(finance=60), InMemoryAlertSink()
    alerts = BudgetAlerts(periods, sink, lambda: ["finance"])
    sink.fail = AlertDeliveryError("EventBridge answered ThrottlingException")
    run = alerts(PERIOD)
    assert run.emitted == () and [(a.threshold, why) for a, why in run.failed] == [
        (50, "EventBridge answered ThrottlingException")
    ]
    balance = periods.balance("finance", PERIOD)
    assert balance is not None and balance.alerts == frozenset()
    sink.fail = None
    assert [a.threshold for a in alerts(PERIOD).emitted] == [50]


def _race(run: Callable[[], Any], threads: int = 2) -> None:
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            run()
        except BaseException as exc:  # pragma: no cover - surfaced below
            errors.append(exc)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []


def test_two_concurrent_runs_emit_each_threshold_once_with_the_fake() -> None:
    periods, sink = periods_with(finance=100, support=80), InMemoryAlertSink()
    alerts = BudgetAlerts(periods, sink, lambda: ["finance", "support"])
    _race(lambda: alerts(PERIOD), threads=4)
    assert sorted((a.team, a.threshold) for a in sink.alerts) == [
        ("finance", 50),
        ("finance", 80),
        ("finance", 100),
        ("support", 50),
        ("support", 80),
    ]


@pytest.mark.moto
def test_two_concurrent_runs_emit_each_threshold_once_against_dynamodb(moto_url: str) -> None:
    from mcp_steward.adapters.dynamodb_usage import DynamoDbPeriods
    from mcp_steward.local.template import LocalTemplate
    from tests.conftest import ROOT
    from tests.integration.contract.conftest import dynamodb_client

    client = dynamodb_client(moto_url)
    kwargs = dict(LocalTemplate.load(ROOT / "infra" / "template.yaml").tables()["BudgetsTable"].create_table_kwargs)
    table = kwargs["TableName"] = f"alerts-race-{datetime.now(UTC).strftime('%H%M%S%f')}"
    client.create_table(**kwargs)
    item = {
        "pk": {"S": "TEAM#finance"},
        "sk": {"S": f"PERIOD#{PERIOD}"},
        "limit": {"N": str(100 * CREDIT)},
        "available": {"N": "0"},
        "reserved": {"N": str(10 * CREDIT)},
        "charged": {"N": str(90 * CREDIT)},
        "owner_kind": {"S": "team"},
        "owner": {"S": "finance"},
        "team": {"S": "finance"},
        "period": {"S": PERIOD},
    }
    client.put_item(TableName=table, Item=item)
    sink = InMemoryAlertSink()
    alerts = BudgetAlerts(DynamoDbPeriods(client, table), sink, lambda: ["finance"])
    _race(lambda: alerts(PERIOD), threads=2)
    _race(lambda: alerts(PERIOD), threads=2)
    assert sorted(a.threshold for a in sink.alerts) == [50, 80]
    stored = client.get_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]}, ConsistentRead=True)["Item"]
    assert {k: v for k, v in stored.items() if not k.startswith("alert_")} == item
    assert {"alert_50", "alert_80"} <= set(stored) and "alert_100" not in stored
    client.close()
