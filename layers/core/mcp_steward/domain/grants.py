"""Grants, deny by default: a principal, a team or a server may use an exposed primitive, or every one of a
server's of that primitive.

A grant names one primitive (docs/design.md section 4): its ``pattern`` is the registry id form
(:mod:`mcp_steward.domain.registry`) of an exact exposed name or of ``<server>__*``:

- tools: ``currency__convert`` or ``currency__*`` (as before: stored grants keep their meaning);
- prompts: ``prompt:docs__greet`` or ``prompt:docs__*``;
- resources and resource templates: ``resource:steward://docs/file:///a.md`` (an exposed URI or URI template)
  or ``resource:docs__*``.

``<server>__*`` matches the entries of that server (by the entry's server, so a server exposed unprefixed is
covered too), of that primitive only: a tool grant never opens a prompt or a resource.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from mcp_steward.domain.identity import Principal
from mcp_steward.domain.names import SEPARATOR, server_of
from mcp_steward.domain.registry import Primitive, entry_id, split_entry_id

WILDCARD = SEPARATOR + "*"


class SubjectKind(StrEnum):
    PRINCIPAL = "principal"
    TEAM = "team"
    SERVER = "server"


def grant_pattern(primitive: Primitive, pattern: str) -> str:
    """The stored pattern of a grant on ``primitive`` (templates are granted as resources)."""
    family = primitive.family
    if pattern.endswith(WILDCARD) and family is not Primitive.TOOL:
        return f"{family.value}:{pattern}"
    return entry_id(family, pattern)


@dataclass(frozen=True, slots=True)
class Grant:
    """``pattern``: see the module docstring."""

    subject_kind: SubjectKind
    subject: str
    pattern: str

    @property
    def primitive(self) -> Primitive:
        return split_entry_id(self.pattern)[0]

    @property
    def target(self) -> str:
        """The pattern without its primitive prefix: an exposed name or URI, or ``<server>__*``."""
        return split_entry_id(self.pattern)[1]

    def matches(self, entry: str, server: str | None = None) -> bool:
        """Whether the grant covers the registry entry ``entry`` of ``server`` (for a tool or prompt id the
        server defaults to its name's prefix)."""
        kind, public = split_entry_id(entry)
        mine, target = split_entry_id(self.pattern)
        if mine is not kind.family:
            return False
        if target.endswith(WILDCARD):
            owner = server if server is not None else server_of(public)
            return owner == target[: -len(WILDCARD)]
        return target == public


def subjects_of(principal: Principal) -> list[tuple[SubjectKind, str]]:
    return [(SubjectKind.PRINCIPAL, principal.id), (SubjectKind.TEAM, principal.team)]


def allows(grants: Iterable[Grant], entry: str, server: str | None = None) -> bool:
    return any(grant.matches(entry, server) for grant in grants)
