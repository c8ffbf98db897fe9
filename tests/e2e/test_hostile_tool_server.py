"""Regressions against a hostile tool server on the running local plane, where the adversarial review found the
holes: a server scaffolded with the real ``steward new-server`` into a copy of the repository, its handler
replaced by tests/e2e/hostile/app.py (raw Lambda, no SDK), registered, approved, priced and granted with the real
admin CLI, and called over raw HTTP and with the official MCP SDK client.

It lists schemas whose regular expressions backtrack catastrophically in Python's ``re`` (a ``pattern``, a
``patternProperties`` key, and a ``format: "regex"`` property fed 5,000 ``(``), and answers calls with units of
any magnitude or sign, a lone surrogate, a result that is not an object (or no JSON-RPC response at all), a
result over the 64 KiB an idempotency record keeps, a JSON-RPC error, or an exception. Every call is answered
(HTTP 200, never a 5xx, the plane keeps serving), charged by the rule of services/calls.py's docstring, recorded
in the ledger and the audit, and leaves nothing reserved.

The repository copy: infra/template.yaml copied (new-server edits it), functions/ a real directory of symlinks to
the repository's functions (new-server adds functions/hostile/ beside them), layers/ a symlink, events/ empty.
``steward dev --template`` resolves each CodeUri through the symlinks to the repository's own code.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client

from tests.conftest import ROOT
from tests.e2e.conftest import running_plane, with_sdk_client
from tests.e2e.hostile.app import BACKTRACKING_KEY, BACKTRACKING_PATTERN, LARGE_TEXT_BYTES

pytestmark = pytest.mark.plane

HOSTILE_APP = Path(__file__).with_name("hostile") / "app.py"
SERVER = "hostile"
LOGICAL_ID = "HostileFunction"
REGEX = "hostile__regex"
CRAFTED = "hostile__crafted"
#: hostile__crafted's price (micro-credits): 0.1 a call + 0.01 a unit, at most 5 units.
PRICE, UNIT_PRICE, MAX_UNITS = 100_000, 10_000, 5
MAX_COST = PRICE + UNIT_PRICE * MAX_UNITS
KEY_META = "steward/idempotencyKey"
#: Python's re takes ~2**40 steps on this against BACKTRACKING_PATTERN: the call would never be answered.
CATASTROPHIC_WORD = "a" * 40 + "!"
#: re.compile (the old format: "regex" check) recursed once per group: RecursionError, a 500.
DEEP_REGEX = "(" * 5000


def steward(plane: dict[str, Any], *args: str) -> str:
    command = [sys.executable, "-m", "mcp_steward.cli.main", *args, "--state-file", plane["_state_file"]]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, f"steward {' '.join(args)}: {done.stderr}"
    return done.stdout


def steward_json(plane: dict[str, Any], *args: str) -> Any:
    return json.loads(steward(plane, *args, "--json"))


def post(plane: dict[str, Any], token: str, method: str, params: dict[str, Any]) -> httpx.Response:
    """One JSON-RPC request over raw HTTP, as a bearer of ``token``."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"}
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    return httpx.post(plane["mcp_url"], content=json.dumps(body), headers=headers, timeout=90)


def call(
    plane: dict[str, Any], token: str, tool: str, arguments: dict[str, Any], key: str | None = None
) -> dict[str, Any]:
    """``tools/call`` (with an idempotency key when given): always HTTP 200, whatever the tool answered."""
    params: dict[str, Any] = {"name": tool, "arguments": arguments}
    if key is not None:
        params["_meta"] = {KEY_META: key}
    response = post(plane, token, "tools/call", params)
    assert response.status_code == 200, (response.status_code, response.text[:2000])
    return dict(response.json())


def listed(plane: dict[str, Any], token: str) -> list[str]:
    response = post(plane, token, "tools/list", {})
    assert response.status_code == 200, (response.status_code, response.text[:2000])
    return sorted(tool["name"] for tool in response.json()["result"]["tools"])


