"""``steward limits set|list``: per-minute rate limits for a principal or a tool, 0 clears; audited; refused
input exits 2 and changes nothing."""

from __future__ import annotations

import pytest

from mcp_steward.domain.budgets import RateLimit, RateScope
from tests.integration.cli.conftest import ACTOR, Plane

pytestmark = pytest.mark.moto


def test_rate_limits_are_set_and_listed_for_principals_and_tools(finance: Plane) -> None:
    finance.ok("limits", "set", "--principal", "alice", "--per-minute", "30")
    finance.ok("limits", "set", "--tool", "calc__add", "--per-minute", "600")

    rows = finance.json("limits", "list")

    assert rows == [
        {"scope": "principal", "subject": "alice", "per_minute": 30},
        {"scope": "tool", "subject": "calc__add", "per_minute": 600},
    ]
    assert finance.target.budgets.call_config("finance", "alice", "calc__add").rate_limits == (
        RateLimit(RateScope.PRINCIPAL, "alice", 30),
        RateLimit(RateScope.TOOL, "calc__add", 600),
    )
    assert "calc__add" in finance.ok("limits", "list")


def test_a_rate_limit_of_zero_clears_it(finance: Plane) -> None:
    finance.ok("limits", "set", "--principal", "alice", "--per-minute", "30")

    out = finance.ok("limits", "set", "--principal", "alice", "--per-minute", "0")

    assert "cleared" in out
    assert finance.json("limits", "list") == []


def test_limits_set_is_audited(finance: Plane) -> None:
    finance.ok("limits", "set", "--tool", "calc__add", "--per-minute", "5")
    finance.ok("limits", "set", "--principal", "bob", "--per-minute", "7")

    tool, principal = (r for r in finance.admin_records() if r.action == "limits.set")

    assert (tool.actor, tool.tool, tool.principal) == (ACTOR, "calc__add", None)
    assert tool.detail == {"scope": "tool", "subject": "calc__add", "per_minute": 5}
    assert (principal.principal, principal.team) == ("bob", "support")


@pytest.mark.parametrize(
    "args",
    [
        ["--principal", "alice", "--per-minute", "-3"],
        ["--principal", "alice", "--per-minute", "1.5"],
        ["--principal", "alice", "--per-minute", "1e3"],
        ["--principal", "alice", "--per-minute", "lots"],
        ["--principal", "alice", "--per-minute", "99999999"],
        ["--principal", "zed", "--per-minute", "3"],
        ["--principal", "Alice", "--per-minute", "3"],
        ["--tool", "calc__nope", "--per-minute", "3"],
        ["--principal", "alice", "--tool", "calc__add", "--per-minute", "3"],
        ["--per-minute", "3"],
    ],
)
def test_limits_set_refuses_bad_input_and_changes_nothing(finance: Plane, args: list[str]) -> None:
    finance.ok("limits", "set", "--principal", "alice", "--per-minute", "30")
    before = finance.snapshot()

    code, _, _ = finance.run("limits", "set", *args)

    assert code == 2
    assert finance.snapshot() == before
