"""Admin commands for money and pace: ``teams list``, ``prices set``, ``budgets set|show``, ``limits set|list``.

Amounts on the command line are decimal credits (at most six decimals); listings show money as ``*_micros``
integers beside decimal strings. Every check runs before the first write, so refused input (exit 2) changes
nothing; every change is followed by an admin audit record naming who made it.
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import UTC, datetime
from typing import Any, Final

from mcp_steward.cli.admin import UsageError, _emit, ports
from mcp_steward.cli.target import Target
from mcp_steward.domain.budgets import MAX_PER_MINUTE, OwnerKind, Period, period_of
from mcp_steward.domain.money import AmountError, Micros, format_credits, money_fields, parse_credits
from mcp_steward.domain.pricing import MAX_UNITS, Price
from mcp_steward.domain.registry import Primitive
from mcp_steward.services.admin.budgets import known_team, set_budget, set_rate_limit
from mcp_steward.services.admin.pricing import set_price

_COUNT: Final = re.compile(r"[0-9]{1,7}")


def _credits(value: str, option: str) -> Micros:
    try:
        return parse_credits(value)
    except AmountError as exc:
        raise UsageError(f"{option}: {exc}") from None


def _count(value: str, option: str, maximum: int) -> int:
    """A whole number from 0 to ``maximum``, written in plain digits (no sign, exponent or decimals)."""
    if _COUNT.fullmatch(value.strip()) is None or int(value) > maximum:
        raise UsageError(f"{option} {value!r} must be a whole number from 0 to {maximum}")
    return int(value)


def _print_json(rows: list[dict[str, Any]]) -> None:
    print(json.dumps(rows, indent=2, sort_keys=True, ensure_ascii=False))


def _current_period() -> Period:
    return period_of(datetime.now(UTC))


def _figures(
    period: str, materialized: bool, limit: int, available: int, reserved: int, charged: int
) -> dict[str, Any]:
    """A period's figures. ``materialized`` is False before the period's first priced call (no period item
    yet): the standing limit then stands in, all of it available."""
    return {
        "period": period,
        "materialized": materialized,
        **money_fields("limit", limit),
        **money_fields("available", available),
        **money_fields("reserved", reserved),
        **money_fields("charged", charged),
    }


# --- teams ---------------------------------------------------------------------------------------------------


def teams_list(target: Target, args: argparse.Namespace) -> None:
    """``[{"team", "principals", "budget": null | {"period", "materialized", limit/available/reserved/charged}}]``."""
    period = _current_period()
    rows: list[dict[str, Any]] = []
    for team, principals in target.keys.teams():
        b = target.periods.balance(team, period)
        budget = None if b is None else _figures(period, b.materialized, b.limit, b.available, b.reserved, b.charged)
        rows.append({"team": team, "principals": principals, "budget": budget})
    if args.json:
        _print_json(rows)
        return
    shown = [
        {
            "team": row["team"],
            "principals": row["principals"],
            "limit": row["budget"]["limit"] if row["budget"] else "no budget",
            "available": row["budget"]["available"] if row["budget"] else "",
            "charged": row["budget"]["charged"] if row["budget"] else "",
        }
        for row in rows
    ]
    print(f"Teams (budgets for {period}, credits)")
    _emit(shown, False, ["team", "principals", "limit", "available", "charged"])


# --- prices --------------------------------------------------------------------------------------------------


def price_fields(price: Price) -> dict[str, Any]:
    """A price as listings show it: ``price``, ``unit_price`` (money pairs), ``max_units``, ``max_cost``."""
    return {
        **money_fields("price", price.price),
        **money_fields("unit_price", price.unit_price),
        "max_units": price.max_units,
        **money_fields("max_cost", price.maximum),
    }


def prices_set(target: Target, args: argparse.Namespace) -> None:
    price = _credits(args.price, "--price")
    if (args.unit_price is None) != (args.max_units is None):
        raise UsageError("--unit-price and --max-units go together (without both, metering is cleared)")
    unit_price = _credits(args.unit_price, "--unit-price") if args.unit_price is not None else Micros(0)
    max_units = _count(args.max_units, "--max-units", MAX_UNITS) if args.max_units is not None else 0
    new = Price(price, unit_price, max_units)
    named = [(family, name) for family, name in _priced(args) if name is not None]
    if len(named) != 1:
        raise UsageError("name one tool (TOOL), --prompt NAME or --resource URI")
    family, name = named[0]
    tool = set_price(ports(target), name, new, family)
    metering = (
        f" + {format_credits(new.unit_price)} a unit, up to {new.max_units} units"
        if new.max_units
        else " (no metering)"
    )
    what = tool.public_name if tool.kind is Primitive.TOOL else f"{tool.kind.value} {tool.public_name}"
    unit = {Primitive.TOOL: "call", Primitive.PROMPT: "get"}.get(tool.kind, "read")
    print(f"priced {what}: {format_credits(new.price)} credits a {unit}{metering}")


def _priced(args: argparse.Namespace) -> list[tuple[Primitive, str | None]]:
    """What ``steward prices set`` names: a tool (positional), a prompt or a resource (or template)."""
    return [
        (Primitive.TOOL, args.tool),
        (Primitive.PROMPT, getattr(args, "prompt", None)),
        (Primitive.RESOURCE, getattr(args, "resource", None)),
    ]


# --- budgets -------------------------------------------------------------------------------------------------


def budgets_set(target: Target, args: argparse.Namespace) -> None:
    limit = _credits(args.limit, "--limit")
    principal = args.principal
    period = set_budget(ports(target), args.team, limit, principal=principal)
    what = f"principal {principal}'s monthly cap" if principal else f"team {args.team}'s monthly limit"
    print(f"set {what} to {format_credits(limit)} credits (from {period})")


def budget_rows(target: Target, team: str | None = None) -> list[dict[str, Any]]:
    """Each standing limit (team) and cap (principal) with the current period's figures."""
    period = _current_period()
    rows = []
    for owner, owner_team, standing in target.budgets.limits():
        if team is not None and owner_team != team:
            continue
        c = target.budgets.period_budget(owner, period)
        figures = (
            _figures(period, True, c.limit, c.available, c.reserved, c.charged)
            if c is not None
            else _figures(period, False, standing, standing, 0, 0)
        )
        rows.append(
            {
                "owner_kind": owner.kind.value,
                "team": owner_team,
                "principal": owner.name if owner.kind is OwnerKind.PRINCIPAL else None,
                **money_fields("standing_limit", standing),
                **figures,
            }
        )
    return sorted(rows, key=lambda r: (r["team"], r["owner_kind"] != "team", r["principal"] or ""))


