"""Resources and resource templates: decoration checks, resources/list, resources/templates/list, resources/read."""

from __future__ import annotations

import logging
from typing import Any

import mcp_types
import pytest

from mcp_steward.sdk import ResourceContents, ResourceNotFoundError, ToolContext, ToolServer
from tests.unit.sdk.helpers import envelope

SECRET_TEXT = "password=hunter2"


def _server() -> ToolServer:
    server = ToolServer(name="files", version="2.0.0")

    @server.resource("files://readme", mime_type="text/markdown", title="Read me", size=4)
    def readme() -> str:
        """The project's read-me."""
        return "# hi"

    @server.resource("files://logo", name="Logo", description="The logo.", annotations={"priority": 1}, meta={"x/y": 1})
    def logo(ctx: ToolContext) -> bytes:
        ctx.report_units(2)
        return b"\x89PNG"

    @server.resource("files://both")
    def both() -> list[ResourceContents]:
        return [ResourceContents("files://both#a", text="a"), ResourceContents("files://both#b", blob=b"b")]

    @server.resource("files://crash")
    def crash() -> str:
        raise RuntimeError(SECRET_TEXT)

    @server.resource("files://wrong")
    def wrong() -> str:
        return 42  # type: ignore[return-value]

    @server.resource_template("files://users/{user}/{doc}.txt", mime_type="text/plain")
    def user_doc(ctx: ToolContext, user: str, doc: str) -> str:
        """A user's document."""
        if user == "nobody":
            raise ResourceNotFoundError
        return f"{ctx.tool_name}|{user}|{doc}|{ctx.principal.id}"

    @server.resource_template("files://users/{user}/readme", name="user-readme")
    async def user_readme(user: str) -> bytes:
        return user.encode()

    @server.resource_template("files://{anything}")
    def anything(anything: str) -> str:
        return f"fallback {anything}"

    return server


SERVER = _server()


