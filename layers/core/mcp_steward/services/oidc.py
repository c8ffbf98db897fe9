"""OIDC bearer JWTs (e.g. Amazon Cognito's) → a :class:`Principal`, for the API Gateway authorizer.

A token is accepted only when it is signed with RS256 or ES256 by a key in the issuer's JWKS (never HS* or
``none``), its ``iss`` is the configured issuer, its audience is the configured one (``aud``; or, for a Cognito
access token, which has no ``aud``, its ``client_id``), it is within ``nbf``/``iat``..``exp``, and it names a
principal and a team. PyJWT (with cryptography beneath it, ~180 ms to import) is imported on the first JWT, so the
API-key path never pays for it.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import urlsplit

from mcp_steward.domain.identity import (
    IdentityError,
    Principal,
    PrincipalId,
    TeamName,
    TokenKind,
    valid_entity_name,
)
from mcp_steward.protocol.jsonrpc import loads_unicode
from mcp_steward.settings import SettingsError

if TYPE_CHECKING:
    from jwt import PyJWK

#: The only signature algorithms accepted; the key's own algorithm must match the token's too.
ALGORITHMS: Final = ("RS256", "ES256")
_SEGMENT: Final = re.compile(r"[A-Za-z0-9_-]*")
_LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_TEAM_CLAIM: Final = "custom:team"
DEFAULT_ROLES_CLAIM: Final = "cognito:groups"
DEFAULT_PRINCIPAL_CLAIM: Final = "sub"


class SigningKeys(Protocol):
    """The issuer's public signing keys (its JWKS), by key id."""

    def signing_key(self, kid: str) -> PyJWK:
        """The key ``kid`` names.

        Raises:
            UnknownSigningKeyError: no such signing key.
            StoreUnavailableError: the JWKS could not be fetched (callers fail closed).
        """
        ...


def jwt_header(token: str) -> dict[str, Any] | None:
    """The JOSE header of a token shaped like a JWS compact JWT (three base64url segments, the first a JSON
    object), or None for anything else (a Steward API key has no dots). Nothing is verified here."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0] or not parts[1] or not all(_SEGMENT.fullmatch(p) for p in parts):
        return None
    try:
        header = loads_unicode(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        return None
    return header if isinstance(header, dict) else None


def _endpoint(variable: str, url: str) -> str:
    """An https URL, or http on a loopback host (tests and local issuers)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        parts = urlsplit("")
    secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS)
    if not secure or not parts.hostname or parts.query or parts.fragment:
        raise SettingsError(f"{variable} must be an https URL (http only on a loopback host), not {url!r}")
    return url


@dataclass(frozen=True, slots=True, kw_only=True)
class OidcConfig:
    """Which issuer's JWTs the authorizer accepts and how their claims map onto a principal."""

    issuer: str
    audience: str
    jwks_url: str
    team_claim: str = DEFAULT_TEAM_CLAIM
    roles_claim: str = DEFAULT_ROLES_CLAIM
    principal_claim: str = DEFAULT_PRINCIPAL_CLAIM
    #: When set, a valid token whose ``scope`` lacks it is answered with an explicit Deny (403), not 401.
    required_scope: str = ""
    leeway_s: int = 30

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OidcConfig | None:
        """``OIDC_*`` variables; None (JWTs refused) when neither ``OIDC_ISSUER`` nor ``OIDC_AUDIENCE`` is set.

        Raises:
            SettingsError: one of issuer and audience without the other, a URL that is not https, or the team and
                principal read from the same claim.
        """
        issuer, audience = env.get("OIDC_ISSUER", "").strip(), env.get("OIDC_AUDIENCE", "").strip()
        if not issuer and not audience:
            return None
        if not audience:
            raise SettingsError("OIDC_AUDIENCE is required with OIDC_ISSUER (JWTs are only accepted for an audience)")
        issuer = _endpoint("OIDC_ISSUER", issuer)
        jwks_url = env.get("OIDC_JWKS_URL", "").strip() or issuer.rstrip("/") + "/.well-known/jwks.json"
        config = cls(
            issuer=issuer,
            audience=audience,
            jwks_url=_endpoint("OIDC_JWKS_URL", jwks_url),
            team_claim=env.get("OIDC_TEAM_CLAIM", "").strip() or DEFAULT_TEAM_CLAIM,
            roles_claim=env.get("OIDC_ROLES_CLAIM", "").strip() or DEFAULT_ROLES_CLAIM,
            principal_claim=env.get("OIDC_PRINCIPAL_CLAIM", "").strip() or DEFAULT_PRINCIPAL_CLAIM,
            required_scope=env.get("OIDC_REQUIRED_SCOPE", "").strip(),
        )
        if config.team_claim == config.principal_claim:
            raise SettingsError("OIDC_TEAM_CLAIM and OIDC_PRINCIPAL_CLAIM must name different claims")
        return config


