"""events/aggregator/*.json through the aggregator's real module-level handler, in a child interpreter configured
like Lambda configures it (template environment, service-specific endpoints to the moto server for DynamoDB
and EventBridge): aggregates are written for yesterday and today, thresholds are announced on the bus once,
and a second run changes nothing. Also the EventBridge sink against moto, and its refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mcp_steward.adapters.dynamodb_records import ledger_item
from mcp_steward.adapters.dynamodb_usage import DynamoDbAggregates
from mcp_steward.adapters.eventbridge_alerts import DETAIL_TYPE, SOURCE, EventBridgeAlertSink
from mcp_steward.domain.records import LedgerEntry, Outcome
from mcp_steward.domain.usage import AlertDeliveryError, BudgetAlert
from mcp_steward.local.template import LocalTemplate
from tests.conftest import ROOT, aws_client

pytestmark = pytest.mark.moto

CREDIT = 1_000_000
EVENT = json.loads((ROOT / "events" / "aggregator" / "scheduled.json").read_text())
SCHEDULED = datetime.fromisoformat(EVENT["time"])
RUNNER = """
import json, sys, time, uuid
from pathlib import Path
from tests.conftest import load_function

class Context:
    function_name = "stack-aggregator"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:stack-aggregator"
    memory_limit_in_mb = 512
    log_group_name = "/aws/lambda/stack-aggregator"
    log_stream_name = "local"
    aws_request_id = str(uuid.uuid4())
    def get_remaining_time_in_millis(self):
        return 300_000

app = load_function("aggregator")
answers = {}
for path in sorted(Path("events", "aggregator").glob("*.json")):
    answers[path.name] = app.handler(json.loads(path.read_text()), Context())
