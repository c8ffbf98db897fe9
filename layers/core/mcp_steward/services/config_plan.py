"""The plan of ``steward apply``: the changes that make a plane's state match a configuration file.

A pure function of the file and a snapshot of the plane (:class:`PlaneState`), so it can be shown before
anything changes (``--dry-run``) and tested with plain values. Changes come in the order they are applied:
servers (internal by function, vendor by URL and credential), their delegation policies, principals,
approvals and prices, grants, budgets, rate limits. What the file asks that this plane cannot do is a
*refusal* (nothing is applied); an approval whose tool no longer has the pinned definition or
code is *held* (reported, not approved: approval by hash is the point); the tools of a server that is about
to be registered are *deferred* to after its registration. Grants, budgets and rate limits the file does not
list are removed only with ``prune``; principals, servers and approvals are never removed by a file.

The inverse, the file that describes a snapshot, is :func:`~mcp_steward.services.config_export.export_config`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from mcp_steward.domain.approval import approval_refusal, finding_rules, rejection_refusal
from mcp_steward.domain.budgets import RateScope
from mcp_steward.domain.config_file import ServerSpec, StewardFile
from mcp_steward.domain.egress_policy import DEFAULT_AUTH_HEADER, EgressRefusedError, check_secret_id, normalize_host
from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.known import closest, unknown
from mcp_steward.domain.money import Micros, format_credits
from mcp_steward.domain.names import SEPARATOR, ExposedName, ServerName, server_of, uri_owner
from mcp_steward.domain.registry import NO_DELEGATION, Primitive, ServerKind, ServerRecord, ToolRecord, ToolStatus
from mcp_steward.services.admin.grants import unknown_target
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
    VendorEndpoint,
    registration_text,
    vendor_endpoint,
)
from mcp_steward.services.registration import RegistrationError, approve


@dataclass
class _Builder:
    servers: list[Change] = field(default_factory=list)
    delegation: list[Change] = field(default_factory=list)
    principals: list[Change] = field(default_factory=list)
    tools: list[Change] = field(default_factory=list)
    grants: list[Change] = field(default_factory=list)
    budgets: list[Change] = field(default_factory=list)
    limits: list[Change] = field(default_factory=list)
    refusals: list[Issue] = field(default_factory=list)
    held: list[Issue] = field(default_factory=list)
    deferred: list[Issue] = field(default_factory=list)
    unmanaged: list[str] = field(default_factory=list)

    def refuse(self, path: str, message: str) -> None:
        self.refusals.append(Issue(path, message))

    def plan(self) -> Plan:
        changes = [*self.servers, *self.delegation, *self.principals, *self.tools]
        changes += [*self.grants, *self.budgets, *self.limits]
        return Plan(tuple(changes), tuple(self.refusals), tuple(self.held), tuple(self.deferred), tuple(self.unmanaged))


def aliases_of(server: str, tools: Collection[ToolRecord]) -> dict[str, str]:
    """The aliases a server's tools were registered with: upstream name → exposed tool part, where they differ."""
    prefix = f"{server}{SEPARATOR}"
    return {
        tool.upstream_name: tool.exposed_name.removeprefix(prefix)
        for tool in tools
        if tool.exposed_name != f"{prefix}{tool.upstream_name}"
    }


def compute_plan(desired: StewardFile, state: PlaneState, *, prune: bool = False) -> Plan:
    """The changes that make ``state`` match ``desired``, with refusals, held approvals and deferred checks."""
    build = _Builder()
    registering, refused = _servers(desired, state, build)
    _delegation(desired, state, build, refused)
    _principals(desired, state, build)
    for name, spec in desired.servers.items():
        if name in registering:
            if spec.tools:
                build.deferred.append(
                    Issue(f"servers.{name}.tools", f"approvals and prices are decided once {name} is registered")
                )
        elif name not in refused:
            _tools(name, desired, state, build)
    _grants(desired, state, build, prune, registering)
    _budgets(desired, state, build, prune)
    _rate_limits(desired, state, build, prune, registering)
    return build.plan()


