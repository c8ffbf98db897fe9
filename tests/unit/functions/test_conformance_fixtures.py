"""The conformance fixture server (functions/conformance) answers, through its handler, exactly what the official
MCP conformance suite (0.2.0-alpha.12) checks: names, URIs, arguments and contents (docs: the suite's
src/scenarios/server/ and its reference everything-server)."""

from __future__ import annotations

import base64
import json
import re
from types import ModuleType
from typing import Any

import pytest

from mcp_steward.sdk import ToolServer
from tests.conftest import load_function
from tests.unit.sdk.helpers import call, envelope

#: The suite's tool-name rule (tools-name-format, SEP-986).
SUITE_TOOL_NAME = re.compile(r"[A-Za-z0-9_./-]{1,64}")

SUITE_TOOLS = {
    "test_simple_text",
    "test_image_content",
    "test_audio_content",
    "test_embedded_resource",
    "test_multiple_content_types",
    "test_error_handling",
    "test_tool_with_logging",
    "test_tool_with_progress",
    "test_sampling",
    "test_elicitation",
    "test_elicitation_sep1034_defaults",
    "test_elicitation_sep1330_enums",
    "test_reconnection",
    "json_schema_2020_12_tool",
    "test_custom_headers",
    "test_missing_capability",
    "test_streaming_elicitation",
    "test_logging_tool",
}
SUITE_PROMPTS = {
    "test_simple_prompt",
    "test_prompt_with_arguments",
    "test_prompt_with_embedded_resource",
    "test_prompt_with_image",
}
SUITE_RESOURCES = {"test://static-text", "test://static-binary", "test://watched-resource"}
TEMPLATE = "test://template/{id}/data"


@pytest.fixture(scope="module")
def app() -> ModuleType:
    return load_function("conformance")


@pytest.fixture(scope="module")
def server(app: ModuleType) -> ToolServer:
    built: ToolServer = app.server
    return built


