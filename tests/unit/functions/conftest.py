"""What the example-function tests share: clients on the session's moto server, handlers loaded with a test
environment (no profile or credentials file is ever read)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from mcp_steward.sdk import ToolServer
from tests.conftest import aws_client, load_function

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient

TEST_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_CONFIG_FILE": str(Path("/nonexistent/aws-config")),
    "AWS_SHARED_CREDENTIALS_FILE": str(Path("/nonexistent/aws-credentials")),
}


def load_with_env(name: str, **variables: str) -> Iterator[ModuleType]:
    """Load ``functions/<name>/app.py`` with the test environment plus ``variables`` set while it imports."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {**TEST_ENV, **variables}.items():
            patch.setenv(key, value)
        yield load_function(name)


@pytest.fixture(scope="module")
def dynamodb(moto_url: str) -> Iterator[DynamoDBClient]:
    client = aws_client("dynamodb", moto_url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def secretsmanager(moto_url: str) -> Iterator[SecretsManagerClient]:
    client = aws_client("secretsmanager", moto_url)
    yield client
    client.close()


def call_tool(server: ToolServer, name: str, arguments: dict[str, Any], principal: str, team: str) -> dict[str, Any]:
    """Invoke one tool through the function's handler with a well-formed envelope; returns the result."""
    event = {
        "steward": {
            "v": 1,
            "request_id": f"req-{name}",
            "deadline_ms": 4_102_444_800_000,
            "principal": {"id": principal, "team": team, "obo": None},
            "delegation": None,
        },
        "message": {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": name, "arguments": arguments},
        },
    }
    result: dict[str, Any] = server.handler(event, None)["result"]
    return result