def _servers(desired: StewardFile, state: PlaneState, build: _Builder) -> tuple[set[str], set[str]]:
    """Register the servers that are missing, or whose function, vendor endpoint or aliases differ.

    Returns the servers being registered (their tools are decided afterwards) and those refused.
    """
    registering: set[str] = set()
    refused: set[str] = set()
    for name, spec in desired.servers.items():
        current = state.catalog.servers.get(ServerName(name))
        tools = [tool for tool in state.catalog.tools.values() if tool.server == name]
        registered = aliases_of(name, tools)
        aliases = dict(spec.aliases)
        if current is not None and _registered_as(spec, current):
            upstreams = {tool.upstream_name for tool in tools}
            unknown = [upstream for upstream in spec.aliases if upstream not in upstreams]
            for upstream in unknown:
                build.refuse(f"servers.{name}.aliases.{upstream}", f"{name} lists no tool {upstream!r}")
            if unknown:
                refused.add(name)
            if unknown or aliases == registered:
                continue
        if current is not None:
            # An alias the file drops maps the upstream name back to itself: registration keeps the exposed
            # names of the tools it knows unless an alias names them.
            aliases = {**{upstream: upstream for upstream in registered}, **aliases}
        refusal = _registration_refusal(spec, state)
        if refusal is not None:
            build.refuse(f"servers.{name}.{refusal[0]}", refusal[1])
            refused.add(name)
            continue
        vendor = None
        if spec.url is not None:
            vendor = VendorEndpoint(spec.url, _extra_hosts(spec), spec.secret, _auth_header(spec))
        previous = None if current is None else registration_text(current)
        build.servers.append(RegisterServer(name, spec.function, aliases, previous, vendor))
        registering.add(name)
    return registering, refused


def _auth_header(spec: ServerSpec) -> str | None:
    """The header a vendor credential travels in, as registration records it (the default when not given)."""
    return (spec.auth_header or DEFAULT_AUTH_HEADER) if spec.secret is not None else None


def _extra_hosts(spec: ServerSpec) -> tuple[str, ...]:
    """A vendor's hosts beyond its URL's own (that one is always allowed), in the file's order."""
    own = normalize_host(urlsplit(spec.url or "").hostname or "")  # the model checked the URL
    return tuple(dict.fromkeys(host for host in spec.allow_hosts if host != own))


def _registered_as(spec: ServerSpec, server: ServerRecord) -> bool:
    """Whether ``server`` is registered as the file declares it (aliases aside)."""
    if spec.function is not None:
        return server.logical_id == spec.function
    if server.kind is not ServerKind.VENDOR:
        return False
    endpoint = vendor_endpoint(server)
    return (endpoint.url, set(endpoint.allow_hosts), endpoint.secret, endpoint.auth_header) == (
        spec.url,
        set(_extra_hosts(spec)),
        spec.secret,
        _auth_header(spec),
    )


def _registration_refusal(spec: ServerSpec, state: PlaneState) -> tuple[str, str] | None:
    """Why this plane cannot register the server as declared: ``(key, message)``, or None."""
    if spec.function is not None and spec.function not in state.functions:
        known = ", ".join(sorted(state.functions)) or "none"
        return "function", f"this plane has no function {spec.function} (known: {known})"
    if spec.secret is not None:
        try:
            check_secret_id(spec.secret, state.vendor_secret_prefix)  # the prefix is the plane's stack's
        except EgressRefusedError as refusal:
            return "secret", refusal.message
    return None


def _delegation(desired: StewardFile, state: PlaneState, build: _Builder, refused: set[str]) -> None:
    """Set each server's nested-call policy where it differs (absent from the file: no nested calls)."""
    for name, spec in desired.servers.items():
        if name in refused:
            continue
        current = state.catalog.servers.get(ServerName(name))
        previous = current.delegation if current is not None else NO_DELEGATION
        wanted = spec.delegation_policy()
        if wanted != previous and (wanted.enabled or previous.enabled):
            build.delegation.append(SetDelegation(name, wanted, previous))


def _principals(desired: StewardFile, state: PlaneState, build: _Builder) -> None:
    for team, spec in desired.teams.items():
        if not spec.principals and team not in state.teams:
            build.refuse(f"teams.{team}", "a team is created with its first principal: list at least one")
        for index, principal in enumerate(spec.principals):
            current = state.members.get(principal)
            if current is None:
                build.principals.append(AddPrincipal(principal, team))
            elif current != team:
                build.refuse(
                    f"teams.{team}.principals[{index}]",
                    f"{principal} belongs to team {current}; a principal has exactly one team",
                )
    listed = desired.team_of()
    kept = sorted(principal for principal in state.members if principal not in listed)
    if kept:
        build.unmanaged.append(f"{len(kept)} principals not in the file are kept (principals are never removed)")


