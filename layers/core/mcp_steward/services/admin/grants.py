"""Grants: ``steward grants add|remove`` and the grants ``steward apply`` adds and prunes.

A grant opens one primitive (``--tool``, ``--prompt`` or ``--resource``; a resource grant covers templates too):
an exact exposed name (a URI or URI template for resources) or every entry of that primitive of a server,
``SERVER__*``. The subject and the entry (or ``SERVER__*``'s server) of a new grant must exist: a typo would grant
nothing. A principal or team only an OIDC issuer knows is admitted on purpose (``allow_unknown``)."""

from __future__ import annotations

from collections.abc import Collection

from mcp_steward.domain.grants import WILDCARD, Grant, SubjectKind, grant_pattern
from mcp_steward.domain.known import UnknownName, closest, unknown
from mcp_steward.domain.names import EXPOSED_NAME, EXPOSED_PROMPT_NAME, MAX_URI_BYTES, SERVER_NAME, URI_SCHEME
from mcp_steward.domain.registry import Catalog, Primitive, ToolRecord, split_entry_id
from mcp_steward.services.admin.ports import AdminPorts, AdminRefusedError, entity, refuse_unknown, teams

#: The longest exposed URI: ``steward://<server>/`` and an original of at most MAX_URI_BYTES.
MAX_EXPOSED_URI_BYTES = len(URI_SCHEME) + 17 + MAX_URI_BYTES
#: How each primitive's target is spelled, for a refusal.
_SPELLING = {
    Primitive.TOOL: "an exposed tool name or SERVER__*",
    Primitive.PROMPT: "an exposed prompt name or SERVER__*",
    Primitive.RESOURCE: "an exposed resource URI or URI template, or SERVER__*",
}


def _valid_target(primitive: Primitive, pattern: str) -> bool:
    name, _, rest = pattern.partition(WILDCARD)
    if not rest and pattern.endswith(WILDCARD) and SERVER_NAME.fullmatch(name) is not None:
        return True
    if primitive is Primitive.TOOL:
        return EXPOSED_NAME.fullmatch(pattern) is not None
    if primitive is Primitive.PROMPT:
        return EXPOSED_PROMPT_NAME.fullmatch(pattern) is not None
    return 0 < len(pattern.encode()) <= MAX_EXPOSED_URI_BYTES and all(ord(c) >= 0x21 for c in pattern)


def grant_of(
    pattern: str,
    primitive: Primitive = Primitive.TOOL,
    *,
    principal: str | None = None,
    team: str | None = None,
    server: str | None = None,
) -> Grant:
    """The grant of ``pattern`` (an exposed name or URI of ``primitive``, or ``SERVER__*``) to the one subject
    given.

    Raises:
        AdminRefusedError: no subject, or a name that breaks its naming rule.
    """
    if principal:
        kind, subject = SubjectKind.PRINCIPAL, entity(principal, "principal")
    elif team:
        kind, subject = SubjectKind.TEAM, entity(team, "team")
    elif server is not None:
        kind, subject = SubjectKind.SERVER, server
        if SERVER_NAME.fullmatch(subject) is None:
            raise AdminRefusedError(f"server {subject!r} must match ^[a-z][a-z0-9-]{{0,15}}$")
    else:
        raise AdminRefusedError("name the grant's subject: a principal, a team or a server")
    family = primitive.family
    if not _valid_target(family, pattern):
        raise AdminRefusedError(f"--{family.value} {pattern[:200]!r} must be {_SPELLING[family]}")
    return Grant(kind, subject, grant_pattern(family, pattern))


def unknown_target(grant: Grant, entries: Collection[str], servers: Collection[str]) -> UnknownName | None:
    """What a grant's pattern names that does not exist: the server of ``SERVER__*``, or an entry of the grant's
    primitive among ``entries`` (registry ids; a resource grant may name a resource or a template); None when it
    exists."""
    primitive, target = grant.primitive, grant.target
    if target.endswith(WILDCARD):
        return unknown(SubjectKind.SERVER, target.removesuffix(WILDCARD), servers)
    known = [public for kind, public in map(split_entry_id, entries) if kind.family is primitive]
    return unknown(primitive.value, target, known)


