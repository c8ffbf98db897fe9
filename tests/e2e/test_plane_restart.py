"""The local plane keeps its state across restarts (``.steward/store/`` next to the state file).

One store directory, four planes in a row: a clean stop (SIGTERM) keeps keys, grants, prices, budgets, ledger,
audit, the demo principals' tokens and the published versions the registry pins; a plane killed with SIGKILL
(every process of it) restarts with what its last snapshot held and nothing after; ``--fresh`` starts empty
with new demo tokens. Snapshots are taken only when asked for (``STEWARD_SNAPSHOT_INTERVAL_S`` is set to an
hour), so what survives a SIGKILL is decided by the test, not by timing.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from tests.conftest import ROOT
from tests.e2e.conftest import STARTUP_TIMEOUT_S, _free_port, running_plane, token, with_sdk_client

pytestmark = pytest.mark.plane
EMPLOYEE = {"employee_id": "e1002"}
CONVERT = {"amount": "10", "from_currency": "USD", "to_currency": "GBP"}


def steward(state: dict[str, Any], *args: str) -> Any:
    command = [sys.executable, "-m", "mcp_steward.cli.main", *args, "--state-file", state["_state_file"]]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if "--json" in args else done.stdout


def call(state: dict[str, Any], bearer: str, tool: str, arguments: dict[str, Any]) -> Any:
    async def body(client: Client) -> Any:
        try:
            return await client.call_tool(tool, arguments)
        except MCPError as error:
            return error.error

    return with_sdk_client(state["mcp_url"], bearer, "auto", body)


def succeeded(answer: Any) -> bool:
    return getattr(answer, "is_error", None) is False


def principals_with_keys(state: dict[str, Any]) -> set[str]:
    return {key["principal"] for key in steward(state, "keys", "list", "--json")}


def snapshot_now(state: dict[str, Any]) -> None:
    """Have moto write a snapshot now (what the plane does once started; the answer comes once it is on disk)."""
    request = urllib.request.Request(f"{state['aws_endpoint_url']}/_steward/snapshot", method="POST")
    with urllib.request.urlopen(request, timeout=60) as answer:
        assert answer.status == 200


@pytest.fixture
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STEWARD_SNAPSHOT_INTERVAL_S", "3600")  # snapshots only at start, on request and at stop
    return tmp_path


def test_a_restart_keeps_keys_grants_prices_budgets_ledger_audit_and_tokens(store_dir: Path) -> None:
    state_file = store_dir / "local.json"
    with running_plane(state_file) as first:
        demo_tokens = {who: token(first, who) for who in ("alice", "bob", "admin")}
        ivy = steward(first, "keys", "create", "--principal", "ivy", "--team", "support").strip().splitlines()[-1]
        steward(first, "grants", "add", "--principal", "ivy", "--tool", "currency__convert")
        steward(first, "prices", "set", "hr__find_employee", "--price", "0.02")
        steward(first, "budgets", "set", "--team", "support", "--limit", "30")
        assert succeeded(call(first, demo_tokens["bob"], "hr__get_employee", EMPLOYEE))  # priced 0.005
        usage_before = steward(first, "usage", "--json")
        audit_before = steward(first, "audit", "--json")
        assert any(record.get("principal") == "bob" for record in audit_before)
    assert (store_dir / "store" / "snapshot.json").is_file()

    with running_plane(state_file) as second:
        assert "restored from" in Path(second["_log"]).read_text()
        # the demo principals' tokens are the same: pasted client configurations keep working
        assert {who: token(second, who) for who in demo_tokens} == demo_tokens
        # the ledger (usage is read from it) and the audit trail, as they were
        assert steward(second, "usage", "--json") == usage_before
        audit_after = steward(second, "audit", "--json")
        assert all(record in audit_after for record in audit_before)
        # the key and the grant: ivy calls currency__convert through the version pinned before the restart
        assert succeeded(call(second, ivy, "currency__convert", CONVERT))
        prices = {t["name"]: t for t in steward(second, "tools", "list", "--json")}
        assert prices["hr__find_employee"]["price_micro"] == 20_000
        [budget] = steward(second, "budgets", "show", "--team", "support", "--json")
        assert budget["limit_micro"] == 30_000_000
        assert budget["charged_micro"] == 5_000  # the ledger's charge from before the restart
        # the HR tool (its secret and the digest of it were restored together) still answers, and charges on
        assert succeeded(call(second, token(second, "bob"), "hr__get_employee", EMPLOYEE))
        [budget] = steward(second, "budgets", "show", "--team", "support", "--json")
        assert budget["charged_micro"] == 10_000


def start_dev(state_file: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """``steward dev`` as running_plane starts it, for a plane this test kills instead of stopping."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    command = [sys.executable, "-m", "mcp_steward.cli.main", "dev", "--port", str(_free_port())]
    log = state_file.with_name("steward-dev-killed.log")
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--state-file", str(state_file)], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not state_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"steward dev did not start (exit {process.poll()}):\n{log.read_text()[-4000:]}")
        time.sleep(0.1)
    state: dict[str, Any] = json.loads(state_file.read_text())
    state["_state_file"] = str(state_file)
    return process, state


