"""Who is calling: principals, teams, roles, and the key that authenticated them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, NewType

PrincipalId = NewType("PrincipalId", str)
TeamName = NewType("TeamName", str)
KeyId = NewType("KeyId", str)

NAME_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def valid_entity_name(value: str) -> bool:
    """Team and principal names: ``^[a-z0-9][a-z0-9._-]{0,63}$`` (docs/design.md section 10)."""
    return NAME_PATTERN.fullmatch(value) is not None


class TokenKind(StrEnum):
    API_KEY = "api_key"
    JWT = "jwt"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. ``obo`` is the user an agent key acts for, if any."""

    id: PrincipalId
    team: TeamName
    roles: frozenset[str] = field(default_factory=frozenset)
    obo: PrincipalId | None = None
    key_id: KeyId | None = None
    token_kind: TokenKind = TokenKind.API_KEY

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


class IdentityError(Exception):
    """No usable identity on the request: answered 401 with ``WWW-Authenticate: Bearer``."""


class UnknownSigningKeyError(IdentityError):
    """The token's ``kid`` is not in the issuer's JWKS (after at most one rate-limited refetch): raised by the
    JWKS adapter, so it lives beside the error it refines rather than in the service that verifies tokens."""


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header (at most 4096 characters).

    Raises:
        IdentityError: no header, another scheme, or no token.
    """
    if authorization is None:
        raise IdentityError("missing Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 4096:
        raise IdentityError("expected Authorization: Bearer <token>")
    return token
