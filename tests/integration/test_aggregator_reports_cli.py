"""``steward usage`` and ``steward audit`` through ``main()`` against a moto server described by a local-plane
state file: JSON shapes (arrays of objects, stable keys, money as ``*_micros`` and decimal strings), the burn
bars, aggregates computed on the fly on the local plane, and refused input exiting 2 with nothing written."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mcp_steward.adapters.dynamodb_records import audit_item, ledger_item
from mcp_steward.adapters.dynamodb_usage import DynamoDbAggregates
from mcp_steward.cli.main import main
from mcp_steward.domain.records import AuditRecord, Decision, LedgerEntry, Outcome
from mcp_steward.domain.usage import DailyUsage
from mcp_steward.local.template import LocalTemplate
from tests.conftest import ROOT, aws_client
from tests.integration.cli.conftest import write_state_file

pytestmark = pytest.mark.moto

CREDIT = 1_000_000
PERIOD = "2026-10"
AT = datetime(2026, 10, 14, 9, 0, tzinfo=UTC)
USAGE_KEYS = {"team", "period", "source", "calls", "cost_micro", "cost", "tools", "budget"}
AUDIT_KEYS = {"at", "kind", "request_id", "principal", "obo", "team", "tool", "decision", "reason", "actor", "action"}


@dataclass
class Plane:
    state_file: Path
    dynamodb: Any
    tables: dict[str, str]


@pytest.fixture
def plane(moto_url: str, tmp_path: Path) -> Iterator[Plane]:
    dynamodb = aws_client("dynamodb", moto_url)
    specs = LocalTemplate.load(ROOT / "infra" / "template.yaml").tables()
    tables = {}
    for role, logical_id in {"keys": "KeysTable", "budgets": "BudgetsTable", "ledger": "LedgerTable"}.items():
        kwargs = dict(specs[logical_id].create_table_kwargs)
        kwargs["TableName"] = tables[role] = f"{logical_id}-{uuid.uuid4().hex[:8]}"
        dynamodb.create_table(**kwargs)
    kwargs = dict(specs["AuditTable"].create_table_kwargs)
    kwargs["TableName"] = tables["audit"] = f"AuditTable-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(**kwargs)
    tables.update(registry="unused-registry", grants="unused-grants")
    for digest, team in (("a", "finance"), ("b", "support")):
        item = {
            "pk": {"S": f"KEY#{digest}"},
            "sk": {"S": "KEY"},
            "key_id": {"S": f"key_{digest}"},
            "principal": {"S": f"p{digest}"},
            "team": {"S": team},
            "roles": {"S": ""},
            "created_at": {"S": AT.isoformat()},
            "revoked": {"BOOL": False},
        }
        dynamodb.put_item(TableName=tables["keys"], Item=item)
    state_file = write_state_file(tmp_path, moto_url, tables)
    try:
        yield Plane(state_file, dynamodb, tables)
    finally:
        dynamodb.close()


def run(plane: Plane, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main([*args, "--local", "--state-file", str(plane.state_file)])
    return code, capsys.readouterr().out


def seed_usage(plane: Plane) -> None:
    calls = [
        LedgerEntry("r1", AT, "alice", None, "finance", "currency__convert", "currency", CREDIT, 1, Outcome.OK, 20),
        LedgerEntry("r2", AT, "alice", "carol", "finance", "currency__convert", "currency", CREDIT, 1, Outcome.OK, 20),
        LedgerEntry("r3", AT, "alice", None, "finance", "hr__find_employee", "hr", 500_000, 0, Outcome.UNKNOWN, 20),
    ]
    for call in calls:
        plane.dynamodb.put_item(TableName=plane.tables["ledger"], Item=ledger_item(call))
    period = {
        "pk": {"S": "TEAM#finance"},
        "sk": {"S": f"PERIOD#{PERIOD}"},
        "limit": {"N": str(100 * CREDIT)},
        "available": {"N": str(46_900_000)},
        "reserved": {"N": str(CREDIT)},
        "charged": {"N": str(52_100_000)},
        "owner_kind": {"S": "team"},
        "owner": {"S": "finance"},
        "team": {"S": "finance"},
        "period": {"S": PERIOD},
    }
    plane.dynamodb.put_item(TableName=plane.tables["budgets"], Item=period)


def aggregate_items(plane: Plane) -> list[Any]:
    answer = plane.dynamodb.scan(TableName=plane.tables["ledger"])
    return [item for item in answer["Items"] if item["pk"]["S"].startswith("AGG#")]


def test_usage_on_the_local_plane_computes_from_the_ledger_when_no_aggregates_exist(
    plane: Plane, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_usage(plane)
    code, out = run(plane, capsys, "usage", "--period", PERIOD, "--json")
    assert code == 0
    finance, support = json.loads(out)
    assert set(finance) == set(support) == USAGE_KEYS
    assert (finance["team"], finance["source"], finance["calls"]) == ("finance", "ledger", 3)
    assert (finance["cost_micro"], finance["cost"]) == (2_500_000, "2.500000")
    assert finance["tools"] == [
        {
            "tool": "currency__convert",
            "calls": 2,
            "units": 2,
            "errors": 0,
            "cost_micro": 2 * CREDIT,
            "cost": "2.000000",
        },
        {"tool": "hr__find_employee", "calls": 1, "units": 0, "errors": 1, "cost_micro": 500_000, "cost": "0.500000"},
    ]
    assert finance["budget"] == {
        "materialized": True,
        "burn_percent": 52,
        "limit_micro": 100 * CREDIT,
        "limit": "100.000000",
        "charged_micro": 52_100_000,
        "charged": "52.100000",
        "reserved_micro": CREDIT,
        "reserved": "1.000000",
        "available_micro": 46_900_000,
        "available": "46.900000",
    }
    assert support["tools"] == [] and support["budget"] is None
    assert aggregate_items(plane) == []  # computed on the fly, nothing written


def test_usage_reads_the_aggregates_when_they_exist_and_draws_each_teams_burn(
    plane: Plane, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_usage(plane)
    day = date(2026, 10, 14)
    rows = [DailyUsage(day, "finance", "currency__convert", 7, 7 * CREDIT, 7, 0, AT)]
    DynamoDbAggregates(plane.dynamodb, plane.tables["ledger"]).replace_day(day, ["finance"], rows)
    code, out = run(plane, capsys, "usage", "--period", PERIOD, "--team", "finance")
    assert code == 0
    assert "Usage 2026-10 (aggregates)" in out
    assert "finance  currency__convert  7" in out
    assert "finance  ████████░░░░░░░░  52%  52.10 / 100.00 credits  (reserved 1.00, available 46.90)" in out
    assert "support" not in out


def test_audit_lists_records_as_json_with_stable_keys_and_filters_by_kind_and_time(
    plane: Plane, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [
        AuditRecord(
            "decision", AT, "r1", principal="alice", team="finance", tool="currency__convert",
            decision=Decision.DENIED, reason="budget_exceeded", detail={"cost_micro": 1_500_000},
        ),
        AuditRecord("admin", AT + timedelta(hours=1), "adm-1", actor="admin", action="grants.add", detail={}),
        AuditRecord("decision", AT + timedelta(days=2), "r2", principal="bob", decision=Decision.ALLOWED),
    ]  # fmt: skip
    for record in records:
        plane.dynamodb.put_item(TableName=plane.tables["audit"], Item=audit_item(record))
    code, out = run(plane, capsys, "audit", "--since", "2026-10-14", "--until", "2026-10-14", "--json")
    assert code == 0
    denied, admin = json.loads(out)
    assert set(denied) == set(admin) == AUDIT_KEYS | {"detail"}
    assert denied["at"] == "2026-10-14T09:00:00.000000Z" and denied["decision"] == "denied"
    assert denied["reason"] == "budget_exceeded" and denied["obo"] is None
    assert denied["detail"] == {"cost_micro": 1_500_000, "cost": "1.500000"}
    assert (admin["kind"], admin["actor"], admin["action"], admin["principal"]) == (
        "admin",
        "admin",
        "grants.add",
        None,
    )
    code, out = run(plane, capsys, "audit", "--since", "2026-10-01T00:00:00Z", "--kind", "admin", "--json")
    assert code == 0 and [r["request_id"] for r in json.loads(out)] == ["adm-1"]
    code, out = run(plane, capsys, "audit", "--since", "2026-10-16", "--until", "2026-10-16")
    assert code == 0 and "r2" in out and "bob" in out and "allowed" in out


@pytest.mark.parametrize(
    "args",
    [
        ["usage", "--period", "2026-13"],
        ["usage", "--period", "October"],
        ["usage", "--team", "Not A Team"],
        ["audit", "--kind", "everything"],
        ["audit", "--since", "yesterday"],
        ["audit", "--since", "2026-10-15", "--until", "2026-10-14"],
    ],
)
def test_refused_report_input_exits_2_and_writes_nothing(
    plane: Plane, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    seed_usage(plane)
    code = main([*args, "--local", "--state-file", str(plane.state_file)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == "" and "steward: error:" in captured.err
    assert aggregate_items(plane) == []
