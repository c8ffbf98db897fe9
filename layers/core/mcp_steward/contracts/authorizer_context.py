"""The authorizer context: who the caller is, as API Gateway's REQUEST authorizer hands it to governance.

The authorizer function encodes it (``services/authorizer.py``), API Gateway carries it in the governance event's
``requestContext.authorizer``, and governance decodes it (``http/identity.py``, ``IDENTITY_MODE=authorizer``).
API Gateway allows only flat string values: ``roles`` is comma-separated, ``obo`` and ``keyId`` are empty when
absent (docs/design.md section 2).
"""

from __future__ import annotations

from typing import Any, TypedDict

from mcp_steward.contracts import ContractError
from mcp_steward.domain.identity import KeyId, Principal, PrincipalId, TeamName, TokenKind


class AuthorizerContext(TypedDict):
    """The context, all strings."""

    principalId: str
    team: str
    roles: str
    obo: str
    keyId: str
    tokenKind: str


class AuthorizerContextError(ContractError):
    """A request without a usable authorizer context (governance answers it as unauthenticated)."""


def encode(principal: Principal) -> AuthorizerContext:
    """The flat context of ``principal``."""
    return {
        "principalId": principal.id,
        "team": principal.team,
        "roles": ",".join(sorted(principal.roles)),
        "obo": principal.obo or "",
        "keyId": principal.key_id or "",
        "tokenKind": principal.token_kind.value,
    }


def decode(context: object) -> Principal:
    """The principal of a context (a missing ``tokenKind`` is an API key's, as before JWTs were accepted).

    Raises:
        AuthorizerContextError: not an object, no non-empty ``principalId`` or ``team``, or an unknown
            ``tokenKind``.
    """
    if not isinstance(context, dict):
        raise AuthorizerContextError("no authorizer context on the request")
    principal_id = context.get("principalId")
    team = context.get("team")
    if not isinstance(principal_id, str) or not principal_id or not isinstance(team, str) or not team:
        raise AuthorizerContextError("incomplete authorizer context")
    roles = context.get("roles") or ""
    obo = context.get("obo") or ""
    key_id = context.get("keyId") or ""
    kind = context.get("tokenKind") or TokenKind.API_KEY
    try:
        token_kind = TokenKind(kind)
    except ValueError as exc:
        raise AuthorizerContextError("unknown token kind in authorizer context") from exc
    return Principal(
        id=PrincipalId(principal_id),
        team=TeamName(team),
        roles=frozenset(r.strip() for r in str(roles).split(",") if r.strip()),
        obo=PrincipalId(obo) if obo else None,
        key_id=KeyId(key_id) if key_id else None,
        token_kind=token_kind,
    )


def context_of_event(event: object) -> object:
    """Where API Gateway puts the context in a governance event: ``requestContext.authorizer`` (or None)."""
    return event.get("requestContext", {}).get("authorizer") if isinstance(event, dict) else None


def decode_event(event: Any) -> Principal:
    """The principal of a governance event's authorizer context.

    Raises:
        AuthorizerContextError: as :func:`decode`.
    """
    return decode(context_of_event(event))