@dataclass(frozen=True, slots=True)
class OidcIdentity:
    principal: Principal
    scopes: frozenset[str]


def _audience_matches(claims: Mapping[str, Any], audience: str) -> bool:
    """``aud`` (a string or a list) names the audience; a token without ``aud`` only when it is a Cognito access
    token (``token_use`` "access") whose ``client_id`` is the audience."""
    aud = claims.get("aud")
    if aud is not None:
        return aud == audience or (isinstance(aud, list) and audience in aud)
    return claims.get("token_use") == "access" and claims.get("client_id") == audience


def _roles(value: Any) -> frozenset[str]:
    """A list of strings or a space-separated string; a role that the comma-separated context could not carry
    faithfully (a comma or whitespace in it) is dropped, which can only take privilege away."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list) or not all(isinstance(role, str) for role in value):
        raise IdentityError("the roles claim must be a string or a list of strings")
    return frozenset(role for role in value if role and "," not in role and not any(c.isspace() for c in role))


def _name(claims: Mapping[str, Any], claim: str) -> str:
    value = claims.get(claim)
    if not isinstance(value, str) or not valid_entity_name(value):
        raise IdentityError(f"claim {claim!r} is missing or not a valid name")
    return value


class OidcVerifier:
    """Verifies a JWT against the configured issuer and maps its claims onto a principal."""

    def __init__(self, config: OidcConfig, keys: SigningKeys) -> None:
        self.config = config
        self._keys = keys

    def verify(self, token: str, header: Mapping[str, Any]) -> OidcIdentity:
        """The identity a JWT carries; ``header`` is :func:`jwt_header`'s reading of it.

        Raises:
            IdentityError: a token that is unsigned, signed with another algorithm or an unknown key, tampered,
                expired, not yet valid, for another issuer or audience, or without a valid principal or team.
            StoreUnavailableError: the issuer's JWKS could not be fetched.
        """
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in ALGORITHMS:
            raise IdentityError("JWT algorithm not allowed")
        if not isinstance(kid, str) or not kid:
            raise IdentityError("JWT without a key id")
        key = self._keys.signing_key(kid)

        import jwt  # lazily: only the JWT path pays for PyJWT and cryptography

        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(ALGORITHMS),
                issuer=self.config.issuer,
                leeway=self.config.leeway_s,
                options={"require": ["exp", "iss"], "verify_aud": False, "enforce_minimum_key_length": True},
            )
        except jwt.PyJWTError as exc:
            # The class name says why (ExpiredSignatureError, InvalidIssuerError...) without echoing the token.
            raise IdentityError(f"JWT refused: {type(exc).__name__}") from None
        if not _audience_matches(claims, self.config.audience):
            raise IdentityError("JWT refused: wrong audience")
        if claims.get("token_use", "id") not in ("id", "access"):
            raise IdentityError("JWT refused: unknown token_use")
        scope = claims.get("scope", "")
        principal = Principal(
            id=PrincipalId(_name(claims, self.config.principal_claim)),
            team=TeamName(_name(claims, self.config.team_claim)),
            roles=_roles(claims.get(self.config.roles_claim)),
            token_kind=TokenKind.JWT,
        )
        return OidcIdentity(principal, frozenset(scope.split()) if isinstance(scope, str) else frozenset())

    def permits(self, identity: OidcIdentity) -> bool:
        """Whether a verified identity carries the required scope (always, when none is configured)."""
        return not self.config.required_scope or self.config.required_scope in identity.scopes
