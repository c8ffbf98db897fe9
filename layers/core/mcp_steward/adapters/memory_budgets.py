"""The in-memory :class:`~mcp_steward.domain.ports.BudgetLedger`: the same transitions as the DynamoDB
adapter, each under one lock, so the same contract tests run against both."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime

from mcp_steward.adapters.memory import InMemoryGrantStore, InMemoryRegistry
from mcp_steward.domain.budgets import (
    IDEMPOTENCY_TTL,
    GrantRevoked,
    IdempotencyRecord,
    Owner,
    OwnerKind,
    Period,
    PeriodBudget,
    PeriodMissing,
    RateLimit,
    RateScope,
    Replay,
    Reservation,
    ReservationRequest,
    ReservationStatus,
    Settlement,
    ToolNotCallable,
    budget_exceeded,
    idempotency_answer,
    kept_result,
    minute_of,
    nested_allowance_spent,
    rate_limited,
)
from mcp_steward.domain.money import Micros
from mcp_steward.domain.ports import CallConfig, LimitBelowUsageError, StoreRejectedError
from mcp_steward.domain.records import AuditRecord, LedgerEntry
from mcp_steward.domain.registry import ToolStatus


class InMemoryBudgetLedger:
    def __init__(self, grants: InMemoryGrantStore, registry: InMemoryRegistry) -> None:
        self._grants = grants
        self._registry = registry
        self._lock = threading.Lock()
        self.standing: dict[Owner, tuple[str, Micros]] = {}
        self.periods: dict[tuple[Owner, Period], PeriodBudget] = {}
        self.rates: dict[tuple[RateScope, str], int] = {}
        self.counters: dict[tuple[RateScope, str, str], int] = {}
        self.reservations: dict[str, tuple[Reservation, ReservationStatus]] = {}
        #: Idempotency records by record id, with the time each expires.
        self.idempotency: dict[str, tuple[IdempotencyRecord, datetime]] = {}
        #: The token of the settle that closed each reservation (a retried settle recognizes its own).
        self.settled_by: dict[str, str] = {}
        #: Per reservation: the nested calls and credit its own nested calls may still spend.
        self.nested_left: dict[str, tuple[int, int]] = {}
        self.ledger: list[LedgerEntry] = []
        self.audit: list[AuditRecord] = []

    def call_config(self, team: str, principal: str, tool: str) -> CallConfig:
        with self._lock:
            team_limit = self.standing.get(Owner(OwnerKind.TEAM, team))
            cap = self.standing.get(Owner(OwnerKind.PRINCIPAL, principal))
            rates = tuple(
                RateLimit(scope, subject, self.rates[(scope, subject)])
                for scope, subject in ((RateScope.PRINCIPAL, principal), (RateScope.TOOL, tool))
                if (scope, subject) in self.rates
            )
        return CallConfig(team_limit[1] if team_limit else None, cap[1] if cap else None, rates)

    def reserve(self, request: ReservationRequest) -> Reservation | Replay:
        amount = request.price.maximum
        with self._lock:
            reservation = request.reservation()
            existing = self.reservations.get(request.request_id)
            if existing is not None and existing[0] == reservation:
                return existing[0]  # this very request, reserved already: a retried reserve succeeds
            held = set(self._grants.all())
            if any(grant not in held for grant in request.grants):
                raise GrantRevoked
            # by registry id: a prompt's or resource's reservation re-checks its entry, as DynamoDB's key does
            tool = self._registry.catalog().entry(request.tool)
            if tool is None or tool.status is not ToolStatus.APPROVED or tool.pinned_hash != request.pin:
                raise ToolNotCallable
            key = request.idempotency_key
            found = self.idempotency.get(key.record_id) if key is not None else None
            if key is not None and found is not None and found[1] > request.at:  # an expired record is no record
                answer = idempotency_answer(key, found[0], request.at)
                if isinstance(answer, Replay):
                    return answer
                raise answer
            minute = minute_of(request.at)
            for limit in request.rate_limits:
                if self.counters.get((limit.scope, limit.subject, minute), 0) >= limit.per_minute:
                    raise rate_limited(limit, request.at)
            if request.parent is not None:
                parent = self.reservations.get(request.parent)
                calls, credit = self.nested_left.get(request.parent, (0, 0))
                if parent is None or parent[1] is not ReservationStatus.RESERVED or calls < 1 or credit < amount:
                    raise nested_allowance_spent()
            owners = reservation.owners
            for owner in owners:
                budget = self.periods.get((owner, request.period))
                if budget is None:
                    raise PeriodMissing(owner, request.period)
                if budget.available < amount:
                    raise budget_exceeded(owner, request.period, budget.available, amount)
            if existing is not None:
                raise StoreRejectedError(f"request id {request.request_id} was already reserved by another request")
            for limit in request.rate_limits:
                counter = (limit.scope, limit.subject, minute)
                self.counters[counter] = self.counters.get(counter, 0) + 1
            for owner in owners:
                budget = self.periods[(owner, request.period)]
                self.periods[(owner, request.period)] = replace(
                    budget, available=Micros(budget.available - amount), reserved=Micros(budget.reserved + amount)
                )
            self.reservations[request.request_id] = (reservation, ReservationStatus.RESERVED)
            self.nested_left[request.request_id] = (request.allowance.calls, request.allowance.credit)
            if request.parent is not None:
                calls, credit = self.nested_left[request.parent]
                self.nested_left[request.parent] = (calls - 1, credit - amount)
            if key is not None:
                record = IdempotencyRecord(request.request_id, key.tool, key.arguments, True, request.expires_at)
                self.idempotency[key.record_id] = (record, request.expires_at + IDEMPOTENCY_TTL)
            return reservation

    def open_period(self, owner: Owner, period: Period) -> bool:
        with self._lock:
            standing = self.standing.get(owner)
            if standing is None:
                return False
            limit = standing[1]
            self.periods.setdefault((owner, period), PeriodBudget(owner, period, limit, limit, Micros(0), Micros(0)))
            return True

    def settle(self, settlement: Settlement) -> bool:
        reservation = settlement.reservation
        cost = min(settlement.cost, reservation.amount)
        with self._lock:
            current = self.reservations.get(reservation.request_id)
            if current is None or current[1] is not ReservationStatus.RESERVED:
                # closed already: by this very settle (a retry after its first attempt committed), or another
                mine = bool(settlement.token) and self.settled_by.get(reservation.request_id) == settlement.token
                return current is not None and mine
            self.reservations[reservation.request_id] = (reservation, ReservationStatus.SETTLED)
            self.settled_by[reservation.request_id] = settlement.token
            for owner in reservation.owners:
                budget = self.periods[(owner, reservation.period)]
                self.periods[(owner, reservation.period)] = replace(
                    budget,
                    reserved=Micros(budget.reserved - reservation.amount),
                    charged=Micros(budget.charged + cost),
                    available=Micros(budget.available + reservation.amount - cost),
                )
            self.ledger.append(settlement.ledger)
            self.audit.append(settlement.audit)
            record_id = reservation.idempotency_record
            found = self.idempotency.get(record_id) if record_id is not None else None
            if record_id is not None and found is not None and found[0].request_id == reservation.request_id:
                if settlement.releases_key:
                    del self.idempotency[record_id]
                    return True
                kept, result = kept_result(settlement.replay, settlement.completed)
                closed = replace(found[0], open=False, kept=kept, result=result)
                self.idempotency[record_id] = (closed, settlement.ledger.at + IDEMPOTENCY_TTL)
            return True

    def record(self, audit: AuditRecord) -> None:
        with self._lock:
            self.audit.append(audit)

    def open_reservations(self, now: datetime) -> list[Reservation]:
        with self._lock:
            return [
                reservation
                for reservation, status in self.reservations.values()
                if status is ReservationStatus.RESERVED and reservation.expires_at < now
            ]

    def count_open_reservations(self, expired_before: datetime | None = None) -> int:
        with self._lock:
            return sum(
                1
                for reservation, status in self.reservations.values()
                if status is ReservationStatus.RESERVED
                and (expired_before is None or reservation.expires_at < expired_before)
            )

    def set_limit(self, owner: Owner, team: str, limit: Micros, period: Period) -> None:
        with self._lock:
            current = self.periods.get((owner, period))
            if current is not None:
                if current.reserved + current.charged > limit:
                    raise LimitBelowUsageError(
                        f"{owner.kind.value} {owner.name} has more charged and reserved than {limit} micros"
                    )
                self.periods[(owner, period)] = replace(
                    current, limit=limit, available=Micros(current.available + limit - current.limit)
                )
            self.standing[owner] = (team, limit)

    def remove_limit(self, owner: Owner) -> bool:
        with self._lock:
            return self.standing.pop(owner, None) is not None

    def period_budget(self, owner: Owner, period: Period) -> PeriodBudget | None:
        with self._lock:
            return self.periods.get((owner, period))

    def set_rate_limit(self, limit: RateLimit) -> None:
        with self._lock:
            if limit.per_minute <= 0:
                self.rates.pop((limit.scope, limit.subject), None)
            else:
                self.rates[(limit.scope, limit.subject)] = limit.per_minute

    def rate_limits(self) -> list[RateLimit]:
        with self._lock:
            return sorted(
                (RateLimit(sc, su, pm) for (sc, su), pm in self.rates.items()), key=lambda r: (r.scope, r.subject)
            )

    def limits(self) -> list[tuple[Owner, str, Micros]]:
        with self._lock:
            return sorted(((o, t, lim) for o, (t, lim) in self.standing.items()), key=lambda e: (e[0].kind, e[0].name))