def wait_until_unlocked(lock: Path) -> None:
    """A killed moto server's lock on the store is released when the kernel has closed its files."""
    deadline = time.monotonic() + 30
    with lock.open("rb") as handle:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                assert time.monotonic() < deadline, "the killed plane's store stayed locked"
                time.sleep(0.1)
                continue
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return


def kill(pids: list[int]) -> None:
    for pid in pids:
        os.kill(pid, signal.SIGKILL)


def test_a_killed_plane_restarts_with_its_last_snapshot_and_fresh_starts_empty(store_dir: Path) -> None:
    state_file = store_dir / "local.json"
    lock = store_dir / "store" / "lock"
    process, killed = start_dev(state_file)
    try:
        demo_tokens = {who: token(killed, who) for who in ("alice", "bob", "admin")}
        kept = steward(killed, "keys", "create", "--principal", "kim", "--team", "support").strip().splitlines()[-1]
        steward(killed, "grants", "add", "--principal", "kim", "--tool", "currency__convert")
        snapshot_now(killed)
        steward(killed, "keys", "create", "--principal", "lou", "--team", "support")  # after the last snapshot
    finally:
        # Every process, its pieces first (a moto server that outlived the plane would take a last snapshot).
        kill([*killed["pids"].values(), process.pid])
        process.wait()
    wait_until_unlocked(lock)
    state_file.unlink()  # what a killed plane leaves behind

    process, restarted = start_dev(state_file)
    try:
        assert {who: token(restarted, who) for who in demo_tokens} == demo_tokens
        holders = principals_with_keys(restarted)
        assert "kim" in holders and "lou" not in holders  # the last snapshot, and nothing after it
        assert succeeded(call(restarted, kept, "currency__convert", CONVERT))
        steward(restarted, "keys", "create", "--principal", "max", "--team", "support")
    finally:
        # Only the plane: its moto server gets SIGTERM from the kernel, writes a last snapshot and exits.
        kill([process.pid])
        process.wait()
    wait_until_unlocked(lock)
    kill([restarted["pids"]["runner"], restarted["pids"]["governance"]])
    state_file.unlink()

    with running_plane(state_file) as again:
        assert {"kim", "max"} <= principals_with_keys(again)

    with running_plane(state_file, "--fresh") as fresh:
        assert "deleted the stored state" in Path(fresh["_log"]).read_text()
        assert all(token(fresh, who) != demo_tokens[who] for who in demo_tokens)
        assert not {"kim", "max"} & principals_with_keys(fresh)
        assert succeeded(call(fresh, token(fresh, "alice"), "currency__convert", CONVERT))
