"""The sweeper: closes reservations whose owner is provably gone (past ``expires_at``), exactly once.

A reservation's ``expires_at`` is its start plus the governance function's timeout plus a margin, so by then
the function that reserved it has ended without settling (it crashed, or was cut off). Whether the tool ran
cannot be known: the call is settled like a timeout after invoking (fixed price, no metered units, outcome
``unknown``). The settle transaction is conditioned on the reservation still being open, so a sweeper that
runs twice, or a late settle arriving after the sweeper, changes nothing the second time.
"""

from __future__ import annotations

from datetime import datetime

from mcp_steward.domain.budgets import Reservation, Settlement, settlement_of
from mcp_steward.domain.ports import Reservations
from mcp_steward.domain.records import Outcome


def abandoned_settlement(reservation: Reservation, at: datetime) -> Settlement:
    return settlement_of(
        reservation,
        at=at,
        cost=reservation.price.price,
        units=0,
        outcome=Outcome.UNKNOWN,
        latency_ms=int((at - reservation.started_at).total_seconds() * 1000),
        reason="abandoned",
        detail={"closed_by": "sweeper"},
        completed=False,
    )


def sweep(budgets: Reservations, now: datetime) -> list[str]:
    """Settle every abandoned reservation; returns the request ids this run closed."""
    closed = []
    for reservation in budgets.open_reservations(now):
        if budgets.settle(abandoned_settlement(reservation, now)):
            closed.append(reservation.request_id)
    return closed
