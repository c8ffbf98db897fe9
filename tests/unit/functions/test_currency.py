"""The currency tool function against DynamoDB on a moto server, seeded by the local plane's demo data."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from mcp_steward.local.demo_data import CURRENCY_RATES, seed_currency
from mcp_steward.local.template import load_template_document
from mcp_steward.sdk import ToolServer
from tests.conftest import ROOT
from tests.unit.functions.conftest import call_tool, load_with_env

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.moto


@pytest.fixture(scope="module")
def app() -> Iterator[ModuleType]:
    yield from load_with_env("currency", RATES_TABLE="rates-unused")


@pytest.fixture(scope="module")
def rates_table(dynamodb: DynamoDBClient) -> str:
    # The key schema comes from the template, so the test table cannot drift from the deployed one.
    properties = load_template_document((ROOT / "infra" / "template.yaml").read_text())["Resources"]["RatesTable"][
        "Properties"
    ]
    name = f"rates-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=name,
        KeySchema=properties["KeySchema"],
        AttributeDefinitions=properties["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
    )
    seed_currency(dynamodb, name)
    return name


@pytest.fixture(scope="module")
def server(app: ModuleType, dynamodb: DynamoDBClient, rates_table: str) -> ToolServer:
    built: ToolServer = app.build_server(dynamodb, rates_table)
    return built


def _call(server: ToolServer, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return call_tool(server, name, arguments, "alice", "finance")


def test_convert_multiplies_by_the_cross_rate_and_rounds_to_minor_units(server: ToolServer) -> None:
    result = _call(server, "convert", {"amount": "250.00", "from_currency": "EUR", "to_currency": "JPY"})
    assert result["isError"] is False
    expected_rate = Decimal(CURRENCY_RATES["JPY"]) / Decimal(CURRENCY_RATES["EUR"])
    converted = result["structuredContent"]
    assert converted["converted_amount"] == str((Decimal("250.00") * expected_rate).quantize(Decimal(1)))
    assert Decimal(converted["rate"]) == expected_rate.quantize(Decimal("1e-8"))
    assert converted["from_currency"] == "EUR"
    assert converted["to_currency"] == "JPY"
    assert result["_meta"] == {"steward/units": 1}


def test_converting_to_the_same_currency_keeps_the_amount(server: ToolServer) -> None:
    result = _call(server, "convert", {"amount": "19.99", "from_currency": "GBP", "to_currency": "GBP"})
    assert result["structuredContent"]["converted_amount"] == "19.99"
    assert result["structuredContent"]["rate"] == "1.00000000"


def test_converting_from_usd_uses_the_stored_rate(server: ToolServer) -> None:
    result = _call(server, "convert", {"amount": "100", "from_currency": "USD", "to_currency": "CHF"})
    assert result["structuredContent"]["converted_amount"] == str(
        (100 * Decimal(CURRENCY_RATES["CHF"])).quantize(Decimal("0.01"))
    )


def test_an_unknown_currency_is_a_tool_error(server: ToolServer) -> None:
    result = _call(server, "convert", {"amount": "1", "from_currency": "USD", "to_currency": "XYZ"})
    assert result["isError"] is True
    assert result["content"][0]["text"] == "unknown currency: XYZ"
    assert "_meta" not in result  # nothing metered when nothing was converted


@pytest.mark.parametrize(
    "arguments",
    [
        {"amount": 100, "from_currency": "USD", "to_currency": "EUR"},
        {"amount": "1e3", "from_currency": "USD", "to_currency": "EUR"},
        {"amount": "-5", "from_currency": "USD", "to_currency": "EUR"},
        {"amount": "5", "from_currency": "usd", "to_currency": "EUR"},
        {"amount": "5", "from_currency": "USD", "to_currency": "EUR", "fee": "1"},
    ],
)
def test_malformed_amounts_codes_and_unknown_properties_are_invalid_arguments(
    server: ToolServer, arguments: dict[str, Any]
) -> None:
    result = _call(server, "convert", arguments)
    assert result["isError"] is True
    assert result["_meta"]["steward/reason"] == "invalid_arguments"


def test_list_currencies_returns_every_seeded_rate_sorted(server: ToolServer) -> None:
    result = _call(server, "list_currencies", {})
    rates = result["structuredContent"]["result"]
    assert [rate["code"] for rate in rates] == sorted(CURRENCY_RATES)
    assert {rate["code"]: rate["per_usd"] for rate in rates} == CURRENCY_RATES


def test_convert_is_safe_for_the_demo_seed_every_required_argument_has_examples(app: ModuleType) -> None:
    tools = {tool["name"]: tool for tool in app.server.list_tools()}
    schema = tools["convert"]["inputSchema"]
    assert schema["additionalProperties"] is False
    for name in schema["required"]:
        assert {"examples", "default", "enum"} & set(schema["properties"][name]), name
    assert schema["properties"]["amount"]["type"] == "string"
    assert "pattern" in schema["properties"]["amount"]


def _request(server: ToolServer, method: str, params: dict[str, Any]) -> dict[str, Any]:
    event = {
        "steward": {
            "v": 1,
            "request_id": "r-1",
            "deadline_ms": 4_102_444_800_000,
            "principal": {"id": "alice", "team": "finance", "obo": None},
            "delegation": None,
        },
        "message": {"jsonrpc": "2.0", "id": 7, "method": method, "params": params},
    }
    answer: dict[str, Any] = server.handler(event)
    return answer


def test_the_currencies_resource_lists_every_code(server: ToolServer) -> None:
    result = _request(server, "resources/read", {"uri": "currency://currencies"})["result"]
    assert result["contents"][0]["mimeType"] == "text/plain"
    assert set(result["contents"][0]["text"].split()) == set(CURRENCY_RATES)


def test_the_rate_template_reads_one_currency_and_refuses_unknown_ones(server: ToolServer) -> None:
    result = _request(server, "resources/read", {"uri": "currency://rates/EUR"})["result"]
    assert '"per_usd": "' + CURRENCY_RATES["EUR"] + '"' in result["contents"][0]["text"]
    for uri in ("currency://rates/XXX", "currency://rates/eur", "currency://rates/EURO"):
        error = _request(server, "resources/read", {"uri": uri})["error"]
        assert error["code"] == -32602 and error["data"] == {"uri": uri}


def test_the_prompt_and_its_completion(server: ToolServer) -> None:
    listed = _request(server, "prompts/list", {})["result"]["prompts"]
    assert [argument["name"] for argument in listed[0]["arguments"]] == ["amount", "from_currency", "to_currency"]
    got = _request(
        server, "prompts/get", {"name": "convert_request", "arguments": {"amount": "5", "from_currency": "EUR"}}
    )
    assert "Convert 5 EUR to USD" in got["result"]["messages"][0]["content"]["text"]
    params = {
        "ref": {"type": "ref/prompt", "name": "convert_request"},
        "argument": {"name": "from_currency", "value": "e"},
    }
    assert _request(server, "completion/complete", params)["result"]["completion"]["values"] == ["EUR"]
