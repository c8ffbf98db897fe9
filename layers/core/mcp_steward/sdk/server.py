"""``ToolServer``: register typed tool functions and answer the invocation envelope (docs/design.md section 5).

The internal dialect is MCP 2025-11-25 without ``initialize``: ``tools/list`` (every tool, no pagination)
and ``tools/call``. The handler never raises for bad input; it always answers JSON-RPC:

- envelope not an object, ``steward``/``message`` missing or invalid, ``v`` not 1 → ``-32600``
  (``id`` echoed when the message has a readable one, else null);
- any other method → ``-32601``; unknown tool or malformed ``tools/call`` params → ``-32602``;
- invalid arguments, :class:`ToolError`, any other exception, or output that does not match the return
  annotation → a result with ``isError: true`` (other exceptions are logged with the request id and
  answered with their type only, never their text).

Async tools (``async def``) are run with :func:`asyncio.run` on a fresh event loop per call, so the
handler must not itself be called from inside a running event loop.
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypedDict

from mcp_steward.contracts import result_meta
from mcp_steward.sdk.context import ToolContext, ToolError
from mcp_steward.sdk.envelope import EnvelopeError, JsonObject, RequestId, StewardContext, readable_id
from mcp_steward.sdk.jsonrpc import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    error_message,
    result_message,
)
from mcp_steward.sdk.schema import InvalidArgumentsError, InvalidOutputError, Signature, Violation, compile_signature

logger = logging.getLogger("mcp_steward.sdk")

UNITS_KEY: Final = result_meta.UNITS
REASON_KEY: Final = result_meta.REASON
VIOLATIONS_KEY: Final = result_meta.VIOLATIONS
_TOOL_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")


class ToolAnnotations(TypedDict, total=False):
    """MCP tool annotations (untrusted hints for clients)."""

    title: str
    readOnlyHint: bool
    destructiveHint: bool
    idempotentHint: bool
    openWorldHint: bool


@dataclass(frozen=True, slots=True)
class _Tool:
    name: str
    fn: Callable[..., Any]
    signature: Signature
    definition: JsonObject
    is_async: bool


class ToolServer:
    """An internal MCP server: a set of tools answered by one Lambda handler.

    Example:
        server = ToolServer(name="currency", version="1.0.0")

        @server.tool(title="Convert currency", annotations={"readOnlyHint": True})
        def convert(ctx: ToolContext, amount: str) -> Conversion:
            \"\"\"Docstring becomes the description.\"\"\"

        handler = server.handler
    """

    def __init__(
        self, name: str, version: str, *, nested: Callable[[dict[str, Any], int], dict[str, Any]] | None = None
    ) -> None:
        """``nested`` replaces how ``ctx.call_tool`` reaches nested governance (tests; Lambda by default)."""
        self.name = name
        self.version = version
        self._tools: dict[str, _Tool] = {}
        self._nested = nested

    def tool[F: Callable[..., Any]](
        self,
        name: str | None = None,
        *,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | None = None,
    ) -> Callable[[F], F]:
        """Register a function as a tool; its schemas are compiled here, once.

        Args:
            name: The tool name (default: the function's name); 1-128 of ``[A-Za-z0-9_.-]``.
            title: A human-readable title.
            description: The description (default: the function's docstring).
            annotations: MCP tool annotations such as ``{"readOnlyHint": True}``.

        Raises:
            ValueError: the name is invalid or already registered.
            TypeError: the signature cannot be described (see :func:`compile_signature`).
        """

        def register(fn: F) -> F:
            tool_name = name or fn.__name__
            if not _TOOL_NAME.fullmatch(tool_name):
                raise ValueError(f"invalid tool name {tool_name!r}")
            if tool_name in self._tools:
                raise ValueError(f"tool {tool_name!r} is already registered on {self.name}")
            signature = compile_signature(fn, tool_name)
            definition: JsonObject = {"name": tool_name}
            if title is not None:
                definition["title"] = title
            text = description if description is not None else inspect.getdoc(fn)
            if text:
                definition["description"] = text
            definition["inputSchema"] = signature.input_schema
            definition["outputSchema"] = signature.output_schema
            if annotations:
                definition["annotations"] = dict(annotations)
            self._tools[tool_name] = _Tool(tool_name, fn, signature, definition, inspect.iscoroutinefunction(fn))
            return fn

        return register

    def list_tools(self) -> list[JsonObject]:
        """The tool definitions, as ``tools/list`` answers them (a copy: callers may mutate it)."""
        return [copy.deepcopy(tool.definition) for tool in self._tools.values()]

    def handler(self, event: Any, context: object = None) -> JsonObject:
        """The Lambda handler: answer one invocation envelope with a JSON-RPC response object."""
        try:
            return self._answer(event, context)
        except Exception:  # a bug here must still answer JSON-RPC, never an unhandled Lambda error
            logger.exception("tool server %s failed to answer", self.name)
            message = event.get("message") if isinstance(event, dict) else None
            return error_message(readable_id(message), INTERNAL_ERROR, "Internal error")

    def _answer(self, event: Any, context: object) -> JsonObject:
        if not isinstance(event, dict):
            return error_message(None, INVALID_REQUEST, "Invalid Request: the envelope must be an object")
        message = event.get("message")
        request_id = readable_id(message)
        if not isinstance(message, dict) or not isinstance(event.get("steward"), dict):
            return error_message(request_id, INVALID_REQUEST, "Invalid Request: envelope needs steward and message")
        try:
            steward = StewardContext.decode(event["steward"])
        except EnvelopeError:
            return error_message(request_id, INVALID_REQUEST, "Invalid Request: invalid steward context")
        method = message.get("method")
        params = message.get("params", {})
        if message.get("jsonrpc") != "2.0" or request_id is None or not isinstance(method, str):
            return error_message(request_id, INVALID_REQUEST, "Invalid Request: expected a JSON-RPC 2.0 request")
        if params is None:
            params = {}
        if not isinstance(params, dict):
            return error_message(request_id, INVALID_REQUEST, "Invalid Request: params must be an object")
        if method == "tools/list":
            return result_message(request_id, {"tools": self.list_tools()})
        if method == "tools/call":
            return self._call(request_id, params, steward, context)
        return error_message(request_id, METHOD_NOT_FOUND, f"Method not found: {method}")

    def _call(self, request_id: RequestId, params: JsonObject, steward: StewardContext, context: object) -> JsonObject:
        name = params.get("name")
        arguments = params.get("arguments", {})
        if arguments is None:
            arguments = {}
        tool = self._tools.get(name) if isinstance(name, str) else None
        if tool is None:
            return error_message(request_id, INVALID_PARAMS, f"Unknown tool: {name}")
        if not isinstance(arguments, dict):
            return error_message(request_id, INVALID_PARAMS, "Invalid params: arguments must be an object")
        ctx = ToolContext(steward, tool.name, lambda_context=context, nested=self._nested)
        return result_message(request_id, self._run(tool, arguments, ctx))

    def _run(self, tool: _Tool, arguments: JsonObject, ctx: ToolContext) -> JsonObject:
        try:
            kwargs = tool.signature.parse_arguments(arguments)
        except InvalidArgumentsError as exc:
            return _invalid_arguments(exc.violations)
        if tool.signature.context_param is not None:
            kwargs[tool.signature.context_param] = ctx
        try:
            value = _run_async(tool.fn(**kwargs)) if tool.is_async else tool.fn(**kwargs)
            structured = tool.signature.structured(value)
        except ToolError as exc:
            return _error_result(exc.message, ctx)
        except InvalidOutputError:
            logger.error("tool %s returned output not matching its schema (request_id=%s)", tool.name, ctx.request_id)
            return _error_result("tool failed: invalid output", ctx, {REASON_KEY: "invalid_output"})
        except Exception as exc:
            logger.exception("tool %s failed (request_id=%s)", tool.name, ctx.request_id)
            return _error_result(f"tool failed: {type(exc).__name__}", ctx)
        result: JsonObject = {
            "content": [{"type": "text", "text": _compact(structured)}],
            "structuredContent": structured,
            "isError": False,
        }
        if ctx.units is not None:
            result["_meta"] = {UNITS_KEY: ctx.units}
        return result


def _run_async(awaitable: Any) -> Any:
    import asyncio  # only servers with async tools pay for it (cold start)

    return asyncio.run(awaitable)


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _error_result(text: str, ctx: ToolContext | None, meta: Mapping[str, Any] | None = None) -> JsonObject:
    result: JsonObject = {"content": [{"type": "text", "text": text}], "isError": True}
    merged = dict(meta or {})
    if ctx is not None and ctx.units is not None:
        merged[UNITS_KEY] = ctx.units
    if merged:
        result["_meta"] = merged
    return result


def _invalid_arguments(violations: list[Violation]) -> JsonObject:
    lines = "\n".join(f"- {v.path or '/'}: {v.message}" for v in violations)
    meta = {
        REASON_KEY: "invalid_arguments",
        VIOLATIONS_KEY: [{"path": v.path, "message": v.message} for v in violations],
    }
    return _error_result(f"Invalid arguments:\n{lines}", None, meta)
