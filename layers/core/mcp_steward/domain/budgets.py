"""Budgets, caps, rate limits and reservations: what one call may spend, and the record of what it holds.

A team has a standing monthly limit, materialized lazily as one item per calendar month (UTC) holding
``limit = available + reserved + charged``. A principal may have a cap of the same shape. A call reserves its
maximum cost on both before it runs and settles the actual cost after, each in one transaction.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final, NewType

from mcp_steward.domain.grants import Grant
from mcp_steward.domain.idempotency import IdempotencyKey, KeptResult
from mcp_steward.domain.identity import Principal
from mcp_steward.domain.money import Micros, format_credits
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.records import AuditRecord, Decision, LedgerEntry, Outcome

Period = NewType("Period", str)  # "YYYY-MM"


def period_of(at: datetime) -> Period:
    return Period(at.astimezone(UTC).strftime("%Y-%m"))


def minute_of(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%d%H%M")


class OwnerKind(StrEnum):
    TEAM = "team"
    PRINCIPAL = "principal"


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose budget: a team's, or a principal's cap."""

    kind: OwnerKind
    name: str


@dataclass(frozen=True, slots=True)
class PeriodBudget:
    owner: Owner
    period: Period
    limit: Micros
    available: Micros
    reserved: Micros
    charged: Micros

    @property
    def balanced(self) -> bool:
        return self.limit == self.available + self.reserved + self.charged and self.available >= 0


#: The highest rate limit (calls a minute) that keeps a counter meaningful.
MAX_PER_MINUTE: Final = 1_000_000


class RateScope(StrEnum):
    PRINCIPAL = "principal"
    TOOL = "tool"


@dataclass(frozen=True, slots=True)
class RateLimit:
    scope: RateScope
    subject: str
    per_minute: int


class ReservationStatus(StrEnum):
    RESERVED = "reserved"
    SETTLED = "settled"
    RELEASED = "released"


ZERO: Final = Micros(0)
#: How long an idempotency record answers repeats after its call closed (or after an unsettled call's expiry).
IDEMPOTENCY_TTL: Final = timedelta(hours=24)
#: Results of idempotent calls are kept up to this size (serialized UTF-8 JSON); larger ones answer "not kept".
MAX_KEPT_RESULT_BYTES: Final = 64 * 1024
#: The longest latency a ledger entry records (a day): whatever a clock says, every stored number stays bounded.
MAX_LATENCY_MS: Final = 86_400_000


@dataclass(frozen=True, slots=True)
class NestedAllowance:
    """What the nested calls a tool server makes during one invocation may spend, together: at most ``calls``
    calls and ``credit`` micro-credits of their reservations (docs/design.md section 5). Each nested reserve takes
    its share from the parent reservation in the same transaction, so a replayed token cannot spend more."""

    calls: int = 0
    credit: Micros = ZERO


NO_NESTING: Final = NestedAllowance()


@dataclass(frozen=True, slots=True)
class ReservationRequest:
    """Everything the reserve transaction checks and writes for one call."""

    request_id: str
    principal: Principal
    tool: str
    server: str
    #: The grant items re-checked: one, or two for an agent acting for a user, or a nested call's server grant
    #: and the person's. Each item appears once (an agent and its teammate may hold the same team grant), since
    #: a transaction may name an item only once.
    grants: tuple[Grant, ...]
    price: Price
    team_budget: bool  # the team has a standing limit (else only free tools pass)
    cap: bool  # the principal has a cap
    rate_limits: tuple[RateLimit, ...]
    idempotency_key: IdempotencyKey | None
    at: datetime
    expires_at: datetime
    #: The tool's pinned definition hash as the caller resolved it; the reserve re-checks it.
    pin: str | None = None
    #: What this call's own nested calls may spend (its server's delegation policy).
    allowance: NestedAllowance = NO_NESTING
    #: A nested call: the parent reservation's request id (its allowance pays) and the servers called so far.
    parent: str | None = None
    chain: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "grants", tuple(dict.fromkeys(self.grants)))

    @property
    def period(self) -> Period:
        return period_of(self.at)

    def reservation(self) -> Reservation:
        """The hold this request makes once its reserve transaction commits."""
        amount = self.price.maximum
        return Reservation(
            request_id=self.request_id,
            principal=self.principal.id,
            obo=self.principal.obo,
            team=self.principal.team,
            tool=self.tool,
            server=self.server,
            period=self.period,
            amount=amount,
            price=self.price,
            cap=self.cap and amount > 0,
            idempotency_record=self.idempotency_key.record_id if self.idempotency_key is not None else None,
            started_at=self.at,
            expires_at=self.expires_at,
            allowance=self.allowance,
            parent=self.parent,
            chain=self.chain,
        )


