"""Governance function: wiring only; behaviour lives in mcp_steward."""

import asyncio
from typing import Any

from mangum import Mangum

from mcp_steward.bootstrap import aws_ports, build_endpoint
from mcp_steward.http.app import create_app
from mcp_steward.observability import logger, metrics
from mcp_steward.settings import Settings

_settings = Settings.from_env()
# One event loop per sandbox, set before Mangum looks for one (Python 3.12+ warns when none is set).
asyncio.set_event_loop(asyncio.new_event_loop())
_asgi = Mangum(create_app(build_endpoint(_settings, aws_ports(_settings))), lifespan="off")  # once per sandbox


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _asgi(event, context)