def until[T](read: Callable[[], T], done: Callable[[T], bool], staleness_s: float = 5.0) -> T:
    """Admin changes reach the running plane within the caches' stated staleness: poll until then (plus margin)."""
    deadline = time.monotonic() + staleness_s + 10
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


def reason(answer: dict[str, Any]) -> str | None:
    """An isError result's ``_meta["steward/reason"]``."""
    meta = answer["result"].get("_meta") or {}
    return meta.get("steward/reason")


def decisions(plane: dict[str, Any], principal: str) -> list[dict[str, Any]]:
    return [d for d in steward_json(plane, "audit", "--kind", "decision") if d.get("principal") == principal]


def budget(plane: dict[str, Any], team: str) -> dict[str, Any]:
    [row] = [b for b in steward_json(plane, "budgets", "show", "--team", team) if b.get("principal") is None]
    return dict(row)


def spend(plane: dict[str, Any], team: str) -> dict[str, dict[str, Any]]:
    """The month's usage of ``team`` (computed from the ledger on the local plane), per tool."""
    [row] = steward_json(plane, "usage", "--team", team)
    return {tool["tool"]: tool for tool in row["tools"]}


# --- the hostile repository, its plane, its registration ----------------------------------------------------


@pytest.fixture(scope="module")
def hostile_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository root holding the real template and functions, with ``hostile`` scaffolded by the real CLI
    and its handler replaced by the hostile one."""
    root = tmp_path_factory.mktemp("hostile-repo")
    (root / "infra").mkdir()
    shutil.copyfile(ROOT / "infra" / "template.yaml", root / "infra" / "template.yaml")
    (root / "functions").mkdir()
    for function in sorted((ROOT / "functions").iterdir()):
        if function.is_dir():
            (root / "functions" / function.name).symlink_to(function, target_is_directory=True)
    (root / "layers").symlink_to(ROOT / "layers", target_is_directory=True)
    (root / "events").mkdir()
    command = [sys.executable, "-m", "mcp_steward.cli.main", "new-server", SERVER, "--root", str(root)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert LOGICAL_ID in done.stdout
    scaffolded = root / "functions" / SERVER / "app.py"
    assert scaffolded.is_file() and not scaffolded.is_symlink()
    shutil.copyfile(HOSTILE_APP, scaffolded)
    return root


@pytest.fixture(scope="module")
def hostile_plane(hostile_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``steward dev --template`` over the hostile repository (one plane for the module)."""
    state_file = tmp_path_factory.mktemp("hostile-plane") / "local.json"
    with running_plane(state_file, "--template", str(hostile_repo / "infra" / "template.yaml")) as state:
        assert Path(state["functions"][LOGICAL_ID]["code_dir"]) == (hostile_repo / "functions" / SERVER).resolve()
        yield state


@pytest.fixture(scope="module")
def registration(hostile_plane: dict[str, Any]) -> dict[str, Any]:
    """``hostile`` registered (its tools scanned, pending), hostile__crafted priced, both approved (the
    backtracking findings acknowledged). Returns ``tools show --json`` of hostile__regex before approval."""
    plane = hostile_plane
    steward(plane, "servers", "add", SERVER, "--function", LOGICAL_ID)
    regex = steward_json(plane, "tools", "show", REGEX)
    crafted = steward_json(plane, "tools", "show", CRAFTED)
    assert (crafted["status"], crafted["verdict"], crafted["findings"]) == ("pending", "clean", [])
    # Priced before approval: the first catalog that shows it approved shows its price.
    steward(plane, "prices", "set", CRAFTED, "--price", "0.1", "--unit-price", "0.01", "--max-units", "5")
    acknowledged = sorted({finding["rule"] for finding in regex["findings"]})
    steward(plane, "tools", "approve", REGEX, *(arg for rule in acknowledged for arg in ("--acknowledge", rule)))
    steward(plane, "tools", "approve", CRAFTED)
    assert steward_json(plane, "tools", "show", REGEX)["status"] == "approved"
    return dict(regex)