@dataclass(frozen=True, slots=True)
class Reservation:
    """An open hold on a team's (and a cap's) budget for one call."""

    request_id: str
    principal: str
    obo: str | None
    team: str
    tool: str
    server: str
    period: Period
    amount: Micros
    price: Price
    cap: bool
    #: The idempotency record this call holds (:attr:`IdempotencyKey.record_id`), closed by its settle.
    idempotency_record: str | None
    started_at: datetime
    expires_at: datetime
    allowance: NestedAllowance = NO_NESTING  # as granted at reserve (what is left lives in the store)
    parent: str | None = None
    chain: tuple[str, ...] = ()

    @property
    def owners(self) -> tuple[Owner, ...]:
        """The budgets this reservation draws on: none for a free call, the team's, and the principal's cap."""
        if self.amount <= 0:
            return ()
        team = Owner(OwnerKind.TEAM, self.team)
        return (team, Owner(OwnerKind.PRINCIPAL, self.principal)) if self.cap else (team,)


@dataclass(frozen=True, slots=True)
class Settlement:
    reservation: Reservation
    cost: Micros
    ledger: LedgerEntry
    audit: AuditRecord
    #: The result to answer an idempotent repeat with (None when there is none to keep).
    replay: dict[str, Any] | None = None
    #: This settle's identity: a store that finds the reservation closed with the same token knows the close was
    #: its own (a retried transaction whose first attempt committed), not another closer's.
    token: str = ""
    #: False when the call never finished (the sweeper's settle): an idempotent repeat is told so.
    completed: bool = True

    @property
    def releases_key(self) -> bool:
        """Whether the call's idempotency key is freed rather than closed: its tool never ran (throttled, not
        found, past its deadline, refused by the egress before sending), so a retry with the same key must run
        rather than replay the refusal."""
        return self.completed and self.ledger.outcome is Outcome.NOT_INVOKED


def nested_allowance_spent() -> Denied:
    """A nested call refused: the calling tool's nested allowance is spent, or its own call has ended."""
    return Denied(
        "delegation_invalid",
        "The calling tool may make no more nested calls for this request (its allowance is spent or its call ended).",
        {"why": "budget"},
    )


def settlement_of(
    reservation: Reservation,
    *,
    at: datetime,
    cost: int,
    units: int,
    outcome: Outcome,
    latency_ms: int,
    reason: str,
    detail: dict[str, Any] | None = None,
    replay: dict[str, Any] | None = None,
    completed: bool = True,
) -> Settlement:
    """The settle of a reservation: its ledger entry and its allowed decision's audit record (cost capped at
    what was reserved, units clamped to ``[0, max_units]`` before anything is stored)."""
    charged = Micros(max(0, min(cost, reservation.amount)))
    units = min(max(units, 0), reservation.price.max_units)
    latency_ms = min(max(latency_ms, 0), MAX_LATENCY_MS)
    entry = LedgerEntry(
        request_id=reservation.request_id,
        at=at,
        principal=reservation.principal,
        obo=reservation.obo,
        team=reservation.team,
        tool=reservation.tool,
        server=reservation.server,
        cost_micros=charged,
        units=units,
        outcome=outcome,
        latency_ms=latency_ms,
        parent=reservation.parent,
        chain=reservation.chain,
    )
    nesting = {"parent": reservation.parent, "chain": list(reservation.chain)} if reservation.parent else {}
    audit = AuditRecord(
        kind="decision",
        at=at,
        request_id=reservation.request_id,
        principal=reservation.principal,
        obo=reservation.obo,
        team=reservation.team,
        tool=reservation.tool,
        decision=Decision.ALLOWED,
        reason=reason,
        detail={"cost_micro": charged, "units": units, **nesting, **(detail or {})},
    )
    token = hashlib.sha256(f"{reservation.request_id}|{at.isoformat()}|{charged}|{outcome}".encode()).hexdigest()
    return Settlement(reservation, charged, entry, audit, replay=replay, token=token[:32], completed=completed)


@dataclass(frozen=True, slots=True)
class Replay:
    """An idempotent repeat of a call that already completed: answer with the stored result (``original``: the
    request id of the call that produced it)."""

    result: dict[str, Any]
    original: str


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """What a store holds for an idempotency key: the call it was first used for, and how that call ended."""

    request_id: str
    tool: str
    arguments: str
    #: The call's reservation is still open.
    open: bool
    #: The call's reservation expiry: an open record past it belongs to a call that never settled.
    expires_at: datetime
    kept: KeptResult | None = None
    #: The kept result as JSON text (``kept`` is :attr:`KeptResult.KEPT`).
    result: str | None = None


