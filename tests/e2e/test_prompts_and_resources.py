"""Prompts, resources, resource templates and completion of an internal server through governance, with the
official MCP SDK client on the local plane in both eras (issue 12): granted principals only, the exposed URIs
routed to their owner, the contents unchanged, and what a caller may not use answering like what does not exist.
"""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import PromptReference

from tests.e2e.conftest import token, with_sdk_client

pytestmark = pytest.mark.plane

MODES = ["legacy", "auto"]
CURRENCIES = "steward://currency/currency://currencies"
RATE_TEMPLATE = "steward://currency/currency://rates/{code}"


def run_client(plane: dict[str, Any], who: str, mode: str, body: Any) -> Any:
    return with_sdk_client(plane["mcp_url"], token(plane, who), mode, body)


@pytest.mark.parametrize("mode", MODES)
def test_alice_lists_the_granted_servers_resources_templates_and_prompts(plane: dict[str, Any], mode: str) -> None:
    async def listing(client: Client) -> tuple[list[str], list[str], list[str], bool]:
        resources = [r.uri for r in (await client.list_resources()).resources]
        templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
        prompts = [p.name for p in (await client.list_prompts()).prompts]
        completions = client.server_capabilities is not None and client.server_capabilities.completions is not None
        return resources, templates, prompts, completions

    assert run_client(plane, "alice", mode, listing) == (
        [CURRENCIES],
        [RATE_TEMPLATE],
        ["currency__convert_request"],
        True,
    )


@pytest.mark.parametrize("mode", MODES)
def test_bob_holds_no_grant_to_them_and_sees_none(plane: dict[str, Any], mode: str) -> None:
    async def listing(client: Client) -> tuple[int, int, int]:
        return (
            len((await client.list_resources()).resources),
            len((await client.list_resource_templates()).resource_templates),
            len((await client.list_prompts()).prompts),
        )

    # bob holds a tool grant to currency__convert: a tool grant opens no prompt and no resource
    assert run_client(plane, "bob", mode, listing) == (0, 0, 0)


@pytest.mark.parametrize("mode", MODES)
def test_a_resource_and_a_template_read_route_to_their_server(plane: dict[str, Any], mode: str) -> None:
    async def read(client: Client) -> tuple[Any, Any]:
        listed = await client.read_resource(CURRENCIES)
        through_template = await client.read_resource("steward://currency/currency://rates/EUR")
        return listed.contents, through_template.contents

    listed, through_template = run_client(plane, "alice", mode, read)
    assert listed[0].uri == CURRENCIES and "EUR" in listed[0].text.split()
    assert through_template[0].uri == "steward://currency/currency://rates/EUR"
    assert '"code": "EUR"' in through_template[0].text


@pytest.mark.parametrize("mode", MODES)
def test_unknown_and_ungranted_resources_answer_alike(plane: dict[str, Any], mode: str) -> None:
    async def codes(client: Client) -> list[tuple[int, Any]]:
        found = []
        for uri in (CURRENCIES, "steward://currency/currency://nothing", "currency://currencies", "steward://hr/x"):
            try:
                await client.read_resource(uri)
                found.append((0, None))
            except MCPError as error:
                found.append((error.error.code, error.error.data))
        return found

    expected_code = -32002 if mode == "legacy" else -32602
    for who, uris in (("bob", [CURRENCIES]), ("alice", [])):
        answers = run_client(plane, who, mode, codes)
        checked = answers if who == "bob" else answers[1:]
        sent = [CURRENCIES, "steward://currency/currency://nothing", "currency://currencies", "steward://hr/x"]
        sent = sent if who == "bob" else sent[1:]
        assert checked == [(expected_code, {"uri": uri}) for uri in sent], (who, uris)


@pytest.mark.parametrize("mode", MODES)
def test_a_prompt_is_got_with_its_arguments_checked(plane: dict[str, Any], mode: str) -> None:
    async def get(client: Client) -> tuple[str, int | None]:
        got = await client.get_prompt("currency__convert_request", {"amount": "5", "from_currency": "EUR"})
        text = got.messages[0].content.text  # type: ignore[union-attr]
        try:
            await client.get_prompt("currency__convert_request", {"amount": "5", "sneaky": "x"})
        except MCPError as error:
            return text, error.error.code
        return text, None

    text, refused = run_client(plane, "alice", mode, get)
    assert "Convert 5 EUR to USD" in text
    assert refused == -32602  # from_currency missing and an undeclared argument: not invoked


@pytest.mark.parametrize("mode", MODES)
def test_completion_reaches_the_owning_server_for_a_granted_prompt(plane: dict[str, Any], mode: str) -> None:
    async def complete(client: Client) -> list[str]:
        ref = PromptReference(type="ref/prompt", name="currency__convert_request")
        result = await client.complete(ref, {"name": "from_currency", "value": "e"})
        return list(result.completion.values)

    assert run_client(plane, "alice", mode, complete) == ["EUR"]

    async def refused(client: Client) -> int | None:
        try:
            await client.complete(
                PromptReference(type="ref/prompt", name="currency__convert_request"),
                {"name": "from_currency", "value": "e"},
            )
        except MCPError as error:
            return error.error.code
        return None

    assert run_client(plane, "bob", mode, refused) == -32602
