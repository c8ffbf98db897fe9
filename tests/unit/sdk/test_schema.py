from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field

from mcp_steward.sdk import ToolContext, ToolServer


class Quote(BaseModel):
    price: Decimal
    currency: str


def _definitions(server: ToolServer) -> dict[str, dict[str, Any]]:
    return {tool["name"]: tool for tool in server.list_tools()}


def _server() -> ToolServer:
    server = ToolServer(name="demo", version="1.0.0")

    @server.tool(title="Quote", annotations={"readOnlyHint": True})
    def quote(
        ctx: ToolContext,
        symbol: Annotated[str, Field(description="Ticker symbol.", examples=["ACME"], pattern=r"^[A-Z]{1,5}$")],
        venue: str = "XNYS",
    ) -> Quote:
        """Price one share."""
        return Quote(price=Decimal("1.5"), currency="USD")

    @server.tool()
    def count(words: list[str]) -> int:
        return len(words)

    @server.tool(name="echo.v2", description="Echo it back.")
    def echo(json: str, schema: str = "x") -> str:
        return json + schema

    return server


def test_input_schema_refuses_unknown_properties_and_excludes_the_context() -> None:
    schema = _definitions(_server())["quote"]["inputSchema"]
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"symbol", "venue"}
    assert schema["required"] == ["symbol"]


def test_field_description_examples_pattern_and_defaults_are_carried_into_the_input_schema() -> None:
    properties = _definitions(_server())["quote"]["inputSchema"]["properties"]
    assert properties["symbol"] == {
        "type": "string",
        "description": "Ticker symbol.",
        "examples": ["ACME"],
        "pattern": "^[A-Z]{1,5}$",
    }
    assert properties["venue"] == {"type": "string", "default": "XNYS"}


def test_docstring_title_and_annotations_describe_the_tool() -> None:
    tool = _definitions(_server())["quote"]
    assert tool["description"] == "Price one share."
    assert tool["title"] == "Quote"
    assert tool["annotations"] == {"readOnlyHint": True}


def test_a_model_return_type_is_the_output_schema_as_is() -> None:
    schema = _definitions(_server())["quote"]["outputSchema"]
    assert schema["type"] == "object"
    assert set(schema["properties"]) == {"price", "currency"}
    assert schema["properties"]["price"]["type"] == "string"  # Decimal serializes as a string


def test_a_primitive_return_type_is_wrapped_as_result_in_the_output_schema() -> None:
    schema = _definitions(_server())["count"]["outputSchema"]
    assert schema == {"type": "object", "properties": {"result": {"type": "integer"}}, "required": ["result"]}


def test_parameters_named_like_model_attributes_keep_their_names() -> None:
    tool = _definitions(_server())["echo.v2"]
    assert set(tool["inputSchema"]["properties"]) == {"json", "schema"}
    assert tool["description"] == "Echo it back."


def test_a_tool_without_a_return_annotation_is_refused_at_decoration() -> None:
    server = ToolServer(name="demo", version="1.0.0")
    with pytest.raises(TypeError, match="return type"):

        @server.tool()
        def broken(x: int):  # type: ignore[no-untyped-def]
            return x


def test_variadic_and_unannotated_parameters_are_refused_at_decoration() -> None:
    server = ToolServer(name="demo", version="1.0.0")
    with pytest.raises(TypeError, match="kwargs"):

        @server.tool()
        def variadic(**kwargs: int) -> int:
            return 0

    with pytest.raises(TypeError, match="annotation"):

        @server.tool()
        def untyped(x) -> int:  # type: ignore[no-untyped-def]
            return 0


def test_duplicate_and_invalid_tool_names_are_refused() -> None:
    server = _server()
    with pytest.raises(ValueError, match="already registered"):

        @server.tool(name="count")
        def again() -> int:
            return 0

    with pytest.raises(ValueError, match="invalid tool name"):

        @server.tool(name="has space")
        def spaced() -> int:
            return 0


def test_listed_definitions_are_copies_that_callers_cannot_corrupt() -> None:
    server = _server()
    server.list_tools()[0]["inputSchema"]["properties"].clear()
    assert _definitions(server)["quote"]["inputSchema"]["properties"]
