"""The EMF metrics as CloudWatch reads them: the pipeline's calls, latency, cost by team and tool, denials by
reason and conflict retries; the sweeper's and the sync's runs; egress refusals by reason; log lines that hold a lone
surrogate."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from mcp_steward.domain.records import Outcome
from mcp_steward.observability import (
    MetricsObserver,
    egress_refused,
    log_json,
    logger,
    metrics,
    record_sweep,
    record_sync,
)


def emitted(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]


def metric_blobs(blobs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {metric["Name"]: blob for blob in blobs for metric in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]}


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


def test_a_sweeper_run_emits_its_closed_count_and_its_open_and_backlog_gauges(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics, "service", "sweeper")

    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> None:
        record_sweep(closed=2, open_now=7, backlog=0)

    handler({}, None)
    found = metric_blobs(emitted(capsys.readouterr().out))
    assert found["AbandonedReservations"]["AbandonedReservations"] == [2.0]
    assert found["OpenReservations"]["OpenReservations"] == [7.0]
    assert found["SweeperBacklog"]["SweeperBacklog"] == [0.0]  # zero is reported too: the alarm needs the value
    assert found["SweeperBacklog"]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    assert found["SweeperBacklog"]["service"] == "sweeper"


def test_a_sync_run_emits_its_quarantines_and_failed_servers(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics, "service", "sync")

    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> None:
        record_sync(quarantined=1, failed_servers=0)

    handler({}, None)
    found = metric_blobs(emitted(capsys.readouterr().out))
    assert found["Quarantines"]["Quarantines"] == [1.0] and found["Quarantines"]["service"] == "sync"
    assert found["SyncFailures"]["SyncFailures"] == [0.0]


def test_an_egress_refusal_is_one_metric_by_reason(capsys: pytest.CaptureFixture[str]) -> None:
    egress_refused("host_not_allowed")
    (blob,) = emitted(capsys.readouterr().out)
    assert blob["EgressRefused"] == [1.0] and blob["reason"] == "host_not_allowed"
    assert blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "MCPSteward"


def test_a_log_line_with_a_lone_surrogate_is_written_escaped_and_others_unescaped() -> None:
    record = logging.LogRecord("steward", logging.INFO, __file__, 1, "refused %s", ("\ud800",), None)
    line = logger.registered_formatter.format(record)
    line.encode("utf-8")  # stdout could write it (as is, the line was dropped with a "Logging error")
    assert json.loads(line)["message"] == "refused \ud800"
    assert log_json({"m": "żółw"}) == '{"m":"żółw"}'
