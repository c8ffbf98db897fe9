"""The admin CLI against the running local plane: the add-a-tool workflow, and refusals that change nothing."""

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


def steward(plane: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mcp_steward.cli.main", *args, "--state-file", plane["_state_file"]]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=60)


def tool_names(plane: dict[str, Any], token: str) -> list[str]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    answer = httpx.post(plane["mcp_url"], content=json.dumps(body), headers=headers, timeout=30).json()
    return sorted(tool["name"] for tool in answer["result"]["tools"])


def eventually(read: Callable[[], list[str]], staleness_s: float = 5.0) -> list[str]:
    """Admin changes reach a running plane within the caches' stated staleness: poll until then (plus margin)."""
    deadline = time.monotonic() + staleness_s + 5
    while True:
        value = read()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


def test_a_registered_server_is_pending_until_approved_and_granted(plane: dict[str, Any]) -> None:
    created = steward(plane, "keys", "create", "--principal", "dora", "--team", "treasury")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]

    added = steward(plane, "servers", "add", "fx", "--function", "CurrencyFunction", "--alias", "convert=exchange")
    assert added.returncode == 0, added.stderr
    tools = {t["name"]: t["status"] for t in json.loads(steward(plane, "tools", "list", "--json").stdout)}
    assert tools["fx__exchange"] == "pending" and tools["fx__list_currencies"] == "pending"

    assert steward(plane, "grants", "add", "--team", "treasury", "--tool", "fx__*").returncode == 0
    assert tool_names(plane, token) == []  # granted but not approved: invisible

    assert steward(plane, "tools", "approve", "fx__exchange").returncode == 0
    assert eventually(lambda: tool_names(plane, token)) == ["fx__exchange"]
    grants = json.loads(steward(plane, "grants", "list", "--json").stdout)
    assert {"subject_kind": "team", "subject": "treasury", "primitive": "tool", "target": "fx__*"} in grants


def test_a_revoked_key_stops_working(plane: dict[str, Any]) -> None:
    created = steward(plane, "keys", "create", "--principal", "erin", "--team", "finance")
    token = created.stdout.strip().splitlines()[-1]
    key_id = created.stdout.split()[2]
    assert steward(plane, "keys", "revoke", key_id).returncode == 0
    listed = {k["key_id"]: k["revoked"] for k in json.loads(steward(plane, "keys", "list", "--json").stdout)}
    assert listed[key_id] is True
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {}}
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    # the plane caches resolved tokens for at most 5 seconds; a never-seen token is checked at once
    assert httpx.post(plane["mcp_url"], content=json.dumps(body), headers=headers).status_code == 401


@pytest.mark.parametrize(
    "args",
    [
        ["keys", "create", "--principal", "Bad Name", "--team", "finance"],
        ["keys", "create", "--principal", "ok", "--team", "finance", "--expires", "yesterday"],
        ["keys", "create", "--principal", "ok", "--team", "finance", "--expires", "2001-01-01T00:00:00Z"],
        ["grants", "add", "--team", "finance", "--tool", "not a tool"],
        ["grants", "add", "--team", "finance", "--tool", "UPPER__*"],
        ["grants", "remove", "--team", "finance", "--tool", "never__granted"],
        ["servers", "add", "Bad_Name", "--function", "CurrencyFunction"],
        ["servers", "add", "ok", "--function", "CurrencyFunction", "--alias", "no-equals-sign"],
        ["tools", "approve", "nope__nope"],
        ["keys", "revoke", "key_nope"],
    ],
)
def test_refused_input_exits_2_and_changes_nothing(plane: dict[str, Any], args: list[str]) -> None:
    before = {what: steward(plane, what, "list", "--json").stdout for what in ("keys", "grants", "servers")}
    refused = steward(plane, *args)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.startswith("steward: error:") or "error:" in refused.stderr
    after = {what: steward(plane, what, "list", "--json").stdout for what in ("keys", "grants", "servers")}
    assert after == before


def test_an_unknown_logical_id_is_a_clear_failure(plane: dict[str, Any]) -> None:
    failed = steward(plane, "servers", "add", "ghost", "--function", "NoSuchFunction")
    assert failed.returncode == 1
    assert "NoSuchFunction" in failed.stderr and "CurrencyFunction" in failed.stderr


def test_no_local_plane_is_a_clear_failure(tmp_path: Any) -> None:
    missing = str(tmp_path / "absent.json")
    command = [sys.executable, "-m", "mcp_steward.cli.main", "keys", "list", "--state-file", missing]
    failed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert failed.returncode == 1
    assert "make dev" in failed.stderr


def test_every_admin_change_is_audited_with_the_admin_identity(plane: dict[str, Any]) -> None:
    created = steward(plane, "keys", "create", "--principal", "fay", "--team", "audited")
    key_id = created.stdout.split()[2]
    for args in (
        ["grants", "add", "--team", "audited", "--tool", "currency__*"],
        ["grants", "remove", "--team", "audited", "--tool", "currency__*"],
        ["keys", "revoke", key_id],
    ):
        assert steward(plane, *args).returncode == 0
    records = json.loads(steward(plane, "audit", "--kind", "admin", "--json").stdout)
    actions = {(r["action"], r.get("team") or r.get("principal")) for r in records}
    assert {("keys.create", "audited"), ("grants.add", "audited"), ("grants.remove", "audited")} <= actions
    revoked = [r for r in records if r["action"] == "keys.revoke" and r["detail"]["key_id"] == key_id]
    assert len(revoked) == 1 and revoked[0]["actor"].startswith("local:")
