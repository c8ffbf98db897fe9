"""The local plane's own contracts: the state file, the function runner's refusals, concurrency."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config

from tests.e2e.conftest import token

pytestmark = pytest.mark.plane


def test_the_state_file_names_the_endpoints_and_the_demo_principals(plane: dict[str, Any]) -> None:
    assert plane["mcp_url"].startswith("http://127.0.0.1:") and plane["mcp_url"].endswith("/mcp")
    assert plane["aws_endpoint_url"].startswith("http://127.0.0.1:")
    assert plane["lambda_endpoint_url"].startswith("http://127.0.0.1:")
    assert plane["region"] == "us-east-1"
    teams = {name: info["team"] for name, info in plane["principals"].items()}
    assert teams["alice"] == "finance" and teams["bob"] == "support" and "admin" in teams
    assert "admin" in plane["principals"]["admin"]["roles"]


def test_the_runner_refuses_a_function_the_template_does_not_declare(plane: dict[str, Any]) -> None:
    client = boto3.client(
        "lambda",
        endpoint_url=plane["lambda_endpoint_url"],
        region_name=plane["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"total_max_attempts": 1}),
    )
    try:
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.invoke(FunctionName="steward-local-tool-not-declared", Payload=b"{}")
    finally:
        client.close()


def test_fifty_concurrent_calls_all_complete(plane: dict[str, Any]) -> None:
    headers = {
        "Authorization": f"Bearer {token(plane, 'alice')}",
        "Content-Type": "application/json",
        "Accept": "application/json",
        "MCP-Protocol-Version": "2025-11-25",
    }
    arguments = {"amount": "1", "from_currency": "USD", "to_currency": "CHF"}

    def call(i: int) -> dict[str, Any]:
        body = {
            "jsonrpc": "2.0",
            "id": i,
            "method": "tools/call",
            "params": {"name": "currency__convert", "arguments": arguments},
        }
        response = httpx.post(plane["mcp_url"], content=json.dumps(body), headers=headers, timeout=60)
        assert response.status_code == 200
        return dict(response.json())

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(call, range(50)))
    assert [a["id"] for a in answers] == list(range(50))
    failures = [a["result"] for a in answers if a["result"]["isError"]]
    assert failures == []
