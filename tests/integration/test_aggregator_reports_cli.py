"""``steward usage`` and ``steward audit`` through ``main()`` against a moto server described by a local-plane
state file: JSON shapes (arrays of objects, stable keys, money as ``*_micros`` and decimal strings), the burn
bars, aggregates computed on the fly on the local plane, and refused input exiting 2 with nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
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
AUDIT_KEYS = {
    "at", "kind", "request_id", "principal", "obo", "team", "tool", "decision", "reason", "actor", "action", "subject"
}  # fmt: skip


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
    assert "finance  currency__convert  7      7      0       7.000000" in out
    assert (
        "finance  ████████░░░░░░░░  52%  52.100000 / 100.000000 credits  (reserved 1.000000, available 46.900000)"
        in out
    )
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


def test_usage_by_principal_reads_the_ledger_even_where_aggregates_exist(
    plane: Plane, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_usage(plane)
    day = date(2026, 10, 14)
    rows = [DailyUsage(day, "finance", "currency__convert", 7, 7 * CREDIT, 7, 0, AT)]
    DynamoDbAggregates(plane.dynamodb, plane.tables["ledger"]).replace_day(day, ["finance"], rows)

    code, out = run(plane, capsys, "usage", "--period", PERIOD, "--by", "principal", "--json")

    assert code == 0
    [alice] = json.loads(out)
    assert (alice["team"], alice["principal"], alice["calls"], alice["cost"]) == ("finance", "alice", 3, "2.500000")
    assert [(t["tool"], t["calls"], t["errors"], t["cost"]) for t in alice["tools"]] == [
        ("currency__convert", 2, 0, "2.000000"),
        ("hr__find_employee", 1, 1, "0.500000"),
    ]
    code, out = run(plane, capsys, "usage", "--period", PERIOD, "--by", "principal", "--team", "support")
    assert code == 0 and out.splitlines() == ["Usage 2026-10 by principal (from the ledger)", "(no calls)"]
    code, out = run(plane, capsys, "usage", "--period", PERIOD, "--by", "principal")
    assert out.splitlines()[2].split() == ["finance", "alice", "currency__convert", "2", "2", "0", "2.000000"]


ADMIN_CHANGES = [
    AuditRecord(
        "admin", AT, "g1", actor="root", action="grants.add", principal="alice",
        detail={"subject_kind": "principal", "subject": "alice", "tool": "calc__*"},
    ),
    AuditRecord(
        "admin", AT, "b1", actor="root", action="budgets.set", team="finance",
        detail={"owner_kind": "principal", "owner": "alice", "limit_micro": CREDIT, "period": PERIOD},
    ),
    AuditRecord(
        "admin", AT, "l1", actor="root", action="limits.set", tool="hr__find",
        detail={"scope": "tool", "subject": "hr__find", "per_minute": 3},
    ),
    AuditRecord(
        "admin", AT, "k1", actor="root", action="keys.create", team="finance", principal="agent",
        detail={"key_id": "K1", "roles": [], "on_behalf_of": "alice", "expires_at": None},
    ),
    AuditRecord("admin", AT, "k2", actor="root", action="keys.revoke", detail={"key_id": "K1"}),
    AuditRecord("admin", AT, "s1", actor="root", action="servers.sync", detail={"server": "calc", "version": "2"}),
    AuditRecord("admin", AT, "c1", actor="root", action="config.apply", detail={"changes": 3}),
    AuditRecord("decision", AT, "d1", principal="bob", obo="alice", tool="calc__add", decision=Decision.ALLOWED),
    AuditRecord("decision", AT, "d2", principal="bob", tool="hr__find", decision=Decision.DENIED, reason="no_grant"),
]  # fmt: skip


def test_audit_names_each_admin_changes_subject_and_filters_by_principal_and_tool(
    plane: Plane, capsys: pytest.CaptureFixture[str]
) -> None:
    for record in ADMIN_CHANGES:
        plane.dynamodb.put_item(TableName=plane.tables["audit"], Item=audit_item(record))

    def ids(*args: str) -> list[str]:
        code, out = run(plane, capsys, "audit", "--since", "2026-10-14", "--until", "2026-10-14", *args, "--json")
        assert code == 0
        return sorted(row["request_id"] for row in json.loads(out))

    code, out = run(plane, capsys, "audit", "--since", "2026-10-14", "--until", "2026-10-14", "--json")
    subjects = {row["request_id"]: row["subject"] for row in json.loads(out)}
    assert subjects == {
        "g1": "principal alice", "b1": "principal alice", "l1": "tool hr__find", "k1": "principal agent",
        "k2": "key K1", "s1": "server calc", "c1": None, "d1": None, "d2": None,
    }  # fmt: skip
    # alice: her grant and cap, the key acting on her behalf, the call made on her behalf
    assert ids("--principal", "alice") == ["b1", "d1", "g1", "k1"]
    assert ids("--principal", "bob") == ["d1", "d2"]
    # calc__add: its call and the grant of calc__*; hr__find: its call and its rate limit
    assert ids("--tool", "calc__add") == ["d1", "g1"]
    assert ids("--tool", "hr__find") == ["d2", "l1"]
    assert ids("--principal", "alice", "--tool", "calc__add") == ["d1", "g1"]
    assert ids("--principal", "nobody") == []
    code, out = run(plane, capsys, "audit", "--since", "2026-10-14", "--until", "2026-10-14", "--principal", "alice")
    assert code == 0
    header, *lines = out.splitlines()
    assert header.split() == ["AT", "KIND", "REQUEST_ID", "WHO", "TEAM", "TOOL", "WHAT", "SUBJECT", "REASON"]
    [grant] = [line for line in lines if " g1 " in line]
    assert grant.split()[3:] == ["root", "calc__*", "grants.add", "principal", "alice"]


@pytest.mark.parametrize(
    "args",
    [
        ["usage", "--period", "2026-13"],
        ["usage", "--period", "October"],
        ["usage", "--team", "Not A Team"],
        ["audit", "--kind", "everything"],
        ["audit", "--since", "yesterday"],
        ["audit", "--since", "2026-10-15", "--until", "2026-10-14"],
        ["audit", "--principal", "Not A Principal"],
        ["audit", "--tool", "calc__add; rm"],
        ["usage", "--by", "principal", "--period", "2026-13"],
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


def test_audit_into_a_pipe_closed_after_one_line_ends_quietly(plane: Plane) -> None:
    """``steward audit --json | head -1``: more JSON than a pipe holds, the reader gone after one line."""
    for index in range(400):
        record = AuditRecord(
            "admin", AT, f"adm-{index:04d}", actor="root", action="keys.revoke", detail={"key_id": "K"}
        )
        plane.dynamodb.put_item(TableName=plane.tables["audit"], Item=audit_item(record))
    script = "import sys; from mcp_steward.cli.main import main; sys.exit(main())"
    argv = ["audit", "--since", "2026-10-14", "--until", "2026-10-14", "--json", "--state-file", str(plane.state_file)]
    with subprocess.Popen(
        [sys.executable, "-c", script, *argv], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.readline() == b"[\n"
        process.stdout.close()
        errors = process.stderr.read().decode()
        code = process.wait(timeout=120)

    assert (code, errors) == (141, "")
