"""Sync function: on a schedule, lists every registered server again and quarantines what changed. Wiring only."""

import os
from typing import Any

import boto3
from botocore.config import Config

from mcp_steward.adapters.dynamodb_records import DynamoDbRecords
from mcp_steward.adapters.dynamodb_registry import DynamoDbRegistry
from mcp_steward.adapters.egress_invoker import EgressInvoker, RoutingInvoker
from mcp_steward.adapters.lambda_invoker import LambdaInvoker
from mcp_steward.adapters.lambda_versions import published_versions
from mcp_steward.domain.registry import ToolStatus
from mcp_steward.observability import logger, metrics, record_sync
from mcp_steward.services.sync import sync_all

_dynamodb = boto3.client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 5}))
_registry = DynamoDbRegistry(_dynamodb, os.environ["REGISTRY_TABLE"])
_records = DynamoDbRecords(_dynamodb, os.environ["LEDGER_TABLE"], os.environ["AUDIT_TABLE"])
# The template sets the prefix (the role allows only those functions anyway); unset means unrestricted.
_functions = LambdaInvoker(
    lambda config: boto3.client("lambda", config=config), function_prefix=os.environ.get("TOOL_FUNCTION_PREFIX")
)
# Vendor servers are listed through the egress function (which alone reads their credentials).
_egress_name = os.environ.get("EGRESS_FUNCTION_NAME", "")
_egress = (
    EgressInvoker(
        LambdaInvoker(lambda config: boto3.client("lambda", config=config), function_prefix=_egress_name),
        _egress_name,
        int(os.environ.get("EGRESS_TIMEOUT_S", "20")),
    )
    if _egress_name
    else None
)
_invoker = RoutingInvoker(_functions, _egress)
# PublishVersion waits out an update in progress: a longer read timeout than the invoker's.
_versions = published_versions(
    boto3.client("lambda", config=Config(read_timeout=60, retries={"mode": "standard", "max_attempts": 3}))
)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    reports = sync_all(_registry, _invoker, _versions, _records.record_admin)
    for report in reports:
        if report.error is not None:
            logger.warning("server not synced; nothing changed", extra={"server": report.server, "error": report.error})
        for transition in report.transitions:
            logger.warning("tool status changed", extra={"tool": transition.tool, **transition.detail()})
    record_sync(
        quarantined=sum(t.after == ToolStatus.QUARANTINED for report in reports for t in report.transitions),
        failed_servers=sum(report.error is not None for report in reports),
    )
    return {
        "servers": len(reports),
        "failed": sorted(report.server for report in reports if report.error is not None),
        "transitions": [{"tool": t.tool, **t.detail()} for report in reports for t in report.transitions],
    }