def answer(server: ToolServer, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = server.handler(envelope(method, params), None)
    assert response["jsonrpc"] == "2.0" and response["id"] == 1
    json.dumps(response, allow_nan=False)  # every answer is JSON text as it is
    return response


def result(server: ToolServer, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    response = answer(server, method, params)
    assert "error" not in response, response
    value: dict[str, Any] = response["result"]
    return value


def tool_result(server: ToolServer, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = server.handler(call(name, arguments), None)
    assert "error" not in response, response
    value: dict[str, Any] = response["result"]
    return value


def listed_tools(server: ToolServer) -> dict[str, dict[str, Any]]:
    return {tool["name"]: tool for tool in result(server, "tools/list")["tools"]}


# --- the module ---------------------------------------------------------------------------------------------


def test_the_module_exposes_a_handler_of_a_server_named_conformance(app: ModuleType) -> None:
    assert app.server.name == "conformance"
    assert app.handler == app.server.handler


def test_discovery_declares_tools_resources_prompts_and_completions(server: ToolServer) -> None:
    discovered = result(server, "server/discover", {})
    assert set(discovered["capabilities"]) == {"tools", "resources", "prompts", "completions"}
    assert discovered["serverInfo"]["name"] == "conformance"


# --- tools --------------------------------------------------------------------------------------------------


def test_every_tool_the_suite_calls_is_listed_with_a_description_and_an_input_schema(server: ToolServer) -> None:
    tools = listed_tools(server)
    assert set(tools) == SUITE_TOOLS
    for name, tool in tools.items():
        assert SUITE_TOOL_NAME.fullmatch(name), name
        assert tool["description"], name
        assert tool["inputSchema"]["type"] == "object", name


def test_content_tools_declare_no_output_schema(server: ToolServer) -> None:
    # A tool with an outputSchema must return structuredContent; these return content blocks only.
    for name, tool in listed_tools(server).items():
        assert "outputSchema" not in tool, name


def test_simple_text(server: ToolServer) -> None:
    answered = tool_result(server, "test_simple_text")
    assert answered["content"] == [{"type": "text", "text": "This is a simple text response for testing."}]
    assert answered.get("isError", False) is False
    assert "structuredContent" not in answered


def test_image_content_is_the_reference_png(app: ModuleType, server: ToolServer) -> None:
    answered = tool_result(server, "test_image_content", {})
    assert answered["content"] == [{"type": "image", "data": app.IMAGE_PNG_BASE64, "mimeType": "image/png"}]
    png = base64.b64decode(answered["content"][0]["data"], validate=True)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_audio_content_is_the_reference_wav(app: ModuleType, server: ToolServer) -> None:
    answered = tool_result(server, "test_audio_content", {})
    assert answered["content"] == [{"type": "audio", "data": app.AUDIO_WAV_BASE64, "mimeType": "audio/wav"}]
    wav = base64.b64decode(answered["content"][0]["data"], validate=True)
    assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE"


def test_embedded_resource(server: ToolServer) -> None:
    answered = tool_result(server, "test_embedded_resource", {})
    assert answered["content"] == [
        {
            "type": "resource",
            "resource": {
                "uri": "test://embedded-resource",
                "mimeType": "text/plain",
                "text": "This is an embedded resource content.",
            },
        }
    ]


def test_multiple_content_types(app: ModuleType, server: ToolServer) -> None:
    answered = tool_result(server, "test_multiple_content_types", {})
    assert answered["content"] == [
        {"type": "text", "text": "Multiple content types test:"},
        {"type": "image", "data": app.IMAGE_PNG_BASE64, "mimeType": "image/png"},
        {
            "type": "resource",
            "resource": {
                "uri": "test://mixed-content-resource",
                "mimeType": "application/json",
                "text": '{"test":"data","value":123}',
            },
        },
    ]


def test_error_handling_is_a_tool_error_with_its_message(server: ToolServer) -> None:
    answered = tool_result(server, "test_error_handling", {})
    assert answered["isError"] is True
    assert answered["content"][0] == {"type": "text", "text": "This tool intentionally returns an error for testing"}


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("test_tool_with_logging", {}),
        ("test_tool_with_progress", {}),
        ("test_sampling", {"prompt": "Test prompt for sampling"}),
        ("test_elicitation", {"message": "Please provide your information"}),
        ("test_elicitation_sep1034_defaults", {}),
        ("test_elicitation_sep1330_enums", {}),
        ("test_reconnection", {}),
        ("test_streaming_elicitation", {}),
        ("test_logging_tool", {}),
    ],
)
def test_tools_that_would_stream_or_ask_the_client_answer_text_at_once(
    server: ToolServer, name: str, arguments: dict[str, Any]
) -> None:
    answered = tool_result(server, name, arguments)
    assert answered.get("isError", False) is False, answered
    assert [block["type"] for block in answered["content"]] == ["text"]
    assert answered["content"][0]["text"]


def test_sampling_and_elicitation_take_the_suites_required_string_argument(server: ToolServer) -> None:
    tools = listed_tools(server)
    for name, argument in (("test_sampling", "prompt"), ("test_elicitation", "message")):
        schema = tools[name]["inputSchema"]
        assert schema["required"] == [argument], name
        assert schema["properties"][argument]["type"] == "string", name
        assert tool_result(server, name, {})["isError"] is True  # the argument is required


def test_missing_capability_refuses_to_run(server: ToolServer) -> None:
    # server-stateless expects -32021 for it; a tool cannot answer that, so the check stays an expected failure.
    answered = tool_result(server, "test_missing_capability", {})
    assert answered["isError"] is True


def test_json_schema_2020_12_tool_is_listed_with_the_suites_schema_verbatim(
    app: ModuleType, server: ToolServer
) -> None:
    schema = listed_tools(server)["json_schema_2020_12_tool"]["inputSchema"]
    assert schema == app.JSON_SCHEMA_2020_12_INPUT_SCHEMA
    # What json-schema-2020-12 checks, spelled out.
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "address" in schema["$defs"] and schema["$defs"]["address"]["$anchor"] == "addressDef"
    assert schema["additionalProperties"] is False
    assert schema["allOf"] == [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}]
    assert {"if", "then", "else"} <= set(schema)


