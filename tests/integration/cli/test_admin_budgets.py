"""``steward budgets set|show``: a team's monthly limit and a principal's cap, applied to the current period
item too, never below what is charged and reserved; JSON shapes; audit records; refused input changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mcp_steward.domain.budgets import (
    Owner,
    OwnerKind,
    PeriodMissing,
    Reservation,
    ReservationRequest,
    period_of,
)
from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.identity import Principal, PrincipalId, TeamName
from mcp_steward.domain.money import Micros
from mcp_steward.domain.pricing import Price
from tests.integration.cli.conftest import ACTOR, CREDIT, Plane

pytestmark = pytest.mark.moto

ROW_KEYS = {
    "owner_kind",
    "team",
    "principal",
    "period",
    "materialized",
    *(
        f"{name}{suffix}"
        for name in ("standing_limit", "limit", "available", "reserved", "charged")
        for suffix in ("", "_micro")
    ),
}
TEAM = Owner(OwnerKind.TEAM, "finance")


def reserve(plane: Plane, credits: int, *, cap: bool = False) -> Reservation:
    """alice calls calc__add priced at ``credits``: the hold a call in flight keeps on the budget."""
    grant = Grant(SubjectKind.PRINCIPAL, "alice", "calc__*")
    plane.target.grants.add(grant)
    now = datetime.now(UTC)
    request = ReservationRequest(
        request_id=f"r-{now.timestamp()}",
        principal=Principal(PrincipalId("alice"), TeamName("finance")),
        tool="calc__add",
        server="calc",
        grants=(grant,),
        price=Price(Micros(credits * CREDIT)),
        team_budget=True,
        cap=cap,
        rate_limits=(),
        idempotency_key=None,
        at=now,
        expires_at=now + timedelta(minutes=1),
    )
    for _ in range(3):  # each owner's period item is created on first use
        try:
            held = plane.target.budgets.reserve(request)
        except PeriodMissing as missing:
            plane.target.budgets.open_period(missing.owner, missing.period)
            continue
        assert isinstance(held, Reservation)
        return held
    raise AssertionError("the period items were not created")


def test_budgets_set_gives_a_team_a_standing_limit_shown_before_its_first_call(finance: Plane) -> None:
    finance.ok("budgets", "set", "--team", "finance", "--limit", "100")

    [row] = finance.json("budgets", "show")

    assert set(row) == ROW_KEYS
    assert row["owner_kind"] == "team"
    assert (row["team"], row["principal"]) == ("finance", None)
    assert row["period"] == period_of(datetime.now(UTC))
    assert row["materialized"] is False
    assert row["standing_limit_micro"] == row["limit_micro"] == row["available_micro"] == 100 * CREDIT
    assert row["standing_limit"] == "100.000000"
    assert (row["reserved_micro"], row["charged_micro"]) == (0, 0)


def test_a_new_limit_applies_to_the_current_period_and_keeps_what_is_held(finance: Plane) -> None:
    finance.ok("budgets", "set", "--team", "finance", "--limit", "10")
    reserve(finance, 3)

    finance.ok("budgets", "set", "--team", "finance", "--limit", "20.5")

    [row] = finance.json("budgets", "show", "--team", "finance")
    assert row["materialized"] is True
    assert row["limit_micro"] == 20_500_000
    assert row["reserved_micro"] == 3 * CREDIT
    assert row["available_micro"] == 17_500_000
    assert row["available"] == "17.500000"
    budget = finance.target.budgets.period_budget(TEAM, period_of(datetime.now(UTC)))
    assert budget is not None and budget.balanced


def test_lowering_a_limit_below_what_is_charged_and_reserved_is_refused_and_changes_nothing(
    finance: Plane,
) -> None:
    finance.ok("budgets", "set", "--team", "finance", "--limit", "10")
    reserve(finance, 3)
    before = finance.snapshot()

    code, _, err = finance.run("budgets", "set", "--team", "finance", "--limit", "2.999999")

    assert code == 2
    assert "3.000000" in err
    assert finance.snapshot() == before
    finance.ok("budgets", "set", "--team", "finance", "--limit", "3")
    [row] = finance.json("budgets", "show")
    assert (row["limit_micro"], row["available_micro"]) == (3 * CREDIT, 0)


def test_a_principal_cap_is_set_for_a_principal_of_the_team(finance: Plane) -> None:
    finance.ok("budgets", "set", "--team", "finance", "--limit", "100")
    finance.ok("budgets", "set", "--team", "finance", "--principal", "alice", "--limit", "5")
    finance.ok("budgets", "set", "--team", "support", "--limit", "7")

    rows = finance.json("budgets", "show")
    only_finance = finance.json("budgets", "show", "--team", "finance")

    assert [(r["team"], r["owner_kind"], r["principal"]) for r in rows] == [
        ("finance", "team", None),
        ("finance", "principal", "alice"),
        ("support", "team", None),
    ]
    assert rows[1]["limit_micro"] == 5 * CREDIT
    assert only_finance == rows[:2]
    assert "alice" in finance.ok("budgets", "show")


def test_a_cap_is_held_like_the_team_budget_and_cannot_go_below_it(finance: Plane) -> None:
    finance.ok("budgets", "set", "--team", "finance", "--limit", "100")
    finance.ok("budgets", "set", "--team", "finance", "--principal", "alice", "--limit", "5")
    reserve(finance, 4, cap=True)

    code, _, _ = finance.run("budgets", "set", "--team", "finance", "--principal", "alice", "--limit", "3")

    assert code == 2
    cap = next(r for r in finance.json("budgets", "show") if r["principal"] == "alice")
    assert (cap["limit_micro"], cap["reserved_micro"], cap["available_micro"]) == (5 * CREDIT, 4 * CREDIT, CREDIT)


def test_budgets_set_is_audited(finance: Plane) -> None:
    finance.ok("budgets", "set", "--team", "finance", "--principal", "alice", "--limit", "5")

    records = [r for r in finance.admin_records() if r.action == "budgets.set"]

    [record] = records
    assert (record.actor, record.team, record.principal) == (ACTOR, "finance", "alice")
    assert record.detail == {
        "owner_kind": "principal",
        "owner": "alice",
        "limit_micro": 5 * CREDIT,
        "period": period_of(datetime.now(UTC)),
    }


@pytest.mark.parametrize(
    "args",
    [
        ["--team", "nobody", "--limit", "1"],
        ["--team", "Finance", "--limit", "1"],
        ["--team", "finance", "--principal", "bob", "--limit", "1"],
        ["--team", "finance", "--principal", "zed", "--limit", "1"],
        ["--team", "finance", "--principal", "Alice!", "--limit", "1"],
        ["--team", "finance", "--limit", "-1"],
        ["--team", "finance", "--limit", "1e3"],
        ["--team", "finance", "--limit", "0.0000001"],
        ["--team", "finance", "--limit", "1,5"],
        ["--team", "finance", "--limit", "NaN"],
        ["--team", "finance", "--limit", "10000000000000"],
        ["--limit", "1"],
    ],
)
def test_budgets_set_refuses_bad_input_and_changes_nothing(finance: Plane, args: list[str]) -> None:
    finance.ok("budgets", "set", "--team", "finance", "--limit", "100")
    before = finance.snapshot()

    code, _, _ = finance.run("budgets", "set", *args)

    assert code == 2
    assert finance.snapshot() == before


def test_budgets_show_refuses_an_unknown_team(finance: Plane) -> None:
    code, out, err = finance.run("budgets", "show", "--team", "nobody", "--json")

    assert code == 2
    assert out == ""
    assert "no team 'nobody'" in err


def test_budgets_show_lists_nothing_before_any_budget(finance: Plane) -> None:
    assert finance.json("budgets", "show") == []
    assert "(none)" in finance.ok("budgets", "show")
