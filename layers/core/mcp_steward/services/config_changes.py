"""What ``steward apply`` plans: a snapshot of a plane (:class:`PlaneState`), the changes that make it match a
configuration file, in the order they are applied, and the issues that stop or hold them (:class:`Plan`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mcp_steward.domain.budgets import Owner, OwnerKind, RateScope
from mcp_steward.domain.config_file import credits_text
from mcp_steward.domain.grants import Grant
from mcp_steward.domain.money import Micros
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.registry import Catalog, ServerRecord, ToolRecord


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


@dataclass(frozen=True, slots=True)
class RegisterServer:
    server: str
    function: str
    aliases: Mapping[str, str]
    previous_function: str | None = None

    def line(self) -> str:
        aliases = ", ".join(f"{u}={a}" for u, a in sorted(self.aliases.items()))
        shown = f" (aliases {aliases})" if aliases else ""
        if self.previous_function is None:
            return f"+ server {self.server}: register function {self.function}{shown}"
        return f"~ server {self.server}: register again, function {self.previous_function} -> {self.function}{shown}"


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


@dataclass(frozen=True, slots=True)
class AddGrant:
    grant: Grant

    def line(self) -> str:
        return f"+ grant {self.grant.pattern} to {self.grant.subject_kind.value} {self.grant.subject}"


@dataclass(frozen=True, slots=True)
class RemoveGrant:
    grant: Grant

    def line(self) -> str:
        return f"- grant {self.grant.pattern} from {self.grant.subject_kind.value} {self.grant.subject}"


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
