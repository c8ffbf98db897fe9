"""Keys and principals: ``steward keys create|revoke`` and the principals ``steward apply`` adds."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from mcp_steward.domain.grants import SubjectKind
from mcp_steward.domain.identity import PrincipalId, TeamName
from mcp_steward.domain.keys import KeyRecord, new_key_id, new_token, token_digest
from mcp_steward.domain.known import closest, unknown
from mcp_steward.services.admin.ports import (
    AdminConflictError,
    AdminPorts,
    AdminRefusedError,
    entity,
    refuse_unknown,
    teams,
)


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key to create for ``principal`` in ``team`` (the principal is created with it, in that team)."""

    principal: str
    team: str
    roles: Collection[str] = ()
    #: The principal an agent's key acts for; it must exist unless ``allow_unknown`` (only an OIDC issuer knows it).
    on_behalf_of: str | None = None
    expires_at: datetime | None = None  # UTC, in the future
    allow_unknown: bool = False


@dataclass(frozen=True, slots=True)
class CreatedKey:
    record: KeyRecord
    token: str  # shown once, never stored or audited
    #: The team is new and this existing team's name is close to it (a typo?).
    similar_team: str | None = None


def create_key(ports: AdminPorts, request: NewKey) -> CreatedKey:
    """Create a key (and its principal); audited as ``keys.create`` without the token or its digest.

    Raises:
        AdminRefusedError: a name breaks the naming rule, ``on_behalf_of`` names no principal, the expiry is past, or
            the principal belongs to another team.
    """
    principal = entity(request.principal, "principal")
    team = entity(request.team, "team")
    obo = entity(request.on_behalf_of, "--on-behalf-of") if request.on_behalf_of else None
    if obo is not None and not request.allow_unknown:
        missing = unknown(SubjectKind.PRINCIPAL, obo, ports.keys.members())
        if missing is not None:  # an agent acting for nobody the plane knows would be granted nothing
            raise refuse_unknown(missing, "--on-behalf-of")
    now = ports.clock()
    if request.expires_at is not None and request.expires_at <= now:
        raise AdminRefusedError("--expires must be in the future")
    token = new_token()
    record = KeyRecord(
        key_id=new_key_id(),
        digest=token_digest(token),
        principal=PrincipalId(principal),
        team=TeamName(team),
        roles=frozenset(request.roles),
        obo=PrincipalId(obo) if obo else None,
        created_at=now,
        expires_at=request.expires_at,
    )
    ports.acting()  # before any change: who acts is recorded
    known_teams = teams(ports)
    existing = ports.keys.ensure_principal(principal, team)
    if existing != team:
        raise AdminRefusedError(f"principal {principal} belongs to team {existing}; a principal has exactly one team")
    similar = closest(team, known_teams) if team not in known_teams else None
    ports.keys.put(record)
    ports.audit(
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
    return CreatedKey(record, token, similar)


def revoke_key(ports: AdminPorts, key_id: str) -> None:
    """Revoke a key; audited as ``keys.revoke``.

    Raises:
        AdminRefusedError: there is no such key.
    """
    ports.acting()
    if not ports.keys.revoke(key_id):
        raise AdminRefusedError(f"no key {key_id!r}")
    ports.audit("keys.revoke", {"key_id": key_id})


def add_principal(ports: AdminPorts, principal: str, team: str) -> None:
    """Create ``principal`` in ``team`` (a principal without a key, as ``steward apply`` lists them); audited as
    ``principals.add``.

    Raises:
        AdminRefusedError: a name breaks the naming rule.
        AdminConflictError: the principal belongs to another team.
    """
    entity(principal, "principal")
    entity(team, "team")
    ports.acting()
    stands = ports.keys.ensure_principal(principal, team)
    if stands != team:
        raise AdminConflictError(f"principal {principal} was created in team {stands} meanwhile")
    ports.audit("principals.add", {"principal": principal, "team": team}, team=team, principal=principal)
