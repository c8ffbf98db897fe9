"""The one place observability singletons live (powertools Logger and Metrics)."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from mcp_steward.domain.records import Outcome

os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "MCPSteward")

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "governance"))
metrics = Metrics()


class MetricsObserver:
    """The pipeline's EMF metrics (DESIGN.md section 3, step 11): calls and latency on the function's metric
    set (flushed by ``log_metrics`` after each invocation); cost by team and tool, and denials by reason, each
    as a single metric with its own dimensions; conflict retries."""

    def allowed(self, tool: str, team: str, cost_micros: int, outcome: Outcome, latency_ms: float) -> None:
        metrics.add_metric(name="Calls", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="LatencyMs", unit=MetricUnit.Milliseconds, value=latency_ms)
        if outcome is not Outcome.OK:
            metrics.add_metric(name="ToolFailures", unit=MetricUnit.Count, value=1)
        with single_metric(name="CostMicros", unit=MetricUnit.Count, value=cost_micros) as metric:
            metric.add_dimension(name="team", value=team)
            metric.add_dimension(name="tool", value=tool)

    def denied(self, reason: str) -> None:
        with single_metric(name="Denials", unit=MetricUnit.Count, value=1) as metric:
            metric.add_dimension(name="reason", value=reason)

    def conflict_retry(self) -> None:
        metrics.add_metric(name="ConflictRetries", unit=MetricUnit.Count, value=1)
