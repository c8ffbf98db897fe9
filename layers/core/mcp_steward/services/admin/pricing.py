"""Prices: ``steward prices set`` and the prices ``steward apply`` sets."""

from __future__ import annotations

from mcp_steward.domain.money import MAX_MICROS, format_credits
from mcp_steward.domain.names import ExposedName
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.registry import ToolRecord
from mcp_steward.services.admin.ports import AdminPorts, AdminRefusedError


def known_tool(ports: AdminPorts, name: str) -> ToolRecord:
    """The tool named ``name``, whatever its status.

    Raises:
        AdminRefusedError: the registry has no such tool.
    """
    tool = ports.registry.catalog().tools.get(ExposedName(name))
    if tool is None:
        raise AdminRefusedError(f"no tool {name!r} (see 'steward tools list')")
    return tool


def set_price(ports: AdminPorts, tool: str | ToolRecord, price: Price) -> ToolRecord:
    """Price a tool (by name, or the record a plan read); audited as ``prices.set`` with the previous price.
    The tool's record before the change.

    Raises:
        AdminRefusedError: the most a call could cost is too large, or there is no such tool.
    """
    if price.maximum > MAX_MICROS:
        raise AdminRefusedError(f"the most a call could cost ({format_credits(price.maximum)} credits) is too large")
    record = known_tool(ports, tool) if isinstance(tool, str) else tool
    ports.acting()
    ports.registry.set_price(record, price)
    old = record.price
    ports.audit(
        "prices.set",
        {
            "price_micro": price.price,
            "unit_price_micro": price.unit_price,
            "max_units": price.max_units,
            "previous_price_micro": old.price,
            "previous_unit_price_micro": old.unit_price,
            "previous_max_units": old.max_units,
        },
        tool=record.exposed_name,
    )
    return record
