"""Nested-governance function: the one way a tool server calls another tool (docs/design.md section 5).

Invoked by tool functions (``ctx.call_tool``) with a delegation token, never through the API; wiring only.
"""

from typing import Any

from mcp_steward.bootstrap import aws_ports, build_nested
from mcp_steward.observability import MetricsObserver, logger, metrics
from mcp_steward.settings import Settings

_settings = Settings.from_env()
_observer = MetricsObserver()
_nested = build_nested(_settings, aws_ports(_settings, observer=_observer), observer=_observer)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _nested.handle(event)
