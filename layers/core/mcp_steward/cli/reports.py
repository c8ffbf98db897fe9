"""Report commands: ``steward usage`` (spend per team and tool, budget burn) and ``steward audit``.

``steward usage`` reads the month's aggregates (written every 15 minutes by the aggregator function). On the
local plane, which runs no schedule, a month without aggregates is computed from the ledger on the fly and
nothing is written (written rows would go stale, since nothing would refresh them). The teams shown are those
holding an API key plus any team found in the usage.
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Final

from mcp_steward.adapters.dynamodb_records import iso_utc
from mcp_steward.cli.admin import UsageError
from mcp_steward.cli.target import Target
from mcp_steward.domain.identity import valid_entity_name
from mcp_steward.domain.money import MICROS_PER_CREDIT, money_fields
from mcp_steward.domain.records import AuditRecord
from mcp_steward.domain.usage import PeriodBalance, parse_period, period_of
from mcp_steward.services.usage import UsageReport, usage_report

BAR_WIDTH: Final = 16
KINDS: Final = ("decision", "admin")
_DAY: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


# --- rendering -----------------------------------------------------------------------------------------------


def short_credits(micros: int) -> str:
    """``52_100_000`` → ``"52.10"`` (display only; listings in JSON keep exact micros)."""
    return str((Decimal(micros) / MICROS_PER_CREDIT).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))


def burn_bar(charged: int, limit: int, width: int = BAR_WIDTH) -> str:
    """``████████░░░░░░░░`` for half the limit charged; full (never longer) at or over the limit."""
    filled = min(width, max(0, charged * width // limit)) if limit > 0 else 0
    return "█" * filled + "░" * (width - filled)


def burn_line(team: str, budget: PeriodBalance | None, name_width: int = 0) -> str:
    """``finance  ████████░░░░░░░░  52%  52.10 / 100.00 credits`` (reserved and available after it)."""
    name = team.ljust(name_width)
    if budget is None:
        return f"{name}  no budget"
    percent = f"{budget.burn_percent}%".rjust(4)
    line = f"{name}  {burn_bar(budget.charged, budget.limit)} {percent}  "
    line += f"{short_credits(budget.charged)} / {short_credits(budget.limit)} credits"
    return (
        line + f"  (reserved {short_credits(budget.reserved)}, available {short_credits(budget.available)})"
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
            "cost": short_credits(t.cost_micros),
        }
        for team in report.teams
        for t in team.tools
    ]
    lines += _table(spend, ["team", "tool", "calls", "units", "errors", "cost"]) if spend else ["(no calls)"]
    lines += ["", f"Budgets {report.period}"]
    width = max((len(team.team) for team in report.teams), default=0)
    lines += [burn_line(team.team, team.budget, width) for team in report.teams] or ["(no teams)"]
    return lines


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
    rows = [audit_row(record) for record in target.records.audit(since, until, args.kind)]
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
            "tool": row["tool"] or "",
            "team": row["team"] or "",
            "reason": row["reason"] or "",
        }
        for row in rows
    ]
    print("\n".join(_table(shown, ["at", "kind", "request_id", "who", "team", "tool", "what", "reason"])))


__all__ = ["audit", "audit_row", "burn_bar", "burn_line", "short_credits", "usage", "usage_rows", "usage_text"]
