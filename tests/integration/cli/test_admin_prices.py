"""``steward prices set``: a fixed price with optional metering, shown by ``steward tools list``, audited;
refused input exits 2 and changes nothing."""

from __future__ import annotations

import pytest

from mcp_steward.domain.money import Micros
from mcp_steward.domain.pricing import Price
from tests.integration.cli.conftest import ACTOR, CREDIT, Plane

pytestmark = pytest.mark.moto

TOOL_KEYS = {
    "name",
    "server",
    "upstream_name",
    "status",
    "price",
    "price_micro",
    "unit_price",
    "unit_price_micro",
    "max_units",
}


def prices(plane: Plane) -> dict[str, Price]:
    return {name: tool.price for name, tool in plane.target.registry.catalog().tools.items()}


def test_a_metered_price_is_stored_and_shown_in_tools_list(plane: Plane) -> None:
    plane.ok("prices", "set", "calc__add", "--price", "0.25", "--unit-price", "0.001", "--max-units", "500")

    assert prices(plane)["calc__add"] == Price(Micros(250_000), Micros(1_000), 500)
    rows = {row["name"]: row for row in plane.json("tools", "list")}
    assert set(rows["calc__add"]) == TOOL_KEYS
    assert rows["calc__add"]["price_micro"] == 250_000
    assert rows["calc__add"]["price"] == "0.250000"
    assert rows["calc__add"]["unit_price_micro"] == 1_000
    assert rows["calc__add"]["unit_price"] == "0.001000"
    assert rows["calc__add"]["max_units"] == 500
    assert rows["calc__mul"]["price_micro"] == 0
    assert "0.250000" in plane.ok("tools", "list")


def test_a_price_without_metering_options_clears_metering(plane: Plane) -> None:
    plane.ok("prices", "set", "calc__add", "--price", "1", "--unit-price", "0.5", "--max-units", "4")

    plane.ok("prices", "set", "calc__add", "--price", "2")

    assert prices(plane)["calc__add"] == Price(Micros(2 * CREDIT), Micros(0), 0)


def test_a_pending_tool_can_be_priced_before_approval(plane: Plane) -> None:
    plane.ok("prices", "set", "calc__mul", "--price", "3")

    assert prices(plane)["calc__mul"] == Price(Micros(3 * CREDIT))


def test_prices_set_is_audited_with_old_and_new_prices(plane: Plane) -> None:
    plane.ok("prices", "set", "calc__add", "--price", "1.5")
    plane.ok("prices", "set", "calc__add", "--price", "2", "--unit-price", "0.1", "--max-units", "3")

    first, second = plane.admin_records()
    assert (first.actor, first.action, first.tool) == (ACTOR, "prices.set", "calc__add")
    assert first.detail["price_micro"] == 1_500_000
    assert second.detail == {
        "price_micro": 2 * CREDIT,
        "unit_price_micro": 100_000,
        "max_units": 3,
        "previous_price_micro": 1_500_000,
        "previous_unit_price_micro": 0,
        "previous_max_units": 0,
    }
    [row, _] = plane.json("audit", "--kind", "admin")
    assert row["detail"]["price"] == "1.500000"


@pytest.mark.parametrize(
    "args",
    [
        ["calc__nope", "--price", "1"],
        ["calc__add", "--price", "-1"],
        ["calc__add", "--price", "1e3"],
        ["calc__add", "--price", "0.0000001"],
        ["calc__add", "--price", "one"],
        ["calc__add", "--price", ""],
        ["calc__add", "--price", "1", "--unit-price", "0.1"],
        ["calc__add", "--price", "1", "--max-units", "3"],
        ["calc__add", "--price", "1", "--unit-price", "0.1", "--max-units", "-3"],
        ["calc__add", "--price", "1", "--unit-price", "0.1", "--max-units", "2.5"],
        ["calc__add", "--price", "1", "--unit-price", "0.1", "--max-units", "99999999"],
        ["calc__add", "--price", "1", "--unit-price", "-0.1", "--max-units", "3"],
    ],
)
def test_prices_set_refuses_bad_input_and_changes_nothing(plane: Plane, args: list[str]) -> None:
    before = plane.snapshot()

    code, _, err = plane.run("prices", "set", *args)

    assert code == 2
    assert err.startswith("steward: error:") or "usage:" in err
    assert plane.snapshot() == before
