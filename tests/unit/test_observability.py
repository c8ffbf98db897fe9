"""The pipeline's EMF metrics as CloudWatch reads them: calls, latency, cost by team and tool, denials by
reason, conflict retries."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mcp_steward.domain.records import Outcome
from mcp_steward.observability import MetricsObserver, metrics


def emitted(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]


def test_an_invocation_emits_its_calls_latency_cost_denials_and_retries(capsys: pytest.CaptureFixture[str]) -> None:
    observer = MetricsObserver()

    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> None:
        observer.allowed("currency__convert", "finance", 1_500_000, Outcome.OK, 12.5)
        observer.denied("budget_exceeded")
        observer.conflict_retry()

    handler({}, None)
    blobs = emitted(capsys.readouterr().out)
    by_name = {metric["Name"]: blob for blob in blobs for metric in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert by_name["CostMicros"]["CostMicros"] == [1_500_000.0]
    assert (by_name["CostMicros"]["team"], by_name["CostMicros"]["tool"]) == ("finance", "currency__convert")
    assert by_name["Denials"]["reason"] == "budget_exceeded"
    assert by_name["Calls"]["Calls"] == [1.0] and by_name["LatencyMs"]["LatencyMs"] == [12.5]
    assert by_name["ConflictRetries"]["ConflictRetries"] == [1.0]
    assert all(blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "MCPSteward" for blob in blobs)
