"""The ports the services depend on. Adapters implement them for DynamoDB, Lambda and in memory."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from mcp_steward.domain.budgets import (
    Owner,
    Period,
    PeriodBudget,
    RateLimit,
    Replay,
    Reservation,
    ReservationRequest,
    Settlement,
)
from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.identity import Principal
from mcp_steward.domain.money import Micros
from mcp_steward.domain.names import ServerName
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.records import AuditRecord
from mcp_steward.domain.registry import Catalog, DelegationPolicy, ServerRecord, ToolRecord, ToolStatus


class KeyStore(Protocol):
    """API keys, stored as hashes only."""

    def resolve(self, token: str) -> Principal | None:
        """The principal a bearer token belongs to, or None when unknown, revoked or expired."""
        ...

    def principal_team(self, name: str) -> str | None:
        """The team of a principal entity, by its item alone (one read, fit for the request path)."""
        ...


class Registry(Protocol):
    def catalog(self) -> Catalog:
        """A snapshot of every server and tool."""
        ...

    def put_server(self, server: ServerRecord, tools: Sequence[ToolRecord], removed: Sequence[ToolRecord] = ()) -> None:
        """Register (or update) a server, write its ``tools`` and delete its ``removed`` tools, in one step.

        Raises:
            ConcurrentChangeError: a record read from the store (``revision`` > 0) was changed since; nothing
                was written.
        """
        ...

    def tools_of(self, server: ServerName) -> list[ToolRecord]:
        """One server's tools, read consistently (registration and sync decide from them)."""
        ...

    def put_tool(self, tool: ToolRecord) -> None:
        """Replace one tool of a registered server: status, pins, findings, price, as given.

        Raises:
            ConcurrentChangeError: ``tool`` was read from the store (``revision`` > 0) and changed since.
        """
        ...

    def set_delegation(self, server: ServerName, policy: DelegationPolicy) -> None:
        """Change a registered server's delegation policy (a KeyError/StoreUnavailableError if unknown)."""
        ...

    def set_status(self, tool: ToolRecord, status: ToolStatus) -> None:
        """Change one tool's review status (whatever else changed; its revision moves on)."""
        ...

    def set_price(self, tool: ToolRecord, price: Price) -> None:
        """Change one tool's price (takes effect for new calls within the cache's staleness)."""
        ...


class GrantStore(Protocol):
    def grants_for(self, subjects: list[tuple[SubjectKind, str]]) -> list[Grant]:
        """Every grant held by any of the subjects."""
        ...

    def add(self, grant: Grant) -> None: ...

    def remove(self, grant: Grant) -> bool:
        """Returns False when there was no such grant."""
        ...

    def all(self) -> list[Grant]: ...


class InvocationError(Exception):
    """A tool function could not produce a usable answer. ``reason`` is stable; the message is for people."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class ToolInvoker(Protocol):
    def invoke(
        self, server: ServerRecord, envelope: dict[str, Any], *, deadline_ms: int, version: str | None = None
    ) -> dict[str, Any]:
        """Send the invocation envelope to the server's function once (its published ``version`` when given,
        the pinned code an approval names); return its JSON-RPC response.

        Raises:
            InvocationError: timeout, function error, oversized or malformed payload, or unknown function.
        """
        ...


class DelegationKeys(Protocol):
    def signing_key(self) -> tuple[str, bytes]:
        """The key new delegation tokens are signed with, and its id.

        Raises:
            StoreUnavailableError: the key cannot be read (no token is minted; nested calls fail closed).
        """
        ...

    def key(self, kid: str) -> bytes | None:
        """The key a token names, while it may still verify (the current or the previous one)."""
        ...


class ConcurrentChangeError(Exception):
    """A record changed between the read a decision was made on and the write of that decision."""


class VersionUnavailableError(Exception):
    """A function's current published version could not be learnt (or published); the message says why."""


#: The current published version of a server's function (``None``: the server has no code to pin).
#: Raises :class:`VersionUnavailableError`.
type VersionResolver = Callable[[ServerRecord], str | None]


class StoreUnavailableError(Exception):
    """A store could not answer. Callers fail closed: the request is refused, never allowed by default."""


