"""``steward export``: the configuration file that describes a plane's state, so that planning it changes nothing."""

from __future__ import annotations

from typing import Any

from mcp_steward.domain.approval import finding_rules
from mcp_steward.domain.budgets import OwnerKind
from mcp_steward.domain.config_file import API_VERSION, ConfigFileError, StewardFile, credits_text, load_config
from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.registry import ServerKind, ServerRecord, ToolRecord, ToolStatus
from mcp_steward.services.config_changes import PlaneState, vendor_endpoint
from mcp_steward.services.config_plan import aliases_of


def export_config(state: PlaneState, *, versions: bool = True) -> tuple[StewardFile, list[str]]:
    """The file that describes ``state`` (planning it against the same state changes nothing), and notes on
    what it leaves out: internal servers registered without a template logical ID cannot be declared by one.
    Vendor servers are written with their URL, secret id, auth header and hosts beyond the URL's; a server's
    delegation policy only when it makes nested calls.

    ``versions=False`` leaves the pinned code versions out: a file for several planes (each publishes its own
    versions), whose approvals then pin definitions only.

    Raises:
        ConfigFileError: the plane holds something the format cannot express (a name from before the rules).
    """
    notes: list[str] = []
    teams: dict[str, list[str]] = {team: [] for team in sorted(state.teams)}
    for principal, team in sorted(state.members.items()):
        teams.setdefault(team, []).append(principal)
    servers: dict[str, Any] = {}
    for name, server in sorted(state.catalog.servers.items()):
        tools = [tool for tool in state.catalog.tools.values() if tool.server == name]
        entry = _server_entry(server)
        if entry is None:
            notes.append(f"server {name} was registered without a template logical ID: not exported")
            continue
        if aliases := aliases_of(name, tools):
            entry["aliases"] = aliases
        for tool in sorted(tools, key=lambda t: t.exposed_name):
            entry["tools"][tool.exposed_name] = _tool_entry(tool, versions)
        servers[name] = entry
    document: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "teams": {team: {"principals": principals} for team, principals in teams.items()},
        "servers": servers,
        "grants": [
            {grant.subject_kind.value: grant.subject, grant.primitive.value: grant.target}
            | _unknown_subject(grant, state)
            for grant in sorted(state.grants, key=lambda g: (g.subject_kind, g.subject, g.pattern))
        ],
        "budgets": [
            {"team": team, "limit": credits_text(limit)}
            | ({"principal": owner.name} if owner.kind is OwnerKind.PRINCIPAL else {})
            for owner, (team, limit) in sorted(
                state.limits.items(), key=lambda e: (e[1][0], e[0].kind is not OwnerKind.TEAM, e[0].name)
            )
        ],
        "limits": [
            {scope.value: subject, "per_minute": per_minute}
            for (scope, subject), per_minute in sorted(state.rate_limits.items())
        ],
    }
    try:
        return load_config(document), notes
    except ConfigFileError as exc:
        raise ConfigFileError([(path, f"cannot be exported: {message}") for path, message in exc.problems]) from None


def _unknown_subject(grant: Grant, state: PlaneState) -> dict[str, Any]:
    """``allow_unknown: true`` for a grant to a principal or team the plane holds no entity of (one only an OIDC
    issuer knows), so that the file applies to another plane that does not know it either."""
    known = {SubjectKind.PRINCIPAL: state.members, SubjectKind.TEAM: state.teams | set(state.members.values())}
    names = known.get(grant.subject_kind)
    return {"allow_unknown": True} if names is not None and grant.subject not in names else {}


def _server_entry(server: ServerRecord) -> dict[str, Any] | None:
    """How the file declares ``server`` (its tools and aliases aside); None when it cannot be declared."""
    entry: dict[str, Any] = {}
    if server.kind is ServerKind.VENDOR and server.url:
        endpoint = vendor_endpoint(server)
        entry["url"] = endpoint.url
        if endpoint.secret is not None:
            entry["secret"] = endpoint.secret
            entry["auth_header"] = endpoint.auth_header
        if endpoint.allow_hosts:
            entry["allow_hosts"] = list(endpoint.allow_hosts)
    elif server.logical_id is not None:
        entry["function"] = server.logical_id
        if server.delegation.enabled:
            policy = server.delegation
            entry["delegation"] = {"calls": policy.calls, "credit": credits_text(policy.credit), "mode": policy.mode}
    else:
        return None
    entry["tools"] = {}
    return entry


def _tool_entry(tool: ToolRecord, versions: bool) -> dict[str, Any]:
    """A tool as the file says it: the approval in force (if any) and the price."""
    entry: dict[str, Any] = {}
    if tool.status is ToolStatus.APPROVED and tool.pinned_hash is not None:
        entry["hash"] = tool.pinned_hash
        if versions and tool.pinned_version is not None:
            entry["version"] = tool.pinned_version
        if rules := finding_rules(tool):
            entry["acknowledge"] = rules
    entry["price"] = credits_text(tool.price.price)
    if tool.price.max_units:
        entry["unit_price"] = credits_text(tool.price.unit_price)
        entry["max_units"] = tool.price.max_units
    return entry
