"""Admin commands over a :class:`~mcp_steward.cli.target.Target`: keys, grants, servers, and the registry entries
(``steward tools|prompts|resources ...``: one implementation, the primitive taken from ``args.primitive``).

Each command parses its options, calls the admin operation in :mod:`mcp_steward.services.admin` (which checks,
changes and audits) and prints; listings read the target's stores directly."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from mcp_steward.cli.target import Target
from mcp_steward.domain.approval import rejected_by
from mcp_steward.domain.grants import Grant
from mcp_steward.domain.money import format_credits, money_fields, parse_credits
from mcp_steward.domain.names import SERVER_NAME, ServerName
from mcp_steward.domain.registry import (
    DelegationMode,
    DelegationPolicy,
    Primitive,
    ToolRecord,
    ToolStatus,
)
from mcp_steward.services.admin import AdminPorts, AdminRefusedError
from mcp_steward.services.admin.grants import add_grant, grant_of, remove_grant
from mcp_steward.services.admin.keys_and_teams import NewKey, create_key, revoke_key
from mcp_steward.services.admin.pricing import COMMAND, known_entry
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
    named = [
        (primitive, pattern)
        for primitive, pattern in (
            (Primitive.TOOL, args.tool),
            (Primitive.PROMPT, getattr(args, "prompt", None)),
            (Primitive.RESOURCE, getattr(args, "resource", None)),
        )
        if pattern is not None
    ]
    if len(named) != 1:
        raise UsageError("name what the grant opens: exactly one of --tool, --prompt or --resource")
    primitive, pattern = named[0]
    return grant_of(pattern, primitive, principal=args.principal, team=args.team, server=args.server)


#: What is refused while an entry is not approved, per primitive.
_REFUSED = {Primitive.TOOL: "calls", Primitive.PROMPT: "gets", Primitive.RESOURCE: "reads"}


def _status_note(tool: ToolRecord | None) -> str:
    """What a grant of an entry that is not approved means for now."""
    if tool is None or tool.status is ToolStatus.APPROVED:
        return ""
    what, refused = tool.kind.family.value, _REFUSED[tool.kind.family]
    if tool.status is ToolStatus.REJECTED:
        return f" (the {what} is rejected by {rejected_by(tool)}: {refused} are refused)"
    return f" (the {what} is {tool.status.value}: {refused} are refused until it is approved)"


def _granted(grant: Grant) -> str:
    """``calc__add``, ``prompt docs__greet``, ``resource steward://docs/...``."""
    return grant.target if grant.primitive is Primitive.TOOL else f"{grant.primitive.value} {grant.target}"


def grants_add(target: Target, args: argparse.Namespace) -> None:
    """Grant a tool, prompt or resource; the subject and the entry (or ``SERVER__*``'s server) must exist: a typo
    would grant nothing. ``--allow-unknown`` admits a principal or team that only an OIDC issuer knows."""
    grant = _grant(args)
    tool = add_grant(ports(target), grant, allow_unknown=args.allow_unknown)
    print(f"granted {_granted(grant)} to {grant.subject_kind} {grant.subject}{_status_note(tool)}")


def grants_remove(target: Target, args: argparse.Namespace) -> None:
    """Remove a grant. A grant whose subject or entry no longer exists is removed all the same (cleanup); when
    nothing matched, the refusal names the closest subject or grant there is."""
    grant = _grant(args)
    remove_grant(ports(target), grant)
    print(f"removed {_granted(grant)} from {grant.subject_kind} {grant.subject}")


def grants_list(target: Target, args: argparse.Namespace) -> None:
    """Every grant: its subject, the primitive it opens and its target (an exposed name or URI, or ``SERVER__*``)."""
    rows = [
        {"subject_kind": g.subject_kind.value, "subject": g.subject, "primitive": g.primitive.value, "target": g.target}
        for g in sorted(target.grants.all(), key=lambda g: (g.subject_kind, g.subject, g.pattern))
    ]
    _emit(rows, args.json, ["subject_kind", "subject", "primitive", "target"])


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
        vendor = VendorServer(args.name, args.url, args.allow_host or (), args.secret, args.auth_header, aliases)
        register(target, replace(vendor, namespaced=not args.unprefixed))
        return
    if args.secret or args.auth_header or args.allow_host:
        raise UsageError("--secret, --auth-header and --allow-host are for vendor servers (--url)")
    function = target.function(args.function)
    internal = InternalServer(args.name, function.name, function.timeout_s, args.function, aliases)
    register(target, replace(internal, namespaced=not args.unprefixed))


def _counts(records: list[ToolRecord]) -> str:
    """``2 tools, 1 prompt, 3 resources`` (the primitives present; ``0 tools`` when there are none)."""
    names = {Primitive.TOOL: "tool", Primitive.PROMPT: "prompt", Primitive.RESOURCE: "resource"}
    names[Primitive.RESOURCE_TEMPLATE] = "resource template"
    counts = {kind: sum(1 for r in records if r.kind is kind) for kind in Primitive}
    shown = [f"{n} {names[kind]}{'' if n == 1 else 's'}" for kind, n in counts.items() if n or kind is Primitive.TOOL]
    return ", ".join(shown)