def budgets_show(target: Target, args: argparse.Namespace) -> None:
    team = known_team(ports(target), args.team) if args.team is not None else None
    rows = budget_rows(target, team)
    if args.json:
        _print_json(rows)
        return
    shown = [{**row, "principal": row["principal"] or "(team)"} for row in rows]
    print(f"Budgets {_current_period()} (credits)")
    _emit(shown, False, ["team", "principal", "standing_limit", "limit", "available", "reserved", "charged"])


# --- rate limits ---------------------------------------------------------------------------------------------


def limits_set(target: Target, args: argparse.Namespace) -> None:
    per_minute = _count(args.per_minute, "--per-minute", MAX_PER_MINUTE)
    limit = set_rate_limit(ports(target), per_minute, principal=args.principal, tool=args.tool)
    if per_minute:
        print(f"{limit.scope.value} {limit.subject} may make {per_minute} calls a minute")
    else:
        print(f"cleared the rate limit of {limit.scope.value} {limit.subject}")


def limits_list(target: Target, args: argparse.Namespace) -> None:
    rows = [
        {"scope": limit.scope.value, "subject": limit.subject, "per_minute": limit.per_minute}
        for limit in target.budgets.rate_limits()
    ]
    if args.json:
        _print_json(rows)
        return
    _emit(rows, False, ["scope", "subject", "per_minute"])


__all__ = [
    "budget_rows",
    "budgets_set",
    "budgets_show",
    "limits_list",
    "limits_set",
    "price_fields",
    "prices_set",
    "teams_list",
]
