"""Report commands: ``steward usage`` (spend per team and tool, budget burn) and ``steward audit``.

``steward usage`` reads the month's aggregates (written every 15 minutes by the aggregator function). On the
local plane, which runs no schedule, a month without aggregates is computed from the ledger on the fly and
nothing is written (written rows would go stale, since nothing would refresh them). The teams shown are those
holding an API key plus any team found in the usage. ``--by principal`` groups the month's ledger entries by the
principal that made each call (aggregates are per team and tool only). Amounts are shown with six decimals, as
every listing shows them.

``steward audit --principal P --tool T`` keeps the records about P and T: calls by P or on P's behalf, admin
changes whose subject is P (a grant, cap, rate limit or key of P); calls of T and admin changes of T (a grant
naming T or its server's ``SERVER__*``). An admin record's ``subject`` is whom or what the change was about.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from mcp_steward.adapters.dynamodb_records import iso_utc
from mcp_steward.cli.admin import UsageError
from mcp_steward.cli.target import Target
from mcp_steward.domain.identity import valid_entity_name
from mcp_steward.domain.money import format_credits, money_fields
from mcp_steward.domain.names import EXPOSED_NAME, SEPARATOR, SERVER_NAME
from mcp_steward.domain.records import AuditRecord, LedgerEntry, Outcome
from mcp_steward.domain.usage import PeriodBalance, parse_period, period_of
from mcp_steward.services.usage import UsageReport, usage_report

BAR_WIDTH: Final = 16
KINDS: Final = ("decision", "admin")
_DAY: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


# --- rendering -----------------------------------------------------------------------------------------------


def burn_bar(charged: int, limit: int, width: int = BAR_WIDTH) -> str:
    """``████████░░░░░░░░`` for half the limit charged; full (never longer) at or over the limit."""
    filled = min(width, max(0, charged * width // limit)) if limit > 0 else 0
    return "█" * filled + "░" * (width - filled)


def burn_line(team: str, budget: PeriodBalance | None, name_width: int = 0) -> str:
    """``finance  ████████░░░░░░░░  52%  52.100000 / 100.000000 credits`` (reserved and available after it)."""
    name = team.ljust(name_width)
    if budget is None:
        return f"{name}  no budget"
    percent = f"{budget.burn_percent}%".rjust(4)
    line = f"{name}  {burn_bar(budget.charged, budget.limit)} {percent}  "
    line += f"{format_credits(budget.charged)} / {format_credits(budget.limit)} credits"
    return (
        line + f"  (reserved {format_credits(budget.reserved)}, available {format_credits(budget.available)})"
        if budget.reserved
        else line
    )


def _table(rows: list[dict[str, Any]], columns: list[str]) -> list[str]:
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip()]
    lines += ["  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns).rstrip() for r in rows]
    return lines


def _budget_json(budget: PeriodBalance | None) -> dict[str, Any] | None:
    if budget is None:
        return None
    return {
        "materialized": budget.materialized,
        "burn_percent": budget.burn_percent,
        **money_fields("limit", budget.limit),
        **money_fields("charged", budget.charged),
        **money_fields("reserved", budget.reserved),
        **money_fields("available", budget.available),
    }


def usage_rows(report: UsageReport) -> list[dict[str, Any]]:
    """One object per team: its spend per tool and its budget (``null`` without one). Keys are stable."""
    return [
        {
            "team": team.team,
            "period": report.period,
            "source": report.source,
            "calls": team.calls,
            **money_fields("cost", team.cost_micros),
            "tools": [
                {
                    "tool": t.tool,
                    "calls": t.calls,
                    "units": t.units,
                    "errors": t.errors,
                    **money_fields("cost", t.cost_micros),
                }
                for t in team.tools
            ],
            "budget": _budget_json(team.budget),
        }
        for team in report.teams
    ]


def usage_text(report: UsageReport) -> list[str]:
    source = "aggregates" if report.source == "aggregates" else "computed from the ledger (no aggregates yet)"
    lines = [f"Usage {report.period} ({source})"]
    spend = [
        {
            "team": team.team,
            "tool": t.tool,
            "calls": t.calls,
            "units": t.units,
            "errors": t.errors,
            "cost": format_credits(t.cost_micros),
        }
        for team in report.teams
        for t in team.tools
    ]
    lines += _table(spend, ["team", "tool", "calls", "units", "errors", "cost"]) if spend else ["(no calls)"]
    lines += ["", f"Budgets {report.period}"]
    width = max((len(team.team) for team in report.teams), default=0)
    lines += [burn_line(team.team, team.budget, width) for team in report.teams] or ["(no teams)"]
    return lines


def principal_rows(period: str, entries: Iterable[LedgerEntry]) -> list[dict[str, Any]]:
    """One object per team and principal (the one that made the calls): its spend per tool. Keys are stable."""
    spend: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0, 0]))
    for entry in entries:
        cell = spend[(entry.team, entry.principal)][entry.tool]
        cell[0] += 1
        cell[1] += entry.cost_micros
        cell[2] += entry.units
        cell[3] += entry.outcome is not Outcome.OK
    rows = []
    for (team, principal), tools in sorted(spend.items()):
        rows.append(
            {
                "team": team,
                "principal": principal,
                "period": period,
                "source": "ledger",
                "calls": sum(cell[0] for cell in tools.values()),
                **money_fields("cost", sum(cell[1] for cell in tools.values())),
                "tools": [
                    {"tool": tool, "calls": calls, "units": units, "errors": errors, **money_fields("cost", cost)}
                    for tool, (calls, cost, units, errors) in sorted(tools.items())
                ],
            }
        )
    return rows


def principal_text(period: str, rows: list[dict[str, Any]]) -> list[str]:
    spend = [{"team": row["team"], "principal": row["principal"], **tool} for row in rows for tool in row["tools"]]
    columns = ["team", "principal", "tool", "calls", "units", "errors", "cost"]
    return [f"Usage {period} by principal (from the ledger)"] + (_table(spend, columns) if spend else ["(no calls)"])


# --- commands ------------------------------------------------------------------------------------------------


def _teams(target: Target) -> set[str]:
    return {str(record.team) for record in target.keys.records()}


def usage(target: Target, args: argparse.Namespace) -> None:
    team = args.team
    if team is not None and not valid_entity_name(team):
        raise UsageError(f"team {team!r} must match ^[a-z0-9][a-z0-9._-]{{0,63}}$")
    period = args.period or period_of(datetime.now(UTC))
    try:
        parse_period(period)
    except ValueError:
        raise UsageError(f"--period {period!r} must be YYYY-MM") from None
    if args.by == "principal":
        first, last = parse_period(period)
        end = min(last, datetime.now(UTC).date())
        entries = target.records.ledger(team, first, end) if end >= first else []
        rows = principal_rows(period, entries)
        if args.json:
            print(json.dumps(rows, indent=2, sort_keys=True, ensure_ascii=False))
        else:
            print("\n".join(principal_text(period, rows)))
        return
    report = usage_report(
        period,
        aggregates=target.aggregates,
        periods=target.periods,
        teams=_teams(target) if team is None else (),
        team=team,
        ledger=target.records if target.local else None,
    )
    if args.json:
        print(json.dumps(usage_rows(report), indent=2, sort_keys=True, ensure_ascii=False))
    else:
        print("\n".join(usage_text(report)))


def _instant(text: str, option: str, *, end_of_day: bool) -> datetime:
    """``YYYY-MM-DD`` (the start of that UTC day, or its last microsecond for ``--until``) or ISO 8601."""
    try:
        if _DAY.fullmatch(text):
            day = date.fromisoformat(text)
            return datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} {text!r} is not an ISO 8601 date-time or YYYY-MM-DD") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _detail(detail: dict[str, Any]) -> dict[str, Any]:
    """Amounts in micros gain their decimal-credit twin (``cost_micros`` → ``cost``)."""
    shown = dict(detail)
    for key, value in detail.items():
        if key.endswith("_micro") and isinstance(value, int) and not isinstance(value, bool):
            shown.update(money_fields(key.removesuffix("_micro"), value))
    return shown


def subject(record: AuditRecord) -> str | None:
    """Whom or what an admin change was about (``principal alice``, ``team finance``, ``tool calc__add``,
    ``server calc``, ``key K``, ``secret S``), from its record; None for a call's decision and for changes about
    nothing in particular (``config.apply``)."""
    if record.kind != "admin":
        return None
    detail = record.detail
    for kind_key, name_key in (("subject_kind", "subject"), ("owner_kind", "owner"), ("scope", "subject")):
        kind, name = detail.get(kind_key), detail.get(name_key)
        if isinstance(kind, str) and isinstance(name, str):
            return f"{kind} {name}"
    if record.principal:
        return f"principal {record.principal}"
    if record.tool:
        return f"tool {record.tool}"
    for key, label in (("server", "server"), ("key_id", "key"), ("secret_id", "secret")):
        if isinstance(detail.get(key), str):
            return f"{label} {detail[key]}"
    return f"team {record.team}" if record.team else None


def _tool_of(record: AuditRecord) -> str | None:
    """The tool a record names: a call's, or an admin change's (a grant's pattern, ``SERVER__*`` included)."""
    named = record.detail.get("tool") if record.kind == "admin" else None
    return record.tool or (named if isinstance(named, str) else None)


def about_principal(record: AuditRecord, principal: str) -> bool:
    """A call by ``principal`` or on its behalf, or an admin change about it."""
    on_behalf = record.detail.get("on_behalf_of") if record.kind == "admin" else None
    return principal in (record.principal, record.obo, on_behalf) or subject(record) == f"principal {principal}"


def about_tool(record: AuditRecord, tool: str) -> bool:
    """A call of ``tool``, or an admin change of it (or of a pattern covering it: ``SERVER__*``)."""
    named = _tool_of(record)
    if named is None:
        return subject(record) == f"tool {tool}"
    if named.endswith(f"{SEPARATOR}*"):
        return tool.startswith(named[:-1])
    return named == tool


def audit_row(record: AuditRecord) -> dict[str, Any]:
    return {
        "at": iso_utc(record.at),
        "kind": record.kind,
        "request_id": record.request_id,
        "principal": record.principal,
        "obo": record.obo,
        "team": record.team,
        "tool": record.tool,
        "decision": record.decision.value if record.decision is not None else None,
        "reason": record.reason,
        "actor": record.actor,
        "action": record.action,
        "subject": subject(record),
        "detail": _detail(record.detail),
    }


def audit(target: Target, args: argparse.Namespace) -> None:
    if args.kind is not None and args.kind not in KINDS:
        raise UsageError(f"--kind {args.kind!r} must be one of {', '.join(KINDS)}")
    now = datetime.now(UTC)
    since = _instant(args.since, "--since", end_of_day=False) if args.since else now - timedelta(days=1)
    until = _instant(args.until, "--until", end_of_day=True) if args.until else None
    if until is not None and until < since:
        raise UsageError("--until is before --since")
    if args.principal is not None and not valid_entity_name(args.principal):
        raise UsageError(f"--principal {args.principal!r} must match ^[a-z0-9][a-z0-9._-]{{0,63}}$")
    if args.tool is not None and not _tool_name(args.tool):
        raise UsageError(f"--tool {args.tool!r} must be an exposed tool name or SERVER__*")
    records = target.records.audit(since, until, args.kind)
    if args.principal is not None:
        records = [record for record in records if about_principal(record, args.principal)]
    if args.tool is not None:
        records = [record for record in records if about_tool(record, args.tool)]
    rows = [audit_row(record) for record in records]
    if args.json:
        print(json.dumps(rows, indent=2, sort_keys=True, ensure_ascii=False))
        return
    if not rows:
        print("(none)")
        return
    shown = [
        {
            **row,
            # an admin record's principal is the subject of the change; who made it is the actor
            "who": (row["actor"] if row["kind"] == "admin" else row["principal"]) or "",
            "what": row["decision"] or row["action"] or "",
            "tool": _tool_of(record) or "",
            "team": row["team"] or "",
            "subject": row["subject"] or "",
            "reason": row["reason"] or "",
        }
        for row, record in zip(rows, records, strict=True)
    ]
    columns = ["at", "kind", "request_id", "who", "team", "tool", "what", "subject", "reason"]
    print("\n".join(_table(shown, columns)))


def _tool_name(text: str) -> bool:
    server, separator, rest = text.partition(SEPARATOR)
    wildcard = bool(separator) and rest == "*" and SERVER_NAME.fullmatch(server) is not None
    return wildcard or EXPOSED_NAME.fullmatch(text) is not None


__all__ = [
    "about_principal",
    "about_tool",
    "audit",
    "audit_row",
    "burn_bar",
    "burn_line",
    "principal_rows",
    "principal_text",
    "subject",
    "usage",
    "usage_rows",
    "usage_text",
]