def _audit(ports: AdminPorts, action: str, grant: Grant) -> None:
    primitive = {} if grant.primitive is Primitive.TOOL else {"primitive": grant.primitive.value}
    ports.audit(
        action,
        {"subject_kind": grant.subject_kind.value, "subject": grant.subject, "tool": grant.pattern, **primitive},
        team=grant.subject if grant.subject_kind is SubjectKind.TEAM else None,
        principal=grant.subject if grant.subject_kind is SubjectKind.PRINCIPAL else None,
    )


def subjects(ports: AdminPorts, kind: SubjectKind, catalog: Catalog | None = None) -> set[str]:
    """The principals, teams or servers the plane holds (servers from ``catalog`` when given)."""
    if kind is SubjectKind.PRINCIPAL:
        return set(ports.keys.members())
    if kind is SubjectKind.TEAM:
        return teams(ports)
    return set((catalog or ports.registry.catalog()).servers)


def add_grant(
    ports: AdminPorts, grant: Grant, *, allow_unknown: bool = False, planned: bool = False
) -> ToolRecord | None:
    """Add ``grant``; audited as ``grants.add``. The granted entry's record when the grant names one entry (its
    status tells whether calls, gets or reads are allowed yet).

    ``planned``: the names were checked by a plan (``steward apply``) against the state it read; they are not
    read again for each grant.

    Raises:
        AdminRefusedError: the subject (unless ``allow_unknown`` admits a principal or team), the entry or the
            server does not exist.
    """
    if planned:
        ports.acting()
        ports.grants.add(grant)
        _audit(ports, "grants.add", grant)
        return None
    catalog = ports.registry.catalog()
    if not (allow_unknown and grant.subject_kind is not SubjectKind.SERVER):
        missing = unknown(grant.subject_kind, grant.subject, subjects(ports, grant.subject_kind, catalog))
        if missing is not None:
            raise refuse_unknown(missing)
    missing = unknown_target(grant, _entry_ids(catalog), catalog.servers)
    if missing is not None:
        raise refuse_unknown(missing, f"--{grant.primitive.value}")
    ports.acting()
    ports.grants.add(grant)
    _audit(ports, "grants.add", grant)
    if grant.primitive is Primitive.RESOURCE:
        return catalog.entry(grant.pattern) or catalog.templates.get(grant.target)
    return catalog.entry(grant.pattern)


def _entry_ids(catalog: Catalog) -> list[str]:
    return [record.exposed_name for kind in Primitive for record in catalog.entries(kind).values()]


def remove_grant(ports: AdminPorts, grant: Grant, *, missing_ok: bool = False) -> bool:
    """Remove ``grant``; audited as ``grants.remove``. A grant whose subject or tool no longer exists is removed
    all the same (cleanup). Whether there was such a grant (only ``missing_ok`` lets there be none).

    Raises:
        AdminRefusedError: there is no such grant (unless ``missing_ok``): the refusal names the closest subject or
            grant there is.
    """
    ports.acting()
    if ports.grants.remove(grant):
        _audit(ports, "grants.remove", grant)
        return True
    if missing_ok:
        return False
    granted = [g for g in ports.grants.all() if g.subject_kind is grant.subject_kind]
    held = subjects(ports, grant.subject_kind) | {g.subject for g in granted}
    missing = unknown(grant.subject_kind, grant.subject, held)
    if missing is not None:
        raise AdminRefusedError(f"{missing.message()}: no grant to remove")
    patterns = [g.pattern for g in granted if g.subject == grant.subject]
    similar = closest(grant.pattern, patterns)
    hint = f" (did you mean {similar!r}?)" if similar else f" (it has {len(patterns)} grants)" if patterns else ""
    raise AdminRefusedError(f"{grant.subject_kind} {grant.subject} has no grant {grant.pattern}{hint}")
