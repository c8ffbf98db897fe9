"""Sweeper function: on a schedule, closes abandoned reservations exactly once. Wiring only."""

import os
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config

from mcp_steward.adapters.dynamodb_budgets import DynamoDbReservations
from mcp_steward.observability import logger, metrics, record_sweep
from mcp_steward.services.sweeper import sweep

_budgets = DynamoDbReservations(
    boto3.client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 5})),
    budgets=os.environ["BUDGETS_TABLE"],
    grants=os.environ["GRANTS_TABLE"],
    registry=os.environ["REGISTRY_TABLE"],
    ledger=os.environ["LEDGER_TABLE"],
    audit=os.environ["AUDIT_TABLE"],
)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    closed = sweep(_budgets, now)
    if closed:
        logger.warning("closed abandoned reservations", extra={"count": len(closed), "request_ids": closed[:50]})
    # Gauges for the dashboard and the backlog alarm: anything past its expiry still open after this run is
    # credit held that no one will release (the index may lag a settle by a moment; the alarm wants a streak).
    record_sweep(
        closed=len(closed),
        open_now=_budgets.count_open_reservations(),
        backlog=_budgets.count_open_reservations(expired_before=now),
    )
    return {"closed": len(closed)}
