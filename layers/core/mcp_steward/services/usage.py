"""Usage aggregation and the usage report, off the request path.

:class:`AggregateUsage` recomputes one UTC day from the ledger for every team and overwrites that day's
aggregates, so running it twice (or concurrently) leaves the same items. The report reads a month's
aggregates (or, where none exist, computes them from the ledger without writing them) and each team's budget
burn from its period item.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from mcp_steward.domain.records import LedgerEntry, Outcome
from mcp_steward.domain.usage import (
    DailyUsage,
    LedgerReader,
    PeriodBalance,
    PeriodBudgets,
    UsageAggregates,
    parse_period,
)

type TeamSource = Callable[[], Collection[str]]


def summarize(entries: Iterable[LedgerEntry], computed_at: datetime) -> list[DailyUsage]:
    """Ledger entries → one row per UTC day, team and tool (errors: outcome other than ``ok``)."""
    totals: dict[tuple[date, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for entry in entries:
        row = totals[(entry.at.astimezone(UTC).date(), entry.team, entry.tool)]
        row[0] += 1
        row[1] += entry.cost_micros
        row[2] += entry.units
        row[3] += entry.outcome is not Outcome.OK
    return [
        DailyUsage(day, team, tool, calls, cost, units, errors, computed_at)
        for (day, team, tool), (calls, cost, units, errors) in sorted(totals.items())
    ]


class AggregateUsage:
    """Recompute and overwrite the aggregates of one day for every team ``teams()`` names."""

    def __init__(
        self,
        ledger: LedgerReader,
        aggregates: UsageAggregates,
        teams: TeamSource,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._ledger = ledger
        self._aggregates = aggregates
        self._teams = teams
        self._clock = clock

    def __call__(self, day: date) -> list[DailyUsage]:
        """Returns the rows written.

        Raises:
            StoreUnavailableError: the ledger or the aggregates could not be read or written (nothing is
                half-replaced for the rows already written: a rerun completes it).
        """
        teams = sorted(set(self._teams()))
        rows = summarize(self._ledger.ledger(None, day, day, teams=teams), self._clock())
        self._aggregates.replace_day(day, teams, rows)
        return rows


@dataclass(frozen=True, slots=True)
class ToolSpend:
    tool: str
    calls: int
    cost_micros: int
    units: int
    errors: int


@dataclass(frozen=True, slots=True)
class TeamUsage:
    team: str
    tools: tuple[ToolSpend, ...]
    budget: PeriodBalance | None  # None: no standing limit and no period item

    @property
    def calls(self) -> int:
        return sum(t.calls for t in self.tools)

    @property
    def cost_micros(self) -> int:
        return sum(t.cost_micros for t in self.tools)


@dataclass(frozen=True, slots=True)
class UsageReport:
    period: str
    source: str  # "aggregates" or "ledger" (computed on the fly, nothing written)
    teams: tuple[TeamUsage, ...]


def usage_report(
    period: str,
    *,
    aggregates: UsageAggregates,
    periods: PeriodBudgets,
    teams: Collection[str],
    team: str | None = None,
    ledger: LedgerReader | None = None,
    today: date | None = None,
) -> UsageReport:
    """Spend per team and tool for ``period`` and each team's budget burn.

    When the month has no aggregates and ``ledger`` is given, the rows are computed from the ledger (days of
    the period up to ``today``) and not written: the local plane runs no schedule, and written rows would go
    stale. Teams shown: ``team`` alone, or every team in ``teams`` plus any team found in the rows.

    Raises:
        ValueError: ``period`` is not ``YYYY-MM``.
        StoreUnavailableError: a store could not answer.
    """
    first, last = parse_period(period)
    rows = aggregates.month(period, team)
    source = "aggregates"
    if not rows and ledger is not None:
        end = min(last, today or datetime.now(UTC).date())
        wanted = [team] if team is not None else sorted(set(teams))
        rows = summarize(ledger.ledger(None, first, end, teams=wanted), datetime.now(UTC)) if end >= first else []
        source = "ledger"
    spend: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0, 0]))
    for row in rows:
        cell = spend[row.team][row.tool]
        cell[0] += row.calls
        cell[1] += row.cost_micros
        cell[2] += row.units
        cell[3] += row.errors
    names = {team} if team is not None else set(teams) | set(spend)
    report = []
    for name in sorted(names):
        tools = tuple(
            ToolSpend(tool, calls, cost, units, errors)
            for tool, (calls, cost, units, errors) in sorted(spend.get(name, {}).items())
        )
        report.append(TeamUsage(name, tools, periods.balance(name, period)))
    return UsageReport(period, source, tuple(report))
