"""Every file in events/governance and events/authorizer through its real handler, as ``sam local invoke``
would run it, against the local plane's moto server and function runner (tool functions' events are
run by tests/integration/test_example_servers_moto.py).

The authorizer's JWT events carry Cognito-shaped tokens (issuer ``https://cognito-idp.us-east-1.amazonaws.com/
us-east-1_Examp1e0``, expiring in 2100) signed once by a throwaway RSA key whose private half was discarded;
``authorizer_event_jwks.json`` beside this file is its public half. The test serves that JWKS on loopback and
points ``OIDC_JWKS_URL`` at it, so the events verify offline with the issuer and audience checked as in AWS. To
change an event's claims, sign new tokens with a new key (``tests/oidc_keys.py``) and replace the JWKS file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from mcp_steward.adapters.dynamodb_keys import DynamoDbKeyStore
from mcp_steward.domain.identity import KeyId, PrincipalId, TeamName
from mcp_steward.domain.keys import KeyRecord, token_digest
from tests.conftest import ROOT
from tests.jwks_server import serve_jwks
from tests.lambda_harness import run_event_files, tool_function_dirs
from tests.oidc_keys import CLIENT_ID, ISSUER, SUB

pytestmark = pytest.mark.plane

EVENT_TOKEN = "stw_example_token_redacted"
# Tool functions (read from the template, so a new one needs no edit here) are run by
# tests/integration/test_example_servers_moto.py; the scheduled functions by their integration tests.
HANDLED_ELSEWHERE = {"aggregator", "sweeper", "sync"}


def run_events(plane: dict[str, Any], function: str, extra_env: dict[str, str]) -> dict[str, Any]:
    return run_event_files(
        function,
        {
            "AWS_REGION": plane["region"],
            "AWS_DEFAULT_REGION": plane["region"],
            "AWS_ENDPOINT_URL_DYNAMODB": plane["aws_endpoint_url"],
            "AWS_ENDPOINT_URL_LAMBDA": plane["lambda_endpoint_url"],
            "KEYS_TABLE": plane["tables"]["keys"],
            **extra_env,
        },
    )


def pipeline_env(plane: dict[str, Any], service: str) -> dict[str, str]:
    """What governance and nested governance need of the plane: its tables and the tool prefix."""
    roles = ("registry", "grants", "budgets", "ledger", "audit")
    return {
        "IDENTITY_MODE": "authorizer",
        **{f"{role.upper()}_TABLE": plane["tables"][role] for role in roles},
        "TOOL_FUNCTION_PREFIX": "steward-local-tool-",
        "POWERTOOLS_SERVICE_NAME": service,
    }


def test_every_events_directory_is_exercised_by_a_test() -> None:
    directories = {path.name for path in (ROOT / "events").iterdir() if path.is_dir()}
    exercised_here = {"governance", "authorizer", "nested_governance", "egress"}
    assert directories == set(tool_function_dirs()) | HANDLED_ELSEWHERE | exercised_here


def test_egress_events_are_refused_before_anything_is_sent() -> None:
    """The egress function's example events (governance's payload for a vendor call) name a metadata address and
    a plain-HTTP URL: refused by the egress rules before any credential is read or any connection made, as
    ``sam local invoke EgressFunction -e ...`` shows anywhere."""
    answers = run_event_files(
        "egress",
        {
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:9",  # never reached
            "VENDOR_SECRET_PREFIX": "mcp-steward-dev/vendor/",
            "POWERTOOLS_SERVICE_NAME": "egress",
        },
    )
    assert set(answers) == {p.name for p in (ROOT / "events" / "egress").glob("*.json")}
    rules = {}
    for name, answer in answers.items():
        result = answer["ok"]["result"]
        assert result["isError"] is True
        assert (result["_meta"]["steward/reason"], result["_meta"]["steward/sent"]) == ("egress_refused", False)
        rules[name] = result["_meta"]["steward/rule"]
    assert rules == {"vendor_call_to_metadata_address.json": "metadata_address", "vendor_call_over_http.json": "scheme"}


def test_nested_governance_events_are_refused_without_a_token_signed_by_the_stacks_key(plane: dict[str, Any]) -> None:
    """The example event's token is signed with an example key, so every stack refuses it (as ``forged``)
    and audits the refusal: what ``sam local invoke NestedGovernanceFunction -e ...`` shows."""
    answers = run_events(
        plane,
        "nested_governance",
        {
            **pipeline_env(plane, "nested-governance"),
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": plane["aws_endpoint_url"],
            "DELEGATION_KEY_SECRET_ID": "steward-local/delegation-key",
        },
    )
    assert set(answers) == {"nested_call.json", "no_token.json"}
    for answer in answers.values():
        error = answer["ok"]["error"]
        assert (error["code"], error["data"]) == (-31000, {"reason": "delegation_invalid", "why": "forged"})


def test_governance_events_answer_through_the_handler(plane: dict[str, Any]) -> None:
    answers = run_events(
        plane,
        "governance",
        pipeline_env(plane, "governance"),
    )
    assert set(answers) == {p.name for p in (ROOT / "events" / "governance").glob("*.json")}
    responses = {name: answer["ok"] for name, answer in answers.items()}
    bodies: dict[str, Any] = {name: json.loads(r["body"]) if r.get("body") else {} for name, r in responses.items()}
    assert responses["get_not_allowed.json"]["statusCode"] == 405
    assert bodies["initialize_legacy.json"]["result"]["protocolVersion"] == "2025-11-25"
    listed = [tool["name"] for tool in bodies["tools_list_modern.json"]["result"]["tools"]]
    assert "currency__convert" in listed
    for name in ("tools_call_modern.json", "tools_call_legacy.json"):
        assert responses[name]["statusCode"] == 200
        assert bodies[name]["result"]["isError"] is False, bodies[name]
    assert bodies["tools_call_modern.json"]["result"]["structuredContent"]["to_currency"] == "GBP"


def test_authorizer_events_allow_a_known_key_and_a_cognito_jwt_and_refuse_a_missing_one(plane: dict[str, Any]) -> None:
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=plane["aws_endpoint_url"],
        region_name=plane["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    keys = DynamoDbKeyStore(dynamodb, plane["tables"]["keys"])
    if all(record.digest != token_digest(EVENT_TOKEN) for record in keys.records()):
        keys.put(
            KeyRecord(
                key_id=KeyId("key_0a1b2c3d4e5f"),
                digest=token_digest(EVENT_TOKEN),
                principal=PrincipalId("alice"),
                team=TeamName("finance"),
                roles=frozenset(),
                obo=None,
                created_at=datetime.now(UTC),
            )
        )
    dynamodb.close()
    event_jwks = json.loads((ROOT / "tests" / "e2e" / "authorizer_event_jwks.json").read_text())
    with serve_jwks(event_jwks) as issuer_keys:
        answers = run_events(
            plane,
            "authorizer",
            {
                "POWERTOOLS_SERVICE_NAME": "authorizer",
                "OIDC_ISSUER": ISSUER,
                "OIDC_AUDIENCE": CLIENT_ID,
                "OIDC_JWKS_URL": issuer_keys.jwks_url,
            },
        )
    assert set(answers) == {p.name for p in (ROOT / "events" / "authorizer").glob("*.json")}
    allowed = answers["api_key.json"]["ok"]
    assert allowed["principalId"] == "alice"
    assert allowed["context"] == {
        "principalId": "alice",
        "team": "finance",
        "roles": "",
        "obo": "",
        "keyId": "key_0a1b2c3d4e5f",
        "tokenKind": "api_key",
    }
    statement = allowed["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/v1/*/*"
    assert answers["missing_token.json"] == {"raised": "Unauthorized", "message": "Unauthorized"}
    for name in ("jwt_id_token.json", "jwt_access_token.json"):  # an ID token (aud) and an access token (client_id)
        jwt_allowed = answers[name]["ok"]
        assert jwt_allowed["principalId"] == SUB
        assert jwt_allowed["context"] == {
            "principalId": SUB,
            "team": "finance",
            "roles": "analysts",
            "obo": "",
            "keyId": "",
            "tokenKind": "jwt",
        }
        assert jwt_allowed["policyDocument"]["Statement"] == [statement]
    assert issuer_keys.fetches == 1  # one JWKS fetch per sandbox, then its cache
