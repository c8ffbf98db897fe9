"""Aggregator function (scheduled every 15 minutes): recompute yesterday's and today's usage aggregates from
the ledger, then announce budget thresholds crossed this period (and yesterday's, across a month boundary).
Wiring only; the behaviour lives in mcp_steward.services.usage and mcp_steward.services.alerts.

"Today" is the scheduled event's ``time`` (so a retried event recomputes the same days), else the clock.
Undelivered alerts fail the invocation after everything else is done: EventBridge retries it, and the rerun
recomputes the same aggregates and retries only the undelivered alerts.
"""

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config

from mcp_steward.adapters.dynamodb_records import DynamoDbRecords
from mcp_steward.adapters.dynamodb_usage import DynamoDbAggregates, DynamoDbPeriods, DynamoDbTeams
from mcp_steward.adapters.eventbridge_alerts import EventBridgeAlertSink
from mcp_steward.domain.usage import AlertDeliveryError, BudgetAlert, period_of
from mcp_steward.observability import logger
from mcp_steward.services.alerts import BudgetAlerts
from mcp_steward.services.usage import AggregateUsage

_config = Config(connect_timeout=2, read_timeout=10, retries={"mode": "standard", "max_attempts": 5})
_dynamodb = boto3.client("dynamodb", config=_config)
_records = DynamoDbRecords(_dynamodb, os.environ["LEDGER_TABLE"])
_aggregates = DynamoDbAggregates(_dynamodb, os.environ["LEDGER_TABLE"])
_periods = DynamoDbPeriods(_dynamodb, os.environ["BUDGETS_TABLE"])
_teams = DynamoDbTeams(_dynamodb, os.environ["KEYS_TABLE"])
_sink = EventBridgeAlertSink(boto3.client("events", config=_config), os.environ.get("EVENT_BUS_NAME", "default"))


def _scheduled_at(event: dict[str, Any]) -> datetime:
    try:
        return datetime.fromisoformat(str(event["time"])).astimezone(UTC)
    except (KeyError, ValueError):
        return datetime.now(UTC)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    today = _scheduled_at(event).date()
    teams = _teams()  # once per invocation
    aggregate = AggregateUsage(_records, _aggregates, lambda: teams)
    alerts = BudgetAlerts(_periods, _sink, lambda: teams)
    days = [today - timedelta(days=1), today]
    rows = {day.isoformat(): len(aggregate(day)) for day in days}
    emitted: list[BudgetAlert] = []
    failed: list[tuple[BudgetAlert, str]] = []
    for period in sorted({period_of(day) for day in days}):
        run = alerts(period)
        emitted.extend(run.emitted)
        failed.extend(run.failed)
    summary = {
        "teams": len(teams),
        "aggregates": rows,
        "alerts": [{"team": a.team, "period": a.period, "threshold": a.threshold} for a in emitted],
    }
    logger.info("usage aggregated", extra=summary)
    for alert, why in failed:
        logger.error("budget alert not delivered", extra={"team": alert.team, "threshold": alert.threshold, "why": why})
    if failed:
        raise AlertDeliveryError(f"{len(failed)} budget alerts were not delivered; the next run retries them")
    return summary
