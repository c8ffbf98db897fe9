"""What ``steward apply`` plans: a snapshot of a plane (:class:`PlaneState`), the changes that make it match a
configuration file, in the order they are applied, and the issues that stop or hold them (:class:`Plan`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from mcp_steward.domain.budgets import Owner, OwnerKind, RateScope
from mcp_steward.domain.config_file import credits_text
from mcp_steward.domain.egress_policy import normalize_host
from mcp_steward.domain.grants import Grant
from mcp_steward.domain.money import Micros
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.registry import Catalog, DelegationPolicy, ServerKind, ServerRecord, ToolRecord


@dataclass(frozen=True, slots=True)
class PlaneState:
    """What a plane holds that a configuration file describes, read once."""

    members: Mapping[str, str]  # principal → team
    teams: frozenset[str]
    catalog: Catalog
    grants: frozenset[Grant]
    limits: Mapping[Owner, tuple[str, Micros]]  # owner → (team, standing monthly limit)
    #: Charged and reserved in the current period, for the owners whose limit the file sets.
    held: Mapping[Owner, Micros]
    rate_limits: Mapping[tuple[RateScope, str], int]
    functions: frozenset[str]  # the template logical IDs this plane can register
    #: Where this plane's vendor credentials must live (``<stack>/vendor/``).
    vendor_secret_prefix: str = ""


@dataclass(frozen=True, slots=True)
class VendorEndpoint:
    """A vendor server as ``steward servers add --url`` takes it: ``allow_hosts`` beyond the URL's host."""

    url: str
    allow_hosts: tuple[str, ...] = ()
    secret: str | None = None
    auth_header: str | None = None

    def text(self) -> str:
        details = [f"secret {self.secret}"] if self.secret else []
        details += [f"header {self.auth_header}"] if self.auth_header else []
        details += [f"also hosts {', '.join(self.allow_hosts)}"] if self.allow_hosts else []
        return f"vendor {self.url}" + (f" ({'; '.join(details)})" if details else "")


def registration_text(server: ServerRecord) -> str:
    """What a server is registered as, as plan lines show it: ``function X`` or ``vendor URL (...)``."""
    if server.kind is ServerKind.VENDOR and server.url:
        return vendor_endpoint(server).text()
    return f"function {server.logical_id or '(none)'}"


def vendor_endpoint(server: ServerRecord) -> VendorEndpoint:
    """A registered vendor server's endpoint (the URL's own host, always allowed, left out of ``allow_hosts``)."""
    url = server.url or ""
    try:
        own = normalize_host(urlsplit(url).hostname or "")
    except ValueError:
        own = ""
    hosts = tuple(host for host in server.allowed_hosts if host != own)
    return VendorEndpoint(url, hosts, server.secret_id, server.auth_header)


@dataclass(frozen=True, slots=True)
class RegisterServer:
    """Register ``server`` (again), as ``steward servers add`` does: an internal server by ``function``, or a
    vendor server (``vendor``). ``previous``: what it is registered as now (``None``: it is new)."""

    server: str
    function: str | None
    aliases: Mapping[str, str]
    previous: str | None = None
    vendor: VendorEndpoint | None = None

    def line(self) -> str:
        aliases = ", ".join(f"{u}={a}" for u, a in sorted(self.aliases.items()))
        shown = f" (aliases {aliases})" if aliases else ""
        target = self.vendor.text() if self.vendor is not None else f"function {self.function}"
        if self.previous is None:
            return f"+ server {self.server}: register {target}{shown}"
        return f"~ server {self.server}: register again, {self.previous} -> {target}{shown}"


def _delegation_text(policy: DelegationPolicy) -> str:
    if not policy.enabled:
        return "no nested calls"
    return f"up to {policy.calls} nested calls and {credits_text(policy.credit)} credits an invocation ({policy.mode})"


@dataclass(frozen=True, slots=True)
class SetDelegation:
    """Set what one invocation of ``server`` may spend on nested calls, as ``steward servers delegation`` does."""

    server: str
    policy: DelegationPolicy
    previous: DelegationPolicy

    def line(self) -> str:
        sign = "+" if not self.previous.enabled else "-" if not self.policy.enabled else "~"
        return f"{sign} delegation {self.server}: {_delegation_text(self.previous)} -> {_delegation_text(self.policy)}"


