"""``steward tools reject`` is reversible: it records who rejected the tool, ``steward tools reset`` returns a
rejected or disabled tool to pending (audited), and every refusal says who or what rejected the tool: an admin
(who, when) or the scan (its findings), which no reset can overrule."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mcp_steward.domain.names import ExposedName
from mcp_steward.domain.registry import ToolRecord, ToolStatus
from tests.integration.cli.conftest import ACTOR, PENDING, Plane

pytestmark = pytest.mark.moto

FINDINGS = (
    {"rule": "hidden_instruction", "severity": "high", "path": "/description", "evidence": "<IMPORTANT>"},
    {"rule": "tool_preference", "severity": "medium", "path": "/description", "evidence": "instead of"},
)


def tool(plane: Plane, name: str = "calc__mul") -> ToolRecord:
    return plane.target.registry.catalog().tools[ExposedName(name)]


def test_an_admin_rejection_records_who_and_approve_says_so_and_names_reset(plane: Plane) -> None:
    out = plane.ok("tools", "reject", "calc__mul")

    assert "rejected calc__mul" in out and "steward tools reset calc__mul" in out
    rejected = tool(plane)
    assert rejected.status is ToolStatus.REJECTED
    assert rejected.rejection is not None
    assert (rejected.rejection.by, rejected.rejection.hash) == (ACTOR, rejected.current_hash)
    before = plane.snapshot()
    code, _, err = plane.run("tools", "approve", "calc__mul")
    assert code == 2
    assert f"calc__mul was rejected by admin {ACTOR} at {rejected.rejection.at.isoformat(timespec='seconds')}" in err
    assert "by the scan" not in err
    assert "'steward tools reset calc__mul' returns it to pending first" in err
    assert plane.snapshot() == before
    shown = plane.json("tools", "show", "calc__mul")
    assert shown["rejected_by"].startswith(f"admin {ACTOR} at ")
    assert f"rejected_by: admin {ACTOR}" in plane.ok("tools", "show", "calc__mul")


def test_reset_returns_a_rejected_tool_to_pending_audited_and_it_can_be_approved(plane: Plane) -> None:
    plane.ok("tools", "reject", "calc__mul")

    out = plane.ok("tools", "reset", "calc__mul")

    assert out.startswith(f"reset calc__mul to pending (it was rejected by admin {ACTOR} at ")
    reset = tool(plane)
    assert (reset.status, reset.rejection, reset.pinned_hash) == (ToolStatus.PENDING, None, None)
    record = plane.admin_records()[-1]
    assert (record.action, record.tool, record.actor) == ("tools.reset", "calc__mul", ACTOR)
    assert record.detail["previous_status"] == "rejected"
    assert record.detail["rejected_by"].startswith(f"admin {ACTOR} at ")
    plane.ok("tools", "approve", "calc__mul")
    assert tool(plane).status is ToolStatus.APPROVED


def test_reset_returns_a_disabled_tool_to_pending_unpinned(plane: Plane) -> None:
    plane.ok("tools", "disable", "calc__add")

    assert "(it was disabled)" in plane.ok("tools", "reset", "calc__add")

    reset = tool(plane, "calc__add")
    assert (reset.status, reset.pinned_hash, reset.pinned_version) == (ToolStatus.PENDING, None, None)


@pytest.mark.parametrize(
    ("name", "status", "says"),
    [
        ("calc__mul", ToolStatus.PENDING, "calc__mul is pending: only a rejected or disabled tool is reset"),
        ("calc__add", ToolStatus.APPROVED, "'steward tools disable' or 'steward tools reject' withdraws"),
        ("calc__mul", ToolStatus.QUARANTINED, "review 'steward tools show', then approve or reject it"),
    ],
)
def test_reset_refuses_a_tool_that_is_neither_rejected_nor_disabled(
    plane: Plane, name: str, status: ToolStatus, says: str
) -> None:
    if status is ToolStatus.QUARANTINED:
        plane.target.registry.put_tool(replace(PENDING, status=status))
    before = plane.snapshot()

    code, _, err = plane.run("tools", "reset", name)

    assert code == 2
    assert says in err
    assert plane.snapshot() == before


def test_a_tool_the_scan_rejected_says_so_with_its_findings_and_cannot_be_reset(plane: Plane) -> None:
    plane.target.registry.put_tool(replace(PENDING, status=ToolStatus.REJECTED, verdict="malicious", findings=FINDINGS))
    before = plane.snapshot()

    approve = plane.run("tools", "approve", "calc__mul")
    reset = plane.run("tools", "reset", "calc__mul")

    assert [approve[0], reset[0]] == [2, 2]
    scan = "rejected by the scan (malicious: hidden_instruction, tool_preference)"
    assert scan in approve[2] and "stays rejected while its definition is malicious" in approve[2]
    assert scan in reset[2] and "stays rejected while its definition is malicious" in reset[2]
    assert "tools reset" not in approve[2]
    assert plane.snapshot() == before


def test_rejecting_a_rejected_tool_changes_nothing_and_says_who_rejected_it(plane: Plane) -> None:
    plane.ok("tools", "reject", "calc__mul")
    before = plane.snapshot()

    out = plane.ok("tools", "reject", "calc__mul")

    assert out.startswith(f"calc__mul is already rejected by admin {ACTOR}")
    assert plane.snapshot() == before


def test_a_rejection_from_before_rejections_were_recorded_points_to_the_audit(plane: Plane) -> None:
    plane.target.registry.put_tool(replace(PENDING, status=ToolStatus.REJECTED))

    _, _, err = plane.run("tools", "approve", "calc__mul")

    assert "rejected by an admin or an earlier scan (not recorded: see 'steward audit --kind admin')" in err
    assert "tools reset calc__mul" in err
    assert "(it was rejected by an admin or an earlier scan" in plane.ok("tools", "reset", "calc__mul")
