"""Usage aggregation (idempotent, per team, tool and day), the usage report, and its terminal rendering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mcp_steward.adapters.memory_records import InMemoryAggregates, InMemoryPeriods, InMemoryRecords
from mcp_steward.cli.reports import burn_bar, burn_line, principal_rows, principal_text, usage_rows, usage_text
from mcp_steward.domain.records import LedgerEntry, Outcome
from mcp_steward.domain.usage import DailyUsage, PeriodBalance, parse_period, period_of
from mcp_steward.services.usage import AggregateUsage, summarize, usage_report

NOW = datetime(2026, 11, 24, 21, 30, tzinfo=UTC)
DAY = NOW.date()
CREDIT = 1_000_000


def call(request_id: str, team: str = "finance", tool: str = "currency__convert", **changes: Any) -> LedgerEntry:
    fields: dict[str, Any] = {
        "request_id": request_id,
        "at": NOW - timedelta(minutes=5),
        "principal": "alice",
        "obo": None,
        "team": team,
        "tool": tool,
        "server": tool.partition("__")[0],
        "cost_micros": CREDIT,
        "units": 2,
        "outcome": Outcome.OK,
        "latency_ms": 30,
    }
    fields.update(changes)
    return LedgerEntry(**fields)


def fixture_ledger(*entries: LedgerEntry) -> InMemoryRecords:
    ledger = InMemoryRecords(clock=lambda: NOW)
    for entry in entries:
        ledger.append_ledger(entry)
    return ledger


def test_calls_are_summed_per_day_team_and_tool_and_errors_are_calls_not_ok() -> None:
    rows = summarize(
        [
            call("a"),
            call("b", outcome=Outcome.TOOL_ERROR, cost_micros=500_000, units=0),
            call("c", tool="hr__find_employee", outcome=Outcome.UNKNOWN),
            call("d", team="support"),
            call("e", at=NOW - timedelta(days=1)),
        ],
        NOW,
    )
    assert rows == [
        DailyUsage(DAY - timedelta(days=1), "finance", "currency__convert", 1, CREDIT, 2, 0, NOW),
        DailyUsage(DAY, "finance", "currency__convert", 2, 1_500_000, 2, 1, NOW),
        DailyUsage(DAY, "finance", "hr__find_employee", 1, CREDIT, 2, 1, NOW),
        DailyUsage(DAY, "support", "currency__convert", 1, CREDIT, 2, 0, NOW),
    ]


def test_aggregating_a_day_twice_leaves_the_same_aggregates() -> None:
    aggregates = InMemoryAggregates()
    aggregate = AggregateUsage(
        fixture_ledger(call("a"), call("b", team="support")), aggregates, lambda: ["finance", "support"], lambda: NOW
    )
    first = aggregate(DAY)
    snapshot = dict(aggregates.rows)
    second = aggregate(DAY)
    assert first == second
    assert aggregates.rows == snapshot
    assert [(r.team, r.calls) for r in aggregates.month("2026-11")] == [("finance", 1), ("support", 1)]


def test_re_aggregating_picks_up_new_calls_and_keeps_other_days() -> None:
    ledger = fixture_ledger(call("a"), call("old", at=NOW - timedelta(days=1)))
    aggregates = InMemoryAggregates()
    aggregate = AggregateUsage(ledger, aggregates, lambda: ["finance"], lambda: NOW)
    aggregate(DAY - timedelta(days=1))
    aggregate(DAY)
    ledger.append_ledger(call("b"))
    aggregate(DAY)
    assert [(r.day, r.calls) for r in aggregates.month("2026-11")] == [(DAY - timedelta(days=1), 1), (DAY, 2)]


def test_a_team_outside_the_team_list_is_neither_aggregated_nor_erased() -> None:
    aggregates = InMemoryAggregates()
    aggregates.replace_day(DAY, ["ops"], [DailyUsage(DAY, "ops", "x__y", 9, 0, 0, 0, NOW)])
    AggregateUsage(fixture_ledger(call("a"), call("o", team="ops")), aggregates, lambda: ["finance"], lambda: NOW)(DAY)
    assert {(r.team, r.calls) for r in aggregates.month("2026-11")} == {("finance", 1), ("ops", 9)}


def test_the_report_shows_spend_per_team_and_tool_and_each_teams_burn() -> None:
    aggregates = InMemoryAggregates()
    AggregateUsage(
        fixture_ledger(call("a"), call("b"), call("c", tool="hr__find_employee"), call("d", team="support")),
        aggregates,
        lambda: ["finance", "support", "ops"],
        lambda: NOW,
    )(DAY)
    periods = InMemoryPeriods()
    periods.set_period("finance", "2026-11", limit=100 * CREDIT, reserved=CREDIT, charged=52_100_000)
    periods.set_limit("support", 10 * CREDIT)
    report = usage_report("2026-11", aggregates=aggregates, periods=periods, teams=["finance", "support", "ops"])
    assert report.source == "aggregates"
    finance, ops, support = report.teams
    assert [(t.tool, t.calls, t.cost_micros, t.units) for t in finance.tools] == [
        ("currency__convert", 2, 2 * CREDIT, 4),
        ("hr__find_employee", 1, CREDIT, 2),
    ]
    assert finance.budget is not None and finance.budget.burn_percent == 52
    assert support.budget is not None and not support.budget.materialized and support.budget.charged == 0
    assert ops.tools == () and ops.budget is None


def test_without_aggregates_the_report_computes_from_the_ledger_and_writes_nothing() -> None:
    aggregates = InMemoryAggregates()
    ledger = fixture_ledger(call("a"), call("later", at=NOW + timedelta(days=2)))
    report = usage_report(
        "2026-11", aggregates=aggregates, periods=InMemoryPeriods(), teams=["finance"], ledger=ledger, today=DAY
    )
    assert report.source == "ledger"
    assert [(t.tool, t.calls) for t in report.teams[0].tools] == [("currency__convert", 1)]
    assert aggregates.rows == {}


def test_a_report_for_one_team_shows_only_that_team() -> None:
    aggregates = InMemoryAggregates()
    AggregateUsage(fixture_ledger(call("a"), call("b", team="support")), aggregates, lambda: ["finance", "support"])(
        DAY
    )
    report = usage_report("2026-11", aggregates=aggregates, periods=InMemoryPeriods(), teams=[], team="support")
    assert [t.team for t in report.teams] == ["support"]


def test_a_malformed_period_is_refused() -> None:
    for text in ("2026-13", "2026-1", "26-11", "2026-11-01", ""):
        with pytest.raises(ValueError):
            parse_period(text)
    assert parse_period("2024-02")[1].day == 29
    assert parse_period("2026-12")[1].isoformat() == "2026-12-31"
    assert period_of(NOW) == "2026-11"


def test_burn_bars_fill_in_proportion_and_never_overflow() -> None:
    assert burn_bar(52_100_000, 100 * CREDIT) == "████████░░░░░░░░"
    assert burn_bar(0, 100 * CREDIT) == "░" * 16
    assert burn_bar(150, 100) == "█" * 16
    assert burn_bar(5, 0) == "░" * 16


def test_a_burn_line_reads_team_bar_percent_and_credits_with_six_decimals_like_every_listing() -> None:
    budget = PeriodBalance("finance", "2026-11", 100 * CREDIT, 47_900_000, 0, 52_100_000)
    assert burn_line("finance", budget) == "finance  ████████░░░░░░░░  52%  52.100000 / 100.000000 credits"
    held = PeriodBalance("ops", "2026-11", 10 * CREDIT, 0, CREDIT, 9 * CREDIT)
    assert burn_line("ops", held, 7) == (
        "ops      ██████████████░░  90%  9.000000 / 10.000000 credits  (reserved 1.000000, available 0.000000)"
    )
    # a micro-credit is not rounded away (two decimals showed 0.000001 as 0.00)
    tiny = PeriodBalance("tiny", "2026-11", CREDIT, CREDIT - 1, 0, 1)
    assert burn_line("tiny", tiny).endswith("0.000001 / 1.000000 credits")
    assert burn_line("support", None) == "support  no budget"


def test_usage_json_has_stable_keys_and_money_as_micros_and_decimal_strings() -> None:
    aggregates = InMemoryAggregates()
    AggregateUsage(fixture_ledger(call("a")), aggregates, lambda: ["finance", "support"], lambda: NOW)(DAY)
    periods = InMemoryPeriods()
    periods.set_period("finance", "2026-11", limit=100 * CREDIT, charged=CREDIT)
    report = usage_report("2026-11", aggregates=aggregates, periods=periods, teams=["finance", "support"])
    finance, support = usage_rows(report)
    assert set(finance) == set(support) == {
        "team", "period", "source", "calls", "cost_micro", "cost", "tools", "budget"
    }  # fmt: skip
    assert finance["cost_micro"] == CREDIT and finance["cost"] == "1.000000"
    assert finance["tools"] == [
        {"tool": "currency__convert", "calls": 1, "units": 2, "errors": 0, "cost_micro": CREDIT, "cost": "1.000000"}
    ]
    assert finance["budget"]["limit_micro"] == 100 * CREDIT and finance["budget"]["burn_percent"] == 1
    assert support["budget"] is None and support["tools"] == []
    text = "\n".join(usage_text(report))
    assert "finance  ░░░░░░░░░░░░░░░░   1%  1.000000 / 100.000000 credits" in text


def test_usage_by_principal_groups_each_principals_calls_per_tool() -> None:
    def entry(request_id: str, principal: str, team: str, tool: str, cost: int, outcome: Outcome) -> LedgerEntry:
        return LedgerEntry(request_id, NOW, principal, None, team, tool, tool.partition("__")[0], cost, 1, outcome, 5)

    rows = principal_rows(
        "2026-11",
        [
            entry("r1", "bob", "support", "hr__find", 1, Outcome.OK),
            entry("r2", "alice", "finance", "calc__add", 250_000, Outcome.OK),
            entry("r3", "alice", "finance", "calc__add", 250_000, Outcome.UNKNOWN),
            entry("r4", "alice", "finance", "calc__mul", 0, Outcome.OK),
        ],
    )

    assert [(row["team"], row["principal"], row["calls"], row["cost"]) for row in rows] == [
        ("finance", "alice", 3, "0.500000"),
        ("support", "bob", 1, "0.000001"),
    ]
    assert set(rows[0]) == {"team", "principal", "period", "source", "calls", "cost_micro", "cost", "tools"}
    assert rows[0]["tools"][0] == {
        "tool": "calc__add", "calls": 2, "units": 2, "errors": 1, "cost_micro": 500_000, "cost": "0.500000"
    }  # fmt: skip
    text = principal_text("2026-11", rows)
    assert text[0] == "Usage 2026-11 by principal (from the ledger)"
    assert text[1].split() == ["TEAM", "PRINCIPAL", "TOOL", "CALLS", "UNITS", "ERRORS", "COST"]
    assert text[-1].split() == ["support", "bob", "hr__find", "1", "1", "0", "0.000001"]
    assert principal_text("2026-11", []) == ["Usage 2026-11 by principal (from the ledger)", "(no calls)"]
