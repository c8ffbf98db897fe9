"""The HR directory tool function against DynamoDB and Secrets Manager on a moto server."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from mcp_steward.local.demo_data import EMPLOYEES, seed_hr_directory
from mcp_steward.local.template import load_template_document
from mcp_steward.sdk import ToolServer
from mcp_steward.sdk.secrets import clear_secret_cache
from tests.conftest import ROOT
from tests.unit.functions.conftest import TEST_ENV, call_tool, load_with_env

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient

pytestmark = pytest.mark.moto

SECRET_ENV = "DIRECTORY_SECRET_ARN"


@pytest.fixture(scope="module")
def app() -> Iterator[ModuleType]:
    yield from load_with_env("hr_directory", DIRECTORY_TABLE="directory-unused")


@pytest.fixture(scope="module")
def seeded(dynamodb: DynamoDBClient, secretsmanager: SecretsManagerClient) -> tuple[str, str]:
    properties = load_template_document((ROOT / "infra" / "template.yaml").read_text())["Resources"]["DirectoryTable"][
        "Properties"
    ]
    table = f"directory-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=table,
        KeySchema=properties["KeySchema"],
        AttributeDefinitions=properties["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
    )
    secret_id = f"steward/hr-directory/{uuid.uuid4().hex[:8]}"
    seed_hr_directory(dynamodb, secretsmanager, table, secret_id)
    return table, secret_id


@pytest.fixture
def secret_env(moto_url: str, seeded: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the SDK's secrets helper at moto (service endpoint only, never the global AWS_ENDPOINT_URL)."""
    for name, value in TEST_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_url)
    monkeypatch.setenv(SECRET_ENV, seeded[1])
    clear_secret_cache()
    yield seeded[1]
    clear_secret_cache()


@pytest.fixture
def server(app: ModuleType, dynamodb: DynamoDBClient, seeded: tuple[str, str], secret_env: str) -> ToolServer:
    built: ToolServer = app.build_server(dynamodb, seeded[0])
    return built


def _secret_token(secretsmanager: SecretsManagerClient, secret_id: str) -> str:
    token: str = json.loads(secretsmanager.get_secret_value(SecretId=secret_id)["SecretString"])["token"]
    return token


def _call(server: ToolServer, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return call_tool(server, name, arguments, "bob", "support")


def test_find_employee_matches_department_title_name_and_email_case_insensitively(server: ToolServer) -> None:
    result = _call(server, "find_employee", {"query": "FINANCE"})
    assert result["isError"] is False
    found = result["structuredContent"]["employees"]
    assert {e["employee_id"] for e in found} == {e[0] for e in EMPLOYEES if e[3] == "Finance"}
    assert result["structuredContent"]["truncated"] is False


def test_find_employee_ranks_name_matches_first_and_honours_the_limit(server: ToolServer) -> None:
    result = _call(server, "find_employee", {"query": "an", "limit": 2})
    found = result["structuredContent"]["employees"]
    assert len(found) == 2
    assert all("an" in e["name"].lower() for e in found)
    assert result["structuredContent"]["truncated"] is True


def test_the_credential_item_is_never_returned_as_an_employee(server: ToolServer) -> None:
    for query in ("meta", "auth", "token"):
        assert _call(server, "find_employee", {"query": query})["structuredContent"]["employees"] == []


def test_get_employee_returns_the_profile_with_its_manager(server: ToolServer) -> None:
    result = _call(server, "get_employee", {"employee_id": "e1003"})
    assert result["structuredContent"] == {
        "employee_id": "e1003",
        "name": "Aiko Tanaka",
        "title": "Accounts Payable Specialist",
        "department": "Finance",
        "email": "aiko.tanaka@example.com",
        "manager_id": "e1002",
    }


def test_get_employee_for_an_unknown_id_is_a_tool_error(server: ToolServer) -> None:
    result = _call(server, "get_employee", {"employee_id": "e9999"})
    assert result["isError"] is True


@pytest.mark.parametrize("employee_id", ["../META", "META#AUTH", "E1001", ""])
def test_ids_outside_the_pattern_are_invalid_arguments(server: ToolServer, employee_id: str) -> None:
    result = _call(server, "get_employee", {"employee_id": employee_id})
    assert result["_meta"]["steward/reason"] == "invalid_arguments"


def test_a_wrong_token_is_rejected_without_revealing_either_token(
    app: ModuleType,
    dynamodb: DynamoDBClient,
    secretsmanager: SecretsManagerClient,
    seeded: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    real = _secret_token(secretsmanager, seeded[1])
    wrong = real[::-1]
    server = app.build_server(dynamodb, seeded[0], lambda: {"username": "hr-reader", "token": wrong})
    with caplog.at_level(logging.DEBUG):
        answer = server.handler(
            {
                "steward": {
                    "v": 1,
                    "request_id": "req-hr-2",
                    "deadline_ms": 4_102_444_800_000,
                    "principal": {"id": "bob", "team": "support", "obo": None},
                },
                "message": {
                    "jsonrpc": "2.0",
                    "id": 2,
                    "method": "tools/call",
                    "params": {"name": "find_employee", "arguments": {"query": "finance"}},
                },
            },
            None,
        )
    assert answer["result"]["isError"] is True
    assert answer["result"]["content"][0]["text"] == "directory credential rejected"
    for secret in (real, wrong):
        assert secret not in json.dumps(answer)
        assert secret not in caplog.text


def test_a_missing_secret_is_rejected_as_a_credential_failure(
    server: ToolServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "steward/hr-directory/does-not-exist")
    clear_secret_cache()
    result = _call(server, "find_employee", {"query": "finance"})
    assert result["isError"] is True
    assert result["content"][0]["text"] == "directory credential rejected"


def test_a_token_without_a_stored_digest_is_rejected(app: ModuleType, dynamodb: DynamoDBClient) -> None:
    empty_table = f"directory-empty-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=empty_table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    server = app.build_server(dynamodb, empty_table, lambda: {"token": "anything"})
    result = _call(server, "get_employee", {"employee_id": "e1001"})
    assert result["content"][0]["text"] == "directory credential rejected"


def test_reseeding_rotates_the_token_and_the_old_one_stops_working(
    app: ModuleType, dynamodb: DynamoDBClient, secretsmanager: SecretsManagerClient, seeded: tuple[str, str]
) -> None:
    old = _secret_token(secretsmanager, seeded[1])
    seed_hr_directory(dynamodb, secretsmanager, seeded[0], seeded[1])
    new = _secret_token(secretsmanager, seeded[1])
    assert new != old
    stale = app.build_server(dynamodb, seeded[0], lambda: {"token": old})
    fresh = app.build_server(dynamodb, seeded[0], lambda: {"token": new})
    assert _call(stale, "get_employee", {"employee_id": "e1001"})["isError"] is True
    assert _call(fresh, "get_employee", {"employee_id": "e1001"})["isError"] is False
