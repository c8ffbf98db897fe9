"""Conformance fixture server (``conformance``): what the official MCP conformance suite's server scenarios call.

@modelcontextprotocol/conformance 0.2.0-alpha.12 calls tools, resources and prompts by fixed names (its
``test_*`` tools, its ``test://`` URIs, its ``test_*`` prompts) and checks their contents. This server
provides each of them under exactly those names, with the contents of the suite's reference server
(``examples/servers/typescript/everything-server.ts``), so that ``make test`` can run every server
scenario through Steward's plane. ``steward dev --conformance-fixtures`` registers it for the principal
``conformance``; in AWS it is deployed only with ``ConformanceFixtures=true``.

Tools whose point is something a buffered, stateless Lambda endpoint cannot do (a notification sent mid-call,
a request sent to the client mid-call: logging, progress, sampling, elicitation, a stream closed mid-call)
still exist, so the listing is what the suite expects, and answer plain text saying what they would have
done. Which checks therefore cannot pass, and why, is in tests/e2e/conformance-expected-failures.yaml.
The input-required-result-* scenarios (SEP-2322: a tool or prompt answering InputRequiredResult) need fixtures
that ask for input; they come with the SDK support for it, so none of their tools or prompts is here yet.

No state, no secrets, no AWS calls: every answer is a constant or computed from the arguments.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterable, Mapping  # at run time: the SDK reads the completers' hints
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from pydantic import BaseModel, Field

from mcp_steward.sdk import ToolError, ToolServer
from mcp_steward.sdk.content import (
    AudioContent,
    EmbeddedResource,
    ImageContent,
    PromptMessage,
    TextContent,
)

if TYPE_CHECKING:
    from mcp_steward.sdk.envelope import JsonObject

#: A 1x1 PNG and a 44-byte WAV: the suite's reference server's payloads, byte for byte.
IMAGE_PNG_BASE64: Final = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
AUDIO_WAV_BASE64: Final = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA="
_PNG: Final = base64.b64decode(IMAGE_PNG_BASE64)
_WAV: Final = base64.b64decode(AUDIO_WAV_BASE64)

JSON_SCHEMA_2020_12_TOOL: Final = "json_schema_2020_12_tool"
#: The suite's JSON_SCHEMA_2020_12_FIXTURE (json-schema-2020-12 scenario, SEP-1613 and SEP-2106): listed
#: verbatim, since a schema generated from type hints has no $anchor, allOf, if/then/else.
JSON_SCHEMA_2020_12_INPUT_SCHEMA: Final[JsonObject] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "$anchor": "addressDef",
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}

#: What the completers offer (filtered by the typed prefix); the suite only checks the result's shape.
_COMPLETIONS: Final = ("paris", "park", "party", "test", "testValue1", "testValue2")

_NOT_STREAMED: Final = "(Steward answers each call in one buffered response, so no {what} was sent during it.)"
_NO_CLIENT_REQUESTS: Final = (
    "Steward does not send requests to the client during a call, so no {what} request was made."
)


class Address(BaseModel):
    """An address (the json-schema-2020-12 tool's ``$defs/address``)."""

    street: str | None = None
    city: str | None = None


class _ConformanceServer(ToolServer):
    """A ToolServer whose ``json_schema_2020_12_tool`` is listed with the suite's raw 2020-12 schema."""

    def list_tools(self) -> list[JsonObject]:
        tools = super().list_tools()
        for tool in tools:
            if tool.get("name") == JSON_SCHEMA_2020_12_TOOL:
                tool["inputSchema"] = copy.deepcopy(JSON_SCHEMA_2020_12_INPUT_SCHEMA)
        return tools


def _complete(value: str) -> list[str]:
    return [candidate for candidate in _COMPLETIONS if candidate.startswith(value)]


def build_server() -> ToolServer:
    """The conformance fixture server: every tool, resource, template, prompt and completer the suite uses."""
    server = _ConformanceServer(name="conformance", version="1.0.0")

    # --- tools (tools-call-* scenarios) ------------------------------------------------------------------

    @server.tool()
    def test_simple_text() -> TextContent:
        """Tests simple text content response."""
        return TextContent(text="This is a simple text response for testing.")

    @server.tool()
    def test_image_content() -> ImageContent:
        """Tests image content response."""
        return ImageContent(data=_PNG, mime_type="image/png")

    @server.tool()
    def test_audio_content() -> AudioContent:
        """Tests audio content response."""
        return AudioContent(data=_WAV, mime_type="audio/wav")

    @server.tool()
    def test_embedded_resource() -> EmbeddedResource:
        """Tests embedded resource content response."""
        return EmbeddedResource(
            uri="test://embedded-resource", mime_type="text/plain", text="This is an embedded resource content."
        )

    @server.tool()
    def test_multiple_content_types() -> list[TextContent | ImageContent | EmbeddedResource]:
        """Tests response with multiple content types (text, image, resource)."""
        return [
            TextContent(text="Multiple content types test:"),
            ImageContent(data=_PNG, mime_type="image/png"),
            EmbeddedResource(
                uri="test://mixed-content-resource",
                mime_type="application/json",
                text=json.dumps({"test": "data", "value": 123}, separators=(",", ":")),
            ),
        ]

    @server.tool()
    def test_error_handling() -> TextContent:
        """Tests error response handling."""
        raise ToolError("This tool intentionally returns an error for testing")

    @server.tool()
    def test_tool_with_logging() -> TextContent:
        """Tests tool that emits log messages during execution."""
        note = _NOT_STREAMED.format(what="log message")
        return TextContent(text=f"Tool with logging executed successfully {note}")

    @server.tool()
    def test_tool_with_progress() -> TextContent:
        """Tests tool that reports progress notifications."""
        note = _NOT_STREAMED.format(what="progress notification")
        return TextContent(text=f"Tool with progress executed successfully {note}")

    @server.tool()
    def test_sampling(prompt: Annotated[str, Field(description="The prompt to send to the LLM")]) -> TextContent:
        """Tests server-initiated sampling (LLM completion request)."""
        return TextContent(text=f"Sampling not supported: {_NO_CLIENT_REQUESTS.format(what='sampling')}")

    @server.tool()
    def test_elicitation(message: Annotated[str, Field(description="The message to show the user")]) -> TextContent:
        """Tests server-initiated elicitation (user input request)."""
        return TextContent(text=f"Elicitation not supported: {_NO_CLIENT_REQUESTS.format(what='elicitation')}")

    @server.tool()
    def test_elicitation_sep1034_defaults() -> TextContent:
        """Tests elicitation with default values per SEP-1034."""
        return TextContent(text=f"Elicitation not supported: {_NO_CLIENT_REQUESTS.format(what='elicitation')}")

    @server.tool()
    def test_elicitation_sep1330_enums() -> TextContent:
        """Tests elicitation with enum schema improvements per SEP-1330."""
        return TextContent(text=f"Elicitation not supported: {_NO_CLIENT_REQUESTS.format(what='elicitation')}")

    @server.tool()
    def test_reconnection() -> TextContent:
        """Tests SSE stream disconnection and client reconnection (SEP-1699); here the stream is never closed."""
        return TextContent(text="Reconnection test completed: the response was not streamed, so nothing to resume.")

    @server.tool(name=JSON_SCHEMA_2020_12_TOOL)
    def json_schema_2020_12_tool(
        name: str | None = None,
        address: Address | None = None,
        contactMethod: Literal["phone", "email"] | None = None,  # noqa: N803 - the suite's property name
        phone: str | None = None,
        email: str | None = None,
    ) -> TextContent:
        """Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)."""
        given: dict[str, Any] = {
            "name": name,
            "address": address.model_dump(exclude_none=True) if address else None,
            "contactMethod": contactMethod,
            "phone": phone,
            "email": email,
        }
        arguments = {key: value for key, value in given.items() if value is not None}
        return TextContent(text=f"JSON Schema 2020-12 tool called with: {json.dumps(arguments)}")

    @server.tool()
    def test_custom_headers(
        region: Annotated[
            str,
            Field(description="Mirrored in the Mcp-Param-Region header", json_schema_extra={"x-mcp-header": "Region"}),
        ],
        query: Annotated[str | None, Field(description="Not mirrored in any header")] = None,
    ) -> TextContent:
        """Echoes a parameter the client mirrors in an Mcp-Param-* header (SEP-2243 custom headers)."""
        return TextContent(text=f"Custom headers test completed: region={region!r}")

    # --- diagnostic tools of server-stateless (SEP-2575) --------------------------------------------------

    @server.tool()
    def test_missing_capability() -> TextContent:
        """Requires the client's sampling capability (SEP-2575's undeclared-capability probe)."""
        raise ToolError(
            f"This tool needs the client's sampling capability. {_NO_CLIENT_REQUESTS.format(what='sampling')}"
        )

    @server.tool()
    def test_streaming_elicitation() -> TextContent:
        """Would elicit on its response stream (SEP-2575); answers at once instead."""
        return TextContent(text=f"Elicitation not supported: {_NO_CLIENT_REQUESTS.format(what='elicitation')}")

    @server.tool()
    def test_logging_tool() -> TextContent:
        """Would log when the request sets a log level (SEP-2575); never logs."""
        return TextContent(text=f"Logging tool executed {_NOT_STREAMED.format(what='log message')}")

    # --- resources (resources-* scenarios, caching) --------------------------------------------------------

    @server.resource(
        "test://static-text",
        name="static-text",
        title="Static Text Resource",
        description="A static text resource for testing",
        mime_type="text/plain",
    )
    def static_text() -> str:
        return "This is the content of the static text resource."

    @server.resource(
        "test://static-binary",
        name="static-binary",
        title="Static Binary Resource",
        description="A static binary resource (image) for testing",
        mime_type="image/png",
    )
    def static_binary() -> bytes:
        return _PNG

    @server.resource(
        "test://watched-resource",
        name="watched-resource",
        title="Watched Resource",
        description="A resource the subscription scenarios name (its content never changes here)",
        mime_type="text/plain",
    )
    def watched_resource() -> str:
        return "Watched resource content"

    @server.resource_template(
        "test://template/{id}/data",
        name="template",
        title="Resource Template",
        description="A resource template with parameter substitution",
        mime_type="application/json",
    )
    def template_data(id: str) -> str:
        return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"}, separators=(",", ":"))

    # --- prompts (prompts-* scenarios) ---------------------------------------------------------------------

    @server.prompt(title="Simple Test Prompt", description="A simple prompt without arguments")
    def test_simple_prompt() -> str:
        return "This is a simple prompt for testing."

    @server.prompt(title="Prompt With Arguments", description="A prompt with required arguments")
    def test_prompt_with_arguments(arg1: str, arg2: str) -> str:
        return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"

    @server.prompt(title="Prompt With Embedded Resource", description="A prompt that includes an embedded resource")
    def test_prompt_with_embedded_resource(resourceUri: str) -> list[PromptMessage]:  # noqa: N803 - suite's name
        return [
            PromptMessage(
                role="user",
                content=EmbeddedResource(
                    uri=resourceUri, mime_type="text/plain", text="Embedded resource content for testing."
                ),
            ),
            PromptMessage(role="user", content=TextContent(text="Please process the embedded resource above.")),
        ]

    @server.prompt(title="Prompt With Image", description="A prompt that includes image content")
    def test_prompt_with_image() -> list[PromptMessage]:
        return [
            PromptMessage(role="user", content=ImageContent(data=_PNG, mime_type="image/png")),
            PromptMessage(role="user", content=TextContent(text="Please analyze the image above.")),
        ]

    # --- completion (completion-complete) -------------------------------------------------------------------

    @server.completion(prompt="test_prompt_with_arguments", argument="arg1")
    def complete_arg1(value: str, context: Mapping[str, str]) -> Iterable[str]:
        return _complete(value)

    @server.completion(prompt="test_prompt_with_arguments", argument="arg2")
    def complete_arg2(value: str, context: Mapping[str, str]) -> Iterable[str]:
        return _complete(value)

    @server.completion(resource_template="test://template/{id}/data", argument="id")
    def complete_template_id(value: str, context: Mapping[str, str]) -> Iterable[str]:
        return [candidate for candidate in ("123", "456", "789") if candidate.startswith(value)]

    return server


# Cold start: the schemas are compiled once per sandbox; nothing else is set up.
server = build_server()
handler = server.handler
