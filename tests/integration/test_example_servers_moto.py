"""Every file in events/<tool function> through its function's real module-level handler: the tool functions are
read from the template (so one that ``steward new-server`` adds is run with no edit here), and the example
servers' answers are checked in detail.

The handlers run in a child interpreter configured like the local plane configures a function (template
environment, service-specific endpoints to a moto server), so the composition at import time is exercised
too: settings from the environment, the boto3 client, the secret read by reference.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from mcp_steward.local.demo_data import CURRENCY_RATES, EMPLOYEES, seed_currency, seed_hr_directory
from mcp_steward.local.template import load_template_document
from tests.conftest import ROOT, aws_client
from tests.lambda_harness import template_environment, tool_function_dirs

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.moto

REGION = "us-east-1"
RUNNER = """
import json, sys
from pathlib import Path
from tests.conftest import load_function

name = sys.argv[1]
app = load_function(name)
answers = {}
for path in sorted(Path("events", name).glob("*.json")):
    answers[path.name] = app.handler(json.loads(path.read_text()), None)
print(json.dumps(answers))
"""


@pytest.fixture(scope="module")
def plane(moto_url: str) -> Iterator[dict[str, str]]:
    """A moto server with both example servers' tables and secret, seeded; yields the functions' environment."""
    url = moto_url
    dynamodb = aws_client("dynamodb", url)
    secretsmanager = aws_client("secretsmanager", url)
    suffix = uuid.uuid4().hex[:8]
    rates, directory, secret = f"rates-{suffix}", f"directory-{suffix}", f"steward/hr-directory/{suffix}"
    _create_table(dynamodb, "RatesTable", rates)
    _create_table(dynamodb, "DirectoryTable", directory)
    seed_currency(dynamodb, rates)
    seed_hr_directory(dynamodb, secretsmanager, directory, secret)
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        AWS_DEFAULT_REGION=REGION,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_ENDPOINT_URL_DYNAMODB=url,
        AWS_ENDPOINT_URL_SECRETS_MANAGER=url,
        RATES_TABLE=rates,
        DIRECTORY_TABLE=directory,
        DIRECTORY_SECRET_ARN=secret,
    )
    try:
        yield env
    finally:
        dynamodb.close()
        secretsmanager.close()


def _create_table(dynamodb: DynamoDBClient, logical_id: str, name: str) -> None:
    # The key schema comes from the template, so these tables cannot drift from the deployed ones.
    properties = load_template_document((ROOT / "infra" / "template.yaml").read_text())["Resources"][logical_id][
        "Properties"
    ]
    dynamodb.create_table(
        TableName=name,
        KeySchema=properties["KeySchema"],
        AttributeDefinitions=properties["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
    )


def _run_events(function: str, env: dict[str, str]) -> dict[str, dict[str, Any]]:
    completed = subprocess.run(
        [sys.executable, "-c", RUNNER, function],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    answers: dict[str, dict[str, Any]] = json.loads(completed.stdout)
    assert set(answers) == {path.name for path in (ROOT / "events" / function).glob("*.json")}
    return answers


def _events(function: str) -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in (ROOT / "events" / function).glob("*.json")}


@pytest.mark.parametrize("function", sorted(tool_function_dirs()))
def test_every_tool_functions_event_gets_a_json_rpc_result_echoing_its_id(plane: dict[str, str], function: str) -> None:
    # The function's environment as the template resolves it, with the seeded tables and secret of this module.
    answers = _run_events(function, {**template_environment(tool_function_dirs()[function]), **plane})
    for name, event in _events(function).items():
        answer = answers[name]
        assert answer["jsonrpc"] == "2.0", name
        assert answer["id"] == event["message"]["id"], name
        assert "result" in answer, (name, answer)
        if event["message"]["method"] == "tools/call":
            # An event meant to show a failure says so in its name (e.g. invalid_arguments.json).
            expected_error = "error" in name or "invalid" in name
            assert answer["result"]["isError"] is expected_error, (name, answer)


def test_every_currency_event_gets_a_json_rpc_result_echoing_its_id(plane: dict[str, str]) -> None:
    answers = _run_events("currency", plane)
    for name, event in _events("currency").items():
        assert answers[name]["jsonrpc"] == "2.0"
        assert answers[name]["id"] == event["message"]["id"], name
        assert "result" in answers[name], answers[name]
    tools = {tool["name"]: tool for tool in answers["list_tools.json"]["result"]["tools"]}
    assert set(tools) == {"convert", "list_currencies"}
    convert = answers["convert.json"]["result"]
    assert convert["isError"] is False
    arguments = _events("currency")["convert.json"]["message"]["params"]["arguments"]
    assert convert["structuredContent"]["from_currency"] == arguments["from_currency"]
    assert convert["structuredContent"]["to_currency"] == arguments["to_currency"]
    assert arguments["to_currency"] in CURRENCY_RATES
    assert json.loads(convert["content"][0]["text"]) == convert["structuredContent"]


def test_every_hr_directory_event_gets_a_json_rpc_result_echoing_its_id(plane: dict[str, str]) -> None:
    answers = _run_events("hr_directory", plane)
    for name, event in _events("hr_directory").items():
        assert answers[name]["id"] == event["message"]["id"], name
        assert "result" in answers[name], answers[name]
    tools = {tool["name"] for tool in answers["list_tools.json"]["result"]["tools"]}
    assert tools == {"find_employee", "get_employee"}
    found = answers["find_employee.json"]["result"]
    assert found["isError"] is False, found
    names = {employee["name"] for employee in found["structuredContent"]["employees"]}
    assert names == {e[1] for e in EMPLOYEES if e[3] == "Finance"}