def test_the_listed_2020_12_schema_cannot_be_changed_through_a_listing(app: ModuleType, server: ToolServer) -> None:
    listed_tools(server)["json_schema_2020_12_tool"]["inputSchema"]["$defs"].clear()
    assert listed_tools(server)["json_schema_2020_12_tool"]["inputSchema"] == app.JSON_SCHEMA_2020_12_INPUT_SCHEMA


def test_json_schema_2020_12_tool_answers_with_its_arguments(server: ToolServer) -> None:
    answered = tool_result(server, "json_schema_2020_12_tool", {"name": "Ada", "address": {"city": "London"}})
    assert answered.get("isError", False) is False
    assert answered["content"][0]["text"] == (
        'JSON Schema 2020-12 tool called with: {"name": "Ada", "address": {"city": "London"}}'
    )


def test_custom_headers_tool_marks_a_required_string_for_an_mcp_param_header(server: ToolServer) -> None:
    # http-custom-header-server-validation picks the first string property carrying x-mcp-header.
    schema = listed_tools(server)["test_custom_headers"]["inputSchema"]
    assert schema["properties"]["region"]["type"] == "string"
    assert schema["properties"]["region"]["x-mcp-header"] == "Region"
    assert schema["required"] == ["region"]
    assert "x-mcp-header" not in json.dumps(schema["properties"]["query"])


@pytest.mark.parametrize("value", ["Hello", "SGVsbG8=", "=?base64?SGVsbG8=", "test-value"])
def test_custom_headers_tool_accepts_any_string_the_suite_sends(server: ToolServer, value: str) -> None:
    answered = tool_result(server, "test_custom_headers", {"region": value})
    assert answered.get("isError", False) is False
    assert repr(value) in answered["content"][0]["text"]


# --- resources ----------------------------------------------------------------------------------------------


def test_resources_are_listed_with_uri_name_description_and_mime_type(server: ToolServer) -> None:
    resources = {r["uri"]: r for r in result(server, "resources/list", {})["resources"]}
    assert set(resources) == SUITE_RESOURCES
    for uri, resource in resources.items():
        assert resource["name"] and resource["description"] and resource["mimeType"], uri
    assert resources["test://static-binary"]["mimeType"] == "image/png"


def test_the_template_is_listed(server: ToolServer) -> None:
    templates = result(server, "resources/templates/list", {})["resourceTemplates"]
    assert [(t["uriTemplate"], t["name"], t["mimeType"]) for t in templates] == [
        (TEMPLATE, "template", "application/json")
    ]


def test_static_text_resource(server: ToolServer) -> None:
    read = result(server, "resources/read", {"uri": "test://static-text"})
    assert read["contents"] == [
        {
            "uri": "test://static-text",
            "mimeType": "text/plain",
            "text": "This is the content of the static text resource.",
        }
    ]


def test_static_binary_resource_is_the_png(app: ModuleType, server: ToolServer) -> None:
    read = result(server, "resources/read", {"uri": "test://static-binary"})
    assert read["contents"] == [{"uri": "test://static-binary", "mimeType": "image/png", "blob": app.IMAGE_PNG_BASE64}]


def test_watched_resource_reads(server: ToolServer) -> None:
    read = result(server, "resources/read", {"uri": "test://watched-resource"})
    assert read["contents"][0]["text"] == "Watched resource content"


@pytest.mark.parametrize("identifier", ["123", "abc-9"])
def test_the_template_substitutes_its_id(server: ToolServer, identifier: str) -> None:
    uri = f"test://template/{identifier}/data"
    (content,) = result(server, "resources/read", {"uri": uri})["contents"]
    assert content["uri"] == uri and content["mimeType"] == "application/json"
    assert json.loads(content["text"]) == {"id": identifier, "templateTest": True, "data": f"Data for ID: {identifier}"}


@pytest.mark.parametrize(
    "uri", ["test://nonexistent-resource-for-conformance-testing", "test://template/1/2/data", "test://template//data"]
)
def test_an_unknown_uri_is_invalid_params_naming_it(server: ToolServer, uri: str) -> None:
    error = answer(server, "resources/read", {"uri": uri})["error"]
    assert error["code"] == -32602
    assert error["data"] == {"uri": uri}


