"""Admin commands over a :class:`~mcp_steward.cli.target.Target`: keys, grants, servers, tools."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from mcp_steward.cli.target import Target
from mcp_steward.domain.approval import (
    approval_refusal,
    finding_rules,
    rejected_by,
    rejected_by_scan,
    rejection_refusal,
)
from mcp_steward.domain.grants import Grant
from mcp_steward.domain.money import format_credits, money_fields, parse_credits
from mcp_steward.domain.names import SERVER_NAME, ExposedName, ServerName
from mcp_steward.domain.ports import ConcurrentChangeError
from mcp_steward.domain.registry import (
    MAX_NESTED_CALLS,
    DelegationMode,
    DelegationPolicy,
    Rejection,
    ServerKind,
    ToolRecord,
    ToolStatus,
)
from mcp_steward.services.admin import AdminPorts, AdminRefusedError
from mcp_steward.services.admin.grants import add_grant, grant_of, remove_grant
from mcp_steward.services.admin.keys_and_teams import NewKey, create_key, revoke_key
from mcp_steward.services.delegation_policy import set_delegation
from mcp_steward.services.registration import (
    RegistrationError,
    approve,
    register_internal_server,
    register_server,
    vendor_server,
)
from mcp_steward.services.sync import sync_server

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
    # Other commands (steward apply) build their own namespaces: the vendor options may be absent there.
    if getattr(args, "url", None) is not None:
        _vendor_add(target, args)
        return
    if getattr(args, "secret", None) or getattr(args, "auth_header", None) or getattr(args, "allow_host", None):
        raise UsageError("--secret, --auth-header and --allow-host are for vendor servers (--url)")
    function = target.function(args.function)
    target.actor()
    tools = register_internal_server(
        target.registry,
        target.invoker,
        name=args.name,
        function_name=function.name,
        function_timeout_s=function.timeout_s,
        logical_id=args.function,
        aliases=_aliases(args.alias),
        versions=target.versions,
    )
    version = target.registry.catalog().servers[ServerName(args.name)].version
    target.record_admin(
        "servers.add",
        {
            "server": args.name,
            "function": function.name,
            "version": version,
            "tools": {tool.exposed_name: tool.status.value for tool in tools},
        },
    )
    print(f"registered {args.name} ({function.name}) with {len(tools)} tools:")
    for tool in tools:
        print(f"  {tool.exposed_name}  {tool.status.value}  (scan: {tool.verdict})")


def _vendor_add(target: Target, args: argparse.Namespace) -> None:
    """A vendor server: the egress rules checked here first (refused input exits 2), then its tools listed
    through the egress function, scanned and recorded pending.

    The egress also checks the target against the origins its credential was stored for (only it can read the
    secret): a refusal there (``credential_origin``, or any other egress rule) changes nothing in the registry and is
    audited as ``servers.add_refused`` with the rule, before the error exits 1."""
    try:
        server = vendor_server(
            args.name,
            url=args.url,
            allowed_hosts=args.allow_host or (),
            secret_id=args.secret,
            auth_header=args.auth_header,
            secret_prefix=target.vendor_secret_prefix,
        )
    except RegistrationError as exc:
        raise UsageError(str(exc)) from None
    target.actor()
    try:
        tools = register_server(
            target.registry, target.invoker, server, versions=target.versions, aliases=_aliases(args.alias)
        )
    except RegistrationError as exc:
        if exc.rule is not None:
            detail = {
                "server": args.name,
                "kind": "vendor",
                "url": server.url,
                "allowed_hosts": list(server.allowed_hosts),
                "secret_id": server.secret_id,  # the reference, never the value
                "rule": exc.rule,
            }
            target.record_admin("servers.add_refused", detail)
        raise
    target.record_admin(
        "servers.add",
        {
            "server": args.name,
            "kind": "vendor",
            "url": server.url,
            "allowed_hosts": list(server.allowed_hosts),
            "secret_id": server.secret_id,  # the reference, never the value
            "tools": {tool.exposed_name: tool.status.value for tool in tools},
        },
    )
    print(f"registered vendor {args.name} ({server.url}) with {len(tools)} tools:")
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
    server = target.registry.catalog().servers.get(ServerName(args.name))
    if server is None:
        raise UsageError(f"no server {args.name!r} (see 'steward servers list')")
    if server.kind is not ServerKind.INTERNAL:
        raise UsageError(f"{args.name} is a vendor server: only internal servers make nested calls")
    if not 0 <= args.calls <= MAX_NESTED_CALLS:
        raise UsageError(f"--calls must be between 0 and {MAX_NESTED_CALLS}")
    try:
        credit = parse_credits(args.credit)
    except ValueError as exc:
        raise UsageError(f"--credit: {exc}") from None
    policy = DelegationPolicy(calls=args.calls, credit=credit, mode=DelegationMode(args.mode))
    target.actor()
    set_delegation(target.registry, target.record_admin, server.name, policy)
    print(
        f"{args.name}: up to {policy.calls} nested calls and {format_credits(policy.credit)} credits per invocation"
        f" ({policy.mode} mode)"
        if policy.enabled
        else f"{args.name}: makes no nested calls"
    )


def servers_sync(target: Target, args: argparse.Namespace) -> None:
    servers = target.registry.catalog().servers
    if args.all == bool(args.name):
        raise UsageError("name one server or give --all")
    if args.name and args.name not in servers:
        raise UsageError(f"no server {args.name!r} (see 'steward servers list')")
    target.actor()
    failed = []
    for name in sorted(servers) if args.all else [ServerName(args.name)]:
        report = sync_server(target.registry, target.invoker, servers[name], target.versions)
        if report.error is not None:
            failed.append(name)
            print(f"{name}: not synced, nothing changed: {report.error}")
            continue
        for transition in report.transitions:
            target.record_admin("tools.transition", transition.detail(), tool=transition.tool)
            print(f"{name}: {transition.tool} {transition.before or 'new'} -> {transition.after} ({transition.reason})")
        if report.skipped:
            print(f"{name}: skipped tools with invalid names: {', '.join(report.skipped)}")
        target.record_admin(
            "servers.sync", {"server": name, "version": report.version, "transitions": len(report.transitions)}
        )
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


def _tool(target: Target, name: str) -> ToolRecord:
    tool = target.registry.catalog().tools.get(ExposedName(name))
    if tool is None:
        raise UsageError(f"no tool {name!r} (see 'steward tools list')")
    return tool


def tools_approve(target: Target, args: argparse.Namespace) -> None:
    catalog = target.registry.catalog()
    tool = _tool(target, args.name)
    refusal = approval_refusal(tool, args.acknowledge or [])
    if refusal is not None and refusal.rejected:
        raise UsageError(f"{rejection_refusal(tool)} (see 'steward tools show {args.name}')")
    if refusal is not None:
        raise UsageError(
            f"{args.name} has scan findings ({tool.verdict}): approve with --acknowledge for each finding's rule: "
            + " ".join(f"--acknowledge {rule}" for rule in refusal.unacknowledged)
        )
    rules = finding_rules(tool)
    target.actor()
    approved = approve(tool, catalog.servers[tool.server])
    try:
        target.registry.put_tool(approved)  # only if the tool is still the one just checked
    except ConcurrentChangeError:
        raise RegistrationError(
            f"{args.name} changed while it was being approved (a sync ran?): nothing was approved; "
            f"review 'steward tools show {args.name}' and approve again"
        ) from None
    target.record_admin(
        "tools.approve",
        {
            "previous_status": tool.status.value,
            "pinned_hash": approved.pinned_hash,
            "pinned_version": approved.pinned_version,
            "acknowledged": rules,
        },
        tool=tool.exposed_name,
    )
    print(f"approved {args.name} (pinned {approved.pinned_hash})")


def _set_status(target: Target, args: argparse.Namespace, status: ToolStatus, action: str) -> None:
    tool = _tool(target, args.name)
    target.actor()
    target.registry.set_status(tool, status)
    target.record_admin(action, {"previous_status": tool.status.value}, tool=tool.exposed_name)
    print(f"{status.value} {args.name}")


def _put_tool(target: Target, tool: ToolRecord, doing: str) -> None:
    """Write a tool read just before, only if it is still that record (the registry's revision)."""
    try:
        target.registry.put_tool(tool)
    except ConcurrentChangeError:
        raise RegistrationError(
            f"{tool.exposed_name} changed while it was being {doing} (a sync ran?): nothing changed; "
            f"review 'steward tools show {tool.exposed_name}' and try again"
        ) from None


def tools_reject(target: Target, args: argparse.Namespace) -> None:
    """Reject a tool, recording who did (``steward tools reset`` returns it to pending)."""
    tool = _tool(target, args.name)
    if tool.status is ToolStatus.REJECTED:
        print(f"{args.name} is already rejected by {rejected_by(tool)}")
        return
    actor = target.actor()
    rejection = Rejection(by=actor, at=datetime.now(UTC), hash=tool.current_hash)
    _put_tool(target, replace(tool, status=ToolStatus.REJECTED, rejection=rejection), "rejected")
    target.record_admin("tools.reject", {"previous_status": tool.status.value}, tool=tool.exposed_name)
    print(f"rejected {args.name} ('steward tools reset {args.name}' returns it to pending)")


#: Why ``tools reset`` leaves a tool of this status alone.
_NOT_RESET = {
    ToolStatus.PENDING: "it is already pending",
    ToolStatus.APPROVED: "'steward tools disable' or 'steward tools reject' withdraws an approved tool",
    ToolStatus.QUARANTINED: "review 'steward tools show', then approve or reject it",
}


def tools_reset(target: Target, args: argparse.Namespace) -> None:
    """Return a rejected or disabled tool to pending (unpinned, to be reviewed and approved again). A tool the
    scan finds malicious stays rejected: only a changed definition (``steward servers sync``) can free it."""
    tool = _tool(target, args.name)
    if rejected_by_scan(tool):
        raise UsageError(
            f"{args.name} was rejected by {rejected_by(tool)}: it stays rejected while its definition is malicious"
        )
    if tool.status not in (ToolStatus.REJECTED, ToolStatus.DISABLED):
        raise UsageError(
            f"{args.name} is {tool.status.value}: only a rejected or disabled tool is reset; {_NOT_RESET[tool.status]}"
        )
    who = rejected_by(tool)
    target.actor()
    pending = replace(
        tool, status=ToolStatus.PENDING, rejection=None, pinned_hash=None, pinned_version=None, previous_definition=None
    )
    _put_tool(target, pending, "reset")
    target.record_admin(
        "tools.reset", {"previous_status": tool.status.value, "rejected_by": who}, tool=tool.exposed_name
    )
    was = f"rejected by {who}" if who is not None else tool.status.value
    print(f"reset {args.name} to pending (it was {was}); 'steward tools approve {args.name}' approves it")


def tools_disable(target: Target, args: argparse.Namespace) -> None:
    _set_status(target, args, ToolStatus.DISABLED, "tools.disable")


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
    tool = _tool(target, args.name)
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
