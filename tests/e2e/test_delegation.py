"""Delegation end to end on the local plane (docs/design.md section 5): a person calls the briefing server, whose
tool asks another tool through the nested-governance function with its invocation's delegation token. The
nested call is authorized for the briefing server, charged to the person's team, and recorded with the chain;
the allowance bounds it; and nested calls complete while 50 outer calls are in flight."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from mcp_steward.adapters.dynamodb_records import DynamoDbRecords
from tests.conftest import ROOT, aws_client

pytestmark = pytest.mark.plane

SOURCE = "fxsrc__convert"
CONVERT = {"amount": "10", "from_currency": "USD", "to_currency": "GBP"}
BRIEF = {"source": SOURCE, "arguments": CONVERT}


def steward(plane: dict[str, Any], *args: str) -> str:
    command = [sys.executable, "-m", "mcp_steward.cli.main", *args, "--state-file", plane["_state_file"]]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def call(plane: dict[str, Any], token: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
    return dict(httpx.post(plane["mcp_url"], content=json.dumps(body), headers=headers, timeout=90).json())


def eventually(read: Any, done: Any) -> Any:
    """Admin changes reach the running plane within the caches' 5 s staleness."""
    deadline = time.monotonic() + 15
    value = read()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.25)
        value = read()
    return value


@pytest.fixture(scope="module")
def briefing(plane: dict[str, Any]) -> str:
    """The briefing server registered, approved and priced, allowed 1 nested call per invocation, granted the
    source (a registration of the currency function); a team with a budget whose member may call briefing."""
    token = steward(plane, "keys", "create", "--principal", "nora", "--team", "research").strip().splitlines()[-1]
    steward(plane, "servers", "add", "brief", "--function", "BriefingFunction")
    steward(plane, "servers", "add", "fxsrc", "--function", "CurrencyFunction")
    for tool, price in (("brief__brief", "0.5"), (SOURCE, "0.25")):
        steward(plane, "tools", "approve", tool)
        steward(plane, "prices", "set", tool, "--price", price)
    steward(plane, "servers", "delegation", "brief", "--calls", "1", "--credit", "0.25")
    steward(plane, "grants", "add", "--team", "research", "--tool", "brief__brief")
    steward(plane, "grants", "add", "--server", "brief", "--tool", SOURCE)
    steward(plane, "budgets", "set", "--team", "research", "--limit", "100")
    return token


def test_a_persons_call_makes_a_nested_call_charged_to_the_persons_team_with_the_chain(
    plane: dict[str, Any], briefing: str
) -> None:
    answer = eventually(lambda: call(plane, briefing, "brief__brief", BRIEF), lambda a: "result" in a)
    result = answer["result"]
    assert result["isError"] is False, result
    assert result["structuredContent"]["source"] == SOURCE
    assert result["structuredContent"]["data"]["to_currency"] == "GBP"

    # The person cannot call the source directly: only the briefing server was granted it.
    direct = call(plane, briefing, SOURCE, CONVERT)
    assert direct["error"]["code"] == -32602

    records = DynamoDbRecords(
        aws_client("dynamodb", plane["aws_endpoint_url"]), plane["tables"]["ledger"], plane["tables"]["audit"]
    )
    today = datetime.now(UTC).date()
    entries = {e.tool: e for e in records.ledger("research", today, today)}
    outer, nested = entries["brief__brief"], entries[SOURCE]
    assert (nested.parent, nested.chain, nested.team, nested.principal) == (
        outer.request_id,
        ("brief", "fxsrc"),
        "research",
        "nora",
    )
    assert (outer.cost_micros, nested.cost_micros) == (500_000, 250_000)


def test_the_allowance_bounds_nested_calls_and_the_refusal_is_audited(plane: dict[str, Any], briefing: str) -> None:
    steward(plane, "servers", "delegation", "brief", "--calls", "1", "--credit", "0.1")  # less than one call costs
    answer = eventually(
        lambda: call(plane, briefing, "brief__brief", BRIEF),
        lambda a: a.get("result", {}).get("isError") is True,
    )
    assert "could not be asked" in answer["result"]["content"][0]["text"]
    audit = json.loads(steward(plane, "audit", "--kind", "decision", "--json"))
    refused = [r for r in audit if r["tool"] == SOURCE and r["reason"] == "delegation_invalid"]
    assert refused and refused[-1]["detail"]["why"] == "budget"
    assert refused[-1]["detail"]["chain"] == ["brief"]
    steward(plane, "servers", "delegation", "brief", "--calls", "1", "--credit", "0.25")


def test_nested_calls_complete_while_50_outer_calls_are_in_flight(plane: dict[str, Any], briefing: str) -> None:
    eventually(
        lambda: call(plane, briefing, "brief__brief", BRIEF),
        lambda a: a.get("result", {}).get("isError") is False,
    )
    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(lambda _: call(plane, briefing, "brief__brief", BRIEF), range(50)))
    failures = [a for a in answers if a.get("result", {}).get("isError") is not False]
    assert failures == []
    assert {a["result"]["structuredContent"]["data"]["to_currency"] for a in answers} == {"GBP"}