@dataclass(frozen=True, slots=True)
class AddPrincipal:
    principal: str
    team: str

    def line(self) -> str:
        return f"+ principal {self.principal} in team {self.team}"


@dataclass(frozen=True, slots=True)
class ApproveTool:
    """Approve ``record`` (the snapshot whose current hash the file pins) with its server's code version."""

    record: ToolRecord
    server: ServerRecord
    acknowledged: tuple[str, ...]

    def line(self) -> str:
        return (
            f"~ tool {self.record.exposed_name}: {self.record.status.value} -> approved "
            f"(hash {self.record.current_hash[:12]}…)"
        )


def _price_text(price: Price) -> str:
    metering = f" + {credits_text(price.unit_price)} a unit, up to {price.max_units} units" if price.max_units else ""
    return f"{credits_text(price.price)} a call{metering}"


@dataclass(frozen=True, slots=True)
class SetPrice:
    record: ToolRecord
    price: Price

    def line(self) -> str:
        return f"~ price {self.record.exposed_name}: {_price_text(self.record.price)} -> {_price_text(self.price)}"


def _granted(grant: Grant) -> str:
    """``calc__add`` for a tool (as always), ``prompt docs__greet``, ``resource steward://docs/...``."""
    return grant.target if grant.primitive.value == "tool" else f"{grant.primitive.value} {grant.target}"


@dataclass(frozen=True, slots=True)
class AddGrant:
    grant: Grant

    def line(self) -> str:
        return f"+ grant {_granted(self.grant)} to {self.grant.subject_kind.value} {self.grant.subject}"


@dataclass(frozen=True, slots=True)
class RemoveGrant:
    grant: Grant

    def line(self) -> str:
        return f"- grant {_granted(self.grant)} from {self.grant.subject_kind.value} {self.grant.subject}"


def _owner_text(owner: Owner) -> str:
    return f"team {owner.name}" if owner.kind is OwnerKind.TEAM else f"principal {owner.name}'s cap"


@dataclass(frozen=True, slots=True)
class SetBudget:
    owner: Owner
    team: str
    limit: Micros
    previous: Micros | None

    def line(self) -> str:
        if self.previous is None:
            return f"+ budget {_owner_text(self.owner)}: {credits_text(self.limit)} a month"
        return (
            f"~ budget {_owner_text(self.owner)}: {credits_text(self.previous)} -> {credits_text(self.limit)} a month"
        )


@dataclass(frozen=True, slots=True)
class RemoveBudget:
    owner: Owner
    team: str
    previous: Micros

    def line(self) -> str:
        return f"- budget {_owner_text(self.owner)}: {credits_text(self.previous)} a month"


@dataclass(frozen=True, slots=True)
class SetRateLimit:
    scope: RateScope
    subject: str
    per_minute: int  # 0 clears the limit
    previous: int | None
    team: str | None = None  # a principal's team, for the audit record

    def line(self) -> str:
        what = f"limit {self.scope.value} {self.subject}"
        if self.per_minute == 0:
            return f"- {what}: {self.previous} a minute"
        if self.previous is None:
            return f"+ {what}: {self.per_minute} a minute"
        return f"~ {what}: {self.previous} -> {self.per_minute} a minute"


type Change = (
    RegisterServer
    | SetDelegation
    | AddPrincipal
    | ApproveTool
    | SetPrice
    | AddGrant
    | RemoveGrant
    | SetBudget
    | RemoveBudget
    | SetRateLimit
)


@dataclass(frozen=True, slots=True)
class Issue:
    """Something about one entry of the file, at its path."""

    path: str
    message: str

    def line(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True, slots=True)
class Plan:
    changes: tuple[Change, ...] = ()
    #: The file asks what this plane cannot do: nothing is applied.
    refusals: tuple[Issue, ...] = ()
    #: Approvals withheld: the tool's definition (or code) is not the one the file pins.
    held: tuple[Issue, ...] = ()
    #: Decided once the servers this plan registers have been listed.
    deferred: tuple[Issue, ...] = ()
    #: What the plane holds and the file does not list, kept (``prune`` removes grants, budgets and limits).
    unmanaged: tuple[str, ...] = ()

    @property
    def registrations(self) -> tuple[RegisterServer, ...]:
        return tuple(change for change in self.changes if isinstance(change, RegisterServer))
