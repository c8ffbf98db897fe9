"""Prompts and completers: decoration checks, prompts/list, prompts/get, completion/complete."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Annotated, Any

import mcp_types
import pytest

from mcp_steward.sdk import (
    EmbeddedResource,
    ImageContent,
    PromptMessage,
    ResourceLink,
    TextContent,
    ToolContext,
    ToolServer,
)
from tests.unit.sdk.helpers import envelope

SECRET_TEXT = "password=hunter2"


def _server() -> ToolServer:
    server = ToolServer(name="writer", version="1.0.0")

    @server.prompt(title="Summarize")
    def summarize(
        ctx: ToolContext,
        text: Annotated[str, "The text to summarize."],
        style: Annotated[str, "bullets or prose"] = "prose",
    ) -> str:
        """Summarize a text."""
        ctx.report_units(1)
        return f"Summarize as {style} for {ctx.principal.id} ({ctx.tool_name}): {text}"

    @server.prompt(name="review.code", description="Review a diff.")
    def review(diff: str) -> list[PromptMessage | TextContent | ImageContent]:
        return [
            PromptMessage("assistant", TextContent("Paste the diff.")),
            TextContent(diff),
            ImageContent(b"png", "image/png"),
        ]

    @server.prompt()
    async def cite() -> PromptMessage:
        return PromptMessage("user", EmbeddedResource("files://readme", text="# hi", mime_type="text/markdown"))

    @server.prompt()
    def link() -> list[ResourceLink]:
        return [ResourceLink("files://readme", "readme")]

    @server.prompt()
    def crash(text: str = "") -> str:
        raise RuntimeError(SECRET_TEXT)

    @server.prompt()
    def wrong() -> str:
        return {"role": "user"}  # type: ignore[return-value]

    @server.completion(prompt="summarize", argument="style")
    def styles(value: str, context: Mapping[str, str]) -> list[str]:
        return [s for s in ("bullets", "brief", "prose") if s.startswith(value)] + [f"n={len(context)}"]

    @server.completion(prompt="review.code", argument="diff")
    def many(value: str, context: Mapping[str, str]) -> list[str]:
        return [f"{value}{i}" for i in range(1000)]

    @server.completion(prompt="crash", argument="text")
    def failing(value: str, context: Mapping[str, str]) -> Iterator[str]:
        yield "first"
        raise RuntimeError(SECRET_TEXT)

    @server.resource_template("files://{owner}/{repo}")
    def repo(owner: str, repo: str) -> str:
        return f"{owner}/{repo}"

    @server.completion(resource_template="files://{owner}/{repo}", argument="repo")
    def repos(ctx: ToolContext, value: str, context: Mapping[str, str]) -> Iterator[str]:
        owner = context.get("owner", "?")
        yield f"{owner}/{value}-{ctx.tool_name}"

    @server.completion(resource_template="files://{owner}/{repo}", argument="owner")
    def endless(prefix: str, known: Mapping[str, str]) -> Iterator[str]:
        count = 0
        while True:
            count += 1
            yield f"{prefix}{count}"

    return server


SERVER = _server()


def _answer(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    return SERVER.handler(envelope(method, params), None)


def _result(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    answer = _answer(method, params)
    assert "error" not in answer, answer
    result: dict[str, Any] = answer["result"]
    return result


def _error(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    answer = _answer(method, params)
    assert "result" not in answer, answer
    error: dict[str, Any] = answer["error"]
    return error


def _complete(ref: dict[str, Any], name: str, value: str, context: Any = None) -> dict[str, Any]:
    params: dict[str, Any] = {"ref": ref, "argument": {"name": name, "value": value}}
    if context is not None:
        params["context"] = context
    return _answer("completion/complete", params)


def test_server_discover_declares_prompts_resources_and_completions() -> None:
    assert _result("server/discover")["capabilities"] == {"resources": {}, "prompts": {}, "completions": {}}


def test_prompts_list_describes_the_arguments_from_the_signature() -> None:
    result = _result("prompts/list")
    mcp_types.ListPromptsResult.model_validate(result)
    assert result["prompts"][0] == {
        "name": "summarize",
        "title": "Summarize",
        "description": "Summarize a text.",
        "arguments": [
            {"name": "text", "description": "The text to summarize.", "required": True},
            {"name": "style", "description": "bullets or prose", "required": False},
        ],
    }
    assert result["prompts"][1] == {
        "name": "review.code",
        "description": "Review a diff.",
        "arguments": [{"name": "diff", "required": True}],
    }
    assert [prompt["name"] for prompt in result["prompts"]] == [
        "summarize",
        "review.code",
        "cite",
        "link",
        "crash",
        "wrong",
    ]


def test_a_string_is_one_user_text_message_and_units_are_reported() -> None:
    result = _result("prompts/get", {"name": "summarize", "arguments": {"text": "long"}})
    assert result == {
        "description": "Summarize a text.",
        "messages": [
            {"role": "user", "content": {"type": "text", "text": "Summarize as prose for alice (summarize): long"}}
        ],
        "_meta": {"steward/units": 1},
    }
    mcp_types.GetPromptResult.model_validate(result)


def test_a_list_mixes_messages_and_blocks_which_are_user_messages() -> None:
    result = _result("prompts/get", {"name": "review.code", "arguments": {"diff": "+a"}})
    assert result == {
        "description": "Review a diff.",
        "messages": [
            {"role": "assistant", "content": {"type": "text", "text": "Paste the diff."}},
            {"role": "user", "content": {"type": "text", "text": "+a"}},
            {"role": "user", "content": {"type": "image", "data": "cG5n", "mimeType": "image/png"}},
        ],
    }
    mcp_types.GetPromptResult.model_validate(result)


def test_a_prompt_may_be_async_and_return_one_message_with_a_resource() -> None:
    result = _result("prompts/get", {"name": "cite"})
    assert result == {
        "messages": [
            {
                "role": "user",
                "content": {
                    "type": "resource",
                    "resource": {"uri": "files://readme", "mimeType": "text/markdown", "text": "# hi"},
                },
            }
        ]
    }
    link = _result("prompts/get", {"name": "link", "arguments": None})
    assert link["messages"] == [
        {"role": "user", "content": {"type": "resource_link", "uri": "files://readme", "name": "readme"}}
    ]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"name": "nope"}, "Unknown prompt: nope"),
        ({"name": 5}, "Unknown prompt: (invalid)"),
        ({"name": "x" * 10_000}, "Unknown prompt: (invalid)"),
        ({}, "Unknown prompt: (invalid)"),
        ({"name": "summarize"}, "missing required argument(s): text"),
        ({"name": "summarize", "arguments": {"style": "x"}}, "missing required argument(s): text"),
        ({"name": "summarize", "arguments": {"text": 5}}, "argument text must be a string"),
        ({"name": "summarize", "arguments": {"text": None}}, "argument text must be a string"),
        ({"name": "summarize", "arguments": {"text": ["a"]}}, "argument text must be a string"),
        ({"name": "summarize", "arguments": {"text": "a", "extra": "b"}}, "has no argument extra"),
        ({"name": "summarize", "arguments": {"text": "a" * 65_537}}, "longer than 65536"),
        ({"name": "summarize", "arguments": ["a"]}, "arguments must be an object"),
    ],
)
def test_bad_prompt_params_are_invalid_params(params: dict[str, Any], message: str) -> None:
    error = _error("prompts/get", params)
    assert error["code"] == -32602
    assert message in error["message"]


@pytest.mark.parametrize("name", ["crash", "wrong"])
def test_a_failing_or_wrong_prompt_is_internal_error_logged_with_its_type_only(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="mcp_steward.sdk"):
        error = _error("prompts/get", {"name": name})
    assert error == {"code": -32603, "message": "Internal error"}
    assert SECRET_TEXT not in caplog.text
    assert "req-123" in caplog.text


# -- completion ------------------------------------------------------------------------------------------------


def test_a_prompt_argument_is_completed_with_the_context_it_is_given() -> None:
    answer = _complete({"type": "ref/prompt", "name": "summarize"}, "style", "b", {"arguments": {"text": "t"}})
    assert answer["result"] == {"completion": {"values": ["bullets", "brief", "n=1"], "total": 3, "hasMore": False}}
    mcp_types.CompleteResult.model_validate(answer["result"])


def test_a_completer_returning_1000_values_is_cut_to_100_with_the_total() -> None:
    completion = _complete({"type": "ref/prompt", "name": "review.code"}, "diff", "v")["result"]["completion"]
    assert completion["values"] == [f"v{i}" for i in range(100)]
    assert completion["total"] == 1000
    assert completion["hasMore"] is True


def test_an_endless_generator_is_read_no_further_than_the_101st_value() -> None:
    ref = {"type": "ref/resource", "uri": "files://{owner}/{repo}"}
    completion = _complete(ref, "owner", "o")["result"]["completion"]
    assert completion == {"values": [f"o{i}" for i in range(1, 101)], "hasMore": True}


def test_a_template_variable_is_completed_with_the_context_and_a_tool_context() -> None:
    ref = {"type": "ref/resource", "uri": "files://{owner}/{repo}"}
    answer = _complete(ref, "repo", "st", {"arguments": {"owner": "ada"}})
    assert answer["result"] == {
        "completion": {"values": ["ada/st-files://{owner}/{repo}"], "total": 1, "hasMore": False}
    }


def test_a_generator_that_raises_is_internal_error_logged_with_its_type_only(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="mcp_steward.sdk"):
        answer = _complete({"type": "ref/prompt", "name": "crash"}, "text", "")
    assert answer["error"] == {"code": -32603, "message": "Internal error"}
    assert SECRET_TEXT not in caplog.text
    assert "RuntimeError" in caplog.text


def test_a_known_ref_without_a_completer_for_the_argument_completes_nothing() -> None:
    for ref, name in (
        ({"type": "ref/prompt", "name": "summarize"}, "text"),
        ({"type": "ref/prompt", "name": "summarize"}, "not-an-argument"),
        ({"type": "ref/prompt", "name": "cite"}, "x"),
    ):
        assert _complete(ref, name, "a")["result"] == {"completion": {"values": []}}


@pytest.mark.parametrize(
    "params",
    [
        {"ref": {"type": "ref/prompt", "name": "nope"}, "argument": {"name": "a", "value": "b"}},
        {"ref": {"type": "ref/resource", "uri": "files://other"}, "argument": {"name": "a", "value": "b"}},
        {"ref": {"type": "ref/resource", "uri": "files://ada/x"}, "argument": {"name": "repo", "value": "b"}},
        {"ref": {"type": "ref/tool", "name": "summarize"}, "argument": {"name": "a", "value": "b"}},
        {"ref": "summarize", "argument": {"name": "a", "value": "b"}},
        {"argument": {"name": "a", "value": "b"}},
        {"ref": {"type": "ref/prompt", "name": "summarize"}},
        {"ref": {"type": "ref/prompt", "name": "summarize"}, "argument": {"name": "style", "value": 5}},
        {"ref": {"type": "ref/prompt", "name": "summarize"}, "argument": {"name": 5, "value": "a"}},
        {"ref": {"type": "ref/prompt", "name": "summarize"}, "argument": {"name": "style", "value": "a" * 65_537}},
        {
            "ref": {"type": "ref/prompt", "name": "summarize"},
            "argument": {"name": "style", "value": "a"},
            "context": {"arguments": {"text": 5}},
        },
        {
            "ref": {"type": "ref/prompt", "name": "summarize"},
            "argument": {"name": "style", "value": "a"},
            "context": {"arguments": {str(i): "x" for i in range(65)}},
        },
        {"ref": {"type": "ref/prompt", "name": "summarize"}, "argument": {"name": "style", "value": "a"}, "context": 1},
    ],
)
def test_bad_completion_params_or_an_unknown_ref_are_invalid_params(params: dict[str, Any]) -> None:
    assert _error("completion/complete", params)["code"] == -32602


def test_a_completion_with_empty_context_is_accepted() -> None:
    contexts: list[dict[str, Any]] = [{}, {"arguments": None}, {"arguments": {}}]
    for context in contexts:
        answer = _complete({"type": "ref/prompt", "name": "summarize"}, "style", "p", context)
        assert answer["result"]["completion"]["values"] == ["prose", "n=0"]


def test_a_completer_returning_non_strings_or_a_string_is_internal_error() -> None:
    server = ToolServer(name="t", version="1")

    @server.prompt()
    def p(a: str, b: str) -> str:
        return a

    @server.completion(prompt="p", argument="a")
    def numbers(value: str, context: Mapping[str, str]) -> list[int]:
        return [1, 2]

    @server.completion(prompt="p", argument="b")
    def text(value: str, context: Mapping[str, str]) -> str:
        return "abc"

    for argument in ("a", "b"):
        params = {"ref": {"type": "ref/prompt", "name": "p"}, "argument": {"name": argument, "value": ""}}
        assert server.handler(envelope("completion/complete", params), None)["error"]["code"] == -32603


def test_a_server_without_completers_answers_completion_method_not_found() -> None:
    server = ToolServer(name="t", version="1")

    @server.prompt()
    def p(a: str) -> str:
        return a

    params = {"ref": {"type": "ref/prompt", "name": "p"}, "argument": {"name": "a", "value": ""}}
    assert server.handler(envelope("completion/complete", params), None)["error"]["code"] == -32601
    assert server.capabilities() == {"prompts": {}}


# -- decoration ------------------------------------------------------------------------------------------------


def test_prompt_arguments_must_be_str() -> None:
    server = ToolServer(name="t", version="1")

    def number(n: int) -> str:
        return ""

    def unannotated(n) -> str:  # type: ignore[no-untyped-def]
        return ""

    def annotated_int(n: Annotated[int, "a number"]) -> str:
        return ""

    def bad_default(n: str = 5) -> str:  # type: ignore[assignment]
        return ""

    def variadic(*n: str) -> str:
        return ""

    for fn in (number, unannotated, annotated_int, bad_default, variadic):
        with pytest.raises(TypeError):
            server.prompt()(fn)


@pytest.mark.parametrize("name", ["", "has space", "x" * 129, "a/b"])
def test_an_invalid_prompt_name_is_refused(name: str) -> None:
    server = ToolServer(name="t", version="1")
    with pytest.raises(ValueError, match="invalid prompt name"):
        server.prompt(name)(lambda: "x")


def test_a_prompt_registers_once() -> None:
    server = ToolServer(name="t", version="1")
    server.prompt("p")(lambda: "x")
    with pytest.raises(ValueError, match="already registered"):
        server.prompt("p")(lambda: "y")


def test_a_completer_needs_a_registered_ref_and_argument_and_two_parameters() -> None:
    server = ToolServer(name="t", version="1")

    @server.prompt()
    def p(a: str) -> str:
        return a

    def ok(value: str, context: Mapping[str, str]) -> list[str]:
        return []

    def one(value: str) -> list[str]:
        return []

    with pytest.raises(ValueError, match="exactly one"):
        server.completion(argument="a")
    with pytest.raises(ValueError, match="exactly one"):
        server.completion(prompt="p", resource_template="x://{a}", argument="a")
    with pytest.raises(ValueError, match="register prompt"):
        server.completion(prompt="q", argument="a")
    with pytest.raises(ValueError, match="register resource template"):
        server.completion(resource_template="x://{a}", argument="a")
    with pytest.raises(ValueError, match="no argument"):
        server.completion(prompt="p", argument="b")
    with pytest.raises(TypeError, match="two named parameters"):
        server.completion(prompt="p", argument="a")(one)
    server.completion(prompt="p", argument="a")(ok)
    with pytest.raises(ValueError, match="already registered"):
        server.completion(prompt="p", argument="a")(ok)
