"""The authorizer function's wiring: OIDC configured from its environment, a refusal logged with why and never
with the token, and JWTs decided without the keys table."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from mcp_steward.adapters.jwks import StaticJwks
from mcp_steward.services.authorizer import Unauthorized
from mcp_steward.services.oidc import OidcVerifier
from tests.oidc_keys import CLIENT_ID, ISSUER, IssuerKey, id_token_claims, jwks
from tests.unit.functions.conftest import load_with_env

KEY = IssuerKey("unit-rsa-1")
CONTEXT = SimpleNamespace(
    function_name="steward-test-authorizer",
    function_version="$LATEST",
    invoked_function_arn="arn:aws:lambda:us-east-1:000000000000:function:steward-test-authorizer",
    memory_limit_in_mb=512,
    aws_request_id="0b6c9d7e-3f4a-4d1b-9f2e-1a2b3c4d5e6f",
    log_group_name="/aws/lambda/steward-test-authorizer",
    log_stream_name="test",
)


class RecordingLogger:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str, extra: dict[str, Any] | None = None) -> None:
        self.lines.append(f"{message} {extra}")


@pytest.fixture(scope="module")
def app() -> Iterator[ModuleType]:
    # The keys table's endpoint is a closed port: a JWT that reached DynamoDB would fail loudly.
    yield from load_with_env(
        "authorizer",
        KEYS_TABLE="keys",
        AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:9",
        POWERTOOLS_SERVICE_NAME="authorizer",
        OIDC_ISSUER=ISSUER,
        OIDC_AUDIENCE=CLIENT_ID,
        OIDC_TEAM_CLAIM="custom:team",
        OIDC_ROLES_CLAIM="cognito:groups",
    )


@pytest.fixture
def logged(app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> RecordingLogger:
    recording = RecordingLogger()
    monkeypatch.setattr(app, "logger", recording)
    monkeypatch.setattr(app, "_oidc", OidcVerifier(app._oidc.config, StaticJwks(jwks(KEY))))
    return recording


def event(token: str) -> dict[str, Any]:
    methods = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/v1/POST/mcp"
    return {"type": "REQUEST", "methodArn": methods, "headers": {"Authorization": f"Bearer {token}"}}


def test_the_environment_configures_the_issuer_audience_claims_and_the_issuers_jwks(app: ModuleType) -> None:
    config = app._oidc.config
    assert (config.issuer, config.audience, config.team_claim, config.roles_claim) == (
        ISSUER,
        CLIENT_ID,
        "custom:team",
        "cognito:groups",
    )
    assert config.jwks_url == ISSUER + "/.well-known/jwks.json"


def test_a_valid_jwt_is_allowed_without_the_keys_table(app: ModuleType, logged: RecordingLogger) -> None:
    answer = app.handler(event(KEY.sign(id_token_claims())), CONTEXT)
    assert answer["context"]["tokenKind"] == "jwt"
    assert logged.lines == []


def test_a_refusal_is_logged_with_its_reason_and_never_with_the_token(app: ModuleType, logged: RecordingLogger) -> None:
    token = KEY.sign(id_token_claims(exp=1_700_000_000, iat=1_699_996_400))
    with pytest.raises(Unauthorized):
        app.handler(event(token), CONTEXT)
    assert len(logged.lines) == 1
    assert "ExpiredSignatureError" in logged.lines[0]
    assert all(part not in logged.lines[0] for part in token.split("."))
