"""The API Gateway REQUEST authorizer's decision: a bearer API key or OIDC JWT → an IAM policy and a flat context.

The token's shape picks the path before any lookup: three base64url segments with a JSON header is a JWT
(verified against the issuer's JWKS, never looked up in DynamoDB); anything else is a Steward API key (its digest
looked up in the keys table). API Gateway answers 401 when the authorizer raises ``Unauthorized`` and 403 for an
explicit Deny (a valid JWT without the required scope); the policy covers the whole stage so a cached decision
serves every method and path of the API (the cache's TTL is the revocation window).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcp_steward.contracts import authorizer_context
from mcp_steward.domain.identity import IdentityError, Principal, bearer_token
from mcp_steward.domain.ports import KeyStore
from mcp_steward.services.oidc import OidcVerifier, jwt_header


class Unauthorized(Exception):  # noqa: N818 - API Gateway matches this exact message
    def __init__(self) -> None:
        super().__init__("Unauthorized")


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name and isinstance(value, str):
            return value
    return None


def stage_arn(method_arn: str) -> str:
    """``arn:aws:execute-api:region:account:api/stage/VERB/path`` → ``.../api/stage/*/*``."""
    prefix, _, resource = method_arn.partition(":execute-api:")
    parts = resource.split("/")
    if not prefix or len(parts) < 2:
        raise Unauthorized
    return f"{prefix}:execute-api:{parts[0]}/{parts[1]}/*/*"


def _principal(token: str, keys: KeyStore, oidc: OidcVerifier | None) -> tuple[Principal, bool]:
    """The token's principal and whether the policy allows it; raises :class:`IdentityError` for no principal."""
    header = jwt_header(token)
    if header is None:
        principal = keys.resolve(token)
        if principal is None:
            raise IdentityError("unknown, revoked or expired API key")
        return principal, True
    if oidc is None:
        raise IdentityError("JWTs are not accepted (no OIDC issuer configured)")
    identity = oidc.verify(token, header)
    return identity.principal, oidc.permits(identity)


def authorize(event: Mapping[str, Any], keys: KeyStore, oidc: OidcVerifier | None = None) -> dict[str, Any]:
    """The policy and context for a REQUEST authorizer event.

    Raises:
        Unauthorized: a missing or malformed header; an unknown, revoked or expired API key; a JWT that is
            unsigned, signed with another algorithm or key, tampered, expired, not yet valid, for another issuer
            or audience, or without a principal or team; any JWT when ``oidc`` is None. Its ``__cause__`` says
            which, never with the token.
        StoreUnavailableError: the keys table or the issuer's JWKS could not answer (API Gateway answers 500).
    """
    resource = stage_arn(str(event.get("methodArn", "")))
    try:
        principal, allowed = _principal(bearer_token(_header(event.get("headers"), "authorization")), keys, oidc)
    except IdentityError as exc:
        raise Unauthorized from exc
    return {
        "principalId": principal.id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow" if allowed else "Deny", "Resource": resource}
            ],
        },
        "context": authorizer_context.encode(principal),
    }
