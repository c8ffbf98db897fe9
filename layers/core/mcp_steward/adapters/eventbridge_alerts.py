"""Budget alerts as EventBridge events: source ``mcp-steward``, detail-type ``BudgetThresholdCrossed``.

Detail: ``team, period, threshold`` (percent), ``limit_micros/limit``, ``charged_micros/charged`` and
``reserved_micros/reserved`` (integers and decimal-credit strings).
"""

from __future__ import annotations

import json
from typing import Any, Final, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from mcp_steward.domain.money import money_fields
from mcp_steward.domain.usage import AlertDeliveryError, BudgetAlert

SOURCE: Final = "mcp-steward"
DETAIL_TYPE: Final = "BudgetThresholdCrossed"


class EventsClient(Protocol):
    """The one call of boto3's ``events`` client used here (no type stubs for ``events`` are installed)."""

    def put_events(self, *, Entries: list[dict[str, Any]]) -> Any: ...  # noqa: N803 - boto3's name


def alert_detail(alert: BudgetAlert) -> dict[str, Any]:
    return {
        "team": alert.team,
        "period": alert.period,
        "threshold": alert.threshold,
        **money_fields("limit", alert.limit_micros),
        **money_fields("charged", alert.charged_micros),
        **money_fields("reserved", alert.reserved_micros),
    }


class EventBridgeAlertSink:
    def __init__(self, client: EventsClient, bus_name: str = "default") -> None:
        self._client = client
        self._bus = bus_name

    def emit(self, alert: BudgetAlert) -> None:
        entry = {
            "Source": SOURCE,
            "DetailType": DETAIL_TYPE,
            "Detail": json.dumps(alert_detail(alert), separators=(",", ":"), sort_keys=True),
            "EventBusName": self._bus,
        }
        try:
            answer = self._client.put_events(Entries=[entry])
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "Unknown")
            raise AlertDeliveryError(f"EventBridge answered {code}") from exc
        except BotoCoreError as exc:
            raise AlertDeliveryError(f"EventBridge: {type(exc).__name__}") from exc
        if answer.get("FailedEntryCount", 0):
            failure = (answer.get("Entries") or [{}])[0]
            raise AlertDeliveryError(f"EventBridge refused the event: {failure.get('ErrorCode', 'unknown')}")
