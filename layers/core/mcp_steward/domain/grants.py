"""Grants, deny by default: a principal or a team may call an exposed tool name or every tool of a server."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from mcp_steward.domain.identity import Principal
from mcp_steward.domain.names import SEPARATOR


class SubjectKind(StrEnum):
    PRINCIPAL = "principal"
    TEAM = "team"
    SERVER = "server"


@dataclass(frozen=True, slots=True)
class Grant:
    """``pattern`` is an exact exposed name or ``<server>__*``."""

    subject_kind: SubjectKind
    subject: str
    pattern: str

    def matches(self, exposed_name: str) -> bool:
        if self.pattern.endswith(SEPARATOR + "*"):
            return exposed_name.startswith(self.pattern[:-1])
        return self.pattern == exposed_name


def subjects_of(principal: Principal) -> list[tuple[SubjectKind, str]]:
    return [(SubjectKind.PRINCIPAL, principal.id), (SubjectKind.TEAM, principal.team)]


def allows(grants: Iterable[Grant], exposed_name: str) -> bool:
    return any(grant.matches(exposed_name) for grant in grants)
