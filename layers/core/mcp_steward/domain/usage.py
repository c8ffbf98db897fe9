"""Usage off the request path: daily aggregates, budget burn, threshold alerts, and the ports they use.

Aggregates are recomputed from the ledger for a whole day and overwritten, so recomputing is idempotent.
Alerts fire once per threshold, team and period: the period item records each threshold conditionally and
only the writer that wins that condition emits.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Final, Protocol

from mcp_steward.domain.records import AuditRecord, LedgerEntry

#: Percent of a period's limit whose crossing (by ``charged``) is announced once.
THRESHOLDS: Final = (50, 80, 100)
_PERIOD: Final = re.compile(r"(?P<year>[0-9]{4})-(?P<month>0[1-9]|1[0-2])")


def period_of(day: date | datetime) -> str:
    """``YYYY-MM`` of a day (a datetime is taken in UTC)."""
    if isinstance(day, datetime):
        day = day.astimezone(UTC).date()
    return f"{day.year:04d}-{day.month:02d}"


def parse_period(text: str) -> tuple[date, date]:
    """``"2026-11"`` → (first day, last day) of that month.

    Raises:
        ValueError: the text is not ``YYYY-MM`` with a month from 01 to 12.
    """
    match = _PERIOD.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a period (YYYY-MM)")
    year, month = int(match["year"]), int(match["month"])
    first = date(year, month, 1)
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return first, date.fromordinal(following.toordinal() - 1)


@dataclass(frozen=True, slots=True)
class DailyUsage:
    """One team's use of one tool on one UTC day, recomputed from the ledger."""

    day: date
    team: str
    tool: str
    calls: int
    cost_micros: int
    units: int
    errors: int  # calls whose outcome is not ``ok``
    computed_at: datetime


@dataclass(frozen=True, slots=True)
class PeriodBalance:
    """A team's budget for one month as its period item holds it (``limit = available + reserved + charged``).

    ``materialized`` is False when no period item exists yet and the standing limit stands in for it.
    ``alerts`` are the thresholds already announced for this period.
    """

    team: str
    period: str
    limit: int
    available: int
    reserved: int
    charged: int
    materialized: bool = True
    alerts: frozenset[int] = field(default_factory=frozenset)

    @property
    def burn_percent(self) -> int:
        """Whole percent of the limit charged (rounded down); 0 for a zero limit."""
        return self.charged * 100 // self.limit if self.limit > 0 else 0


@dataclass(frozen=True, slots=True)
class BudgetAlert:
    team: str
    period: str
    threshold: int
    limit_micros: int
    charged_micros: int
    reserved_micros: int


class AlertDeliveryError(Exception):
    """An alert could not be delivered; its threshold was released so a later run retries it."""


class LedgerReader(Protocol):
    def ledger(
        self, team: str | None, since: date, until: date, *, teams: Collection[str] | None = None
    ) -> list[LedgerEntry]:
        """Ledger entries of ``team`` (or of every team in ``teams`` when ``team`` is None) for the UTC days
        ``since`` to ``until`` inclusive, ordered by time."""
        ...


class AuditReader(Protocol):
    def audit(self, since: datetime, until: datetime | None = None, kind: str | None = None) -> list[AuditRecord]:
        """Audit records with ``since <= at <= until`` (until None: now), of one kind or all, ordered by time."""
        ...

    def record_admin(self, record: AuditRecord) -> None: ...


class UsageAggregates(Protocol):
    def replace_day(self, day: date, teams: Collection[str], rows: list[DailyUsage]) -> None:
        """Make ``rows`` the whole aggregate of ``day`` for ``teams`` (stale rows of those teams removed)."""
        ...

    def month(self, period: str, team: str | None = None) -> list[DailyUsage]:
        """Every aggregate of the month ``YYYY-MM`` (of one team), ordered by day, team and tool."""
        ...


class PeriodBudgets(Protocol):
    def balance(self, team: str, period: str) -> PeriodBalance | None:
        """The team's period item; its standing limit when the period is not materialized; None without."""
        ...


class AlertClaims(PeriodBudgets, Protocol):
    def claim_alert(self, team: str, period: str, threshold: int, token: str) -> bool:
        """Record ``threshold`` on the team's period item unless already recorded. True only for the winner."""
        ...

    def release_alert(self, team: str, period: str, threshold: int, token: str) -> None:
        """Undo this writer's own claim (its delivery failed), so a later run can announce it."""
        ...


class AlertSink(Protocol):
    def emit(self, alert: BudgetAlert) -> None:
        """Deliver one alert.

        Raises:
            AlertDeliveryError: it was not delivered.
        """
        ...
