"""Admin commands over a :class:`~mcp_steward.cli.target.Target`: keys, grants, servers, tools.

Each command parses its options, calls the admin operation in :mod:`mcp_steward.services.admin` (which checks,
changes and audits) and prints; listings read the target's stores directly."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from datetime import UTC, datetime
from typing import Any

from mcp_steward.cli.target import Target
from mcp_steward.domain.approval import rejected_by
from mcp_steward.domain.grants import Grant
from mcp_steward.domain.money import format_credits, money_fields, parse_credits
from mcp_steward.domain.names import SERVER_NAME, ServerName
from mcp_steward.domain.registry import DelegationMode, DelegationPolicy, ToolRecord, ToolStatus
from mcp_steward.services.admin import AdminPorts, AdminRefusedError
from mcp_steward.services.admin.grants import add_grant, grant_of, remove_grant
from mcp_steward.services.admin.keys_and_teams import NewKey, create_key, revoke_key
from mcp_steward.services.admin.pricing import known_tool
from mcp_steward.services.admin.registry import (
    InternalServer,
    VendorServer,
    add_server,
    approve_tool,
    disable_tool,
    reject_tool,
    reset_tool,
    set_delegation,
    sync_servers,
)
from mcp_steward.services.registration import RegistrationError

#: Refused input: exit 2, nothing changed. The CLI's own refusals (options that do not parse) and the admin
#: services' are one type, so a command's caller (and its tests) catch one exception.
UsageError = AdminRefusedError


def ports(target: Target) -> AdminPorts:
    """The admin services' ports on ``target``: its stores, who is acting and its audit writer."""
    return AdminPorts(
        keys=target.keys,
        registry=target.registry,
        grants=target.grants,
        budgets=target.budgets,
        audit=target.record_admin,
        actor=target.actor,
        invoker=target.invoker,
        versions=target.versions,
        vendor_secret_prefix=target.vendor_secret_prefix,
    )


def _emit(rows: list[dict[str, Any]], as_json: bool, columns: list[str]) -> None:
    if as_json:
        print(json.dumps(rows, indent=2, sort_keys=True))
        return
    if not rows:
        print("(none)")
        return
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns))