def team(plane: dict[str, Any], name: str) -> str:
    """A principal ``name`` alone in team ``name``, granted ``hostile__*`` with 10 credits a month; its token
    once the grant has reached the plane (both tools listed for it)."""
    token = steward(plane, "keys", "create", "--principal", name, "--team", name).strip().splitlines()[-1]
    steward(plane, "grants", "add", "--team", name, "--tool", f"{SERVER}__*")
    steward(plane, "budgets", "set", "--team", name, "--limit", "10")
    assert until(lambda: listed(plane, token), lambda names: names == [CRAFTED, REGEX]) == [CRAFTED, REGEX]
    return token


def assert_nothing_reserved(plane: dict[str, Any], name: str, charged: int) -> None:
    row = budget(plane, name)
    assert (row["charged_micro"], row["reserved_micro"]) == (charged, 0), row
    assert row["available_micro"] == 10_000_000 - charged


# --- the tests ----------------------------------------------------------------------------------------------


def test_backtracking_patterns_are_found_at_registration_and_never_hold_the_plane(
    hostile_plane: dict[str, Any], registration: dict[str, Any]
) -> None:
    plane = hostile_plane
    findings = {(f["rule"], f["path"]) for f in registration["findings"]}
    assert ("backtracking_regex", "/inputSchema/properties/word/pattern") in findings
    assert ("backtracking_regex", f"/inputSchema/properties/bag/patternProperties/{BACKTRACKING_KEY}") in findings
    assert registration["verdict"] == "suspicious"
    assert all(BACKTRACKING_PATTERN in f["evidence"] for f in registration["findings"] if "word" in f["path"])
    token = team(plane, "regex-team")

    # the pattern Python's re would backtrack on for ~2**40 steps: a refusal, answered, never invoked or charged
    refused = call(plane, token, REGEX, {"word": CATASTROPHIC_WORD})
    assert refused["result"]["isError"] is True and reason(refused) == "invalid_arguments", refused
    assert [v["pointer"] for v in refused["result"]["_meta"]["steward/violations"]] == ["/word"]
    assert listed(plane, token) == [CRAFTED, REGEX]  # the plane keeps answering

    # a matching word is fine (RE2 means what ECMA-262 means)
    fine = call(plane, token, REGEX, {"word": "a" * 40})
    assert fine["result"]["isError"] is False, fine

    # patternProperties: a key the pattern does not match is not held to it (and does not hang the plane); a key it
    # matches is
    unmatched = call(plane, token, REGEX, {"bag": {"x" * 40: "not an integer"}})
    assert unmatched["result"]["isError"] is False, unmatched
    matched = call(plane, token, REGEX, {"bag": {"xxy": "not an integer"}})
    assert reason(matched) == "invalid_arguments", matched
    assert [v["pointer"] for v in matched["result"]["_meta"]["steward/violations"]] == ["/bag/xxy"]

    # format "regex" fed 5,000 "(" (through the SDK client: a whole session still works afterwards)
    async def session(client: Client) -> tuple[Any, list[str]]:
        deep = await client.call_tool(REGEX, {"expr": DEEP_REGEX})
        tools = sorted(tool.name for tool in (await client.list_tools()).tools)
        return deep, tools

    deep, tools = with_sdk_client(plane["mcp_url"], token, "auto", session)
    assert deep.is_error is True
    assert deep.meta is not None and deep.meta["steward/reason"] == "invalid_arguments"
    assert [v["pointer"] for v in deep.meta["steward/violations"]] == ["/expr"]
    assert tools == [CRAFTED, REGEX]
    fine_expr = call(plane, token, REGEX, {"expr": "^(a|b)*$"})
    assert fine_expr["result"]["isError"] is False, fine_expr

    # the records: three refusals, three free calls, nothing charged or reserved
    mine = decisions(plane, "regex-team")
    assert sorted(d["reason"] for d in mine if d["decision"] == "denied") == ["invalid_arguments"] * 3
    allowed = [d for d in mine if d["decision"] == "allowed"]
    assert [(d["reason"], d["detail"]["cost_micro"]) for d in allowed] == [("ok", 0)] * 3
    assert spend(plane, "regex-team")[REGEX]["calls"] == 3
    assert_nothing_reserved(plane, "regex-team", 0)


