"""Template tests for operating a stack (issue 6): timeouts that nest, secrets only where they belong, tables and
log groups as docs/design.md section 4 states, failed scheduled runs kept, and a dashboard and alarms that name only
metrics the code emits."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mcp_steward.adapters.lambda_invoker import TIMEOUT_MARGIN_S
from mcp_steward.local.template import load_template_document
from tests.infra.test_template import _functions, _prop, _render, _statements

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "infra" / "template.yaml"
SOURCES = [*sorted((ROOT / "layers" / "core" / "mcp_steward").rglob("*.py")), *sorted(ROOT.glob("functions/*/*.py"))]
NAMESPACE = "MCPSteward"
API_GATEWAY_INTEGRATION_TIMEOUT_S = 29
#: Tables whose items expire: closed reservations, idempotency records and counters; ledger; audit.
EXPIRING_TABLES = {"BudgetsTable", "LedgerTable", "AuditTable"}
NO_ALARM_TOPIC = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
INSIGHTS_METRIC = re.compile(r"\b(?:SUM|COUNT|AVG|MIN|MAX)\((\w+)\)\s+FROM\s+(?:SCHEMA\(\s*)?\"?(\w+)")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template_document(TEMPLATE_PATH.read_text(encoding="utf-8"))


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: res for lid, res in template["Resources"].items() if res["Type"] == kind}


def _name(function: dict[str, Any]) -> str:
    name = function["Properties"]["FunctionName"]
    return str(name["Fn::Sub"] if isinstance(name, dict) else name)


def _variables(template: dict[str, Any], function: dict[str, Any]) -> dict[str, Any]:
    variables: dict[str, Any] = dict(
        template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    variables.update(function["Properties"].get("Environment", {}).get("Variables", {}))
    return variables


# --- timeouts ----------------------------------------------------------------------------------------------


def test_timeouts_nest_with_the_invokers_margin_inside_governance_inside_api_gateway(template: dict[str, Any]) -> None:
    functions = _functions(template)
    governance = int(_prop(template, functions["GovernanceFunction"], "Timeout"))
    assert governance <= API_GATEWAY_INTEGRATION_TIMEOUT_S - 1
    # Everything governance invokes (tools by prefix, egress by name) answers within its read timeout, which is
    # the function's timeout + TIMEOUT_MARGIN_S, before governance itself is cut off.
    invoked = {
        lid: fn
        for lid, fn in functions.items()
        if _name(fn).startswith("${AWS::StackName}-tool-") or _name(fn) == "${AWS::StackName}-egress"
    }
    assert invoked
    for lid, fn in invoked.items():
        assert int(_prop(template, fn, "Timeout")) + TIMEOUT_MARGIN_S < governance, lid


def test_egress_answers_inside_every_function_that_calls_it(template: dict[str, Any]) -> None:
    functions = _functions(template)
    egress = [fn for fn in functions.values() if _name(fn) == "${AWS::StackName}-egress"]
    if not egress:
        pytest.skip("no egress function in the template yet")
    egress_timeout = int(_prop(template, egress[0], "Timeout"))
    callers = {
        lid: fn
        for lid, fn in functions.items()
        if {"Fn::Sub": "${AWS::StackName}-egress"} in _variables(template, fn).values()
    }
    assert "GovernanceFunction" in callers
    for lid, fn in callers.items():
        assert egress_timeout + TIMEOUT_MARGIN_S < int(_prop(template, fn, "Timeout")), lid


# --- secrets -----------------------------------------------------------------------------------------------


def _secret_names(template: dict[str, Any]) -> dict[str, str]:
    return {
        lid: str(_render(res["Properties"].get("Name", "")) or "")
        for lid, res in _resources(template, "AWS::SecretsManager::Secret").items()
    }


def test_governance_reads_no_secret_but_the_delegation_key(template: dict[str, Any]) -> None:
    secrets = _secret_names(template)
    for statement in (s for s in _statements(template) if s.owner == "GovernanceFunction"):
        assert not statement.grants("kms:Decrypt"), statement
        if not any(statement.grants(f"secretsmanager:{a}") for a in ("GetSecretValue", "BatchGetSecretValue")):
            continue
        for resource in statement.resources:
            ref = resource.get("Ref") if isinstance(resource, dict) else None
            rendered = secrets.get(str(ref)) if ref is not None else _render(resource)
            assert rendered is not None and "delegation" in rendered, (
                f"governance may read {resource}: only the delegation key (docs/design.md section 9)"
            )


def test_no_role_but_egress_is_granted_the_vendor_secret_prefix(template: dict[str, Any]) -> None:
    vendor = "arn:aws:secretsmanager:us-east-1:123456789012:secret:stack/vendor/acme-AbCdEf"
    readers = {
        s.owner
        for s in _statements(template)
        if s.grants("secretsmanager:GetSecretValue")
        and any(re.fullmatch((_render(r) or "").replace("*", ".*"), vendor) for r in s.resources)
    }
    assert readers <= {"EgressFunction"}


# --- tables, log groups, concurrency -----------------------------------------------------------------------


def test_every_table_is_on_demand_recoverable_encrypted_retained_and_expires_where_its_items_do(
    template: dict[str, Any],
) -> None:
    tables = _resources(template, "AWS::DynamoDB::Table")
    assert tables.keys() >= EXPIRING_TABLES
    for lid, table in tables.items():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST", lid
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, lid
        assert props["SSESpecification"]["SSEEnabled"] is True, lid
        assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain"), lid
        ttl = props.get("TimeToLiveSpecification")
        if lid in EXPIRING_TABLES:
            assert ttl == {"AttributeName": "ttl", "Enabled": True}, lid  # the adapters write `ttl`
        else:
            assert ttl is None, f"{lid}: nothing in it expires"


def test_every_function_logs_to_its_own_log_group_with_the_stacks_retention(template: dict[str, Any]) -> None:
    groups = _resources(template, "AWS::Logs::LogGroup")
    for lid, fn in _functions(template).items():
        group_ref = fn["Properties"].get("LoggingConfig", {}).get("LogGroup", {}).get("Ref")
        assert group_ref in groups, f"{lid} needs LoggingConfig.LogGroup: !Ref <its log group>"
        group = groups[group_ref]["Properties"]
        assert group["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/{_name(fn)}"}, lid
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}, lid
    for lid, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, lid


def test_both_deploy_environments_reserve_no_concurrency(template: dict[str, Any]) -> None:
    assert int(template["Parameters"]["ReservedConcurrency"]["Default"]) == 0
    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    for env in ("default", "prod"):
        overrides = config[env]["deploy"]["parameters"]["parameter_overrides"]
        assert "ReservedConcurrency=0" in overrides.split(), env


# --- scheduled runs ----------------------------------------------------------------------------------------


def test_every_scheduled_function_keeps_its_failed_runs(template: dict[str, Any]) -> None:
    queue = {"Fn::GetAtt": ["ScheduledRunFailuresQueue", "Arn"]}
    scheduled = {
        lid: fn
        for lid, fn in _functions(template).items()
        if any(e["Type"] in {"Schedule", "ScheduleV2"} for e in fn["Properties"].get("Events", {}).values())
    }
    assert {"SweeperFunction", "SyncFunction", "AggregatorFunction"} <= scheduled.keys()
    for lid, fn in scheduled.items():
        on_failure = fn["Properties"]["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
        assert on_failure == {"Type": "SQS", "Destination": queue}, lid
        for name, event in fn["Properties"]["Events"].items():
            assert event["Properties"]["DeadLetterConfig"] == {"Arn": queue}, f"{lid}.{name}"
    assert _resources(template, "AWS::SQS::Queue")["ScheduledRunFailuresQueue"]["Properties"]["SqsManagedSseEnabled"]


# --- dashboard and alarms ----------------------------------------------------------------------------------


def _source_text() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in SOURCES)


def _emitted_by_code(metric: str) -> bool:
    return f'"{metric}"' in _source_text()


def _dashboard(template: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The dashboard body as JSON (every ${...} replaced by a placeholder) and the names it substitutes."""
    (dashboard,) = _resources(template, "AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    assert isinstance(body, str), "DashboardBody: !Sub with a string, no variable map"
    names = set(re.findall(r"\$\{([^}!]+)\}", body))
    return json.loads(re.sub(r"\$\{([^}!]+)\}", lambda m: f"<{m.group(1)}>", body)), names


def _metric_rows(widget: dict[str, Any]) -> Iterator[tuple[str, str, list[Any], dict[str, Any]]]:
    """(namespace, metric name, dimension list, options) of each row, the "..." shorthand expanded."""
    previous: list[Any] = []
    for row in widget["properties"].get("metrics", []):
        options = row[-1] if row and isinstance(row[-1], dict) else {}
        values = [v for v in row if not isinstance(v, dict)]
        if values and values[0] == "...":
            values = previous[: len(previous) - (len(values) - 1)] + values[1:]
        if "expression" in options:
            for name, namespace in INSIGHTS_METRIC.findall(options["expression"]):
                yield namespace, name, [], options
            continue
        previous = values
        yield values[0], values[1], values[2:], options


def _service_names(template: dict[str, Any]) -> set[str]:
    return {str(_variables(template, fn).get("POWERTOOLS_SERVICE_NAME")) for fn in _functions(template).values()}


def test_the_dashboard_is_json_and_names_only_resources_of_the_stack_and_metrics_the_code_emits(
    template: dict[str, Any],
) -> None:
    body, substituted = _dashboard(template)
    known = set(template["Resources"]) | set(template["Parameters"])
    for name in substituted:
        assert name.startswith("AWS::") or name.split(".")[0] in known, name
    services = _service_names(template)
    custom = set()
    for widget in body["widgets"]:
        if widget["type"] != "metric":
            continue
        for namespace, metric, dimensions, _ in _metric_rows(widget):
            if namespace != NAMESPACE:
                assert namespace.startswith("AWS/"), namespace
                continue
            custom.add(metric)
            pairs = dict(zip(dimensions[::2], dimensions[1::2], strict=True))
            if "service" in pairs:
                assert pairs["service"] in services, f"{metric}: no function has service {pairs['service']}"
    assert custom, "the dashboard shows Steward's own metrics"
    missing = sorted(m for m in custom if not _emitted_by_code(m))
    assert not missing, f"metrics on the dashboard that no code emits: {missing}"


def test_the_dashboard_shows_what_issue_6_asks_for(template: dict[str, Any]) -> None:
    body, _ = _dashboard(template)
    rows = [row for w in body["widgets"] if w["type"] == "metric" for row in _metric_rows(w)]
    expressions = " ".join(str(options.get("expression", "")) for *_, options in rows)
    assert "SUM(CostMicros)" in expressions and "GROUP BY team" in expressions  # cost by team
    assert "COUNT(CostMicros)" in expressions and "GROUP BY tool" in expressions  # calls by tool
    assert "SUM(Denials)" in expressions and "GROUP BY reason" in expressions  # denials by reason
    latency = {options.get("stat") for namespace, metric, _, options in rows if metric == "LatencyMs"}
    assert {"p50", "p95"} <= latency
    metrics = {metric for _, metric, _, _ in rows}
    assert {"Errors", "5XXError", "Throttles", "ConflictRetries", "OpenReservations", "Quarantines"} <= metrics
    alarms_widget = [w for w in body["widgets"] if w["type"] == "alarm"]
    listed = {a.strip("<>").removesuffix(".Arn") for w in alarms_widget for a in w["properties"]["alarms"]}
    assert listed == set(_resources(template, "AWS::CloudWatch::Alarm")), "the alarm widget lists every alarm"


def _alarm_metrics(alarm: dict[str, Any]) -> Iterator[tuple[str, str]]:
    props = alarm["Properties"]
    if "MetricName" in props:
        yield props["Namespace"], props["MetricName"]
    for query in props.get("Metrics", []):
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            yield metric["Namespace"], metric["MetricName"]
        for name, namespace in INSIGHTS_METRIC.findall(str(query.get("Expression", ""))):
            yield namespace, name


def test_alarms_cover_issue_6_notify_the_optional_topic_and_watch_only_emitted_metrics(
    template: dict[str, Any],
) -> None:
    assert template["Parameters"]["AlarmTopicArn"]["Default"] == ""
    assert template["Conditions"]["HasAlarmTopic"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]}
    alarms = _resources(template, "AWS::CloudWatch::Alarm")
    watched: set[tuple[str, str]] = set()
    for lid, alarm in alarms.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == props["OKActions"] == NO_ALARM_TOPIC, lid
        assert props["AlarmDescription"], lid
        metrics = set(_alarm_metrics(alarm))
        assert metrics, lid
        watched |= metrics
    for namespace, metric in watched:
        assert namespace == NAMESPACE or namespace.startswith("AWS/"), namespace
        if namespace == NAMESPACE:
            assert _emitted_by_code(metric), f"an alarm watches {metric}, which no code emits"
    names = {metric for _, metric in watched}
    # errors, throttles, sweeper backlog, quarantines, egress refusals
    assert {"Errors", "5XXError", "Throttles", "SweeperBacklog", "Quarantines", "EgressRefused"} <= names
    backlog = next(a for a in alarms.values() if a["Properties"].get("MetricName") == "SweeperBacklog")
    assert backlog["Properties"]["TreatMissingData"] == "breaching", "a sweeper that stops reporting is a backlog"
