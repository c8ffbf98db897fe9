"""``steward export``: the configuration file that describes a plane's state, so that planning it changes nothing."""

from __future__ import annotations

from typing import Any

from mcp_steward.domain.approval import finding_rules
from mcp_steward.domain.budgets import OwnerKind
from mcp_steward.domain.config_file import API_VERSION, ConfigFileError, StewardFile, credits_text, load_config
from mcp_steward.domain.registry import ToolRecord, ToolStatus
from mcp_steward.services.config_changes import PlaneState
from mcp_steward.services.config_plan import aliases_of


def export_config(state: PlaneState, *, versions: bool = True) -> tuple[StewardFile, list[str]]:
    """The file that describes ``state`` (planning it against the same state changes nothing), and notes on
    what it leaves out: servers registered without a template logical ID cannot be declared by one.

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
        if server.logical_id is None:
            notes.append(f"server {name} was registered without a template logical ID: not exported")
            continue
        entry: dict[str, Any] = {"function": server.logical_id, "tools": {}}
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
            {grant.subject_kind.value: grant.subject, "tool": grant.pattern}
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