def test_reported_units_of_any_magnitude_or_sign_are_clamped_to_the_price(
    hostile_plane: dict[str, Any], registration: dict[str, Any]
) -> None:
    plane = hostile_plane
    token = team(plane, "units-team")
    reported = [10**30, 10**200, -5]
    for units in reported:
        answer = call(plane, token, CRAFTED, {"mode": "units", "units": str(units)})
        assert answer["result"]["isError"] is False, answer
        assert answer["result"]["content"] == [{"type": "text", "text": "metered"}]

    charges = [MAX_COST, MAX_COST, PRICE]
    allowed = [d for d in decisions(plane, "units-team") if d["decision"] == "allowed"]
    assert sorted((d["reason"], d["detail"]["units"], d["detail"]["cost_micro"]) for d in allowed) == sorted(
        [("ok", MAX_UNITS, MAX_COST), ("ok", MAX_UNITS, MAX_COST), ("ok", 0, PRICE)]
    )
    used = spend(plane, "units-team")[CRAFTED]
    assert (used["calls"], used["units"], used["errors"], used["cost_micro"]) == (3, 2 * MAX_UNITS, 0, sum(charges))
    assert_nothing_reserved(plane, "units-team", sum(charges))


def test_a_lone_surrogate_answer_is_a_malformed_result_charged_once_and_replayed(
    hostile_plane: dict[str, Any], registration: dict[str, Any]
) -> None:
    plane = hostile_plane
    token = team(plane, "surrogate-team")
    first = call(plane, token, CRAFTED, {"mode": "surrogate"}, key="K-surrogate")
    assert first["result"]["isError"] is True and reason(first) == "malformed_response", first
    json.dumps(first, ensure_ascii=False).encode("utf-8")  # no lone surrogate reached the caller
    again = call(plane, token, CRAFTED, {"mode": "surrogate"}, key="K-surrogate")
    assert again["result"] == first["result"]

    mine = decisions(plane, "surrogate-team")
    [original] = [d for d in mine if d["reason"] == "unknown"]
    assert original["decision"] == "allowed"
    assert (original["detail"]["cost_micro"], original["detail"]["units"]) == (PRICE, 0)
    [replay] = [d for d in mine if d["reason"] == "idempotent_replay"]
    assert replay["decision"] == "allowed" and replay["detail"]["original"] == original["request_id"]
    used = spend(plane, "surrogate-team")[CRAFTED]
    assert (used["calls"], used["errors"], used["cost_micro"]) == (1, 1, PRICE)
    assert_nothing_reserved(plane, "surrogate-team", PRICE)


def test_a_result_too_large_to_keep_is_answered_once_and_its_repeat_refused(
    hostile_plane: dict[str, Any], registration: dict[str, Any]
) -> None:
    plane = hostile_plane
    token = team(plane, "large-team")
    first = call(plane, token, CRAFTED, {"mode": "large"}, key="K-large")
    assert first["result"]["isError"] is False, str(first)[:2000]
    assert first["result"]["content"] == [{"type": "text", "text": "x" * LARGE_TEXT_BYTES}]
    again = call(plane, token, CRAFTED, {"mode": "large"}, key="K-large")
    assert again["error"]["code"] == -31000, again
    assert again["error"]["data"]["reason"] == "idempotency_result_not_kept"
    assert again["error"]["data"]["why"] == "too_large"

    mine = decisions(plane, "large-team")
    assert [(d["decision"], d["reason"]) for d in mine if d["decision"] == "denied"] == [
        ("denied", "idempotency_result_not_kept")
    ]
    [charged] = [d for d in mine if d["decision"] == "allowed"]
    assert (charged["reason"], charged["detail"]["cost_micro"]) == ("ok", PRICE)
    used = spend(plane, "large-team")[CRAFTED]
    assert (used["calls"], used["errors"], used["cost_micro"]) == (1, 0, PRICE)
    assert_nothing_reserved(plane, "large-team", PRICE)


