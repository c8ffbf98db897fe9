"""Prices: ``steward prices set`` and the prices ``steward apply`` sets (tools, and prompts and resources, free by
default), and how an admin command finds the registry entry it names."""

from __future__ import annotations

from mcp_steward.domain.known import closest
from mcp_steward.domain.money import MAX_MICROS, format_credits
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.registry import Primitive, ToolRecord, entry_id
from mcp_steward.services.admin.ports import AdminPorts, AdminRefusedError

#: The command group that administers each primitive (resource templates are administered as resources).
COMMAND = {
    Primitive.TOOL: "tools",
    Primitive.PROMPT: "prompts",
    Primitive.RESOURCE: "resources",
    Primitive.RESOURCE_TEMPLATE: "resources",
}


def kind_of(family: Primitive, name: str) -> Primitive:
    """The primitive an admin command's ``name`` names: under ``resources``, a name with ``{`` is a template."""
    if family is Primitive.RESOURCE and "{" in name:
        return Primitive.RESOURCE_TEMPLATE
    return family


def known_entry(ports: AdminPorts, name: str, family: Primitive = Primitive.TOOL) -> ToolRecord:
    """The registry entry of ``family`` an admin names by its exposed name (a tool's or a prompt's) or exposed URI
    (a resource's or a template's), whatever its status.

    Raises:
        AdminRefusedError: the registry has no such entry (the refusal names the closest one it has).
    """
    kind = kind_of(family, name)
    catalog = ports.registry.catalog()
    record = catalog.entry(entry_id(kind, name))
    if record is None:
        known = [*catalog.entries(kind), *(catalog.templates if family is Primitive.RESOURCE else ())]
        similar = closest(name, known)
        hint = f" (did you mean {similar!r}?)" if similar is not None else ""
        raise AdminRefusedError(f"no {kind.family.value} {name!r}{hint} (see 'steward {COMMAND[kind]} list')")
    return record


def known_tool(ports: AdminPorts, name: str) -> ToolRecord:
    """The tool named ``name``, whatever its status.

    Raises:
        AdminRefusedError: the registry has no such tool.
    """
    return known_entry(ports, name, Primitive.TOOL)


def set_price(
    ports: AdminPorts, tool: str | ToolRecord, price: Price, family: Primitive = Primitive.TOOL
) -> ToolRecord:
    """Price a registry entry (a tool by default; by name, or the record a plan read); audited as ``prices.set``
    with the previous price. The entry's record before the change.

    Raises:
        AdminRefusedError: the most a call could cost is too large, or there is no such entry.
    """
    if price.maximum > MAX_MICROS:
        raise AdminRefusedError(f"the most a call could cost ({format_credits(price.maximum)} credits) is too large")
    record = known_entry(ports, tool, family) if isinstance(tool, str) else tool
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