print(json.dumps(answers))
"""


@dataclass
class Plane:
    env: dict[str, str]
    dynamodb: Any
    events: Any
    sqs: Any
    queue_url: str
    ledger: str
    budgets: str
    bus: str


def _create(dynamodb: Any, logical_id: str) -> str:
    # The key schema comes from the template, so these tables cannot drift from the deployed ones.
    kwargs = dict(LocalTemplate.load(ROOT / "infra" / "template.yaml").tables()[logical_id].create_table_kwargs)
    kwargs["TableName"] = f"{logical_id}-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(**kwargs)
    return str(kwargs["TableName"])


def _call(request_id: str, at: datetime, team: str = "finance", **changes: Any) -> LedgerEntry:
    fields: dict[str, Any] = {
        "request_id": request_id,
        "at": at,
        "principal": "alice",
        "obo": None,
        "team": team,
        "tool": "currency__convert",
        "server": "currency",
        "cost_micros": CREDIT,
        "units": 1,
        "outcome": Outcome.OK,
        "latency_ms": 20,
    }
    fields.update(changes)
    return LedgerEntry(**fields)


@pytest.fixture
def plane(moto_url: str) -> Iterator[Plane]:
    dynamodb, events, sqs = (aws_client(s, moto_url) for s in ("dynamodb", "events", "sqs"))
    ledger, budgets, keys = (_create(dynamodb, t) for t in ("LedgerTable", "BudgetsTable", "KeysTable"))
    bus = f"steward-alerts-{uuid.uuid4().hex[:8]}"
    events.create_event_bus(Name=bus)
    queue_url = sqs.create_queue(QueueName=bus)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="alerts", EventBusName=bus, EventPattern=json.dumps({"source": [SOURCE]}))
    events.put_targets(Rule="alerts", EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
    for digest, team in (("a", "finance"), ("b", "support")):
        item = {"pk": {"S": f"KEY#{digest}"}, "sk": {"S": "KEY"}, "team": {"S": team}, "principal": {"S": "p"}}
        dynamodb.put_item(TableName=keys, Item=item)
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_ENDPOINT_URL_DYNAMODB=moto_url,
        AWS_ENDPOINT_URL_EVENTBRIDGE=moto_url,  # botocore names it by service id, not "events"
        POWERTOOLS_SERVICE_NAME="aggregator",
        POWERTOOLS_METRICS_NAMESPACE="MCPSteward",
        LEDGER_TABLE=ledger,
        BUDGETS_TABLE=budgets,
        KEYS_TABLE=keys,
        EVENT_BUS_NAME=bus,
    )
    try:
        yield Plane(env, dynamodb, events, sqs, queue_url, ledger, budgets, bus)
    finally:
        for client in (dynamodb, events, sqs):
            client.close()


def _run_events(plane: Plane) -> dict[str, Any]:
    finished = subprocess.run(
        [sys.executable, "-c", RUNNER], cwd=ROOT, env=plane.env, capture_output=True, text=True, check=False
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    return dict(json.loads(finished.stdout.strip().splitlines()[-1]))


def _announced(plane: Plane) -> list[dict[str, Any]]:
    messages = plane.sqs.receive_message(QueueUrl=plane.queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_the_scheduled_event_aggregates_yesterday_and_today_and_announces_thresholds_once(plane: Plane) -> None:
    # GIVEN calls yesterday and today, and finance having spent 85 of its 100 credits this month
    today = SCHEDULED - timedelta(minutes=10)
    yesterday = SCHEDULED - timedelta(days=1)
    calls = [
        _call("r1", today),
        _call("r2", today, outcome=Outcome.TOOL_ERROR),
        _call("r3", today, team="support", tool="hr__find_employee", server="hr"),
        _call("r4", yesterday),
    ]
    for call in calls:
        plane.dynamodb.put_item(TableName=plane.ledger, Item=ledger_item(call))
    period = {
        "pk": {"S": "TEAM#finance"},
        "sk": {"S": "PERIOD#2026-11"},
        "limit": {"N": str(100 * CREDIT)},
        "available": {"N": str(15 * CREDIT)},
        "reserved": {"N": "0"},
        "charged": {"N": str(85 * CREDIT)},
        "owner_kind": {"S": "team"},
        "owner": {"S": "finance"},
        "team": {"S": "finance"},
        "period": {"S": "2026-11"},
    }
    plane.dynamodb.put_item(TableName=plane.budgets, Item=period)

    # WHEN the schedule fires, twice
    first = _run_events(plane)["scheduled.json"]
    second = _run_events(plane)["scheduled.json"]

    # THEN both days are aggregated, the same both times, and 50% and 80% are announced once
    assert first["aggregates"] == second["aggregates"] == {"2026-11-23": 1, "2026-11-24": 2}
    assert first["alerts"] == [
        {"team": "finance", "period": "2026-11", "threshold": 50},
        {"team": "finance", "period": "2026-11", "threshold": 80},
    ]
    assert second["alerts"] == []
    rows = DynamoDbAggregates(plane.dynamodb, plane.ledger).month("2026-11")
    assert [(r.day.isoformat(), r.team, r.tool, r.calls, r.errors, r.cost_micros) for r in rows] == [
        ("2026-11-23", "finance", "currency__convert", 1, 0, CREDIT),
        ("2026-11-24", "finance", "currency__convert", 2, 1, 2 * CREDIT),
        ("2026-11-24", "support", "hr__find_employee", 1, 0, CREDIT),
    ]
    announced = _announced(plane)
    assert sorted(e["detail"]["threshold"] for e in announced) == [50, 80]
    assert {(e["source"], e["detail-type"]) for e in announced} == {(SOURCE, DETAIL_TYPE)}
    assert announced[0]["detail"]["charged_micro"] == 85 * CREDIT and announced[0]["detail"]["limit"] == "100.000000"
    stored = plane.dynamodb.get_item(TableName=plane.budgets, Key={"pk": period["pk"], "sk": period["sk"]})["Item"]
    assert {k: v for k, v in stored.items() if not k.startswith("alert_")} == period


def test_the_eventbridge_sink_refuses_to_report_an_undelivered_alert(moto_url: str) -> None:
    events = aws_client("events", moto_url)
    alert = BudgetAlert("finance", "2026-11", 50, 100 * CREDIT, 50 * CREDIT, 0)
    try:
        with pytest.raises(AlertDeliveryError):
            EventBridgeAlertSink(events, f"no-such-bus-{uuid.uuid4().hex[:8]}").emit(alert)
    finally:
        events.close()

    class Refusing:
        def put_events(self, *, Entries: list[dict[str, Any]]) -> Any:  # noqa: N803
            return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "ThrottlingException"}]}

    with pytest.raises(AlertDeliveryError, match="ThrottlingException"):
        EventBridgeAlertSink(Refusing()).emit(alert)


def test_the_scheduled_event_is_read_as_the_run_time() -> None:
    assert datetime(2026, 11, 24, 21, 30, tzinfo=UTC) == SCHEDULED
