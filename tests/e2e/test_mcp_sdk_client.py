"""The official MCP Python SDK client against the running local plane, in both protocol eras."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from tests.e2e.conftest import token, with_sdk_client

pytestmark = pytest.mark.plane

MODES = ["legacy", "auto"]
CONVERT = {"amount": "100", "from_currency": "USD", "to_currency": "EUR"}


def run_client(plane: dict[str, Any], who: str, mode: str, body: Any) -> Any:
    return with_sdk_client(plane["mcp_url"], token(plane, who), mode, body)


@pytest.mark.parametrize("mode", MODES)
def test_the_sdk_negotiates_the_expected_era(plane: dict[str, Any], mode: str) -> None:
    async def version(client: Client) -> str:
        return client.protocol_version

    expected = "2025-11-25" if mode == "legacy" else "2026-07-28"
    assert run_client(plane, "alice", mode, version) == expected


@pytest.mark.parametrize("mode", MODES)
def test_alice_lists_exactly_her_granted_tools(plane: dict[str, Any], mode: str) -> None:
    async def names(client: Client) -> list[str]:
        return sorted(tool.name for tool in (await client.list_tools()).tools)

    assert run_client(plane, "alice", mode, names) == ["currency__convert", "currency__list_currencies"]
    assert run_client(plane, "bob", mode, names) == ["currency__convert", "hr__find_employee", "hr__get_employee"]


@pytest.mark.parametrize("mode", MODES)
def test_alice_converts_currency_through_the_internal_tool_function(plane: dict[str, Any], mode: str) -> None:
    async def call(client: Client) -> Any:
        return await client.call_tool("currency__convert", CONVERT)

    result = run_client(plane, "alice", mode, call)
    assert result.is_error is False
    assert result.structured_content["converted_amount"] == "86.50"
    assert result.structured_content["from_currency"] == "USD"


@pytest.mark.parametrize("mode", MODES)
def test_bob_reads_the_hr_directory_whose_credential_comes_from_secrets_manager(
    plane: dict[str, Any], mode: str
) -> None:
    async def call(client: Client) -> Any:
        return await client.call_tool("hr__find_employee", {"query": "engineer"})

    result = run_client(plane, "bob", mode, call)
    assert result.is_error is False
    assert result.structured_content["employees"]


@pytest.mark.parametrize("mode", MODES)
def test_a_tool_not_granted_is_an_unknown_tool(plane: dict[str, Any], mode: str) -> None:
    async def call(client: Client) -> int | None:
        try:
            await client.call_tool("hr__find_employee", {"query": "engineer"})
        except MCPError as error:
            return error.error.code
        return None

    assert run_client(plane, "alice", mode, call) == -32602


@pytest.mark.parametrize("mode", MODES)
def test_invalid_arguments_come_back_as_a_tool_error_the_model_can_read(plane: dict[str, Any], mode: str) -> None:
    async def call(client: Client) -> Any:
        return await client.call_tool("currency__convert", {**CONVERT, "amount": "lots", "extra": 1})

    result = run_client(plane, "alice", mode, call)
    assert result.is_error is True
    assert "amount" in result.content[0].text