# --- prompts ------------------------------------------------------------------------------------------------


def test_prompts_are_listed_with_descriptions_and_their_arguments(server: ToolServer) -> None:
    prompts = {p["name"]: p for p in result(server, "prompts/list", {})["prompts"]}
    assert set(prompts) == SUITE_PROMPTS
    for name, prompt in prompts.items():
        assert prompt["description"], name
    arguments = {name: [(a["name"], a.get("required", False)) for a in p["arguments"]] for name, p in prompts.items()}
    assert arguments == {
        "test_simple_prompt": [],
        "test_prompt_with_arguments": [("arg1", True), ("arg2", True)],
        "test_prompt_with_embedded_resource": [("resourceUri", True)],
        "test_prompt_with_image": [],
    }


def test_simple_prompt(server: ToolServer) -> None:
    got = result(server, "prompts/get", {"name": "test_simple_prompt"})
    assert got["messages"] == [
        {"role": "user", "content": {"type": "text", "text": "This is a simple prompt for testing."}}
    ]


def test_prompt_with_arguments_substitutes_both(server: ToolServer) -> None:
    params = {"name": "test_prompt_with_arguments", "arguments": {"arg1": "testValue1", "arg2": "testValue2"}}
    got = result(server, "prompts/get", params)
    assert got["messages"] == [
        {
            "role": "user",
            "content": {"type": "text", "text": "Prompt with arguments: arg1='testValue1', arg2='testValue2'"},
        }
    ]


def test_prompt_with_arguments_refuses_a_missing_one(server: ToolServer) -> None:
    params = {"name": "test_prompt_with_arguments", "arguments": {"arg1": "only"}}
    assert answer(server, "prompts/get", params)["error"]["code"] == -32602


def test_prompt_with_embedded_resource_embeds_the_uri_given(server: ToolServer) -> None:
    params = {"name": "test_prompt_with_embedded_resource", "arguments": {"resourceUri": "test://example-resource"}}
    got = result(server, "prompts/get", params)
    assert got["messages"] == [
        {
            "role": "user",
            "content": {
                "type": "resource",
                "resource": {
                    "uri": "test://example-resource",
                    "mimeType": "text/plain",
                    "text": "Embedded resource content for testing.",
                },
            },
        },
        {"role": "user", "content": {"type": "text", "text": "Please process the embedded resource above."}},
    ]


def test_prompt_with_image(app: ModuleType, server: ToolServer) -> None:
    got = result(server, "prompts/get", {"name": "test_prompt_with_image"})
    assert got["messages"] == [
        {"role": "user", "content": {"type": "image", "data": app.IMAGE_PNG_BASE64, "mimeType": "image/png"}},
        {"role": "user", "content": {"type": "text", "text": "Please analyze the image above."}},
    ]


# --- completion ---------------------------------------------------------------------------------------------


def test_completion_of_the_prompt_argument_the_suite_asks_for(server: ToolServer) -> None:
    params = {
        "ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"},
        "argument": {"name": "arg1", "value": "test"},
    }
    completion = result(server, "completion/complete", params)["completion"]
    assert completion["values"] == ["test", "testValue1", "testValue2"]


def test_completion_of_the_second_argument_and_of_the_template(server: ToolServer) -> None:
    params = {
        "ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"},
        "argument": {"name": "arg2", "value": "par"},
    }
    assert result(server, "completion/complete", params)["completion"]["values"] == ["paris", "park", "party"]
    params = {"ref": {"type": "ref/resource", "uri": TEMPLATE}, "argument": {"name": "id", "value": "1"}}
    assert result(server, "completion/complete", params)["completion"]["values"] == ["123"]


def test_completion_of_an_argument_without_a_completer_is_empty(server: ToolServer) -> None:
    params = {
        "ref": {"type": "ref/prompt", "name": "test_prompt_with_embedded_resource"},
        "argument": {"name": "resourceUri", "value": "t"},
    }
    assert result(server, "completion/complete", params)["completion"]["values"] == []
