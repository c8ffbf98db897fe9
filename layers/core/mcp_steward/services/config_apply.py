"""``steward apply``: read a plane's state, plan the changes a configuration file asks for, and make them.

Servers are registered first (their tools can only be reviewed once listed), then the state is read and
planned again, and the rest is applied in order: delegation policies, principals, approvals and prices,
grants, budgets, rate limits. A plan with refusals changes nothing (after registration: nothing more). Every
change is made by the admin operation the matching ``steward`` command calls (:mod:`mcp_steward.services.admin`),
which writes its audit record with the same action and detail; a run that changed something ends with a
``config.apply`` record.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mcp_steward.domain.budgets import Owner, OwnerKind, RateScope, period_of
from mcp_steward.domain.config_file import StewardFile
from mcp_steward.domain.money import Micros
from mcp_steward.domain.names import ServerName
from mcp_steward.domain.ports import BudgetLimits, GrantStore, Registry
from mcp_steward.services.admin import AdminConflictError, AdminPorts, AuditSink, Directory
from mcp_steward.services.admin.budgets import remove_budget, set_budget, set_rate_limit
from mcp_steward.services.admin.grants import add_grant, remove_grant
from mcp_steward.services.admin.keys_and_teams import add_principal
from mcp_steward.services.admin.pricing import set_price
from mcp_steward.services.admin.registry import approve_planned, store_delegation
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


class ConfigConflictError(Exception):
    """The plane changed while the plan was applied (a principal created in another team meanwhile)."""


@dataclass
class ConfigPorts:
    directory: Directory
    registry: Registry
    grants: GrantStore
    budgets: BudgetLimits
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


def admin_ports(ports: ConfigPorts) -> AdminPorts:
    """The admin services' ports for an apply: every change goes through the operation its command uses."""
    return AdminPorts(
        keys=ports.directory,
        registry=ports.registry,
        grants=ports.grants,
        budgets=ports.budgets,
        audit=ports.audit,
        clock=ports.clock,
        vendor_secret_prefix=ports.vendor_secret_prefix,
    )


def _execute(change: Change, ports: ConfigPorts) -> Issue | None:
    """Make one change through its admin service (which audits it); an Issue when it was not made. The plan
    checked the names against the state it read: they are not read again for each change."""
    admin = admin_ports(ports)
    match change:
        case RegisterServer():
            raise AssertionError("servers are registered before the other changes")
        case SetDelegation(server=server, policy=policy):
            store_delegation(admin, ServerName(server), policy)
        case AddPrincipal(principal=principal, team=team):
            try:
                add_principal(admin, principal, team)
            except AdminConflictError as exc:
                raise ConfigConflictError(str(exc)) from None
        case ApproveTool(record=record, server=server, acknowledged=acknowledged):
            why = approve_planned(admin, record, server, acknowledged)
            if why is not None:
                return Issue(record.exposed_name, why)
        case SetPrice(record=record, price=price):
            set_price(admin, record, price)
        case AddGrant(grant=grant):
            add_grant(admin, grant, planned=True)
        case RemoveGrant(grant=grant):
            remove_grant(admin, grant, missing_ok=True)
        case SetBudget(owner=owner, team=team, limit=limit):
            capped = owner.name if owner.kind is OwnerKind.PRINCIPAL else None
            set_budget(admin, team, limit, principal=capped, planned=True)
        case RemoveBudget(owner=owner, team=team, previous=previous):
            remove_budget(admin, owner, team, previous)
        case SetRateLimit(scope=scope, subject=subject, per_minute=per_minute, team=team):
            by_principal = scope is RateScope.PRINCIPAL
            set_rate_limit(
                admin,
                per_minute,
                principal=subject if by_principal else None,
                tool=None if by_principal else subject,
                team=team,
                planned=True,
            )
    return None
