"""Budgets and rate limits: ``steward budgets set``, ``steward limits set`` and what ``steward apply`` sets and
prunes. Limits take effect from the current period (the ports' clock)."""

from __future__ import annotations

from mcp_steward.domain.budgets import MAX_PER_MINUTE, Owner, OwnerKind, Period, RateLimit, RateScope, period_of
from mcp_steward.domain.money import Micros
from mcp_steward.domain.ports import LimitBelowUsageError
from mcp_steward.services.admin.ports import AdminPorts, AdminRefusedError, entity
from mcp_steward.services.admin.pricing import known_tool


def known_team(ports: AdminPorts, name: str) -> str:
    """A team the plane holds.

    Raises:
        AdminRefusedError: a name that breaks the naming rule, or no such team.
    """
    team = entity(name, "team")
    if team not in dict(ports.keys.teams()):
        raise AdminRefusedError(
            f"no team {team!r} (teams are created by 'steward keys create'; see 'steward teams list')"
        )
    return team


def team_of(ports: AdminPorts, name: str, team: str | None = None) -> str:
    """The principal's team.

    Raises:
        AdminRefusedError: the principal does not exist or belongs to another team than ``team``.
    """
    principal = entity(name, "principal")
    found = ports.keys.principal(principal)
    if found is None:
        raise AdminRefusedError(f"no principal {principal!r} (principals are created by 'steward keys create')")
    if team is not None and found != team:
        raise AdminRefusedError(f"principal {principal} belongs to team {found}, not {team}")
    return found


def set_budget(
    ports: AdminPorts, team: str, limit: Micros, *, principal: str | None = None, planned: bool = False
) -> Period:
    """Set a team's monthly limit, or (``principal``) a principal's cap within it, from the current period;
    audited as ``budgets.set``. The period it applies from.

    ``planned``: the team and principal were checked by a plan (``steward apply``).

    Raises:
        AdminRefusedError: no such team, the principal is not in it, or the period already holds more than ``limit``.
    """
    if not planned:
        team = known_team(ports, team)
        if principal is not None:
            team_of(ports, principal, team)
    if limit < 0:
        raise AdminRefusedError("a limit cannot be negative")
    owner = Owner(OwnerKind.PRINCIPAL, principal) if principal else Owner(OwnerKind.TEAM, team)
    period = period_of(ports.clock())
    ports.acting()
    try:
        ports.budgets.set_limit(owner, team, limit, period)
    except LimitBelowUsageError as exc:
        raise AdminRefusedError(str(exc)) from None
    ports.audit(
        "budgets.set",
        {"owner_kind": owner.kind.value, "owner": owner.name, "limit_micro": limit, "period": period},
        team=team,
        principal=principal,
    )
    return period


def remove_budget(ports: AdminPorts, owner: Owner, team: str, previous: Micros) -> bool:
    """Remove a standing limit or cap (``steward apply --prune``); audited as ``budgets.remove`` with the limit it
    had. Whether there was one."""
    ports.acting()
    if not ports.budgets.remove_limit(owner):
        return False
    ports.audit(
        "budgets.remove",
        {"owner_kind": owner.kind.value, "owner": owner.name, "previous_limit_micro": previous},
        team=team,
        principal=owner.name if owner.kind is OwnerKind.PRINCIPAL else None,
    )
    return True


def set_rate_limit(
    ports: AdminPorts,
    per_minute: int,
    *,
    principal: str | None = None,
    tool: str | None = None,
    team: str | None = None,
    planned: bool = False,
) -> RateLimit:
    """Limit a principal's or a tool's calls a minute (0 clears the limit); audited as ``limits.set``.

    ``planned``: the principal (whose ``team`` the plan gives) or tool was checked by a plan (``steward apply``).

    Raises:
        AdminRefusedError: ``per_minute`` out of range, or no such principal or tool.
    """
    if not 0 <= per_minute <= MAX_PER_MINUTE:
        raise AdminRefusedError(f"per_minute must be between 0 and {MAX_PER_MINUTE}")
    if principal is not None:
        scope, subject = RateScope.PRINCIPAL, principal if planned else entity(principal, "principal")
        if not planned:
            team = team_of(ports, subject)
    elif tool is not None:
        scope, subject = RateScope.TOOL, tool if planned else known_tool(ports, tool).exposed_name
        team = None
    else:
        raise AdminRefusedError("name the limit's subject: a principal or a tool")
    limit = RateLimit(scope, subject, per_minute)
    ports.acting()
    ports.budgets.set_rate_limit(limit)
    by_principal = scope is RateScope.PRINCIPAL
    ports.audit(
        "limits.set",
        {"scope": scope.value, "subject": subject, "per_minute": per_minute},
        team=team if by_principal else None,
        principal=subject if by_principal else None,
        tool=subject if scope is RateScope.TOOL else None,
    )
    return limit
