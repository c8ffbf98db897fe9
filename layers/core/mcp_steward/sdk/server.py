"""``ToolServer``: register typed tool functions and answer the invocation envelope (docs/design.md section 5).

The internal dialect is MCP 2025-11-25 without ``initialize`` or pagination: ``server/discover``,
``tools/list``, ``tools/call``, ``resources/list``, ``resources/templates/list``, ``resources/read``,
``prompts/list``, ``prompts/get`` and ``completion/complete``. The handler never raises for bad input; it
always answers JSON-RPC:

- envelope not an object, ``steward``/``message`` missing or invalid, ``v`` not 1 → ``-32600``
  (``id`` echoed when the message has a readable one, else null);
- any other method, or a method of a capability the server does not have (``resources/*`` without
  resources or templates, ``prompts/*`` without prompts, ``completion/complete`` without completers) →
  ``-32601``; unknown tool, resource, prompt or completion ref, or malformed params →
  ``-32602`` (an unknown resource with ``data: {"uri"}``);
- for ``tools/call``: invalid arguments, :class:`ToolError`, any other exception, or output that does not
  match the return annotation → a result with ``isError: true`` (other exceptions are logged with the
  request id and answered with their type only, never their text);
- for ``resources/read``, ``prompts/get`` and ``completion/complete``: an exception in the server's function,
  or a value of the wrong type → ``-32603 Internal error`` (logged with the exception's type only).

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
from mcp_steward.sdk import features
from mcp_steward.sdk.content import ToolResult
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
        self._resources: dict[str, features.Resource] = {}
        self._templates: dict[str, features.ResourceTemplate] = {}
        self._prompts: dict[str, features.Prompt] = {}
        self._completers: dict[features.CompleterKey, features.Completer] = {}
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
            if signature.output_schema is not None:
                definition["outputSchema"] = signature.output_schema
            if annotations:
                definition["annotations"] = dict(annotations)
            self._tools[tool_name] = _Tool(tool_name, fn, signature, definition, inspect.iscoroutinefunction(fn))
            return fn

        return register

    def resource[F: Callable[..., Any]](
        self,
        uri: str,
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
        size: int | None = None,
        annotations: Mapping[str, Any] | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Callable[[F], F]:
        """Register ``fn(ctx?)`` as the resource at ``uri``; ``resources/read`` of that URI calls it.

        The function returns ``str`` (text contents), ``bytes`` (a blob) or a list of :class:`ResourceContents`;
        a ``str`` or ``bytes`` answer carries ``mime_type``. It may take a :class:`ToolContext` (its
        ``tool_name`` is the URI) and report units.

        Args:
            uri: An absolute URI (``scheme:...``), at most 2048 characters, without ``{``/``}``.
            name: The resource's name (default: the function's name).
            title, description, mime_type, size, annotations, meta: As ``resources/list`` shows them
                (description defaults to the docstring; meta may not hold ``steward/`` keys).

        Raises:
            ValueError: invalid URI, name, mime type, annotations or meta, or the URI is already registered.
            TypeError: the function takes a parameter other than a ToolContext.
        """

        def register(fn: F) -> F:
            resource = features.build_resource(
                fn,
                uri,
                name=name,
                title=title,
                description=description,
                mime_type=mime_type,
                size=size,
                annotations=annotations,
                meta=meta,
            )
            if uri in self._resources:
                raise ValueError(f"resource {uri!r} is already registered on {self.name}")
            self._resources[uri] = resource
            return fn

        return register

    def resource_template[F: Callable[..., Any]](
        self,
        uri_template: str,
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
        annotations: Mapping[str, Any] | None = None,
    ) -> Callable[[F], F]:
        """Register ``fn(ctx?, **variables: str)`` for every URI matching ``uri_template``.

        RFC 6570 level 1 only: ``{var}`` matches one or more characters other than ``/`` and is passed as it
        appears in the URI (not percent-decoded). The template's variables must be exactly the function's
        parameters other than the context, each annotated ``str``. Raise :class:`ResourceNotFoundError` when
        the values name nothing. A URI registered with :meth:`resource` wins over a template; templates are
        tried in the order they were registered.

        Raises:
            ValueError: not a level 1 template (see :meth:`UriTemplate.parse`), invalid name, mime type or
                annotations, or the template is already registered.
            TypeError: the function's parameters are not the template's variables.
        """

        def register(fn: F) -> F:
            template = features.build_template(
                fn,
                uri_template,
                name=name,
                title=title,
                description=description,
                mime_type=mime_type,
                annotations=annotations,
            )
            if uri_template in self._templates:
                raise ValueError(f"resource template {uri_template!r} is already registered on {self.name}")
            self._templates[uri_template] = template
            return fn

        return register

    def prompt[F: Callable[..., Any]](
        self, name: str | None = None, *, title: str | None = None, description: str | None = None
    ) -> Callable[[F], F]:
        """Register ``fn(ctx?, arg: str, opt: str = "x")`` as a prompt; ``prompts/get`` calls it.

        Each parameter but the context is an argument: annotated ``str`` or ``Annotated[str, "description"]``;
        required when it has no default. The function returns ``str`` (one user text message), a
        :class:`PromptMessage`, or a list of :class:`PromptMessage` and content blocks (a block is a user
        message).

        Raises:
            ValueError: the name is not 1-128 of ``[A-Za-z0-9_.-]`` or is already registered.
            TypeError: a parameter is not a named ``str`` parameter, or a default is not a ``str``.
        """

        def register(fn: F) -> F:
            prompt = features.build_prompt(fn, name, title=title, description=description)
            if prompt.name in self._prompts:
                raise ValueError(f"prompt {prompt.name!r} is already registered on {self.name}")
            self._prompts[prompt.name] = prompt
            return fn

        return register

    def completion[F: Callable[..., Any]](
        self, *, prompt: str | None = None, resource_template: str | None = None, argument: str
    ) -> Callable[[F], F]:
        """Register ``fn(value, context)`` completing one argument of a prompt or variable of a template.

        ``value`` is what the user typed so far; ``context`` maps the arguments already given (read-only). The
        function returns an iterable of ``str``: the SDK sends the first 100 with ``hasMore`` (and ``total``
        when it is known: the length of a list, or the count of a generator that ended). Register the prompt
        or template first.

        Raises:
            ValueError: not exactly one of ``prompt`` and ``resource_template``, it is not registered, it has no
                such argument, or a completer for it is already registered.
            TypeError: the function does not take two named parameters (and optionally a ToolContext).
        """
        if (prompt is None) == (resource_template is None):
            raise ValueError("give exactly one of prompt= and resource_template=")
        if prompt is not None:
            known = self._prompts.get(prompt)
            if known is None:
                raise ValueError(f"completion: register prompt {prompt!r} before its completers")
            arguments = {item.name for item in known.arguments}
            key = features.CompleterKey("ref/prompt", prompt, argument)
        else:
            template = self._templates.get(str(resource_template))
            if template is None:
                raise ValueError(f"completion: register resource template {resource_template!r} before its completers")
            arguments = set(template.template.variables)
            key = features.CompleterKey("ref/resource", str(resource_template), argument)
        if argument not in arguments:
            raise ValueError(f"completion: {key.ref} has no argument {argument!r} (it has {sorted(arguments)})")

        def register(fn: F) -> F:
            completer = features.build_completer(fn, f"completion of {key.ref} {argument}")
            if key in self._completers:
                raise ValueError(f"completion of {key.ref} {argument} is already registered on {self.name}")
            self._completers[key] = completer
            return fn

        return register

    def list_tools(self) -> list[JsonObject]:
        """The tool definitions, as ``tools/list`` answers them (a copy: callers may mutate it)."""
        return [copy.deepcopy(tool.definition) for tool in self._tools.values()]

    def capabilities(self) -> JsonObject:
        """What ``server/discover`` declares: each kind of thing this server has."""
        capabilities: JsonObject = {}
        if self._tools:
            capabilities["tools"] = {}
        if self._resources or self._templates:
            capabilities["resources"] = {}
        if self._prompts:
            capabilities["prompts"] = {}
        if self._completers:
            capabilities["completions"] = {}
        return capabilities

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
        needs = _CAPABILITY.get(method)
        if method != "server/discover" and (needs is None or needs not in self.capabilities()):
            return error_message(request_id, METHOD_NOT_FOUND, f"Method not found: {method}")
        answer = self._lists.get(method)
        if answer is not None:
            return result_message(request_id, answer(self))

        def make_context(name: str) -> ToolContext:
            return ToolContext(steward, name, lambda_context=context, nested=self._nested)

        try:
            if method == "resources/read":
                result = features.read_resource(self._resources, self._templates.values(), params, make_context)
            elif method == "prompts/get":
                result = features.get_prompt(self._prompts, params, make_context)
            else:
                result = features.complete(
                    self._prompts, self._resources, self._templates, self._completers, params, make_context
                )
        except features.RpcError as exc:
            return error_message(request_id, exc.code, exc.message, exc.data)
        return result_message(request_id, result)

    def _discover(self) -> JsonObject:
        return {"capabilities": self.capabilities(), "serverInfo": {"name": self.name, "version": self.version}}

    def _list_resources(self) -> JsonObject:
        return {"resources": [copy.deepcopy(item.definition) for item in self._resources.values()]}

    def _list_templates(self) -> JsonObject:
        return {"resourceTemplates": [copy.deepcopy(item.definition) for item in self._templates.values()]}

    def _list_prompts(self) -> JsonObject:
        return {"prompts": [copy.deepcopy(item.definition) for item in self._prompts.values()]}

    _lists: Final[Mapping[str, Callable[[ToolServer], JsonObject]]] = {
        "server/discover": _discover,
        "resources/list": _list_resources,
        "resources/templates/list": _list_templates,
        "prompts/list": _list_prompts,
    }

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
            if tool.signature.content_return is not None:
                return _content_result(tool.signature.content_return.result(value), ctx)
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


#: The capability a method needs: a server without it answers the method -32601, as a server built before it did.
_CAPABILITY: Final = {
    "server/discover": "",
    "resources/list": "resources",
    "resources/templates/list": "resources",
    "resources/read": "resources",
    "prompts/list": "prompts",
    "prompts/get": "prompts",
    "completion/complete": "completions",
}


def _content_result(returned: ToolResult, ctx: ToolContext) -> JsonObject:
    result = returned.to_json()
    if ctx.units is not None:
        result.setdefault("_meta", {})[UNITS_KEY] = ctx.units
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
