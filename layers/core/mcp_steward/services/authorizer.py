"""The API Gateway REQUEST authorizer's decision: a bearer API key → an IAM policy and a flat context.

API Gateway answers 401 when the authorizer raises ``Unauthorized``; the policy covers the whole stage so a
cached decision serves every method and path of the API (the cache's TTL is the revocation window).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcp_steward.domain.identity import IdentityError, Principal
from mcp_steward.domain.ports import KeyStore
from mcp_steward.http.identity import bearer_token


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


def context_of(principal: Principal) -> dict[str, str]:
    """The flat authorizer context of DESIGN.md section 2: all strings."""
    return {
        "principalId": principal.id,
        "team": principal.team,
        "roles": ",".join(sorted(principal.roles)),
        "obo": principal.obo or "",
        "keyId": principal.key_id or "",
        "tokenKind": principal.token_kind.value,
    }


def authorize(event: Mapping[str, Any], keys: KeyStore) -> dict[str, Any]:
    """Raises :class:`Unauthorized` for a missing, unknown, revoked or expired token."""
    try:
        token = bearer_token(_header(event.get("headers"), "authorization"))
    except IdentityError as exc:
        raise Unauthorized from exc
    principal = keys.resolve(token)
    if principal is None:
        raise Unauthorized
    return {
        "principalId": principal.id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": stage_arn(str(event["methodArn"]))}
            ],
        },
        "context": context_of(principal),
    }