class StoreRejectedError(Exception):
    """A store refused a request as malformed (DynamoDB's ``ValidationException``, a number beyond its limits):
    retrying cannot fix it. Callers fail closed and treat it as an internal error, not as "try again"."""


@dataclass(frozen=True, slots=True)
class CallConfig:
    """The standing configuration one call needs: its team's limit, the principal's cap, rate limits."""

    team_limit: Micros | None
    cap: Micros | None
    rate_limits: tuple[RateLimit, ...]


class Reservations(Protocol):
    """The call path's side of the budgets: reservations against period budgets, each transition in one
    transaction (docs/design.md section 4). The governance pipeline reserves and settles; the sweeper finds and
    closes what was abandoned."""

    def call_config(self, team: str, principal: str, tool: str) -> CallConfig:
        """Standing limit, cap and rate limits for a call (callers cache it)."""
        ...

    def reserve(self, request: ReservationRequest) -> Reservation | Replay:
        """Re-check the grants and the tool, count the rate limits, hold the maximum cost, record the call.

        Raises:
            Denied: over budget or cap, rate limited, an idempotent repeat still running or not kept.
            GrantRevoked: a re-checked grant is gone.
            ToolNotCallable: the tool is no longer approved.
            PeriodMissing: an owner's period item does not exist yet (call ``open_period``, then retry).
            StoreUnavailableError: the store could not answer (fail closed).
        """
        ...

    def open_period(self, owner: Owner, period: Period) -> bool:
        """Materialize a period item from the owner's standing limit. False when there is no standing limit."""
        ...

    def settle(self, settlement: Settlement) -> bool:
        """Charge the actual cost, release the rest, write the ledger entry and the audit record, close the
        idempotency record. Exactly once: False when the reservation was already closed (by the sweeper)."""
        ...

    def open_reservations(self, now: datetime) -> list[Reservation]:
        """Reservations still open after their ``expires_at``: their owners are provably gone."""
        ...

    def count_open_reservations(self, expired_before: datetime | None = None) -> int:
        """How many reservations are open (in flight or abandoned), or only those whose ``expires_at`` is before
        ``expired_before``: the sweeper's gauges. In DynamoDB a count of the sparse index, which may lag a
        settle by a moment."""
        ...


class BudgetLimits(Protocol):
    """The administration of budgets: standing limits, caps and rate limits, and what they stand at."""

    def set_limit(self, owner: Owner, team: str, limit: Micros, period: Period) -> None:
        """Set a standing monthly limit and apply it to the current period item if it exists.

        Raises:
            LimitBelowUsageError: the current period has more charged and reserved than the new limit.
        """
        ...

    def remove_limit(self, owner: Owner) -> bool:
        """Remove a standing limit: a team without one may call free tools only, a principal without a cap
        spends within its team's limit. The current period item keeps its figures. False when there was none.
        """
        ...

    def period_budget(self, owner: Owner, period: Period) -> PeriodBudget | None: ...

    def set_rate_limit(self, limit: RateLimit) -> None:
        """Set (``per_minute`` > 0) or clear (0) a rate limit."""
        ...

    def rate_limits(self) -> list[RateLimit]: ...

    def limits(self) -> list[tuple[Owner, str, Micros]]:
        """Every standing limit: (owner, team, limit)."""
        ...


class AuditWriter(Protocol):
    """The audit trail's writer: decisions with no reservation behind them, and admin actions."""

    def record(self, audit: AuditRecord) -> None:
        """Write one audit record (a denial before any reservation)."""
        ...


class CallLedger(Reservations, AuditWriter, Protocol):
    """What the tools/call pipeline needs of the budgets: reserve and settle, and audit a denial that came before
    any reservation (``services/calls.py``)."""


class BudgetLedger(Reservations, BudgetLimits, AuditWriter, Protocol):
    """The three budget roles at once, as one store implements them (``DynamoDbBudgetLedger``,
    ``InMemoryBudgetLedger``): what the composition root builds. A dependent names the narrowest of
    :class:`Reservations`, :class:`BudgetLimits` and :class:`AuditWriter` it uses."""


class LimitBelowUsageError(ValueError):
    """A limit lower than what the current period has already charged and reserved."""
