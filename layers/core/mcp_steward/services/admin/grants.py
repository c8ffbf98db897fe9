"""Grants: ``steward grants add|remove`` and the grants ``steward apply`` adds and prunes.

The subject and the tool (or ``SERVER__*``'s server) of a new grant must exist: a typo would grant nothing. A
principal or team only an OIDC issuer knows is admitted on purpose (``allow_unknown``)."""

from __future__ import annotations

from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.known import closest, unknown, unknown_pattern
from mcp_steward.domain.names import EXPOSED_NAME, SEPARATOR, SERVER_NAME, ExposedName
from mcp_steward.domain.registry import Catalog, ToolRecord
from mcp_steward.services.admin.ports import AdminPorts, AdminRefusedError, entity, refuse_unknown, teams


def grant_of(*, tool: str, principal: str | None = None, team: str | None = None, server: str | None = None) -> Grant:
    """The grant of ``tool`` (an exposed name or ``SERVER__*``) to the one subject given.

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
    name, sep, rest = tool.partition(SEPARATOR)
    wildcard = sep and rest == "*" and SERVER_NAME.fullmatch(name) is not None
    if not wildcard and EXPOSED_NAME.fullmatch(tool) is None:
        raise AdminRefusedError(f"--tool {tool!r} must be an exposed tool name or SERVER__*")
    return Grant(kind, subject, tool)


def _audit(ports: AdminPorts, action: str, grant: Grant) -> None:
    ports.audit(
        action,
        {"subject_kind": grant.subject_kind.value, "subject": grant.subject, "tool": grant.pattern},
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
    """Add ``grant``; audited as ``grants.add``. The granted tool's record when the grant names one tool (its
    status tells whether calls are allowed yet).

    ``planned``: the names were checked by a plan (``steward apply``) against the state it read; they are not
    read again for each grant.

    Raises:
        AdminRefusedError: the subject (unless ``allow_unknown`` admits a principal or team), the tool or the server
            does not exist.
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
    missing = unknown_pattern(grant.pattern, catalog.tools, catalog.servers)
    if missing is not None:
        raise refuse_unknown(missing, "--tool")
    ports.acting()
    ports.grants.add(grant)
    _audit(ports, "grants.add", grant)
    return catalog.tools.get(ExposedName(grant.pattern))


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
