"""Budget alerts: announce once when a team's spend crosses 50, 80 and 100 percent of its period limit.

Burn is ``charged``, not ``charged + reserved``: a reservation holds a call's *maximum* cost and most of it is
released at settle, so counting it would announce spending that never happens; and ``charged`` never falls
within a period, so a threshold once crossed stays crossed and "once" is well defined. (``reserved`` travels
in the alert for context.)

Exactly once per threshold, team and period: the threshold is recorded on the period item with a conditional
update (``alert_<percent>``, ``attribute_not_exists``) and only the writer that wins the condition emits. If
delivery then fails the winner removes its own claim, so the next run retries; an alert is never lost
silently, and two runs never both emit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass

from mcp_steward.domain.usage import THRESHOLDS, AlertClaims, AlertDeliveryError, AlertSink, BudgetAlert, PeriodBalance


def crossed(balance: PeriodBalance) -> list[int]:
    """The thresholds ``charged`` has reached (``charged * 100 >= threshold * limit``); none for a zero limit."""
    if balance.limit <= 0:
        return []
    return [t for t in THRESHOLDS if balance.charged * 100 >= t * balance.limit]


@dataclass(frozen=True, slots=True)
class AlertRun:
    emitted: tuple[BudgetAlert, ...]
    failed: tuple[tuple[BudgetAlert, str], ...]  # and why (the delivery error's message)


class BudgetAlerts:
    """Check every team's period item for ``period`` and emit each newly crossed threshold once."""

    def __init__(
        self,
        periods: AlertClaims,
        sink: AlertSink,
        teams: Callable[[], Collection[str]],
        token: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._periods = periods
        self._sink = sink
        self._teams = teams
        self._token = token

    def __call__(self, period: str) -> AlertRun:
        """Returns what was emitted and what could not be delivered (those are retried by the next run).

        Raises:
            StoreUnavailableError: a period item could not be read or marked.
        """
        emitted: list[BudgetAlert] = []
        failed: list[tuple[BudgetAlert, str]] = []
        for team in sorted(set(self._teams())):
            balance = self._periods.balance(team, period)
            if balance is None or not balance.materialized:
                continue
            for threshold in crossed(balance):
                if threshold in balance.alerts:
                    continue
                token = self._token()
                if not self._periods.claim_alert(team, period, threshold, token):
                    continue  # another run announced it
                alert = BudgetAlert(team, period, threshold, balance.limit, balance.charged, balance.reserved)
                try:
                    self._sink.emit(alert)
                except AlertDeliveryError as exc:
                    self._periods.release_alert(team, period, threshold, token)
                    failed.append((alert, str(exc)))
                    continue
                emitted.append(alert)
        return AlertRun(tuple(emitted), tuple(failed))
