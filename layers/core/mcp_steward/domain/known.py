"""Names an admin change refers to must exist: deny by default must not hide a typo.

A grant to team ``finanse`` or tool ``weather__forcast`` is accepted by every store and grants nothing, so
``steward grants add``, ``steward keys create --on-behalf-of`` and ``steward apply`` refuse a name the plane
does not hold, naming the closest one it does. What exists:

- a **principal**: a principal entity (or a key naming it, for keys created before principals were entities);
- a **team**: a team item, or the team of any principal;
- a **tool**: any tool in the registry's catalog, whatever its status (admins grant before they approve);
- a **server** (a ``SERVER__*`` pattern, or a server given a grant): a registered server.

A principal or team that only an OIDC issuer knows (OIDC subjects and their team claims are not stored as
principals) may be admitted on purpose (``--allow-unknown``, ``allow_unknown: true``); tools and servers never.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from mcp_steward.domain.grants import SubjectKind
from mcp_steward.domain.names import SEPARATOR

#: How alike a name must be to be suggested (difflib's ratio; 0.6 is its default).
SIMILARITY: Final = 0.6
#: A name longer than any valid one is not compared (difflib's cost grows with both lengths).
MAX_COMPARED: Final = 128


def closest(name: str, known: Collection[str]) -> str | None:
    """The known name most like ``name``, or None when none is alike enough."""
    if len(name) > MAX_COMPARED:
        return None
    found = difflib.get_close_matches(name, sorted(known), n=1, cutoff=SIMILARITY)
    return found[0] if found else None


@dataclass(frozen=True, slots=True)
class UnknownName:
    """A name the plane does not hold: what it names (``principal``, ``team``, ``server`` or ``tool``), and the
    closest name it does hold, if any."""

    kind: str
    name: str
    closest: str | None = None

    def message(self) -> str:
        """``no team 'finanse' (did you mean 'finance'?)``."""
        hint = f" (did you mean {self.closest!r}?)" if self.closest is not None else ""
        return f"no {self.kind} {self.name!r}{hint}"

    @property
    def admissible(self) -> bool:
        """Whether ``--allow-unknown`` may admit it: a principal or a team an OIDC issuer may know first."""
        return self.kind in (SubjectKind.PRINCIPAL, SubjectKind.TEAM)


def unknown(kind: str, name: str, known: Collection[str]) -> UnknownName | None:
    """None when ``name`` is among ``known``; otherwise what is missing, with the closest known name."""
    if name in known:
        return None
    return UnknownName(kind, name, closest(name, known))


def unknown_pattern(pattern: str, tools: Collection[str], servers: Collection[str]) -> UnknownName | None:
    """A grant's tool: an exposed name among ``tools``, or ``SERVER__*`` with the server among ``servers``."""
    wildcard = SEPARATOR + "*"
    if pattern.endswith(wildcard):
        return unknown(SubjectKind.SERVER, pattern.removesuffix(wildcard), servers)
    return unknown("tool", pattern, tools)