def _expiry(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--expires {value!r} is not an ISO 8601 date-time") from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def keys_create(target: Target, args: argparse.Namespace) -> None:
    request = NewKey(
        principal=args.principal,
        team=args.team,
        roles=args.role or [],
        on_behalf_of=args.on_behalf_of,
        expires_at=_expiry(args.expires),
        allow_unknown=args.allow_unknown,
    )
    created = create_key(ports(target), request)
    if created.similar_team is not None:  # a new team is legitimate here, but so close to another it may be a typo
        print(f"steward: note: team {request.team!r} is new (did you mean {created.similar_team!r}?)", file=sys.stderr)
    record = created.record
    print(f"created key {record.key_id} for {record.principal} (team {record.team}); the token is shown once:")
    print(created.token)


def keys_list(target: Target, args: argparse.Namespace) -> None:
    rows = [
        {
            "key_id": r.key_id,
            "principal": r.principal,
            "team": r.team,
            "roles": ",".join(sorted(r.roles)),
            "on_behalf_of": r.obo or "",
            "expires_at": r.expires_at.isoformat() if r.expires_at else "",
            "revoked": r.revoked,
        }
        for r in target.keys.records()
    ]
    _emit(rows, args.json, ["key_id", "principal", "team", "roles", "on_behalf_of", "expires_at", "revoked"])


def keys_revoke(target: Target, args: argparse.Namespace) -> None:
    revoke_key(ports(target), args.key_id)
    print(f"revoked {args.key_id}")


def _grant(args: argparse.Namespace) -> Grant:
    return grant_of(tool=args.tool, principal=args.principal, team=args.team, server=args.server)


def _status_note(tool: ToolRecord | None) -> str:
    """What a grant of a tool that is not approved means for now."""
    if tool is None or tool.status is ToolStatus.APPROVED:
        return ""
    if tool.status is ToolStatus.REJECTED:
        return f" (the tool is rejected by {rejected_by(tool)}: calls are refused)"
    return f" (the tool is {tool.status.value}: calls are refused until it is approved)"


def grants_add(target: Target, args: argparse.Namespace) -> None:
    """Grant a tool; the subject and the tool (or ``SERVER__*``'s server) must exist: a typo would grant nothing.
    ``--allow-unknown`` admits a principal or team that only an OIDC issuer knows."""
    grant = _grant(args)
    tool = add_grant(ports(target), grant, allow_unknown=args.allow_unknown)
    print(f"granted {grant.pattern} to {grant.subject_kind} {grant.subject}{_status_note(tool)}")


def grants_remove(target: Target, args: argparse.Namespace) -> None:
    """Remove a grant. A grant whose subject or tool no longer exists is removed all the same (cleanup); when
    nothing matched, the refusal names the closest subject or grant there is."""
    grant = _grant(args)
    remove_grant(ports(target), grant)
    print(f"removed {grant.pattern} from {grant.subject_kind} {grant.subject}")


def grants_list(target: Target, args: argparse.Namespace) -> None:
    rows = [
        {"subject_kind": g.subject_kind.value, "subject": g.subject, "tool": g.pattern} for g in target.grants.all()
    ]
    _emit(rows, args.json, ["subject_kind", "subject", "tool"])


def _aliases(values: list[str] | None) -> dict[str, str]:
    aliases = {}
    for value in values or []:
        upstream, sep, exposed = value.partition("=")
        if not sep or not upstream or not exposed:
            raise UsageError(f"--alias {value!r} must be UPSTREAM=EXPOSED")
        aliases[upstream] = exposed
    return aliases


def servers_add(target: Target, args: argparse.Namespace) -> None:
    if SERVER_NAME.fullmatch(args.name) is None:
        raise UsageError(f"server name {args.name!r} must match ^[a-z][a-z0-9-]{{0,15}}$")
    aliases = _aliases(args.alias)
    if args.url is not None:
        # The egress rules are checked first (refused input exits 2). The egress also checks the target against the
        # origins its credential was stored for (only it can read the secret): a refusal there changes nothing in
        # the registry, is audited as ``servers.add_refused`` with the rule, and exits 1.
        register(
            target, VendorServer(args.name, args.url, args.allow_host or (), args.secret, args.auth_header, aliases)
        )
        return
    if args.secret or args.auth_header or args.allow_host:
        raise UsageError("--secret, --auth-header and --allow-host are for vendor servers (--url)")
    function = target.function(args.function)
    register(target, InternalServer(args.name, function.name, function.timeout_s, args.function, aliases))


def register(target: Target, server: InternalServer | VendorServer) -> None:
    """Register (or register again) a server, as ``steward servers add`` and ``steward apply`` do, and print its
    tools."""
    tools = add_server(ports(target), server)
    if isinstance(server, VendorServer):
        url = target.registry.catalog().servers[ServerName(server.name)].url  # as the registry holds it
        print(f"registered vendor {server.name} ({url}) with {len(tools)} tools:")
    else:
        print(f"registered {server.name} ({server.function_name}) with {len(tools)} tools:")
    for tool in tools:
        print(f"  {tool.exposed_name}  {tool.status.value}  (scan: {tool.verdict})")


def servers_list(target: Target, args: argparse.Namespace) -> None:
    catalog = target.registry.catalog()
    rows = [
        {
            "name": s.name,
            "kind": s.kind.value,
            "function": s.function_name or s.url or "",
            "logical_id": s.logical_id or "",
            "version": s.version or "",
            "tools": sum(1 for t in catalog.tools.values() if t.server == s.name),
        }
        for s in catalog.servers.values()
    ]
    _emit(rows, args.json, ["name", "kind", "function", "logical_id", "version", "tools"])


def servers_delegation(target: Target, args: argparse.Namespace) -> None:
    """Set what one invocation of an internal server may spend on nested calls (``--calls 0``: none)."""
    try:
        credit = parse_credits(args.credit)
    except ValueError as exc:
        raise UsageError(f"--credit: {exc}") from None
    policy = DelegationPolicy(calls=args.calls, credit=credit, mode=DelegationMode(args.mode))
    set_delegation(ports(target), args.name, policy)
    print(
        f"{args.name}: up to {policy.calls} nested calls and {format_credits(policy.credit)} credits per invocation"
        f" ({policy.mode} mode)"
        if policy.enabled
        else f"{args.name}: makes no nested calls"
    )


def servers_sync(target: Target, args: argparse.Namespace) -> None:
    if args.all == bool(args.name):
        raise UsageError("name one server or give --all")
    failed = []
    for report in sync_servers(ports(target), None if args.all else [args.name]):
        name = report.server
        if report.error is not None:
            failed.append(name)
            print(f"{name}: not synced, nothing changed: {report.error}")
            continue
        for transition in report.transitions:
            print(f"{name}: {transition.tool} {transition.before or 'new'} -> {transition.after} ({transition.reason})")
        if report.skipped:
            print(f"{name}: skipped tools with invalid names: {', '.join(report.skipped)}")
        print(f"{name}: synced, {len(report.transitions)} changes")
    if failed:
        raise RegistrationError(f"could not list {', '.join(failed)}")


def tools_list(target: Target, args: argparse.Namespace) -> None:
    rows = [
        {
            "name": t.exposed_name,
            "server": t.server,
            "upstream_name": t.upstream_name,
            "status": t.status.value,
            **money_fields("price", t.price.price),
            **money_fields("unit_price", t.price.unit_price),
            "max_units": t.price.max_units,
        }
        for t in target.registry.catalog().tools.values()
    ]
    _emit(rows, args.json, ["name", "server", "upstream_name", "status", "price", "unit_price", "max_units"])


def tools_approve(target: Target, args: argparse.Namespace) -> None:
    approved = approve_tool(ports(target), args.name, args.acknowledge or [])
    print(f"approved {args.name} (pinned {approved.pinned_hash})")


def tools_reject(target: Target, args: argparse.Namespace) -> None:
    """Reject a tool, recording who did (``steward tools reset`` returns it to pending)."""
    if reject_tool(ports(target), args.name) is None:
        tool = known_tool(ports(target), args.name)
        print(f"{args.name} is already rejected by {rejected_by(tool)}")
        return
    print(f"rejected {args.name} ('steward tools reset {args.name}' returns it to pending)")


def tools_reset(target: Target, args: argparse.Namespace) -> None:
    """Return a rejected or disabled tool to pending (unpinned, to be reviewed and approved again). A tool the
    scan finds malicious stays rejected: only a changed definition (``steward servers sync``) can free it."""
    tool = reset_tool(ports(target), args.name)
    who = rejected_by(tool)
    was = f"rejected by {who}" if who is not None else tool.status.value
    print(f"reset {args.name} to pending (it was {was}); 'steward tools approve {args.name}' approves it")


def tools_disable(target: Target, args: argparse.Namespace) -> None:
    disable_tool(ports(target), args.name)
    print(f"{ToolStatus.DISABLED.value} {args.name}")


def definition_diff(before: dict[str, Any] | None, after: dict[str, Any]) -> str:
    """A unified diff of two definitions' pretty JSON ('' when there is nothing to compare)."""
    if before is None:
        return ""
    lines = difflib.unified_diff(
        json.dumps(before, indent=2, sort_keys=True, ensure_ascii=True).splitlines(),
        json.dumps(after, indent=2, sort_keys=True, ensure_ascii=True).splitlines(),
        fromfile="approved",
        tofile="current",
        lineterm="",
    )
    return "\n".join(lines)


def tools_show(target: Target, args: argparse.Namespace) -> None:
    tool = known_tool(ports(target), args.name)
    server = target.registry.catalog().servers.get(tool.server)
    shown = {
        "name": tool.exposed_name,
        "server": tool.server,
        "upstream_name": tool.upstream_name,
        "status": tool.status.value,
        "verdict": tool.verdict,
        "findings": list(tool.findings),
        "current_hash": tool.current_hash,
        "pinned_hash": tool.pinned_hash,
        "pinned_version": tool.pinned_version,
        "server_version": server.version if server else None,
        "missing_syncs": tool.missing_syncs,
        "rejected_by": rejected_by(tool),
        "definition": tool.definition,
        "previous_definition": tool.previous_definition,
        "diff": definition_diff(tool.previous_definition, tool.definition),
    }
    if args.json:
        print(json.dumps(shown, indent=2, sort_keys=True))
        return
    for key in ("name", "server", "upstream_name", "status", "verdict", "current_hash", "pinned_hash"):
        print(f"{key}: {shown[key] or '-'}")
    print(f"pinned_version: {tool.pinned_version or '-'} (server: {shown['server_version'] or '-'})")
    if shown["rejected_by"] is not None:
        print(f"rejected_by: {shown['rejected_by']}")
    for finding in tool.findings:
        print(f"finding: {finding['rule']} ({finding['severity']}) at {finding['path']}: {finding['evidence']}")
    print("definition:")
    print(json.dumps(tool.definition, indent=2, sort_keys=True, ensure_ascii=True))
    if shown["diff"]:
        print("changes since approval:")
        print(shown["diff"])
