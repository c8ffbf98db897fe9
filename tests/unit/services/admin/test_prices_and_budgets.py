"""Prices, budgets and rate limits through the admin services: each change audited as the CLI always audited it,
a refusal changing nothing."""

from __future__ import annotations

from typing import Any

import pytest

from mcp_steward.domain.budgets import MAX_PER_MINUTE, Owner, OwnerKind, RateLimit, RateScope, period_of
from mcp_steward.domain.money import MAX_MICROS, Micros
from mcp_steward.domain.pricing import MAX_UNITS, Price
from mcp_steward.services.admin import AdminRefusedError
from mcp_steward.services.admin.budgets import remove_budget, set_budget, set_rate_limit
from mcp_steward.services.admin.pricing import set_price
from tests.unit.services.admin.conftest import NOW, Plane

PERIOD = period_of(NOW)


def test_a_price_is_set_and_audited_with_the_previous_one(calc_plane: Plane) -> None:
    set_price(calc_plane.ports, "calc__add", Price(Micros(500_000), Micros(10), 100))

    assert calc_plane.registry.catalog().tools["calc__add"].price == Price(Micros(500_000), Micros(10), 100)  # type: ignore[index]
    assert calc_plane.audit == [
        (
            "prices.set",
            {
                "price_micro": 500_000,
                "unit_price_micro": 10,
                "max_units": 100,
                "previous_price_micro": 0,
                "previous_unit_price_micro": 0,
                "previous_max_units": 0,
            },
            {"team": None, "principal": None, "tool": "calc__add"},
        )
    ]


@pytest.mark.parametrize(
    ("tool", "price", "message"),
    [
        ("calc__ad", Price(Micros(1)), "no tool 'calc__ad'"),
        ("calc__add", Price(Micros(MAX_MICROS), Micros(MAX_MICROS), MAX_UNITS), "is too large"),
    ],
)
def test_a_refused_price_changes_nothing(calc_plane: Plane, tool: str, price: Price, message: str) -> None:
    before = calc_plane.snapshot()

    with pytest.raises(AdminRefusedError, match=message):
        set_price(calc_plane.ports, tool, price)

    assert calc_plane.snapshot() == before


def test_a_budget_and_a_cap_are_set_and_removed(calc_plane: Plane) -> None:
    assert set_budget(calc_plane.ports, "finance", Micros(100_000_000)) == PERIOD
    set_budget(calc_plane.ports, "finance", Micros(10_000_000), principal="alice")
    assert remove_budget(calc_plane.ports, Owner(OwnerKind.PRINCIPAL, "alice"), "finance", Micros(10_000_000))
    assert not remove_budget(calc_plane.ports, Owner(OwnerKind.PRINCIPAL, "alice"), "finance", Micros(10_000_000))

    assert calc_plane.budgets.limits() == [(Owner(OwnerKind.TEAM, "finance"), "finance", 100_000_000)]
    assert calc_plane.audit == [
        (
            "budgets.set",
            {"owner_kind": "team", "owner": "finance", "limit_micro": 100_000_000, "period": PERIOD},
            {"team": "finance", "principal": None, "tool": None},
        ),
        (
            "budgets.set",
            {"owner_kind": "principal", "owner": "alice", "limit_micro": 10_000_000, "period": PERIOD},
            {"team": "finance", "principal": "alice", "tool": None},
        ),
        (
            "budgets.remove",
            {"owner_kind": "principal", "owner": "alice", "previous_limit_micro": 10_000_000},
            {"team": "finance", "principal": "alice", "tool": None},
        ),
    ]


@pytest.mark.parametrize(
    ("team", "principal", "message"),
    [
        ("finanse", None, "no team 'finanse'"),
        ("finance", "bob", "no principal 'bob'"),
        ("Finance", None, "team 'Finance' must match"),
    ],
)
def test_a_refused_budget_changes_nothing(calc_plane: Plane, team: str, principal: str | None, message: str) -> None:
    calc_plane.keys.ensure_principal("bob", "support")
    before = calc_plane.snapshot()
    message = "principal bob belongs to team support, not finance" if principal == "bob" else message

    with pytest.raises(AdminRefusedError, match=message):
        set_budget(calc_plane.ports, team, Micros(1), principal=principal)

    assert calc_plane.snapshot() == before


def test_rate_limits_of_a_principal_and_a_tool(calc_plane: Plane) -> None:
    set_rate_limit(calc_plane.ports, 60, principal="alice")
    set_rate_limit(calc_plane.ports, 5, tool="calc__mul")

    assert set(calc_plane.budgets.rate_limits()) == {
        RateLimit(RateScope.PRINCIPAL, "alice", 60),
        RateLimit(RateScope.TOOL, "calc__mul", 5),
    }
    assert [(a, d, s) for a, d, s in calc_plane.audit] == [
        (
            "limits.set",
            {"scope": "principal", "subject": "alice", "per_minute": 60},
            {"team": "finance", "principal": "alice", "tool": None},
        ),
        (
            "limits.set",
            {"scope": "tool", "subject": "calc__mul", "per_minute": 5},
            {"team": None, "principal": None, "tool": "calc__mul"},
        ),
    ]


@pytest.mark.parametrize(
    ("per_minute", "subject", "message"),
    [
        (MAX_PER_MINUTE + 1, {"principal": "alice"}, "per_minute must be between 0 and"),
        (1, {"principal": "nobody"}, "no principal 'nobody'"),
        (1, {"tool": "calc__nope"}, "no tool 'calc__nope'"),
        (1, {}, "name the limit's subject"),
    ],
)
def test_a_refused_rate_limit_changes_nothing(
    calc_plane: Plane, per_minute: int, subject: dict[str, Any], message: str
) -> None:
    before = calc_plane.snapshot()

    with pytest.raises(AdminRefusedError, match=message):
        set_rate_limit(calc_plane.ports, per_minute, **subject)

    assert calc_plane.snapshot() == before
