"""Governance function: wiring only; behaviour lives in mcp_steward."""

from mcp_steward.bootstrap import aws_ports, build_endpoint
from mcp_steward.http.app import create_app
from mcp_steward.http.lambda_entry import lambda_handler
from mcp_steward.observability import MetricsObserver
from mcp_steward.settings import Settings

_settings = Settings.from_env()
_observer = MetricsObserver()
# A sandbox serves one request at a time, so blocking calls may run on the loop (no thread hop per call).
_endpoint = build_endpoint(
    _settings, aws_ports(_settings, observer=_observer), offload_blocking=False, observer=_observer
)
handler = lambda_handler(create_app(_endpoint))  # once per sandbox
