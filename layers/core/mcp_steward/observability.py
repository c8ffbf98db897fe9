"""The one place observability singletons live (powertools Logger and Metrics)."""

from __future__ import annotations

import json
import os
from typing import Any, Final

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.shared.functions import powertools_dev_is_set

from mcp_steward.domain.records import Outcome
from mcp_steward.protocol.jsonrpc import has_surrogate

os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "MCPSteward")

_LOG_INDENT: Final = 4 if powertools_dev_is_set() else None


def log_json(record: dict[str, Any]) -> str:
    """Powertools' serializer (``str`` for anything else, non-ASCII kept), except that a line holding a lone
    surrogate is written with ``\\u`` escapes: as is, it could not be encoded on stdout and would be lost."""
    text = json.dumps(record, default=str, separators=(",", ":"), indent=_LOG_INDENT, ensure_ascii=False)
    if has_surrogate(text):
        return json.dumps(record, default=str, separators=(",", ":"), indent=_LOG_INDENT)
    return text


logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "governance"), json_serializer=log_json)
metrics = Metrics()


# Metric names outside the call pipeline, all in the MCPSteward namespace with the emitting function's
# ``service`` dimension. The dashboard and alarms in infra/template.yaml key on these names (a template test
# checks that every name they use appears in the code); renaming one is a change to both.
#: The sweeper, every run: reservations open now (gauge), those past their expiry still open after the run
#: (gauge: the backlog alarm), and those the run closed.
OPEN_RESERVATIONS: Final = "OpenReservations"
SWEEPER_BACKLOG: Final = "SweeperBacklog"
ABANDONED_RESERVATIONS: Final = "AbandonedReservations"
#: The scheduled sync, every run: tools it put in quarantine, servers it could not list.
QUARANTINES: Final = "Quarantines"
SYNC_FAILURES: Final = "SyncFailures"
#: The egress function, per refused vendor call (dimension ``reason``); the egress alarm sums it over every
#: dimension set, so the name is the contract.
EGRESS_REFUSED: Final = "EgressRefused"


class MetricsObserver:
    """The pipeline's EMF metrics (docs/design.md section 3, step 11): calls and latency on the function's metric
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


def record_sweep(*, closed: int, open_now: int, backlog: int) -> None:
    """The sweeper's run, on the function's metric set (its handler flushes with ``log_metrics``)."""
    metrics.add_metric(name=ABANDONED_RESERVATIONS, unit=MetricUnit.Count, value=closed)
    metrics.add_metric(name=OPEN_RESERVATIONS, unit=MetricUnit.Count, value=open_now)
    metrics.add_metric(name=SWEEPER_BACKLOG, unit=MetricUnit.Count, value=backlog)


def record_sync(*, quarantined: int, failed_servers: int) -> None:
    """The scheduled sync's run, on the function's metric set (its handler flushes with ``log_metrics``)."""
    metrics.add_metric(name=QUARANTINES, unit=MetricUnit.Count, value=quarantined)
    metrics.add_metric(name=SYNC_FAILURES, unit=MetricUnit.Count, value=failed_servers)


def egress_refused(reason: str) -> None:
    """One refused vendor call (a non-HTTPS URL, a host not allowed, a non-global address, ...), by reason."""
    with single_metric(name=EGRESS_REFUSED, unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name="reason", value=reason)