def register(target: Target, server: InternalServer | VendorServer) -> None:
    """Register (or register again) a server, as ``steward servers add`` and ``steward apply`` do, and print what
    it exposes (tools by exposed name, other entries by registry id) and what it listed but could not expose."""
    registration = add_server(ports(target), server)
    records = registration.records
    if isinstance(server, VendorServer):
        url = target.registry.catalog().servers[ServerName(server.name)].url  # as the registry holds it
        print(f"registered vendor {server.name} ({url}) with {_counts(records)}:")
    else:
        print(f"registered {server.name} ({server.function_name}) with {_counts(records)}:")
    for tool in records:
        print(f"  {tool.exposed_name}  {tool.status.value}  (scan: {tool.verdict})")
    for skipped in registration.skipped:
        print(f"  skipped {skipped}")


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
            "prompts": sum(1 for t in catalog.prompts.values() if t.server == s.name),
            "resources": sum(
                1 for t in [*catalog.resources.values(), *catalog.templates.values()] if t.server == s.name
            ),
        }
        for s in catalog.servers.values()
    ]
    _emit(rows, args.json, ["name", "kind", "function", "logical_id", "version", "tools", "prompts", "resources"])


def servers_show(target: Target, args: argparse.Namespace) -> None:
    """A server's record and every entry it exposes, with its kind (tool, prompt, resource, template)."""
    catalog = target.registry.catalog()
    server = catalog.servers.get(ServerName(args.name))
    if server is None:
        raise UsageError(f"no server {args.name!r} (see 'steward servers list')")
    entries = [
        {"kind": r.kind.value, "name": r.public_name, "upstream_name": r.upstream_name, "status": r.status.value}
        | {"verdict": r.verdict}
        for r in sorted(target.registry.tools_of(server.name), key=lambda r: (r.kind != Primitive.TOOL, r.exposed_name))
    ]
    shown: dict[str, Any] = {
        "name": server.name,
        "kind": server.kind.value,
        "function": server.function_name or None,
        "url": server.url,
        "logical_id": server.logical_id,
        "version": server.version,
        "namespaced": server.namespaced,
        "capabilities": sorted(server.capabilities),
        "entries": entries,
    }
    if args.json:
        print(json.dumps(shown, indent=2, sort_keys=True))
        return
    for key in ("name", "kind", "function", "url", "logical_id", "version"):
        if shown[key] is not None:
            print(f"{key}: {shown[key]}")
    print(f"namespaced: {'yes' if server.namespaced else 'no (names exposed unprefixed)'}")
    print(f"capabilities: {', '.join(shown['capabilities']) or '-'}")
    _emit(entries, False, ["kind", "name", "upstream_name", "status", "verdict"])


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
        for skipped in report.skipped:
            print(f"{name}: skipped {skipped}")
        print(f"{name}: synced, {len(report.transitions)} changes")
    if failed:
        raise RegistrationError(f"could not list {', '.join(failed)}")


def _family(args: argparse.Namespace) -> Primitive:
    """The primitive a ``steward tools|prompts|resources`` command administers (``tools`` by default)."""
    return Primitive(getattr(args, "primitive", Primitive.TOOL.value))


def tools_list(target: Target, args: argparse.Namespace) -> None:
    """``steward tools list`` (as always), ``prompts list`` and ``resources list`` (resources and templates, with
    their ``kind``): the entries, their status and price."""
    family = _family(args)
    catalog = target.registry.catalog()
    kinds = [Primitive.RESOURCE, Primitive.RESOURCE_TEMPLATE] if family is Primitive.RESOURCE else [family]
    rows = [
        {
            **({"kind": t.kind.value} if family is Primitive.RESOURCE else {}),
            "name": t.public_name,
            "server": t.server,
            "upstream_name": t.upstream_name,
            "status": t.status.value,
            **money_fields("price", t.price.price),
            **money_fields("unit_price", t.price.unit_price),
            "max_units": t.price.max_units,
        }
        for kind in kinds
        for t in catalog.entries(kind).values()
    ]
    columns = ["name", "server", "upstream_name", "status", "price", "unit_price", "max_units"]
    _emit(rows, args.json, (["kind"] if family is Primitive.RESOURCE else []) + columns)


def tools_approve(target: Target, args: argparse.Namespace) -> None:
    approved = approve_tool(ports(target), args.name, args.acknowledge or [], _family(args))
    print(f"approved {args.name} (pinned {approved.pinned_hash})")


def tools_reject(target: Target, args: argparse.Namespace) -> None:
    """Reject an entry, recording who did (``steward tools|prompts|resources reset`` returns it to pending)."""
    family = _family(args)
    if reject_tool(ports(target), args.name, family) is None:
        tool = known_entry(ports(target), args.name, family)
        print(f"{args.name} is already rejected by {rejected_by(tool)}")
        return
    print(f"rejected {args.name} ('steward {COMMAND[family]} reset {args.name}' returns it to pending)")


def tools_reset(target: Target, args: argparse.Namespace) -> None:
    """Return a rejected or disabled entry to pending (unpinned, to be reviewed and approved again). An entry the
    scan finds malicious stays rejected: only a changed definition (``steward servers sync``) can free it."""
    family = _family(args)
    tool = reset_tool(ports(target), args.name, family)
    who = rejected_by(tool)
    was = f"rejected by {who}" if who is not None else tool.status.value
    print(f"reset {args.name} to pending (it was {was}); 'steward {COMMAND[family]} approve {args.name}' approves it")


def tools_disable(target: Target, args: argparse.Namespace) -> None:
    disable_tool(ports(target), args.name, _family(args))
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
    """An entry's definition, status, findings, pins and changes since approval (``kind`` for a resource's)."""
    family = _family(args)
    tool = known_entry(ports(target), args.name, family)
    server = target.registry.catalog().servers.get(tool.server)
    shown = {
        **({"kind": tool.kind.value} if family is Primitive.RESOURCE else {}),
        "name": tool.public_name,
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
    keys = ("name", "server", "upstream_name", "status", "verdict", "current_hash", "pinned_hash")
    for key in ("kind", *keys) if family is Primitive.RESOURCE else keys:
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
