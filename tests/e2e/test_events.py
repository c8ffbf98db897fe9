"""Every file in events/governance and events/authorizer through its real handler, as ``sam local invoke``
would run it, against the local plane's moto server and function runner (tool events are run by
tests/integration/test_example_servers_moto.py)."""

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
from tests.lambda_harness import run_event_files

pytestmark = pytest.mark.plane

EVENT_TOKEN = "stw_example_token_redacted"
HANDLED_ELSEWHERE = {"currency", "hr_directory", "aggregator", "sweeper", "sync"}


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


def test_every_events_directory_is_exercised_by_a_test() -> None:
    directories = {path.name for path in (ROOT / "events").iterdir() if path.is_dir()}
    assert directories == HANDLED_ELSEWHERE | {"governance", "authorizer"}


def test_governance_events_answer_through_the_handler(plane: dict[str, Any]) -> None:
    answers = run_events(
        plane,
        "governance",
        {
            "IDENTITY_MODE": "authorizer",
            "REGISTRY_TABLE": plane["tables"]["registry"],
            "GRANTS_TABLE": plane["tables"]["grants"],
            "BUDGETS_TABLE": plane["tables"]["budgets"],
            "LEDGER_TABLE": plane["tables"]["ledger"],
            "AUDIT_TABLE": plane["tables"]["audit"],
            "TOOL_FUNCTION_PREFIX": "steward-local-tool-",
            "POWERTOOLS_SERVICE_NAME": "governance",
        },
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


def test_authorizer_events_allow_a_known_key_and_refuse_a_missing_one(plane: dict[str, Any]) -> None:
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
    answers = run_events(plane, "authorizer", {"POWERTOOLS_SERVICE_NAME": "authorizer"})
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
