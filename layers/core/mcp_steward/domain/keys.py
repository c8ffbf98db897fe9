"""API keys: random bearer tokens of which only a SHA-256 digest is ever stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from mcp_steward.domain.identity import KeyId, Principal, PrincipalId, TeamName, TokenKind

TOKEN_PREFIX = "stw_"  # noqa: S105 - a prefix, not a secret


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_key_id() -> KeyId:
    return KeyId("key_" + secrets.token_hex(6))


def token_digest(token: str) -> str:
    """The stored form of a token. Tokens carry 256 random bits, so an unsalted hash is not guessable."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class KeyRecord:
    key_id: KeyId
    digest: str
    principal: PrincipalId
    team: TeamName
    roles: frozenset[str]
    obo: PrincipalId | None
    created_at: datetime
    expires_at: datetime | None = None
    revoked: bool = False

    def usable_at(self, now: datetime) -> bool:
        return not self.revoked and (self.expires_at is None or now < self.expires_at)

    def principal_view(self) -> Principal:
        return Principal(
            id=self.principal,
            team=self.team,
            roles=self.roles,
            obo=self.obo,
            key_id=self.key_id,
            token_kind=TokenKind.API_KEY,
        )
