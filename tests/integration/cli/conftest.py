"""A plane for admin-command tests: every table the CLI uses, built from the template on the moto server, a
registry holding one server with an approved and a pending tool, and a local-plane state file naming it all."""

from __future__ import annotations

import getpass
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mcp_steward.cli.main import main
from mcp_steward.cli.target import TABLE_IDS, Target, local_target
from mcp_steward.domain.names import ExposedName, ServerName
from mcp_steward.domain.records import AuditRecord
from mcp_steward.domain.registry import ServerKind, ServerRecord, ToolRecord, ToolStatus
from mcp_steward.local.template import LocalTemplate
from tests.conftest import ROOT, aws_client

CREDIT = 1_000_000
ACTOR = f"local:{getpass.getuser()}"
APPROVED = ToolRecord(ExposedName("calc__add"), "add", ServerName("calc"), {"name": "add"}, ToolStatus.APPROVED)
PENDING = ToolRecord(ExposedName("calc__mul"), "mul", ServerName("calc"), {"name": "mul"}, ToolStatus.PENDING)


@dataclass
class Plane:
    state_file: Path
    dynamodb: Any
    tables: dict[str, str]
    target: Target
    capsys: pytest.CaptureFixture[str]

    def run(self, *args: str) -> tuple[int, str, str]:
        """``steward ARGS --local --state-file ...``: exit code, standard output, standard error."""
        try:
            code = main([*args, "--local", "--state-file", str(self.state_file)])
        except SystemExit as exc:  # argparse's own usage errors exit 2 as well
            code = int(exc.code or 0)
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def json(self, *args: str) -> Any:
        code, out, err = self.run(*args, "--json")
        assert code == 0, err
        return json.loads(out)

    def ok(self, *args: str) -> str:
        code, out, err = self.run(*args)
        assert code == 0, err
        return out

    def snapshot(self) -> dict[str, list[Any]]:
        """Every item of every table, to show that a refusal changed nothing."""
        return {
            role: sorted(
                (json.dumps(item, sort_keys=True) for item in self.dynamodb.scan(TableName=name)["Items"]),
            )
            for role, name in self.tables.items()
        }

    def admin_records(self) -> list[AuditRecord]:
        return self.target.records.audit(datetime.now(UTC) - timedelta(hours=1), kind="admin")


def write_state_file(directory: Path, moto_url: str, tables: dict[str, str]) -> Path:
    """A local plane's state file whose stores are on the moto server and whose functions are unreachable."""
    state = {
        "mcp_url": "http://127.0.0.1:9/mcp",
        "aws_endpoint_url": moto_url,
        "lambda_endpoint_url": "http://127.0.0.1:9",
        "region": "us-east-1",
        "principals": {},
        "tables": tables,
        "functions": {},
    }
    state_file = directory / "local.json"
    state_file.write_text(json.dumps(state))
    return state_file


@pytest.fixture
def plane(moto_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Plane]:
    dynamodb = aws_client("dynamodb", moto_url)
    specs = LocalTemplate.load(ROOT / "infra" / "template.yaml").tables()
    tables = {}
    for role, logical_id in TABLE_IDS.items():
        kwargs = dict(specs[logical_id].create_table_kwargs)
        kwargs["TableName"] = tables[role] = f"{logical_id}-{uuid.uuid4().hex[:8]}"
        dynamodb.create_table(**kwargs)
    state_file = write_state_file(tmp_path, moto_url, tables)
    target = local_target(state_file)
    target.registry.put_server(
        ServerRecord(ServerName("calc"), ServerKind.INTERNAL, "fn", 10, version="1"), [APPROVED, PENDING]
    )
    try:
        yield Plane(state_file, dynamodb, tables, target, capsys)
    finally:
        dynamodb.close()
        target.invoker.close()


@pytest.fixture
def finance(plane: Plane) -> Plane:
    """alice and erin in team finance, bob in team support."""
    for principal, team in (("alice", "finance"), ("erin", "finance"), ("bob", "support")):
        plane.ok("keys", "create", "--principal", principal, "--team", team)
    return plane