def _tools(name: str, desired: StewardFile, state: PlaneState, build: _Builder) -> None:
    server = state.catalog.servers[ServerName(name)]
    for tool_name, spec in desired.servers[name].tools.items():
        path = f"servers.{name}.tools.{tool_name}"
        tool = state.catalog.tools.get(ExposedName(tool_name))
        if tool is None or tool.server != name:
            build.refuse(path, f"{name} has no tool {tool_name} (see 'steward tools list')")
            continue
        if spec.hash is not None:
            _approval(path, tool, server, spec.hash, spec.version, spec.acknowledge, build)
        price = spec.as_price()
        if price != tool.price:
            build.tools.append(SetPrice(tool, price))


def _approval(
    path: str,
    tool: ToolRecord,
    server: ServerRecord,
    pin: str,
    version: str | None,
    acknowledged: tuple[str, ...],
    build: _Builder,
) -> None:
    approved = tool.status is ToolStatus.APPROVED
    if approved and tool.pinned_hash == pin and version in (None, tool.pinned_version):
        return
    if tool.current_hash != pin:
        if approved:
            message = f"approved at {tool.pinned_hash}, not at the file's hash: left so (apply withdraws no approval)"
        else:
            message = (
                f"the definition's hash is {tool.current_hash} ({tool.status.value}), not the file's: not approved "
                "(see 'steward tools show')"
            )
        build.held.append(Issue(f"{path}.hash", message))
        return
    if version is not None and server.version != version:
        build.held.append(
            Issue(f"{path}.version", f"{server.name}'s code version is {server.version}, not the file's: not approved")
        )
        return
    refusal = approval_refusal(tool, acknowledged)
    if refusal is not None and refusal.rejected:
        build.refuse(path, rejection_refusal(tool))  # by the scan, or by an admin until 'steward tools reset'
        return
    if refusal is not None:
        build.refuse(
            f"{path}.acknowledge",
            f"{tool.exposed_name} is {tool.verdict}: acknowledge each finding's rule: "
            + ", ".join(refusal.unacknowledged),
        )
        return
    try:
        approve(tool, server)  # the same rules as 'steward tools approve' (a server must have code to pin)
    except RegistrationError as exc:
        build.refuse(path, str(exc))
        return
    build.tools.append(ApproveTool(tool, server, tuple(finding_rules(tool))))


def _grants(desired: StewardFile, state: PlaneState, build: _Builder, prune: bool, registering: set[str]) -> None:
    """Add the file's grants the plane lacks (each naming what exists: a typo would grant nothing); remove the
    others only with ``prune`` (a grant of something gone is removed all the same)."""
    known = _Known.of(desired, state)
    wanted = [spec.grant() for spec in desired.grants]
    for index, spec in enumerate(desired.grants):
        grant = wanted[index]
        if grant in state.grants:
            continue
        path = f"grants[{index}]"
        kind = grant.subject_kind
        missing = None if spec.allow_unknown else unknown(kind, grant.subject, known.subjects[kind])
        if missing is not None:
            build.refuse(f"{path}.{kind.value}", f"{missing.message()}; {_UNKNOWN_HINT[kind]}")
            continue
        missing = unknown_target(grant, known.tools, known.servers)
        owner = _grant_server(grant)
        if missing is not None and owner in registering:
            build.deferred.append(Issue(f"{path}.{spec.key}", f"checked once {owner} is registered"))
            continue
        if missing is not None:
            build.refuse(f"{path}.{spec.key}", f"{missing.message()}; {_UNKNOWN_HINT[missing.kind]}")
            continue
        build.grants.append(AddGrant(grant))
    extra = sorted(state.grants - set(wanted), key=lambda g: (g.subject_kind, g.subject, g.pattern))
    if prune:
        build.grants += [RemoveGrant(grant) for grant in extra]
    elif extra:
        build.unmanaged.append(f"{len(extra)} grants not in the file are kept (--prune removes them)")


def _grant_server(grant: Grant) -> str | None:
    """The server a grant's target belongs to, as its name says (``SERVER__...``, ``steward://SERVER/...``)."""
    target = grant.target
    owner = uri_owner(target) if grant.primitive is Primitive.RESOURCE else None
    return owner[0] if owner is not None else server_of(target)


def _like(name: str, known: Collection[str]) -> str:
    """`` (did you mean 'finance'?)`` when a known name is close to ``name``."""
    similar = closest(name, known)
    return f" (did you mean {similar!r}?)" if similar is not None else ""


