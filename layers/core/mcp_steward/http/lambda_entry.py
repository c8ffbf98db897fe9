"""The Lambda entry point around the ASGI app: Mangum plus powertools' logging context and metrics flush.

The governance function and the benchmarks build their handler here, so what is measured is what is deployed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from mangum import Mangum
from starlette.types import ASGIApp

from mcp_steward.observability import logger, metrics

type LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def lambda_handler(app: ASGIApp) -> LambdaHandler:
    """Adapt the app once per sandbox (``lifespan="off"``: Mangum would otherwise run it on every call)."""
    # One event loop per sandbox, set before Mangum looks for one (Python 3.12+ warns when none is set).
    asyncio.set_event_loop(asyncio.new_event_loop())
    adapter = Mangum(app, lifespan="off")  # type: ignore[arg-type]  # Mangum types a narrower ASGI

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        response: dict[str, Any] = adapter(event, context)
        return response

    return handler  # type: ignore[no-any-return]  # powertools' decorators are untyped