def kept_result(replay: dict[str, Any] | None, completed: bool = True) -> tuple[KeptResult, str | None]:
    """What an idempotency record keeps of a settled call: its result as UTF-8 JSON text, or why not. Never
    raises: a result that cannot be kept must not stop its call's money from settling."""
    if not completed:
        return KeptResult.ABANDONED, None
    if replay is None:  # settled without its result: the store refused to keep it
        return KeptResult.UNENCODABLE, None
    try:
        encoded = json.dumps(replay, separators=(",", ":"), ensure_ascii=False)
        size = len(encoded.encode("utf-8"))
    except (TypeError, ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        return KeptResult.UNENCODABLE, None
    if size > MAX_KEPT_RESULT_BYTES:
        return KeptResult.TOO_LARGE, None
    return KeptResult.KEPT, encoded


_NOT_KEPT: Final = {
    KeptResult.TOO_LARGE: "its result was too large to keep",
    KeptResult.UNENCODABLE: "its result could not be stored",
    KeptResult.ABANDONED: "it never finished (its reservation expired and was closed by the sweeper), so its result "
    "is unknown",
}


def idempotency_answer(key: IdempotencyKey, record: IdempotencyRecord, at: datetime) -> Replay | Denied:
    """How a repeat of ``key`` is answered, given the record its first use left: a replay of the very same call,
    or a refusal that says why (another tool or other arguments, still running, not kept, never finished)."""
    if not key.same_call(record.tool, record.arguments):
        why = "other_tool" if record.tool != key.tool else "other_arguments"
        return Denied(
            "idempotency_key_reused",
            "This idempotency key was already used for a different call (another tool or other arguments); "
            "use a new key for a new call.",
            {"why": why},
        )
    if record.open:
        if record.expires_at <= at:
            return Denied(
                "idempotency_result_not_kept",
                f"An earlier call with this idempotency key {_NOT_KEPT[KeptResult.ABANDONED]}.",
                {"why": KeptResult.ABANDONED.value},
            )
        return Denied("idempotency_in_progress", "An earlier call with this idempotency key is still running.")
    if record.kept is KeptResult.KEPT and record.result is not None:
        return Replay(json.loads(record.result), original=record.request_id)
    kept = record.kept or KeptResult.ABANDONED
    return Denied(
        "idempotency_result_not_kept",
        f"An earlier call with this idempotency key completed, but {_NOT_KEPT[kept]}."
        if kept is not KeptResult.ABANDONED
        else f"An earlier call with this idempotency key {_NOT_KEPT[kept]}.",
        {"why": kept.value},
    )


# --- denials (the services layer maps them to the protocol's error table) ---------------------------------


class Denied(Exception):  # noqa: N818 - a decision, not a fault
    """A governance denial with a stable reason from the closed list, and the data a person needs."""

    def __init__(self, reason: str, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.data = data or {}


class GrantRevoked(Exception):  # noqa: N818
    """The grant the cache chose is gone: the call answers like an unknown tool."""


class ToolNotCallable(Exception):  # noqa: N818
    """The tool is no longer approved (or its pin changed): quarantined for a grant holder."""


class PeriodMissing(Exception):  # noqa: N818
    """The period item of an owner does not exist yet: it must be created from the standing limit first."""

    def __init__(self, owner: Owner, period: Period) -> None:
        super().__init__(f"no {period} budget item for {owner.kind} {owner.name}")
        self.owner = owner
        self.period = period


def budget_exceeded(owner: Owner, period: Period, remaining: int, cost: int) -> Denied:
    reason = "budget_exceeded" if owner.kind is OwnerKind.TEAM else "cap_exceeded"
    who = f"team {owner.name}" if owner.kind is OwnerKind.TEAM else f"principal {owner.name}"
    return Denied(
        reason,
        f"The {period} budget of {who} has {format_credits(remaining)} credits left; this call may cost "
        f"{format_credits(cost)}.",
        {
            owner.kind.value: owner.name,
            "period": period,
            "remaining_micro": remaining,
            "remaining": format_credits(remaining),
            "cost_micro": cost,
            "cost": format_credits(cost),
        },
    )


def no_budget(team: str, period: Period, cost: int) -> Denied:
    return budget_exceeded(Owner(OwnerKind.TEAM, team), period, 0, cost)


def rate_limited(limit: RateLimit, at: datetime) -> Denied:
    next_minute = at.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    retry_after = max(1, int((next_minute - at).total_seconds() + 0.999))
    return Denied(
        "rate_limited",
        f"The {limit.scope.value} {limit.subject} may make {limit.per_minute} calls a minute; "
        f"retry in {retry_after} s.",
        {"scope": limit.scope.value, "subject": limit.subject, "limit": limit.per_minute, "retry_after_s": retry_after},
    )


@dataclass
class BudgetConfig:
    """The standing configuration a call needs, cached per sandbox: limits, caps, rate limits, prices."""

    team_limits: dict[str, Micros] = field(default_factory=dict)
    caps: dict[str, Micros] = field(default_factory=dict)
    rate_limits: dict[tuple[RateScope, str], int] = field(default_factory=dict)
