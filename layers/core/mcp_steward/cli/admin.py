"""Admin commands over a :class:`~mcp_steward.cli.target.Target`: keys, grants, servers, tools."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from mcp_steward.cli.target import Target
from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.identity import PrincipalId, TeamName, valid_entity_name
from mcp_steward.domain.keys import KeyRecord, new_key_id, new_token, token_digest
from mcp_steward.domain.money import money_fields
from mcp_steward.domain.names import EXPOSED_NAME, SEPARATOR, SERVER_NAME
from mcp_steward.domain.registry import ToolStatus
from mcp_steward.services.registration import register_internal_server


class UsageError(Exception):
    """Refused input: exit 2, nothing changed."""


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


def _entity(value: str, what: str) -> str:
    if not valid_entity_name(value):
        raise UsageError(f"{what} {value!r} must match ^[a-z0-9][a-z0-9._-]{{0,63}}$")
    return value


def _expiry(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--expires {value!r} is not an ISO 8601 date-time") from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if parsed <= datetime.now(UTC):
        raise UsageError("--expires must be in the future")
    return parsed.astimezone(UTC)


def keys_create(target: Target, args: argparse.Namespace) -> None:
    principal = _entity(args.principal, "principal")
    team = _entity(args.team, "team")
    obo = _entity(args.on_behalf_of, "--on-behalf-of") if args.on_behalf_of else None
    token = new_token()
    record = KeyRecord(
        key_id=new_key_id(),
        digest=token_digest(token),
        principal=PrincipalId(principal),
        team=TeamName(team),
        roles=frozenset(args.role or []),
        obo=PrincipalId(obo) if obo else None,
        created_at=datetime.now(UTC),
        expires_at=_expiry(args.expires),
    )
    target.actor()  # before any change: who acts is recorded
    existing = target.keys.ensure_principal(principal, team)
    if existing != team:
        raise UsageError(f"principal {principal} belongs to team {existing}; a principal has exactly one team")
    target.keys.put(record)
    target.record_admin(
        "keys.create",
        {
            "key_id": record.key_id,
            "roles": sorted(record.roles),
            "on_behalf_of": record.obo,
            "expires_at": record.expires_at.isoformat() if record.expires_at else None,
        },
        team=team,
        principal=principal,
    )
    print(f"created key {record.key_id} for {principal} (team {team}); the token is shown once:")
    print(token)


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
    target.actor()
    if not target.keys.revoke(args.key_id):
        raise UsageError(f"no key {args.key_id!r}")
    target.record_admin("keys.revoke", {"key_id": args.key_id})
    print(f"revoked {args.key_id}")


def _grant(args: argparse.Namespace) -> Grant:
    if args.principal:
        kind, subject = SubjectKind.PRINCIPAL, _entity(args.principal, "principal")
    elif args.team:
        kind, subject = SubjectKind.TEAM, _entity(args.team, "team")
    else:
        kind, subject = SubjectKind.SERVER, args.server
        if SERVER_NAME.fullmatch(subject) is None:
            raise UsageError(f"server {subject!r} must match ^[a-z][a-z0-9-]{{0,15}}$")
    tool = args.tool
    server, sep, rest = tool.partition(SEPARATOR)
    wildcard = sep and rest == "*" and SERVER_NAME.fullmatch(server) is not None
    if not wildcard and EXPOSED_NAME.fullmatch(tool) is None:
        raise UsageError(f"--tool {tool!r} must be an exposed tool name or SERVER__*")
    return Grant(kind, subject, tool)


def _record_grant(target: Target, action: str, grant: Grant) -> None:
    target.record_admin(
        action,
        {"subject_kind": grant.subject_kind.value, "subject": grant.subject, "tool": grant.pattern},
        team=grant.subject if grant.subject_kind is SubjectKind.TEAM else None,
        principal=grant.subject if grant.subject_kind is SubjectKind.PRINCIPAL else None,
    )


def grants_add(target: Target, args: argparse.Namespace) -> None:
    grant = _grant(args)
    target.actor()
    target.grants.add(grant)
    _record_grant(target, "grants.add", grant)
    print(f"granted {grant.pattern} to {grant.subject_kind} {grant.subject}")


def grants_remove(target: Target, args: argparse.Namespace) -> None:
    grant = _grant(args)
    target.actor()
    if not target.grants.remove(grant):
        raise UsageError(f"{grant.subject_kind} {grant.subject} has no grant {grant.pattern}")
    _record_grant(target, "grants.remove", grant)
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
    )
    target.record_admin(
        "servers.add",
        {"server": args.name, "function": function.name, "tools": [tool.exposed_name for tool in tools]},
    )
    print(f"registered {args.name} ({function.name}) with {len(tools)} tools, pending approval:")
    for tool in tools:
        print(f"  {tool.exposed_name}")


def servers_list(target: Target, args: argparse.Namespace) -> None:
    catalog = target.registry.catalog()
    rows = [
        {
            "name": s.name,
            "kind": s.kind.value,
            "function": s.function_name,
            "logical_id": s.logical_id or "",
            "tools": sum(1 for t in catalog.tools.values() if t.server == s.name),
        }
        for s in catalog.servers.values()
    ]
    _emit(rows, args.json, ["name", "kind", "function", "logical_id", "tools"])


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
    catalog = target.registry.catalog()
    tool = catalog.tools.get(args.name)
    if tool is None:
        raise UsageError(f"no tool {args.name!r} (see 'steward tools list')")
    if tool.status is ToolStatus.REJECTED:
        raise UsageError(f"{args.name} was rejected; register the server again after fixing it")
    target.actor()
    target.registry.set_status(tool, ToolStatus.APPROVED)
    target.record_admin("tools.approve", {"previous_status": tool.status.value}, tool=tool.exposed_name)
    print(f"approved {args.name}")