#: The tool's failures: the answer's reason and the outcome charged (services/calls.py: the tool ran and failed or
#: answered isError → its fixed price, outcome tool_error; garbage after invoking → fixed price, outcome unknown).
FAILURES = {
    "raise": ("function_error", "tool_error"),
    "rpc_error": ("tool_error", "tool_error"),
    "non_dict": ("malformed", "unknown"),  # a result that is a list
    "bare": ("malformed_response", "unknown"),  # not even a JSON-RPC response
}


def test_a_failing_tool_is_answered_with_an_error_result_at_its_fixed_price(
    hostile_plane: dict[str, Any], registration: dict[str, Any]
) -> None:
    plane = hostile_plane
    token = team(plane, "failing-team")
    for mode, (answer_reason, _) in FAILURES.items():
        answer = call(plane, token, CRAFTED, {"mode": mode})
        assert answer["result"]["isError"] is True and reason(answer) == answer_reason, (mode, answer)
        assert "hostile failure" not in json.dumps(answer) and "RuntimeError" not in json.dumps(answer)

    allowed = [d for d in decisions(plane, "failing-team") if d["decision"] == "allowed"]
    assert sorted((d["reason"], d["detail"]["cost_micro"], d["detail"]["units"]) for d in allowed) == sorted(
        (outcome, PRICE, 0) for _, outcome in FAILURES.values()
    )
    used = spend(plane, "failing-team")[CRAFTED]
    count = len(FAILURES)
    assert (used["calls"], used["errors"], used["units"], used["cost_micro"]) == (count, count, 0, count * PRICE)
    assert_nothing_reserved(plane, "failing-team", count * PRICE)


def test_an_idempotency_key_used_for_one_call_is_refused_for_another_tool_and_other_arguments(
    hostile_plane: dict[str, Any], registration: dict[str, Any]
) -> None:
    plane = hostile_plane
    token = team(plane, "reuse-team")
    first = call(plane, token, CRAFTED, {"mode": "ok"}, key="K-reuse")
    assert first["result"]["isError"] is False, first
    for tool, arguments, why in (
        (REGEX, {"word": "aaa"}, "other_tool"),
        (CRAFTED, {"mode": "units", "units": "3"}, "other_arguments"),
    ):
        refused = call(plane, token, tool, arguments, key="K-reuse")
        assert refused["error"]["code"] == -31000, refused
        assert refused["error"]["data"]["reason"] == "idempotency_key_reused"
        assert refused["error"]["data"]["why"] == why
    replayed = call(plane, token, CRAFTED, {"mode": "ok"}, key="K-reuse")
    assert replayed["result"] == first["result"]

    mine = decisions(plane, "reuse-team")
    denied = [(d["tool"], d["reason"]) for d in mine if d["decision"] == "denied"]
    assert sorted(denied) == sorted([(REGEX, "idempotency_key_reused"), (CRAFTED, "idempotency_key_reused")])
    assert sorted(d["reason"] for d in mine if d["decision"] == "allowed") == ["idempotent_replay", "ok"]
    used = spend(plane, "reuse-team")
    assert (used[CRAFTED]["calls"], used[CRAFTED]["cost_micro"]) == (1, PRICE)
    assert REGEX not in used
    assert_nothing_reserved(plane, "reuse-team", PRICE)
