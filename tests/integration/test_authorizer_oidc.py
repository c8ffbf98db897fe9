"""The authorizer against an OIDC issuer on loopback: its JWKS served over HTTP from a key generated here, fetched
by the real adapter (PyJWKClient), and tokens signed by that key, valid and otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mcp_steward.adapters.jwks import HttpJwks
from mcp_steward.adapters.memory import InMemoryKeyStore
from mcp_steward.domain.identity import Principal
from mcp_steward.domain.ports import StoreUnavailableError
from mcp_steward.services.authorizer import Unauthorized, authorize
from mcp_steward.services.oidc import OidcConfig, OidcVerifier
from tests.jwks_server import JwksServer, serve_jwks
from tests.oidc_keys import (
    CLIENT_ID,
    SUB,
    IssuerKey,
    access_token_claims,
    hs256_with_public_key,
    id_token_claims,
    jwks,
    tampered,
    unsigned,
)

METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/v1/POST/mcp"
KEY = IssuerKey("test-rsa-1")


class NoLookups(InMemoryKeyStore):
    def resolve(self, token: str) -> Principal | None:
        raise AssertionError("the key store was asked about a JWT")


@pytest.fixture(scope="module")
def issuer() -> Iterator[JwksServer]:
    with serve_jwks(jwks(KEY)) as server:
        yield server


@pytest.fixture
def oidc(issuer: JwksServer) -> OidcVerifier:
    """A verifier as the authorizer function builds it from its environment: a fresh JWKS client (empty cache)."""
    config = OidcConfig.from_env({"OIDC_ISSUER": issuer.base_url, "OIDC_AUDIENCE": CLIENT_ID})
    assert config is not None
    assert config.jwks_url == issuer.jwks_url
    return OidcVerifier(config, HttpJwks(config.jwks_url))


def event(token: str | None) -> dict[str, Any]:
    headers = {} if token is None else {"authorization": f"Bearer {token}"}
    return {"type": "REQUEST", "methodArn": METHOD_ARN, "headers": headers}


def claims(issuer: JwksServer, **overrides: Any) -> dict[str, Any]:
    return id_token_claims(**{"iss": issuer.base_url, **overrides})


def refusal(token: str | None, oidc: OidcVerifier) -> str:
    """Why the authorizer refused the token (the cause it chains), asserting it answered Unauthorized."""
    with pytest.raises(Unauthorized) as excinfo:
        authorize(event(token), NoLookups(), oidc)
    assert str(excinfo.value) == "Unauthorized"
    return str(excinfo.value.__cause__)


def test_a_token_signed_by_the_issuers_key_is_allowed_and_the_key_set_fetched_once(
    issuer: JwksServer, oidc: OidcVerifier
) -> None:
    before = issuer.fetches
    for token in (KEY.sign(claims(issuer)), KEY.sign(access_token_claims(iss=issuer.base_url))):
        answer = authorize(event(token), NoLookups(), oidc)
        assert answer["policyDocument"]["Statement"] == [
            {
                "Action": "execute-api:Invoke",
                "Effect": "Allow",
                "Resource": "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/v1/*/*",
            }
        ]
        assert answer["context"] == {
            "principalId": SUB,
            "team": "finance",
            "roles": "analysts",
            "obo": "",
            "keyId": "",
            "tokenKind": "jwt",
        }
    assert issuer.fetches - before == 1


def test_an_expired_token_is_unauthorized(issuer: JwksServer, oidc: OidcVerifier) -> None:
    assert "ExpiredSignatureError" in refusal(KEY.sign(claims(issuer, iat=1_700_000_000, exp=1_700_003_600)), oidc)


def test_a_token_for_another_audience_is_unauthorized(issuer: JwksServer, oidc: OidcVerifier) -> None:
    assert "audience" in refusal(KEY.sign(claims(issuer, aud="another-app-client")), oidc)


def test_a_token_from_another_issuer_is_unauthorized(issuer: JwksServer, oidc: OidcVerifier) -> None:
    other = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_0ther"
    assert "InvalidIssuerError" in refusal(KEY.sign(claims(issuer, iss=other)), oidc)


def test_a_tampered_token_is_unauthorized(issuer: JwksServer, oidc: OidcVerifier) -> None:
    assert "InvalidSignatureError" in refusal(tampered(KEY.sign(claims(issuer))), oidc)


def test_a_request_without_a_token_is_unauthorized(oidc: OidcVerifier) -> None:
    assert "missing Authorization header" in refusal(None, oidc)


def test_an_unsigned_token_is_unauthorized(issuer: JwksServer, oidc: OidcVerifier) -> None:
    assert "algorithm not allowed" in refusal(unsigned(claims(issuer), KEY.kid), oidc)


def test_hs256_keyed_with_the_issuers_public_key_is_unauthorized(issuer: JwksServer, oidc: OidcVerifier) -> None:
    assert "algorithm not allowed" in refusal(hs256_with_public_key(KEY, claims(issuer)), oidc)


def test_hs256_is_refused_by_the_jwt_library_too(issuer: JwksServer) -> None:
    # Defence in depth: with the header pre-check skipped, PyJWT still refuses HS256 for the issuer's key.
    import jwt

    signing_key = HttpJwks(issuer.jwks_url).signing_key(KEY.kid)
    with pytest.raises(jwt.InvalidAlgorithmError):
        jwt.decode(hs256_with_public_key(KEY, claims(issuer)), signing_key, algorithms=["RS256", "ES256"])


def test_a_token_signed_by_a_key_the_issuer_does_not_publish_is_unauthorized(
    issuer: JwksServer, oidc: OidcVerifier
) -> None:
    assert "no signing key" in refusal(IssuerKey("not-published").sign(claims(issuer)), oidc)


def test_a_token_without_the_team_claim_is_unauthorized(issuer: JwksServer, oidc: OidcVerifier) -> None:
    assert "custom:team" in refusal(KEY.sign(claims(issuer, **{"custom:team": None})), oidc)


def test_an_issuer_that_cannot_be_reached_fails_closed(issuer: JwksServer) -> None:
    with serve_jwks(jwks(KEY)) as gone:
        url = gone.jwks_url  # the port is closed once the block ends
    config = OidcConfig(issuer=issuer.base_url, audience=CLIENT_ID, jwks_url=url)
    with pytest.raises(StoreUnavailableError):
        authorize(event(KEY.sign(claims(issuer))), NoLookups(), OidcVerifier(config, HttpJwks(url, timeout_s=1)))
