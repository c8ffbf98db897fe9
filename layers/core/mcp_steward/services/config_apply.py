"""``steward apply``: read a plane's state, plan the changes a configuration file asks for, and make them.

Servers are registered first (their tools can only be reviewed once listed), then the state is read and
planned again, and the rest is applied in order: delegation policies, principals, approvals and prices,
grants, budgets, rate limits. A plan with refusals changes nothing (after registration: nothing more). Every
change goes through the ports and is followed by its admin audit record, with the same action and detail as
the matching ``steward`` command; a run that changed something ends with a ``config.apply`` record.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from mcp_steward.domain.budgets import Owner, OwnerKind, RateLimit, RateScope, period_of
from mcp_steward.domain.config_file import StewardFile
from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.money import Micros
from mcp_steward.domain.names import ServerName
from mcp_steward.domain.ports import BudgetLedger, ConcurrentChangeError, GrantStore, Registry
from mcp_steward.services.config_changes import (
    AddGrant,
    AddPrincipal,
    ApproveTool,
    Change,
    Issue,
    Plan,
    PlaneState,
    RegisterServer,
    RemoveBudget,
    RemoveGrant,
    SetBudget,
    SetDelegation,
    SetPrice,
    SetRateLimit,
)
from mcp_steward.services.config_plan import compute_plan
from mcp_steward.services.delegation_policy import set_delegation
from mcp_steward.services.registration import approve


class Directory(Protocol):
    """Principals and teams (the key stores)."""

    def members(self) -> dict[str, str]: ...

    def teams(self) -> list[tuple[str, int]]: ...

    def ensure_principal(self, principal: str, team: str) -> str: ...


class AuditSink(Protocol):
    """Writes one admin audit record (``Target.record_admin``)."""

    def __call__(
        self,
        action: str,
        detail: dict[str, Any],
        *,
        team: str | None = None,
        principal: str | None = None,
        tool: str | None = None,
    ) -> object: ...


class ConfigConflictError(Exception):
    """The plane changed while the plan was applied (a principal created in another team meanwhile)."""


@dataclass
class ConfigPorts:
    directory: Directory
    registry: Registry
    grants: GrantStore
    budgets: BudgetLedger
    #: The template logical IDs this plane can register.
    functions: Collection[str]
    #: Registers (or registers again) a server and audits it, as ``steward servers add`` does.
    register: Callable[[RegisterServer], object]
    audit: AuditSink
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    #: Where this plane's vendor credentials must live (``<stack>/vendor/``).
    vendor_secret_prefix: str = ""


def read_state(ports: ConfigPorts, desired: StewardFile | None = None) -> PlaneState:
    """A snapshot of what a configuration file describes (and this period's usage of the file's budgets)."""
    period = period_of(ports.clock())
    limits = {owner: (team, limit) for owner, team, limit in ports.budgets.limits()}
    held: dict[Owner, Micros] = {}
    for spec in desired.budgets if desired is not None else ():
        budget = ports.budgets.period_budget(spec.owner, period)
        if budget is not None:
            held[spec.owner] = Micros(budget.reserved + budget.charged)
    return PlaneState(
        members=ports.directory.members(),
        teams=frozenset(team for team, _ in ports.directory.teams()),
        catalog=ports.registry.catalog(),
        grants=frozenset(ports.grants.all()),
        limits=limits,
        held=held,
        rate_limits={(limit.scope, limit.subject): limit.per_minute for limit in ports.budgets.rate_limits()},
        functions=frozenset(ports.functions),
        vendor_secret_prefix=ports.vendor_secret_prefix,
    )


def plan(desired: StewardFile, ports: ConfigPorts, *, prune: bool = False) -> Plan:
    """What ``apply`` would do now (``--dry-run``)."""
    return compute_plan(desired, read_state(ports, desired), prune=prune)


@dataclass(frozen=True, slots=True)
class ApplyResult:
    plan: Plan  # the plan applied (after registration), with its held approvals and refusals
    applied: tuple[Change, ...]
    #: Approvals skipped at apply time because the tool changed after it was planned.
    skipped: tuple[Issue, ...] = ()

    @property
    def refused(self) -> bool:
        return bool(self.plan.refusals)


def apply(desired: StewardFile, ports: ConfigPorts, *, prune: bool = False, file_digest: str = "") -> ApplyResult:
    """Make the plane match ``desired``.

    Raises:
        ConfigConflictError: the plane changed under the apply (what was applied before stays applied).
        RegistrationError: a server could not be registered or a tool approved (likewise).
        StoreUnavailableError: a store could not answer (likewise).
    """
    first = plan(desired, ports, prune=prune)
    if first.refusals:
        return ApplyResult(first, ())
    applied: list[Change] = []
    for registration in first.registrations:
        ports.register(registration)
        applied.append(registration)
    current = plan(desired, ports, prune=prune) if applied else first
    skipped: list[Issue] = []
    if not current.refusals:
        for change in current.changes:
            if isinstance(change, RegisterServer):  # registered just now and still not as the file says
                skipped.append(Issue(f"servers.{change.server}", "registered, but not as the file says"))
                continue
            issue = _execute(change, ports)
            if issue is None:
                applied.append(change)
            else:
                skipped.append(issue)
    if applied:
        ports.audit(
            "config.apply",
            {
                "changes": len(applied),
                "held": len(current.held) + len(skipped),
                "prune": prune,
                "file_sha256": file_digest,
            },
        )
    return ApplyResult(current, tuple(applied), tuple(skipped))


def _execute(change: Change, ports: ConfigPorts) -> Issue | None:
    """Make one change and audit it; an Issue when it was not made."""
    match change:
        case RegisterServer():
            raise AssertionError("servers are registered before the other changes")
        case SetDelegation(server=server, policy=policy):
            set_delegation(ports.registry, ports.audit, ServerName(server), policy)
        case AddPrincipal(principal=principal, team=team):
            stands = ports.directory.ensure_principal(principal, team)
            if stands != team:
                raise ConfigConflictError(f"principal {principal} was created in team {stands} meanwhile")
            ports.audit("principals.add", {"principal": principal, "team": team}, team=team, principal=principal)
        case ApproveTool(record=record, server=server, acknowledged=acknowledged):
            latest = next(
                (t for t in ports.registry.tools_of(server.name) if t.exposed_name == record.exposed_name), None
            )
            if latest is None or latest.current_hash != record.current_hash:
                return Issue(record.exposed_name, "its definition changed after the plan: not approved")
            approved = approve(latest, server)
            try:
                ports.registry.put_tool(approved)  # only if the tool is still the one just read
            except ConcurrentChangeError:
                return Issue(record.exposed_name, "it changed while it was being approved (a sync ran?): not approved")
            ports.audit(
                "tools.approve",
                {
                    "previous_status": latest.status.value,
                    "pinned_hash": approved.pinned_hash,
                    "pinned_version": approved.pinned_version,
                    "acknowledged": list(acknowledged),
                },
                tool=record.exposed_name,
            )
        case SetPrice(record=record, price=price):
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
        case AddGrant(grant=grant):
            ports.grants.add(grant)
            _audit_grant(ports, "grants.add", grant)
        case RemoveGrant(grant=grant):
            if ports.grants.remove(grant):
                _audit_grant(ports, "grants.remove", grant)
        case SetBudget(owner=owner, team=team, limit=limit):
            period = period_of(ports.clock())
            ports.budgets.set_limit(owner, team, limit, period)
            ports.audit(
                "budgets.set",
                {"owner_kind": owner.kind.value, "owner": owner.name, "limit_micro": limit, "period": period},
                team=team,
                principal=owner.name if owner.kind is OwnerKind.PRINCIPAL else None,
            )
        case RemoveBudget(owner=owner, team=team, previous=previous):
            if ports.budgets.remove_limit(owner):
                ports.audit(
                    "budgets.remove",
                    {"owner_kind": owner.kind.value, "owner": owner.name, "previous_limit_micro": previous},
                    team=team,
                    principal=owner.name if owner.kind is OwnerKind.PRINCIPAL else None,
                )
        case SetRateLimit(scope=scope, subject=subject, per_minute=per_minute, team=team):
            ports.budgets.set_rate_limit(RateLimit(scope, subject, per_minute))
            by_principal = scope is RateScope.PRINCIPAL
            ports.audit(
                "limits.set",
                {"scope": scope.value, "subject": subject, "per_minute": per_minute},
                team=team if by_principal else None,
                principal=subject if by_principal else None,
                tool=subject if scope is RateScope.TOOL else None,
            )
    return None


def _audit_grant(ports: ConfigPorts, action: str, grant: Grant) -> None:
    ports.audit(
        action,
        {"subject_kind": grant.subject_kind.value, "subject": grant.subject, "tool": grant.pattern},
        team=grant.subject if grant.subject_kind is SubjectKind.TEAM else None,
        principal=grant.subject if grant.subject_kind is SubjectKind.PRINCIPAL else None,
    )