def _result(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    answer = SERVER.handler(envelope(method, params), None)
    assert "error" not in answer, answer
    result: dict[str, Any] = answer["result"]
    return result


def _error(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    answer = SERVER.handler(envelope(method, params), None)
    assert "result" not in answer, answer
    error: dict[str, Any] = answer["error"]
    return error


def test_server_discover_declares_resources_and_the_server() -> None:
    assert _result("server/discover") == {
        "capabilities": {"resources": {}},
        "serverInfo": {"name": "files", "version": "2.0.0"},
    }


def test_resources_list_shows_each_resource_with_its_fields() -> None:
    result = _result("resources/list")
    assert result == {
        "resources": [
            {
                "uri": "files://readme",
                "name": "readme",
                "title": "Read me",
                "description": "The project's read-me.",
                "mimeType": "text/markdown",
                "size": 4,
            },
            {
                "uri": "files://logo",
                "name": "Logo",
                "description": "The logo.",
                "annotations": {"priority": 1},
                "_meta": {"x/y": 1},
            },
            {"uri": "files://both", "name": "both"},
            {"uri": "files://crash", "name": "crash"},
            {"uri": "files://wrong", "name": "wrong"},
        ]
    }
    mcp_types.ListResourcesResult.model_validate(result)


def test_resources_templates_list_shows_each_template() -> None:
    result = _result("resources/templates/list")
    assert result == {
        "resourceTemplates": [
            {
                "uriTemplate": "files://users/{user}/{doc}.txt",
                "name": "user_doc",
                "description": "A user's document.",
                "mimeType": "text/plain",
            },
            {"uriTemplate": "files://users/{user}/readme", "name": "user-readme"},
            {"uriTemplate": "files://{anything}", "name": "anything"},
        ]
    }
    mcp_types.ListResourceTemplatesResult.model_validate(result)


def test_a_text_resource_is_read_with_its_mime_type() -> None:
    result = _result("resources/read", {"uri": "files://readme"})
    assert result == {"contents": [{"uri": "files://readme", "mimeType": "text/markdown", "text": "# hi"}]}
    mcp_types.ReadResourceResult.model_validate(result)


def test_a_blob_resource_is_base64_and_reports_its_units() -> None:
    result = _result("resources/read", {"uri": "files://logo"})
    assert result == {"contents": [{"uri": "files://logo", "blob": "iVBORw=="}], "_meta": {"steward/units": 2}}


def test_a_resource_may_return_several_contents() -> None:
    assert _result("resources/read", {"uri": "files://both"})["contents"] == [
        {"uri": "files://both#a", "text": "a"},
        {"uri": "files://both#b", "blob": "Yg=="},
    ]


def test_a_uri_matching_a_template_is_read_through_it_with_the_context_named_by_the_uri() -> None:
    uri = "files://users/ada/notes.v1.txt"
    assert _result("resources/read", {"uri": uri}) == {
        "contents": [{"uri": uri, "mimeType": "text/plain", "text": f"{uri}|ada|notes.v1|alice"}]
    }


def test_templates_are_tried_in_order_and_async_functions_work() -> None:
    assert _result("resources/read", {"uri": "files://users/ada/readme"})["contents"] == [
        {"uri": "files://users/ada/readme", "blob": "YWRh"}
    ]
    assert _result("resources/read", {"uri": "files://other"})["contents"][0]["text"] == "fallback other"


def test_a_registered_uri_wins_over_a_template_that_matches_it() -> None:
    assert _result("resources/read", {"uri": "files://readme"})["contents"][0]["text"] == "# hi"


@pytest.mark.parametrize("uri", ["files://users/a/b/c.txt", "other://readme", "files://", "files://users/x/.txt"])
def test_an_unknown_uri_is_invalid_params_with_the_uri(uri: str) -> None:
    assert _error("resources/read", {"uri": uri}) == {
        "code": -32602,
        "message": "Unknown resource",
        "data": {"uri": uri},
    }


def test_a_template_function_raising_resource_not_found_is_an_unknown_uri() -> None:
    uri = "files://users/nobody/x.txt"
    assert _error("resources/read", {"uri": uri}) == {
        "code": -32602,
        "message": "Unknown resource",
        "data": {"uri": uri},
    }


@pytest.mark.parametrize("params", [{}, {"uri": None}, {"uri": 5}, {"uri": ""}, {"uri": "files://" + "a" * 2041}])
def test_a_missing_non_string_empty_or_huge_uri_is_invalid_params(params: dict[str, Any]) -> None:
    error = _error("resources/read", params)
    assert error["code"] == -32602
    assert "data" not in error
    assert "2048" in error["message"]


def test_a_uri_at_the_bound_is_read() -> None:
    uri = "files://" + "a" * 2040
    assert len(uri) == 2048
    assert _result("resources/read", {"uri": uri})["contents"][0]["text"] == "fallback " + "a" * 2040


@pytest.mark.parametrize("uri", ["files://crash", "files://wrong"])
def test_a_failing_or_wrong_resource_is_internal_error_logged_with_its_type_only(
    uri: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="mcp_steward.sdk"):
        error = _error("resources/read", {"uri": uri})
    assert error == {"code": -32603, "message": "Internal error"}
    assert SECRET_TEXT not in caplog.text
    assert "req-123" in caplog.text
    assert ("RuntimeError" if uri == "files://crash" else "TypeError") in caplog.text


def test_a_tools_only_server_answers_resource_methods_method_not_found_and_discovers_tools() -> None:
    server = ToolServer(name="t", version="1")

    @server.tool()
    def ping() -> str:
        return "pong"

    for method in ("resources/list", "resources/templates/list", "resources/read", "prompts/list", "prompts/get"):
        answer = server.handler(envelope(method, {"uri": "x://a"}), None)
        assert answer["error"] == {"code": -32601, "message": f"Method not found: {method}"}
    discovered = server.handler(envelope("server/discover"), None)["result"]
    assert discovered == {"capabilities": {"tools": {}}, "serverInfo": {"name": "t", "version": "1"}}


def test_a_server_with_only_a_template_has_the_resources_capability() -> None:
    server = ToolServer(name="t", version="1")

    @server.resource_template("x://{a}")
    def a(a: str) -> str:
        return a

    assert server.capabilities() == {"resources": {}}
    assert server.handler(envelope("resources/list"), None)["result"] == {"resources": []}


# -- decoration ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    ["", "no-scheme", "x://has space", "x://{a}", "x://" + "a" * 2045, 5, "x://a\n"],
)
def test_a_resource_needs_an_absolute_uri_without_variables(uri: Any) -> None:
    server = ToolServer(name="t", version="1")
    with pytest.raises(ValueError, match="resource URI"):
        server.resource(uri)(lambda: "x")


def test_a_resource_uri_or_template_registers_once() -> None:
    server = ToolServer(name="t", version="1")
    server.resource("x://a")(lambda: "x")
    with pytest.raises(ValueError, match="already registered"):
        server.resource("x://a")(lambda: "y")

    def read(a: str) -> str:
        return a

    server.resource_template("x://{a}")(read)
    with pytest.raises(ValueError, match="already registered"):
        server.resource_template("x://{a}")(read)


def test_a_resource_function_takes_nothing_but_a_context() -> None:
    server = ToolServer(name="t", version="1")

    def needs(ctx: ToolContext, other: str) -> str:
        return other

    with pytest.raises(TypeError, match="no parameters but a ToolContext"):
        server.resource("x://a")(needs)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"name": ""}, ValueError),
        ({"name": "a\nb"}, ValueError),
        ({"mime_type": ""}, ValueError),
        ({"size": -1}, TypeError),
        ({"annotations": {"priority": 5}}, ValueError),
        ({"meta": {"steward/units": 1}}, ValueError),
        ({"title": 5}, TypeError),
    ],
)
def test_resource_fields_are_checked(kwargs: dict[str, Any], error: type[Exception]) -> None:
    server = ToolServer(name="t", version="1")
    with pytest.raises(error):
        server.resource("x://a", **kwargs)(lambda: "x")


def test_template_variables_must_be_the_functions_str_parameters() -> None:
    server = ToolServer(name="t", version="1")

    def missing(ctx: ToolContext, a: str) -> str:
        return a

    def extra(a: str, b: str, c: str) -> str:
        return a

    def not_str(a: str, b: int) -> str:
        return a

    def variadic(a: str, **b: str) -> str:
        return a

    for fn in (missing, extra):
        with pytest.raises(TypeError, match="must be the template's variables"):
            server.resource_template("x://{a}/{b}")(fn)
    for wrong in (not_str, variadic):
        with pytest.raises(TypeError, match="annotated str"):
            server.resource_template("x://{a}/{b}")(wrong)


@pytest.mark.parametrize("text", ["x://{a}{b}", "x://{+a}", "x://static", "x://{a"])
def test_an_invalid_template_is_refused_at_decoration(text: str) -> None:
    server = ToolServer(name="t", version="1")
    with pytest.raises(ValueError, match="URI template"):
        server.resource_template(text)(lambda a: a)
