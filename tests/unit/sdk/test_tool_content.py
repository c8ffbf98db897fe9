"""Tools that return content blocks or a ToolResult: no outputSchema, the blocks as the result's content."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import mcp_types
import pytest
from pydantic import BaseModel

from mcp_steward.sdk import (
    AudioContent,
    ContentBlock,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    ToolContext,
    ToolResult,
    ToolServer,
)
from tests.unit.sdk.helpers import call


class Typed(BaseModel):
    n: int


def _server() -> ToolServer:
    server = ToolServer(name="media", version="1.0.0")

    @server.tool()
    def everything(ctx: ToolContext) -> ToolResult:
        ctx.report_units(4)
        return ToolResult(
            [
                TextContent("t", annotations={"audience": ["user"]}),
                ImageContent(b"i", "image/png"),
                AudioContent(b"a", "audio/wav"),
                ResourceLink("files://a", "a", mime_type="text/plain"),
                EmbeddedResource("files://b", blob=b"b", meta={"x": 1}),
            ],
            structured={"count": 5},
            meta={"com.example/trace": "t"},
        )

    @server.tool()
    def image() -> ImageContent:
        return ImageContent(b"i", "image/png")

    @server.tool()
    def either(text: bool) -> TextContent | ImageContent:
        return TextContent("t") if text else ImageContent(b"i", "image/png")

    @server.tool()
    def blocks(n: int) -> list[ContentBlock]:
        return [TextContent(str(i)) for i in range(n)]

    @server.tool()
    def texts() -> Sequence[TextContent]:
        return (TextContent("a"), TextContent("b"))

    @server.tool()
    def failed(ctx: ToolContext) -> ToolResult:
        ctx.report_units(1)
        return ToolResult([TextContent("nothing found")], is_error=True)

    @server.tool()
    def lies() -> TextContent:
        return ImageContent(b"i", "image/png")  # type: ignore[return-value]

    @server.tool()
    def not_a_result() -> ToolResult:
        return [TextContent("a")]  # type: ignore[return-value]

    @server.tool()
    def typed() -> Typed:
        return Typed(n=1)

    return server


SERVER = _server()


def _definitions() -> dict[str, dict[str, Any]]:
    return {tool["name"]: tool for tool in SERVER.list_tools()}


def _call(name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = SERVER.handler(call(name, arguments), None)["result"]
    return result


def test_content_returning_tools_have_no_output_schema_and_typed_ones_keep_theirs() -> None:
    definitions = _definitions()
    for name in ("everything", "image", "either", "blocks", "texts", "failed"):
        assert "outputSchema" not in definitions[name], name
    assert definitions["typed"]["outputSchema"] == {
        "type": "object",
        "properties": {"n": {"title": "N", "type": "integer"}},
        "required": ["n"],
    }


def test_a_tool_result_is_its_content_structured_content_meta_and_units() -> None:
    result = _call("everything")
    assert result == {
        "content": [
            {"type": "text", "text": "t", "annotations": {"audience": ["user"]}},
            {"type": "image", "data": "aQ==", "mimeType": "image/png"},
            {"type": "audio", "data": "YQ==", "mimeType": "audio/wav"},
            {"type": "resource_link", "uri": "files://a", "name": "a", "mimeType": "text/plain"},
            {"type": "resource", "resource": {"uri": "files://b", "blob": "Yg=="}, "_meta": {"x": 1}},
        ],
        "structuredContent": {"count": 5},
        "isError": False,
        "_meta": {"com.example/trace": "t", "steward/units": 4},
    }
    mcp_types.CallToolResult.model_validate(result)


def test_one_block_is_the_only_content_without_structured_content() -> None:
    assert _call("image") == {"content": [{"type": "image", "data": "aQ==", "mimeType": "image/png"}], "isError": False}
    assert _call("either", {"text": True})["content"] == [{"type": "text", "text": "t"}]
    assert _call("either", {"text": False})["content"][0]["type"] == "image"


def test_a_list_of_blocks_is_the_content() -> None:
    assert _call("blocks", {"n": 2}) == {
        "content": [{"type": "text", "text": "0"}, {"type": "text", "text": "1"}],
        "isError": False,
    }
    assert _call("blocks", {"n": 0}) == {"content": [], "isError": False}
    assert [block["text"] for block in _call("texts")["content"]] == ["a", "b"]


def test_a_tool_result_may_be_an_error_with_units() -> None:
    assert _call("failed") == {
        "content": [{"type": "text", "text": "nothing found"}],
        "isError": True,
        "_meta": {"steward/units": 1},
    }


@pytest.mark.parametrize("name", ["lies", "not_a_result"])
def test_content_that_does_not_match_the_annotation_is_an_invalid_output_error(name: str) -> None:
    result = _call(name)
    assert result["isError"] is True
    assert result["_meta"] == {"steward/reason": "invalid_output"}


def test_arguments_are_still_validated_for_content_tools() -> None:
    result = _call("blocks", {"n": "2"})
    assert result["isError"] is True
    assert result["_meta"]["steward/reason"] == "invalid_arguments"


def test_typed_returns_are_unchanged() -> None:
    assert _call("typed") == {
        "content": [{"type": "text", "text": '{"n":1}'}],
        "structuredContent": {"n": 1},
        "isError": False,
    }


def test_content_types_in_any_other_return_form_are_refused_at_decoration() -> None:
    server = ToolServer(name="t", version="1")

    def optional() -> TextContent | None:
        return None

    def mapping() -> dict[str, TextContent]:
        return {}

    def mixed() -> ToolResult | TextContent:
        return TextContent("a")

    for fn in (optional, mapping, mixed):
        with pytest.raises(TypeError, match="return ToolResult"):
            server.tool()(fn)
