"""Trust-hole regressions on the running local plane, over raw HTTP as the adversarial review made them:
an idempotency key used for one tool never answers another (nor other arguments), an agent key acting for two
people never hands one the other's result, a repeat is audited pointing at the original, and an agent acting for
a teammate on their shared team grant is allowed (it was answered -32603 "try again": the reserve named the one
grant item twice)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.plane

EMPLOYEE = {"employee_id": "e1001"}
CONVERT = {"amount": "10", "from_currency": "USD", "to_currency": "GBP"}


def steward(plane: dict[str, Any], *args: str) -> str:
    command = [sys.executable, "-m", "mcp_steward.cli.main", *args, "--state-file", plane["_state_file"]]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def call(plane: dict[str, Any], token: str, name: str, arguments: dict[str, Any], key: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"}
    params = {"name": name, "arguments": arguments, "_meta": {"steward/idempotencyKey": key}}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    response = httpx.post(plane["mcp_url"], content=json.dumps(body), headers=headers, timeout=90)
    assert response.status_code == 200, response.text
    return dict(response.json())


def eventually(read: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Grants reach the running plane within the caches' 5 s staleness: until then the tool is unknown."""
    deadline = time.monotonic() + 15
    answer = read()
    while answer.get("error", {}).get("code") == -32602 and time.monotonic() < deadline:
        time.sleep(0.25)
        answer = read()
    return answer


def audit(plane: dict[str, Any]) -> list[dict[str, Any]]:
    return list(json.loads(steward(plane, "audit", "--kind", "decision", "--json")))


@pytest.fixture(scope="module")
def people(plane: dict[str, Any]) -> dict[str, str]:
    """Team scopes (idem-dora, idem-eli, and an agent key acting for each) may call the HR and currency tools."""
    tokens = {}
    for name, options in (
        ("dora", ("--principal", "idem-dora")),
        ("eli", ("--principal", "idem-eli")),
        ("bot-for-dora", ("--principal", "idem-bot", "--on-behalf-of", "idem-dora")),
        ("bot-for-eli", ("--principal", "idem-bot", "--on-behalf-of", "idem-eli")),
    ):
        tokens[name] = steward(plane, "keys", "create", *options, "--team", "scopes").strip().splitlines()[-1]
    steward(plane, "grants", "add", "--team", "scopes", "--tool", "hr__*")
    steward(plane, "grants", "add", "--team", "scopes", "--tool", "currency__*")
    steward(plane, "budgets", "set", "--team", "scopes", "--limit", "20")
    return tokens


def test_a_key_used_for_one_tool_is_refused_for_another_and_for_other_arguments(
    plane: dict[str, Any], people: dict[str, str]
) -> None:
    first = eventually(lambda: call(plane, people["dora"], "hr__get_employee", EMPLOYEE, "K-dora"))
    assert "result" in first and not first["result"].get("isError"), first
    for name, arguments in (("currency__convert", CONVERT), ("hr__get_employee", {"employee_id": "e1002"})):
        refused = eventually(lambda n=name, a=arguments: call(plane, people["dora"], n, a, "K-dora"))  # type: ignore[misc]
        assert refused["error"]["code"] == -31000, refused
        assert refused["error"]["data"]["reason"] == "idempotency_key_reused"
    denials = [r for r in audit(plane) if r["principal"] == "idem-dora" and r["reason"] == "idempotency_key_reused"]
    assert {r["tool"] for r in denials} == {"currency__convert", "hr__get_employee"}
    # the very same call again is a replay: the same answer, audited as its own decision pointing at the first
    again = call(plane, people["dora"], "hr__get_employee", EMPLOYEE, "K-dora")
    assert again["result"] == first["result"]
    replays = [r for r in audit(plane) if r["principal"] == "idem-dora" and r["reason"] == "idempotent_replay"]
    assert len(replays) == 1 and replays[0]["decision"] == "allowed" and replays[0]["detail"]["original"]


def test_an_agent_acting_for_a_teammate_on_the_team_grant_is_allowed_and_keys_never_cross_people(
    plane: dict[str, Any], people: dict[str, str]
) -> None:
    for_dora = eventually(lambda: call(plane, people["bot-for-dora"], "hr__get_employee", EMPLOYEE, "req-1"))
    assert "result" in for_dora and not for_dora["result"].get("isError"), for_dora
    for_eli = call(plane, people["bot-for-eli"], "hr__get_employee", EMPLOYEE, "req-1")
    assert "result" in for_eli and not for_eli["result"].get("isError"), for_eli
    allowed = [
        (r["obo"], r["reason"])
        for r in audit(plane)
        if r["principal"] == "idem-bot" and r["decision"] == "allowed" and r["tool"] == "hr__get_employee"
    ]
    # two calls that ran, one for each person: eli's was not a replay of dora's
    assert sorted(allowed) == [("idem-dora", "ok"), ("idem-eli", "ok")]
