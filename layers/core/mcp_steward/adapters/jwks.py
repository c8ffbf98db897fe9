"""The OIDC issuer's signing keys: its JWKS over HTTPS (:class:`HttpJwks`) or a fixed set (:class:`StaticJwks`).

Both implement :class:`mcp_steward.services.oidc.SigningKeys`. PyJWT is imported on first use only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mcp_steward.domain.identity import UnknownSigningKeyError
from mcp_steward.domain.ports import StoreUnavailableError

if TYPE_CHECKING:
    from jwt import PyJWK, PyJWKClient


class HttpJwks:
    """``PyJWKClient`` over the issuer's JWKS URL, created on the first JWT and kept for the sandbox's life.

    The key set is cached for 5 minutes; a ``kid`` it lacks triggers at most one refetch per 30 s (PyJWKClient's
    cooldown), so tokens with invented key ids cannot make every request a fetch. A fetch that fails or answers
    garbage is :class:`StoreUnavailableError` (the authorizer errs, API Gateway answers 500: fail closed).
    """

    def __init__(self, url: str, *, timeout_s: float = 2.0, lifespan_s: float = 300.0) -> None:
        self._url = url
        self._timeout_s = timeout_s
        self._lifespan_s = lifespan_s
        self._client: PyJWKClient | None = None

    def signing_key(self, kid: str) -> PyJWK:
        import jwt

        if self._client is None:
            self._client = jwt.PyJWKClient(self._url, timeout=self._timeout_s, lifespan=self._lifespan_s)
        try:
            return self._client.get_signing_key(kid)
        except (jwt.PyJWKClientConnectionError, jwt.PyJWKSetError, ValueError) as exc:  # ValueError: not JSON
            raise StoreUnavailableError("the OIDC issuer's JWKS could not be fetched or read") from exc
        except jwt.PyJWKClientError as exc:
            raise UnknownSigningKeyError("no signing key with the token's key id") from exc


class StaticJwks:
    """A fixed JWKS (a ``{"keys": [...]}`` document): for tests and issuers whose keys are pinned."""

    def __init__(self, jwks: Mapping[str, Any]) -> None:
        import jwt

        keys = jwt.PyJWKSet.from_dict(dict(jwks)).keys
        self._keys = {key.key_id: key for key in keys if key.key_id and key.public_key_use in ("sig", None)}

    def signing_key(self, kid: str) -> PyJWK:
        try:
            return self._keys[kid]
        except KeyError:
            raise UnknownSigningKeyError("no signing key with the token's key id") from None
