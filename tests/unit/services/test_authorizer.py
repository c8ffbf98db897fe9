"""The REQUEST authorizer's decision: API keys through the key store, JWTs through an in-memory JWKS."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mcp_steward.adapters.jwks import StaticJwks
from mcp_steward.adapters.memory import InMemoryKeyStore
from mcp_steward.domain.identity import KeyId, Principal, PrincipalId, TeamName, UnknownSigningKeyError
from mcp_steward.domain.keys import KeyRecord, new_token, token_digest
from mcp_steward.domain.ports import StoreUnavailableError
from mcp_steward.services.authorizer import Unauthorized, authorize
from mcp_steward.services.oidc import OidcConfig, OidcVerifier, jwt_header
from mcp_steward.settings import SettingsError
from tests.oidc_keys import (
    CLIENT_ID,
    ISSUER,
    SUB,
    IssuerKey,
    access_token_claims,
    id_token_claims,
    jwks,
    tampered,
    unsigned,
)

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/v1/POST/mcp"
STAGE = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/v1/*/*"
RSA = IssuerKey("rsa-1")
EC = IssuerKey("ec-1", "ES256")
CONFIG = OidcConfig(issuer=ISSUER, audience=CLIENT_ID, jwks_url=ISSUER + "/.well-known/jwks.json")


def event(token: str | None) -> dict[str, Any]:
    headers = {"Host": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return {"type": "REQUEST", "methodArn": METHOD_ARN, "headers": headers}


def verifier(config: OidcConfig = CONFIG) -> OidcVerifier:
    return OidcVerifier(config, StaticJwks(jwks(RSA, EC)))


class NoLookups(InMemoryKeyStore):
    """A key store that must not be asked: a JWT-shaped token never reaches DynamoDB."""

    def resolve(self, token: str) -> Principal | None:
        raise AssertionError("the key store was asked about a JWT")


def effect(answer: dict[str, Any]) -> str:
    return str(answer["policyDocument"]["Statement"][0]["Effect"])


# --- API keys -----------------------------------------------------------------------------------------------


def test_a_known_api_key_is_allowed_for_the_whole_stage_with_the_flat_context() -> None:
    keys, token = InMemoryKeyStore(), new_token()
    keys.put(
        KeyRecord(
            key_id=KeyId("key_0a1b2c3d4e5f"),
            digest=token_digest(token),
            principal=PrincipalId("alice"),
            team=TeamName("finance"),
            roles=frozenset({"admin", "auditor"}),
            obo=None,
            created_at=datetime.now(UTC),
        )
    )
    answer = authorize(event(token), keys, verifier())
    assert answer["principalId"] == "alice"
    assert answer["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": STAGE}
    ]
    assert answer["context"] == {
        "principalId": "alice",
        "team": "finance",
        "roles": "admin,auditor",
        "obo": "",
        "keyId": "key_0a1b2c3d4e5f",
        "tokenKind": "api_key",
    }


@pytest.mark.parametrize("token", [None, new_token(), "", "   "])
def test_a_missing_or_unknown_api_key_is_unauthorized(token: str | None) -> None:
    with pytest.raises(Unauthorized) as excinfo:
        authorize(event(token), InMemoryKeyStore(), verifier())
    assert str(excinfo.value) == "Unauthorized"


# --- the shape decides the path -----------------------------------------------------------------------------


def test_a_steward_api_key_is_not_jwt_shaped_and_a_jwt_is() -> None:
    assert jwt_header(new_token()) is None
    assert jwt_header(RSA.sign(id_token_claims())) == {"alg": "RS256", "kid": "rsa-1", "typ": "JWT"}


@pytest.mark.parametrize("token", ["a.b.c", "e30.e30", "e30..sig", "W10.e30.sig", "e30.e30.s+g", "e30.e30.sig.x"])
def test_dotted_tokens_without_a_json_object_header_in_three_base64url_segments_are_not_jwts(token: str) -> None:
    assert jwt_header(token) is None


@pytest.mark.parametrize("oidc", [None, verifier()], ids=["jwts-disabled", "jwts-enabled"])
def test_a_jwt_shaped_token_is_never_looked_up_in_the_key_store(oidc: OidcVerifier | None) -> None:
    for token in (RSA.sign(id_token_claims(aud="someone-else")), unsigned(id_token_claims(), "rsa-1")):
        with pytest.raises(Unauthorized):
            authorize(event(token), NoLookups(), oidc)


def test_a_valid_jwt_is_refused_when_no_issuer_is_configured() -> None:
    with pytest.raises(Unauthorized):
        authorize(event(RSA.sign(id_token_claims())), NoLookups(), None)


# --- JWTs ---------------------------------------------------------------------------------------------------


def test_a_cognito_id_token_is_allowed_as_its_subject_in_its_team_with_its_groups_as_roles() -> None:
    answer = authorize(
        event(RSA.sign(id_token_claims(**{"cognito:groups": ["admin", "analysts"]}))), NoLookups(), verifier()
    )
    assert answer["principalId"] == SUB
    assert effect(answer) == "Allow"
    assert answer["policyDocument"]["Statement"][0]["Resource"] == STAGE
    assert answer["context"] == {
        "principalId": SUB,
        "team": "finance",
        "roles": "admin,analysts",
        "obo": "",
        "keyId": "",
        "tokenKind": "jwt",
    }


def test_an_es256_token_is_allowed() -> None:
    assert effect(authorize(event(EC.sign(id_token_claims())), NoLookups(), verifier())) == "Allow"


def test_a_cognito_access_token_is_allowed_when_its_client_id_is_the_audience() -> None:
    answer = authorize(event(RSA.sign(access_token_claims())), NoLookups(), verifier())
    assert effect(answer) == "Allow"
    assert answer["context"]["tokenKind"] == "jwt"


@pytest.mark.parametrize(
    "claims",
    [
        access_token_claims(client_id="another-client"),
        id_token_claims(aud=None, client_id=CLIENT_ID),  # client_id stands in for aud only in access tokens
        access_token_claims(aud="another-client"),  # an aud present must match, whatever client_id says
        id_token_claims(aud=["another-client"]),
        id_token_claims(token_use="refresh"),
    ],
    ids=["access-other-client", "id-without-aud", "access-with-wrong-aud", "aud-list-without-us", "token-use"],
)
def test_a_token_for_another_audience_is_unauthorized(claims: dict[str, Any]) -> None:
    with pytest.raises(Unauthorized):
        authorize(event(RSA.sign(claims)), NoLookups(), verifier())


def test_an_audience_list_naming_us_is_allowed() -> None:
    answer = authorize(event(RSA.sign(id_token_claims(aud=["other", CLIENT_ID]))), NoLookups(), verifier())
    assert effect(answer) == "Allow"


@pytest.mark.parametrize(
    "claims",
    [
        id_token_claims(**{"custom:team": None}),
        id_token_claims(**{"custom:team": "Finance Team"}),
        id_token_claims(**{"custom:team": ["finance"]}),
        id_token_claims(sub=None),
        id_token_claims(sub="Alice@Example.com"),
        id_token_claims(**{"cognito:groups": 7}),
        id_token_claims(exp=None),
        id_token_claims(iss=None),
        id_token_claims(nbf=int(datetime.now(UTC).timestamp()) + 3600),
        id_token_claims(iat=int(datetime.now(UTC).timestamp()) + 3600),
        id_token_claims(exp=int(datetime.now(UTC).timestamp()) - 3600),
        id_token_claims(iss=ISSUER + "/"),
    ],
    ids=[
        "no-team",
        "team-not-a-name",
        "team-not-a-string",
        "no-sub",
        "sub-not-a-name",
        "roles-not-strings",
        "no-exp",
        "no-iss",
        "not-yet-valid-nbf",
        "issued-in-the-future",
        "expired",
        "other-issuer",
    ],
)
def test_a_token_without_a_valid_principal_team_time_or_issuer_is_unauthorized(claims: dict[str, Any]) -> None:
    with pytest.raises(Unauthorized):
        authorize(event(RSA.sign(claims)), NoLookups(), verifier())


def test_a_tampered_unsigned_or_unknown_key_token_is_unauthorized() -> None:
    stranger = IssuerKey("rsa-1")  # the issuer's key id, another key
    for token in (
        tampered(RSA.sign(id_token_claims())),
        unsigned(id_token_claims(), "rsa-1"),
        stranger.sign(id_token_claims()),
        IssuerKey("rsa-unknown").sign(id_token_claims()),
        RSA.sign(id_token_claims(), kid=None),
    ):
        with pytest.raises(Unauthorized):
            authorize(event(token), NoLookups(), verifier())


def test_a_token_whose_header_names_another_algorithm_than_its_key_is_unauthorized() -> None:
    # Signed with the RSA key (RS256) but naming the EC key's id: a JWK binds its algorithm, so RS256 is refused.
    header_lies = RSA.sign(id_token_claims(), kid="ec-1")
    with pytest.raises(Unauthorized):
        authorize(event(header_lies), NoLookups(), verifier())


def test_roles_the_flat_context_cannot_carry_are_dropped() -> None:
    claims = id_token_claims(**{"cognito:groups": ["analysts", "x,admin", "two words"]})
    answer = authorize(event(RSA.sign(claims)), NoLookups(), verifier())
    assert answer["context"]["roles"] == "analysts"


def test_a_configured_principal_claim_names_the_principal() -> None:
    config = OidcConfig(issuer=ISSUER, audience=CLIENT_ID, jwks_url=CONFIG.jwks_url, principal_claim="cognito:username")
    answer = authorize(event(RSA.sign(id_token_claims())), NoLookups(), verifier(config))
    assert answer["principalId"] == "alice"


def test_a_valid_token_without_the_required_scope_is_denied_not_unauthorized() -> None:
    config = OidcConfig(issuer=ISSUER, audience=CLIENT_ID, jwks_url=CONFIG.jwks_url, required_scope="mcp/invoke")
    denied = authorize(event(RSA.sign(access_token_claims())), NoLookups(), verifier(config))
    allowed = authorize(event(RSA.sign(access_token_claims(scope="openid mcp/invoke"))), NoLookups(), verifier(config))
    assert (effect(denied), effect(allowed)) == ("Deny", "Allow")
    assert denied["policyDocument"]["Statement"][0]["Resource"] == STAGE
    assert denied["context"]["principalId"] == SUB


class UnreachableJwks:
    def signing_key(self, kid: str) -> Any:
        raise StoreUnavailableError("JWKS unreachable")


def test_an_unreachable_jwks_fails_closed_as_an_error_not_an_allow() -> None:
    with pytest.raises(StoreUnavailableError):
        authorize(event(RSA.sign(id_token_claims())), NoLookups(), OidcVerifier(CONFIG, UnreachableJwks()))


def test_an_unknown_key_id_is_an_identity_error() -> None:
    with pytest.raises(UnknownSigningKeyError):
        StaticJwks(jwks(RSA)).signing_key("ec-1")


# --- configuration ------------------------------------------------------------------------------------------


def test_jwts_are_disabled_without_an_issuer_and_an_audience() -> None:
    assert OidcConfig.from_env({"OIDC_ISSUER": "", "OIDC_AUDIENCE": "", "OIDC_TEAM_CLAIM": "custom:team"}) is None


def test_the_configuration_defaults_to_cognito_claims_and_the_issuers_well_known_jwks() -> None:
    config = OidcConfig.from_env({"OIDC_ISSUER": ISSUER, "OIDC_AUDIENCE": CLIENT_ID, "OIDC_TEAM_CLAIM": ""})
    assert config == OidcConfig(
        issuer=ISSUER,
        audience=CLIENT_ID,
        jwks_url=ISSUER + "/.well-known/jwks.json",
        team_claim="custom:team",
        roles_claim="cognito:groups",
        principal_claim="sub",
        required_scope="",
    )


@pytest.mark.parametrize(
    "env",
    [
        {"OIDC_AUDIENCE": CLIENT_ID},
        {"OIDC_ISSUER": ISSUER, "OIDC_AUDIENCE": " "},
        {"OIDC_AUDIENCE": CLIENT_ID, "OIDC_ISSUER": "http://issuer.example.com"},
        {"OIDC_AUDIENCE": CLIENT_ID, "OIDC_ISSUER": ISSUER, "OIDC_JWKS_URL": "file:///etc/passwd"},
        {"OIDC_AUDIENCE": CLIENT_ID, "OIDC_ISSUER": "http://[::1"},
        {"OIDC_AUDIENCE": CLIENT_ID, "OIDC_ISSUER": ISSUER, "OIDC_PRINCIPAL_CLAIM": "custom:team"},
    ],
    ids=["no-issuer", "no-audience", "plain-http", "file-url", "unparsable", "team-is-principal"],
)
def test_an_incoherent_configuration_fails_the_init(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        OidcConfig.from_env(env)


def test_http_is_accepted_on_loopback_only() -> None:
    config = OidcConfig.from_env({"OIDC_AUDIENCE": CLIENT_ID, "OIDC_ISSUER": "http://127.0.0.1:8123"})
    assert config is not None
    assert config.jwks_url == "http://127.0.0.1:8123/.well-known/jwks.json"
