"""Governance end to end on the local plane: a team's budget drawn down by priced calls made with the
official MCP SDK client, the call past the budget refused with -31000 ``budget_exceeded``, and the charges,
denial and usage visible through the admin CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from tests.conftest import ROOT
from tests.e2e.conftest import with_sdk_client

pytestmark = pytest.mark.plane
CONVERT = {"amount": "10", "from_currency": "USD", "to_currency": "GBP"}


def steward(plane: dict[str, Any], *args: str) -> Any:
    command = [sys.executable, "-m", "mcp_steward.cli.main", *args, "--state-file", plane["_state_file"]]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if "--json" in args else done.stdout


def calls(plane: dict[str, Any], token: str, count: int) -> list[Any]:
    async def body(client: Client) -> list[Any]:
        answers: list[Any] = []
        for _ in range(count):
            try:
                answers.append(await client.call_tool("meter__convert", CONVERT))
            except MCPError as error:
                answers.append(error.error)
        return answers

    return with_sdk_client(plane["mcp_url"], token, "auto", body)


def test_priced_calls_draw_down_the_team_budget_and_the_next_one_is_refused(plane: dict[str, Any]) -> None:
    token = steward(plane, "keys", "create", "--principal", "ivy", "--team", "metered").strip().splitlines()[-1]
    steward(plane, "servers", "add", "meter", "--function", "CurrencyFunction")
    steward(plane, "tools", "approve", "meter__convert")
    steward(plane, "prices", "set", "meter__convert", "--price", "0.4")
    steward(plane, "grants", "add", "--team", "metered", "--tool", "meter__convert")
    steward(plane, "budgets", "set", "--team", "metered", "--limit", "1")
    deadline = time.monotonic() + 15  # admin changes reach the plane within the caches' 5 s staleness
    answers = calls(plane, token, 1)
    while not hasattr(answers[0], "is_error") and time.monotonic() < deadline:  # refused until caches refresh
        time.sleep(0.25)
        answers = calls(plane, token, 1)
    answers += calls(plane, token, 2)
    assert [getattr(a, "is_error", None) for a in answers[:2]] == [False, False]
    refused = answers[2]
    assert refused.code == -31000
    assert refused.data["reason"] == "budget_exceeded"
    assert refused.data["remaining_micro"] == 200_000 and refused.data["cost_micro"] == 400_000

    [budget] = steward(plane, "budgets", "show", "--team", "metered", "--json")
    assert (budget["charged_micro"], budget["available_micro"], budget["reserved_micro"]) == (800_000, 200_000, 0)
    decisions = steward(plane, "audit", "--kind", "decision", "--json")
    mine = [d for d in decisions if d.get("principal") == "ivy"]
    assert [d["decision"] for d in mine].count("allowed") == 2
    assert any(d["decision"] == "denied" and d["reason"] == "budget_exceeded" for d in mine)
