"""In-memory fakes of the records, aggregates, period-budget and alert ports. They pass the same contract tests
as the DynamoDB adapters (tests/integration/contract/test_records_contract.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import UTC, date, datetime

from mcp_steward.adapters.dynamodb_records import SHARDS
from mcp_steward.domain.records import AuditRecord, LedgerEntry
from mcp_steward.domain.usage import BudgetAlert, DailyUsage, PeriodBalance


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


class InMemoryRecords:
    """The ledger and audit trail. ``append_ledger``/``append_audit`` stand in for the settle transaction."""

    shards = SHARDS

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._ledger: dict[tuple[datetime, str], LedgerEntry] = {}
        self._audit: dict[tuple[datetime, str, str], AuditRecord] = {}
        self._clock = clock
        self._lock = threading.Lock()

    def append_ledger(self, entry: LedgerEntry) -> None:
        entry = replace(entry, at=_utc(entry.at))
        with self._lock:
            self._ledger[(entry.at, entry.request_id)] = entry

    def append_audit(self, record: AuditRecord) -> None:
        record = replace(record, at=_utc(record.at))
        with self._lock:
            self._audit[(record.at, record.request_id, record.kind)] = record

    def ledger(
        self, team: str | None, since: date, until: date, *, teams: Collection[str] | None = None
    ) -> list[LedgerEntry]:
        wanted = {team} if team is not None else (set(teams) if teams is not None else None)
        with self._lock:
            entries = list(self._ledger.values())
        return sorted(
            (e for e in entries if since <= e.at.date() <= until and (wanted is None or e.team in wanted)),
            key=lambda e: (e.at, e.request_id),
        )

    def audit(self, since: datetime, until: datetime | None = None, kind: str | None = None) -> list[AuditRecord]:
        start = _utc(since)
        end = _utc(until) if until is not None else self._clock().astimezone(UTC)
        with self._lock:
            records = list(self._audit.values())
        return sorted(
            (r for r in records if start <= r.at <= end and (kind is None or r.kind == kind)),
            key=lambda r: (r.at, r.request_id, r.kind),
        )

    def record_admin(self, record: AuditRecord) -> None:
        self.append_audit(record)


class InMemoryAggregates:
    def __init__(self) -> None:
        self.rows: dict[tuple[date, str, str], DailyUsage] = {}
        self._lock = threading.Lock()

    def replace_day(self, day: date, teams: Collection[str], rows: list[DailyUsage]) -> None:
        with self._lock:
            for key in [k for k in self.rows if k[0] == day and k[1] in teams]:
                del self.rows[key]
            for row in rows:
                self.rows[(row.day, row.team, row.tool)] = row

    def month(self, period: str, team: str | None = None) -> list[DailyUsage]:
        with self._lock:
            rows = list(self.rows.values())
        return sorted(
            (r for r in rows if r.day.isoformat()[:7] == period and (team is None or r.team == team)),
            key=lambda r: (r.day, r.team, r.tool),
        )


class InMemoryPeriods:
    """Team period items and standing limits; ``set_period``/``set_limit`` stand in for the budget adapter."""

    def __init__(self) -> None:
        self._periods: dict[tuple[str, str], PeriodBalance] = {}
        self._limits: dict[str, int] = {}
        self._claims: dict[tuple[str, str, int], str] = {}
        self._lock = threading.Lock()

    def set_limit(self, team: str, limit: int) -> None:
        with self._lock:
            self._limits[team] = limit

    def set_period(self, team: str, period: str, *, limit: int, reserved: int = 0, charged: int = 0) -> None:
        if reserved + charged > limit:
            raise ValueError("reserved + charged exceeds the limit")
        with self._lock:
            self._periods[(team, period)] = PeriodBalance(
                team, period, limit, limit - reserved - charged, reserved, charged
            )

    def balance(self, team: str, period: str) -> PeriodBalance | None:
        with self._lock:
            found = self._periods.get((team, period))
            if found is not None:
                alerts = frozenset(t for (tm, p, t) in self._claims if (tm, p) == (team, period))
                return replace(found, alerts=alerts)
            limit = self._limits.get(team)
        return PeriodBalance(team, period, limit, limit, 0, 0, materialized=False) if limit is not None else None

    def claim_alert(self, team: str, period: str, threshold: int, token: str) -> bool:
        with self._lock:
            if (team, period) not in self._periods or (team, period, threshold) in self._claims:
                return False
            self._claims[(team, period, threshold)] = token
            return True

    def release_alert(self, team: str, period: str, threshold: int, token: str) -> None:
        with self._lock:
            if self._claims.get((team, period, threshold)) == token:
                del self._claims[(team, period, threshold)]


class InMemoryAlertSink:
    """Collects alerts; ``fail`` makes the next deliveries raise (a delivery failure)."""

    def __init__(self) -> None:
        self.alerts: list[BudgetAlert] = []
        self.fail: Exception | None = None
        self._lock = threading.Lock()

    def emit(self, alert: BudgetAlert) -> None:
        if self.fail is not None:
            raise self.fail
        with self._lock:
            self.alerts.append(alert)
