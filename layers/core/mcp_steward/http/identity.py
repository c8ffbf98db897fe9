"""Who is calling: the API Gateway authorizer's context (Lambda) or a bearer token (the local plane)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from mcp_steward.domain.identity import IdentityError, KeyId, Principal, PrincipalId, TeamName, TokenKind
from mcp_steward.domain.ports import KeyStore


class IdentityResolver(Protocol):
    def __call__(self, scope: Mapping[str, Any], authorization: str | None) -> Principal:
        """The caller of this request. Raises :class:`IdentityError` when there is none."""
        ...


def bearer_token(authorization: str | None) -> str:
    if authorization is None:
        raise IdentityError("missing Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 4096:
        raise IdentityError("expected Authorization: Bearer <token>")
    return token


class BearerIdentity:
    """``IDENTITY_MODE=bearer``: tokens resolved through the keys table (hashes only)."""

    def __init__(self, keys: KeyStore) -> None:
        self._keys = keys

    def __call__(self, scope: Mapping[str, Any], authorization: str | None) -> Principal:
        principal = self._keys.resolve(bearer_token(authorization))
        if principal is None:
            raise IdentityError("unknown, revoked or expired token")
        return principal


class AuthorizerIdentity:
    """``IDENTITY_MODE=authorizer``: the flat context API Gateway's REQUEST authorizer produced.

    ``{principalId, team, roles, obo, keyId, tokenKind}``, all strings; roles comma-separated; obo and keyId
    empty when absent (docs/design.md section 2).
    """

    def __call__(self, scope: Mapping[str, Any], authorization: str | None) -> Principal:
        event = scope.get("aws.event")
        context = event.get("requestContext", {}).get("authorizer") if isinstance(event, dict) else None
        if not isinstance(context, dict):
            raise IdentityError("no authorizer context on the request")
        principal_id = context.get("principalId")
        team = context.get("team")
        if not isinstance(principal_id, str) or not principal_id or not isinstance(team, str) or not team:
            raise IdentityError("incomplete authorizer context")
        roles = context.get("roles") or ""
        obo = context.get("obo") or ""
        key_id = context.get("keyId") or ""
        kind = context.get("tokenKind") or TokenKind.API_KEY
        try:
            token_kind = TokenKind(kind)
        except ValueError as exc:
            raise IdentityError("unknown token kind in authorizer context") from exc
        return Principal(
            id=PrincipalId(principal_id),
            team=TeamName(team),
            roles=frozenset(r.strip() for r in str(roles).split(",") if r.strip()),
            obo=PrincipalId(obo) if obo else None,
            key_id=KeyId(key_id) if key_id else None,
            token_kind=token_kind,
        )
