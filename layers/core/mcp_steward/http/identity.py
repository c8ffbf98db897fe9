"""Who is calling: the API Gateway authorizer's context (Lambda) or a bearer token (the local plane)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from mcp_steward.contracts import authorizer_context
from mcp_steward.domain.identity import IdentityError, Principal, bearer_token
from mcp_steward.domain.ports import KeyStore


class IdentityResolver(Protocol):
    def __call__(self, scope: Mapping[str, Any], authorization: str | None) -> Principal:
        """The caller of this request. Raises :class:`IdentityError` when there is none."""
        ...


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

    ``{principalId, team, roles, obo, keyId, tokenKind}``, all strings
    (:mod:`mcp_steward.contracts.authorizer_context`).
    """

    def __call__(self, scope: Mapping[str, Any], authorization: str | None) -> Principal:
        try:
            return authorizer_context.decode_event(scope.get("aws.event"))
        except authorizer_context.AuthorizerContextError as exc:
            raise IdentityError(str(exc)) from exc
