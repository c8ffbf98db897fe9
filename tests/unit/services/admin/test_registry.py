"""Servers and tools through the admin services: registration, delegation, sync, approval, rejection, reset and
disabling, each audited as the CLI always audited it; a refusal changes nothing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mcp_steward.domain.money import Micros
from mcp_steward.domain.names import ExposedName, ServerName
from mcp_steward.domain.registry import DelegationMode, DelegationPolicy, ToolRecord, ToolStatus
from mcp_steward.services.admin import AdminRefusedError
from mcp_steward.services.admin.registry import (
    InternalServer,
    VendorServer,
    add_server,
    approve_tool,
    disable_tool,
    reject_tool,
    reset_tool,
    set_delegation,
    sync_servers,
)
from tests.unit.services.admin.conftest import Plane


def tool(plane: Plane, name: str) -> ToolRecord:
    return plane.registry.catalog().tools[ExposedName(name)]


def test_an_internal_server_is_registered_pending_and_audited(plane: Plane) -> None:
    tools = add_server(plane.ports, InternalServer("calc", "fn-calc", 10, "CalcFunction", {"mul": "times"})).records

    assert sorted(t.exposed_name for t in tools) == ["calc__add", "calc__times"]
    assert {t.status for t in tools} == {ToolStatus.PENDING}
    assert plane.audit == [
        (
            "servers.add",
            {
                "server": "calc",
                "function": "fn-calc",
                "version": "7",
                "tools": {"calc__add": "pending", "calc__times": "pending"},
            },
            {"team": None, "principal": None, "tool": None},
        )
    ]


@pytest.mark.parametrize(
    ("server", "message"),
    [
        (InternalServer("Calc", "fn-calc", 10, "CalcFunction"), "server name 'Calc' must match"),
        (VendorServer("docs", "http://docs.example/mcp"), "https"),
    ],
)
def test_a_refused_registration_changes_nothing(
    plane: Plane, server: InternalServer | VendorServer, message: str
) -> None:
    before = plane.snapshot()

    with pytest.raises(AdminRefusedError, match=message):
        add_server(plane.ports, server)

    assert plane.snapshot() == before


def test_delegation_is_set_on_an_internal_server_only_within_bounds(calc_plane: Plane) -> None:
    policy = DelegationPolicy(calls=3, credit=Micros(2_000_000), mode=DelegationMode.INTERSECT)
    set_delegation(calc_plane.ports, "calc", policy)
    assert calc_plane.registry.catalog().servers[ServerName("calc")].delegation == policy
    assert calc_plane.audit[-1][:2] == (
        "servers.delegation",
        {"server": "calc", "calls": 3, "credit_micro": 2_000_000, "mode": policy.mode},
    )
    before = calc_plane.snapshot()

    with pytest.raises(AdminRefusedError, match="no server 'calx'"):
        set_delegation(calc_plane.ports, "calx", policy)
    with pytest.raises(AdminRefusedError, match="--calls must be between"):
        set_delegation(calc_plane.ports, "calc", replace(policy, calls=10_000))
    assert calc_plane.snapshot() == before


def test_a_sync_audits_each_server_and_refuses_an_unknown_one(calc_plane: Plane) -> None:
    [report] = sync_servers(calc_plane.ports, ["calc"])
    assert report.error is None
    assert calc_plane.audit[-1][0] == "servers.sync"
    before = calc_plane.snapshot()

    with pytest.raises(AdminRefusedError, match="no server 'calx'"):
        sync_servers(calc_plane.ports, ["calx"])
    assert calc_plane.snapshot() == before


def test_a_tool_is_approved_pinned_disabled_reset_and_rejected(calc_plane: Plane) -> None:
    approved = approve_tool(calc_plane.ports, "calc__add")
    assert (approved.status, approved.pinned_version) == (ToolStatus.APPROVED, "7")
    disable_tool(calc_plane.ports, "calc__add")
    assert tool(calc_plane, "calc__add").status is ToolStatus.DISABLED
    reset_tool(calc_plane.ports, "calc__add")
    assert (tool(calc_plane, "calc__add").status, tool(calc_plane, "calc__add").pinned_hash) == (
        ToolStatus.PENDING,
        None,
    )
    assert reject_tool(calc_plane.ports, "calc__add") is not None
    assert reject_tool(calc_plane.ports, "calc__add") is None  # already rejected: nothing changes

    rejected = tool(calc_plane, "calc__add")
    assert rejected.status is ToolStatus.REJECTED and rejected.rejection is not None
    assert rejected.rejection.by == "local:admin"
    assert [(action, detail) for action, detail, _ in calc_plane.audit] == [
        (
            "tools.approve",
            {
                "previous_status": "pending",
                "pinned_hash": approved.pinned_hash,
                "pinned_version": "7",
                "acknowledged": [],
            },
        ),
        ("tools.disable", {"previous_status": "approved"}),
        ("tools.reset", {"previous_status": "disabled", "rejected_by": None}),
        ("tools.reject", {"previous_status": "pending"}),
    ]
    assert {subjects["tool"] for _, _, subjects in calc_plane.audit} == {"calc__add"}


def test_a_rejected_tool_is_not_approved_and_a_pending_one_not_reset(calc_plane: Plane) -> None:
    reject_tool(calc_plane.ports, "calc__add")
    before = calc_plane.snapshot()

    with pytest.raises(AdminRefusedError, match="rejected"):
        approve_tool(calc_plane.ports, "calc__add")
    with pytest.raises(AdminRefusedError, match="only a rejected or disabled tool is reset"):
        reset_tool(calc_plane.ports, "calc__mul")
    with pytest.raises(AdminRefusedError, match="no tool 'calc__nope'"):
        disable_tool(calc_plane.ports, "calc__nope")
    assert calc_plane.snapshot() == before
