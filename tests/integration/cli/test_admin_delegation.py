"""``steward servers delegation``: what one invocation of an internal server may spend on nested calls, stored on
the server, audited; refused input exits 2 and changes nothing."""

from __future__ import annotations

import pytest

from mcp_steward.domain.money import Micros
from mcp_steward.domain.names import ServerName
from mcp_steward.domain.registry import NO_DELEGATION, DelegationMode, DelegationPolicy
from tests.integration.cli.conftest import ACTOR, Plane

pytestmark = pytest.mark.moto


def policy(plane: Plane) -> DelegationPolicy:
    return plane.target.registry.catalog().servers[ServerName("calc")].delegation


def test_a_policy_is_set_shown_audited_and_switched_off(plane: Plane) -> None:
    assert policy(plane) == NO_DELEGATION
    out = plane.ok("servers", "delegation", "calc", "--calls", "3", "--credit", "1.5", "--mode", "intersect")
    assert "up to 3 nested calls and 1.500000 credits per invocation (intersect mode)" in out
    assert policy(plane) == DelegationPolicy(calls=3, credit=Micros(1_500_000), mode=DelegationMode.INTERSECT)
    [record] = plane.admin_records()
    assert (record.actor, record.action) == (ACTOR, "servers.delegation")
    assert record.detail == {"server": "calc", "calls": 3, "credit_micro": 1_500_000, "mode": "intersect"}

    assert "makes no nested calls" in plane.ok("servers", "delegation", "calc", "--calls", "0")
    assert policy(plane) == NO_DELEGATION


@pytest.mark.parametrize(
    "args",
    [
        ["nosuch", "--calls", "1"],
        ["calc", "--calls", "-1"],
        ["calc", "--calls", "101"],
        ["calc", "--calls", "1", "--credit", "0.0000001"],
        ["calc", "--calls", "1", "--credit", "1e3"],
        ["calc", "--calls", "1", "--mode", "everyone"],
        ["calc"],
    ],
)
def test_bad_input_exits_2_and_changes_nothing(plane: Plane, args: list[str]) -> None:
    before = plane.snapshot()
    code, _, err = plane.run("servers", "delegation", *args)
    assert code == 2, err
    assert "error" in err
    assert plane.snapshot() == before