#: Where a refusal of an unknown name points.
_UNKNOWN_HINT = {
    SubjectKind.PRINCIPAL: "list it under teams, or allow_unknown: true for a principal only an OIDC issuer knows",
    SubjectKind.TEAM: "list it under teams, or allow_unknown: true for a team only an OIDC issuer knows",
    SubjectKind.SERVER: "list it under servers (see 'steward servers list')",
    "tool": "see 'steward tools list'",
    "prompt": "see 'steward prompts list'",
    "resource": "see 'steward resources list'",
}


@dataclass(frozen=True, slots=True)
class _Known:
    """What exists once the file is applied: the plane's principals, teams, servers and registry entries (``tools``:
    registry ids of every primitive), and the file's own (apply registers servers and creates principals before it
    adds grants)."""

    subjects: dict[SubjectKind, frozenset[str]]
    tools: frozenset[str]
    servers: frozenset[str]

    @classmethod
    def of(cls, desired: StewardFile, state: PlaneState) -> _Known:
        servers = frozenset(state.catalog.servers) | frozenset(desired.servers)
        principals = frozenset(state.members) | frozenset(desired.team_of())
        teams = state.teams | frozenset(state.members.values()) | frozenset(desired.teams)
        listed = frozenset(tool for spec in desired.servers.values() for tool in spec.tools)
        return cls(
            subjects={SubjectKind.PRINCIPAL: principals, SubjectKind.TEAM: teams, SubjectKind.SERVER: servers},
            tools=frozenset(r.exposed_name for k in Primitive for r in state.catalog.entries(k).values()) | listed,
            servers=servers,
        )


def _budgets(desired: StewardFile, state: PlaneState, build: _Builder, prune: bool) -> None:
    teams = state.teams | set(desired.teams)
    members = {**state.members, **desired.team_of()}
    for index, spec in enumerate(desired.budgets):
        owner = spec.owner
        current = state.limits.get(owner)
        if current == (spec.team, spec.limit):
            continue
        path = f"budgets[{index}]"
        held = state.held.get(owner, Micros(0))
        if spec.team not in teams:
            build.refuse(f"{path}.team", f"no team {spec.team}{_like(spec.team, teams)} (list it under teams)")
        elif spec.principal is not None and members.get(spec.principal) != spec.team:
            where = members.get(spec.principal)
            build.refuse(
                f"{path}.principal",
                f"{spec.principal} belongs to team {where}"
                if where
                else f"no principal {spec.principal}{_like(spec.principal, members)}",
            )
        elif spec.limit < held:
            build.refuse(
                f"{path}.limit",
                f"{format_credits(held)} credits are already charged and reserved this month; "
                "the limit cannot go below that",
            )
        else:
            build.budgets.append(SetBudget(owner, spec.team, Micros(spec.limit), current[1] if current else None))
    listed = {spec.owner for spec in desired.budgets}
    extra = sorted((owner for owner in state.limits if owner not in listed), key=lambda o: (o.kind, o.name))
    if prune:
        build.budgets += [RemoveBudget(owner, *state.limits[owner]) for owner in extra]
    elif extra:
        build.unmanaged.append(f"{len(extra)} budgets not in the file are kept (--prune removes them)")


def _rate_limits(desired: StewardFile, state: PlaneState, build: _Builder, prune: bool, registering: set[str]) -> None:
    members = {**state.members, **desired.team_of()}
    for index, spec in enumerate(desired.limits):
        scope, subject = spec.key
        current = state.rate_limits.get(spec.key)
        if current == spec.per_minute:
            continue
        path = f"limits[{index}]"
        if scope is RateScope.PRINCIPAL and subject not in members:
            build.refuse(f"{path}.principal", f"no principal {subject}{_like(subject, members)} (list it under teams)")
            continue
        if scope is RateScope.TOOL and ExposedName(subject) not in state.catalog.tools:
            if server_of(subject) in registering:
                build.deferred.append(Issue(f"{path}.tool", f"set once {server_of(subject)} is registered"))
            else:
                build.refuse(
                    f"{path}.tool", f"no tool {subject}{_like(subject, state.catalog.tools)} (see 'steward tools list')"
                )
            continue
        build.limits.append(SetRateLimit(scope, subject, spec.per_minute, current, members.get(subject)))
    listed = {spec.key for spec in desired.limits}
    extra = sorted(key for key in state.rate_limits if key not in listed)
    if prune:
        build.limits += [
            SetRateLimit(scope, subject, 0, state.rate_limits[(scope, subject)], state.members.get(subject))
            for scope, subject in extra
        ]
    elif extra:
        build.unmanaged.append(f"{len(extra)} rate limits not in the file are kept (--prune removes them)")
