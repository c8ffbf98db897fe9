"""Resources, resource templates, prompts and completers: how their decorations are checked and their requests
answered (``resources/read``, ``prompts/get``, ``completion/complete`` of the internal dialect).

:class:`~mcp_steward.sdk.server.ToolServer` owns the registries and the dispatch; this module builds the
records at decoration time (every check that can be made then is made then: TypeError or ValueError) and turns
one request into a result or a :class:`RpcError`. Code a server author wrote never makes an answer fail
unhandled: its exception becomes ``-32603 Internal error``, logged with the exception's type only.
"""

from __future__ import annotations

import inspect
import itertools
import logging
import re
import typing
from collections.abc import Callable, Iterable, Mapping, Sized
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from mcp_steward.sdk.content import (
    CONTENT_BLOCK_TYPES,
    PromptMessage,
    ResourceContents,
    checked_annotations,
    checked_meta,
)
from mcp_steward.sdk.context import ToolContext
from mcp_steward.sdk.envelope import JsonObject
from mcp_steward.sdk.jsonrpc import INTERNAL_ERROR, INVALID_PARAMS
from mcp_steward.sdk.uri_template import MAX_URI_CHARS, UriTemplate, UriTemplateError

logger = logging.getLogger("mcp_steward.sdk")

#: The most completion values one answer carries (MCP's own limit).
MAX_COMPLETION_VALUES: Final = 100
#: The longest prompt argument or completion value accepted (characters).
MAX_ARGUMENT_CHARS: Final = 65_536
#: The most entries of a completion request's ``context.arguments``.
MAX_CONTEXT_ARGUMENTS: Final = 64
_PROMPT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s{}]*")
_MAX_NAME_CHARS: Final = 256

type MakeContext = Callable[[str], ToolContext]


class RpcError(Exception):
    """A request answered with a JSON-RPC error (the server turns it into the error message)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


class ResourceNotFoundError(Exception):
    """Raise it from a resource template's function when the URI names nothing (say, an unknown id).

    It is answered as an unknown URI is: JSON-RPC ``-32602`` with ``data: {"uri": uri}``.
    """


@dataclass(frozen=True, slots=True)
class _Function:
    """A user function, how to call it and under which name the log and ``ToolContext.tool_name`` know it."""

    fn: Callable[..., Any]
    context_param: str | None
    is_async: bool

    def call(self, ctx: ToolContext, /, **kwargs: Any) -> Any:
        if self.context_param is not None:
            kwargs[self.context_param] = ctx
        value = self.fn(**kwargs)
        if self.is_async:
            import asyncio  # only servers with async functions pay for it (cold start)

            value = asyncio.run(value)
        return value


@dataclass(frozen=True, slots=True)
class Resource:
    uri: str
    function: _Function
    mime_type: str | None
    definition: JsonObject


@dataclass(frozen=True, slots=True)
class ResourceTemplate:
    template: UriTemplate
    function: _Function
    mime_type: str | None
    definition: JsonObject


@dataclass(frozen=True, slots=True)
class PromptArgument:
    name: str
    required: bool


@dataclass(frozen=True, slots=True)
class Prompt:
    name: str
    function: _Function
    arguments: tuple[PromptArgument, ...]
    definition: JsonObject


@dataclass(frozen=True, slots=True)
class Completer:
    function: _Function
    value_param: str
    context_param: str


@dataclass(frozen=True, slots=True)
class CompleterKey:
    kind: str  # "ref/prompt" or "ref/resource"
    ref: str  # the prompt's name or the template's text
    argument: str


# -- decoration ------------------------------------------------------------------------------------------------


def _function(fn: Callable[..., Any], what: str) -> tuple[_Function, list[inspect.Parameter], dict[str, Any]]:
    """The function record and its parameters other than the context (detected by its ToolContext annotation)."""
    if not callable(fn):
        raise TypeError(f"{what}: not a function")
    hints = typing.get_type_hints(fn, include_extras=True)
    context_param: str | None = None
    others: list[inspect.Parameter] = []
    for param in inspect.signature(fn).parameters.values():
        if hints.get(param.name) is ToolContext:
            if param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
                raise TypeError(f"{what}: the ToolContext parameter {param.name!r} must be a named parameter")
            context_param = param.name
        else:
            others.append(param)
    return _Function(fn, context_param, inspect.iscoroutinefunction(fn)), others, hints


def _optional_text(value: object, what: str) -> None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{what} must be a string")


def _display_name(value: object, what: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= _MAX_NAME_CHARS or not value.isprintable():
        raise ValueError(f"{what}: a name is 1-{_MAX_NAME_CHARS} printable characters, not {value!r}")
    return value


def _mime_type(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= 255 or not value.isprintable():
        raise ValueError("mime_type must be 1-255 printable characters, such as 'text/markdown'")
    return value


def _definition(
    first: tuple[str, str],
    name: str,
    title: str | None,
    description: str | None,
    mime_type: str | None,
    annotations: Mapping[str, Any] | None,
) -> JsonObject:
    _optional_text(title, "title")
    _optional_text(description, "description")
    definition: JsonObject = {first[0]: first[1], "name": name}
    if title is not None:
        definition["title"] = title
    if description:
        definition["description"] = description
    if mime_type is not None:
        definition["mimeType"] = mime_type
    checked = checked_annotations(annotations)
    if checked is not None:
        definition["annotations"] = checked
    return definition


def build_resource(
    fn: Callable[..., Any],
    uri: str,
    *,
    name: str | None,
    title: str | None,
    description: str | None,
    mime_type: str | None,
    size: int | None,
    annotations: Mapping[str, Any] | None,
    meta: Mapping[str, Any] | None,
) -> Resource:
    if not isinstance(uri, str) or len(uri) > MAX_URI_CHARS or not _URI.fullmatch(uri):
        raise ValueError(
            f"resource URI {uri!r}: an absolute URI (scheme:...) of at most {MAX_URI_CHARS} characters, "
            "no spaces or braces (a URI with {variables} is a resource_template)"
        )
    what = f"resource {uri}"
    function, others, _ = _function(fn, what)
    if others:
        raise TypeError(f"{what}: the function takes no parameters but a ToolContext (got {others[0].name!r})")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise TypeError(f"{what}: size must be an integer >= 0 (bytes)")
    mime = _mime_type(mime_type)
    text = description if description is not None else inspect.getdoc(fn)
    display = _display_name(fn.__name__ if name is None else name, what)
    definition = _definition(("uri", uri), display, title, text, mime, annotations)
    if size is not None:
        definition["size"] = size
    checked = checked_meta(meta)
    if checked is not None:
        definition["_meta"] = checked
    return Resource(uri, function, mime, definition)


def build_template(
    fn: Callable[..., Any],
    uri_template: str,
    *,
    name: str | None,
    title: str | None,
    description: str | None,
    mime_type: str | None,
    annotations: Mapping[str, Any] | None,
) -> ResourceTemplate:
    try:
        template = UriTemplate.parse(uri_template)
    except UriTemplateError as exc:
        raise ValueError(str(exc)) from None
    what = f"resource template {uri_template}"
    function, others, hints = _function(fn, what)
    for param in others:
        if param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY) or hints.get(param.name) is not str:
            raise TypeError(f"{what}: parameter {param.name!r} must be a named parameter annotated str")
    declared = {param.name for param in others}
    if declared != set(template.variables):
        raise TypeError(
            f"{what}: the function's str parameters {sorted(declared)} must be the template's variables "
            f"{sorted(template.variables)}"
        )
    mime = _mime_type(mime_type)
    text = description if description is not None else inspect.getdoc(fn)
    display = _display_name(fn.__name__ if name is None else name, what)
    definition = _definition(("uriTemplate", uri_template), display, title, text, mime, annotations)
    return ResourceTemplate(template, function, mime, definition)


def build_prompt(fn: Callable[..., Any], name: str | None, *, title: str | None, description: str | None) -> Prompt:
    """A prompt; each parameter but the context is an argument: ``str``, or ``Annotated[str, "description"]``."""
    prompt_name = getattr(fn, "__name__", "") if name is None else name
    if not isinstance(prompt_name, str) or not _PROMPT_NAME.fullmatch(prompt_name):
        raise ValueError(f"invalid prompt name {prompt_name!r}: 1-128 of [A-Za-z0-9_.-]")
    what = f"prompt {prompt_name}"
    function, others, hints = _function(fn, what)
    arguments: list[PromptArgument] = []
    listed: list[JsonObject] = []
    for param in others:
        if param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            raise TypeError(f"{what}: parameter {param.name!r} must be a named parameter")
        argument_description = _argument_description(hints.get(param.name), f"{what}: parameter {param.name!r}")
        required = param.default is inspect.Parameter.empty
        if not required and not isinstance(param.default, str):
            raise TypeError(f"{what}: the default of {param.name!r} must be a str")
        arguments.append(PromptArgument(param.name, required))
        entry: JsonObject = {"name": param.name}
        if argument_description:
            entry["description"] = argument_description
        entry["required"] = required
        listed.append(entry)
    _optional_text(title, "title")
    text = description if description is not None else inspect.getdoc(fn)
    _optional_text(text, "description")
    definition: JsonObject = {"name": prompt_name}
    if title is not None:
        definition["title"] = title
    if text:
        definition["description"] = text
    definition["arguments"] = listed
    return Prompt(prompt_name, function, tuple(arguments), definition)


def _argument_description(annotation: Any, what: str) -> str | None:
    if annotation is str:
        return None
    if typing.get_origin(annotation) is typing.Annotated:
        base, *metadata = typing.get_args(annotation)
        if base is str:
            return next((item for item in metadata if isinstance(item, str)), None)
    raise TypeError(f'{what} must be annotated str (or Annotated[str, "its description"])')


def build_completer(fn: Callable[..., Any], what: str) -> Completer:
    """A completer: ``fn(value, context)`` (and an optional ToolContext parameter) returning strings."""
    function, others, _ = _function(fn, what)
    named = [p.name for p in others if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if len(others) != 2 or len(named) != 2:
        raise TypeError(f"{what}: the completer takes two named parameters (value: str, context: Mapping[str, str])")
    return Completer(function, named[0], named[1])


# -- answering -------------------------------------------------------------------------------------------------


def _named(value: object) -> str:
    """How an unknown name appears in an error message (bounded: the request is attacker text)."""
    return value if isinstance(value, str) and len(value) <= 128 and value.isprintable() else "(invalid)"


def _failed(kind: str, name: str, exc: BaseException, ctx: ToolContext) -> RpcError:
    logger.error("%s %s failed: %s (request_id=%s)", kind, name, type(exc).__name__, ctx.request_id)
    return RpcError(INTERNAL_ERROR, "Internal error")


def _with_units(result: JsonObject, ctx: ToolContext) -> JsonObject:
    if ctx.units is not None:
        from mcp_steward.contracts.result_meta import UNITS

        result["_meta"] = {UNITS: ctx.units}
    return result


def read_resource(
    resources: Mapping[str, Resource],
    templates: Iterable[ResourceTemplate],
    params: JsonObject,
    make_context: MakeContext,
) -> JsonObject:
    uri = params.get("uri")
    if not isinstance(uri, str) or not uri or len(uri) > MAX_URI_CHARS:
        raise RpcError(INVALID_PARAMS, f"Invalid params: uri must be a string of 1-{MAX_URI_CHARS} characters")
    unknown = RpcError(INVALID_PARAMS, "Unknown resource", {"uri": uri})
    variables: dict[str, str] = {}
    found: Resource | ResourceTemplate | None = resources.get(uri)
    if found is None:
        for template in templates:
            matched = template.template.match(uri)
            if matched is not None:
                found, variables = template, matched
                break
    if found is None:
        raise unknown
    label = found.uri if isinstance(found, Resource) else found.template.text
    ctx = make_context(uri)
    try:
        value = found.function.call(ctx, **variables)
        contents = _contents(uri, found.mime_type, value)
    except ResourceNotFoundError:
        raise unknown from None
    except Exception as exc:
        raise _failed("resource", label, exc, ctx) from None
    return _with_units({"contents": contents}, ctx)


def _contents(uri: str, mime_type: str | None, value: Any) -> list[JsonObject]:
    if isinstance(value, str):
        return [ResourceContents(uri, text=value, mime_type=mime_type).to_json()]
    if isinstance(value, bytes | bytearray | memoryview):
        return [ResourceContents(uri, blob=bytes(value), mime_type=mime_type).to_json()]
    if isinstance(value, list | tuple) and all(isinstance(item, ResourceContents) for item in value):
        return [item.to_json() for item in value]
    raise TypeError(f"a resource returns str, bytes or a list of ResourceContents, not {type(value).__name__}")


def get_prompt(prompts: Mapping[str, Prompt], params: JsonObject, make_context: MakeContext) -> JsonObject:
    name = params.get("name")
    prompt = prompts.get(name) if isinstance(name, str) else None
    if prompt is None:
        raise RpcError(INVALID_PARAMS, f"Unknown prompt: {_named(name)}")
    given = params.get("arguments")
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise RpcError(INVALID_PARAMS, "Invalid params: arguments must be an object")
    declared = {argument.name for argument in prompt.arguments}
    for key, value in given.items():
        if key not in declared:
            raise RpcError(INVALID_PARAMS, f"Invalid params: prompt {prompt.name} has no argument {_named(key)}")
        if not isinstance(value, str):
            raise RpcError(INVALID_PARAMS, f"Invalid params: argument {key} must be a string")
        if len(value) > MAX_ARGUMENT_CHARS:
            raise RpcError(INVALID_PARAMS, f"Invalid params: argument {key} is longer than {MAX_ARGUMENT_CHARS}")
    missing = [argument.name for argument in prompt.arguments if argument.required and argument.name not in given]
    if missing:
        raise RpcError(INVALID_PARAMS, f"Invalid params: missing required argument(s): {', '.join(missing)}")
    ctx = make_context(prompt.name)
    try:
        messages = _messages(prompt.function.call(ctx, **given))
    except Exception as exc:
        raise _failed("prompt", prompt.name, exc, ctx) from None
    result: JsonObject = {}
    if "description" in prompt.definition:
        result["description"] = prompt.definition["description"]
    result["messages"] = messages
    return _with_units(result, ctx)


def _messages(value: Any) -> list[JsonObject]:
    if isinstance(value, str):
        return [{"role": "user", "content": {"type": "text", "text": value}}]
    if isinstance(value, PromptMessage):
        return [value.to_json()]
    if isinstance(value, list | tuple):
        messages: list[JsonObject] = []
        for item in value:
            if isinstance(item, PromptMessage):
                messages.append(item.to_json())
            elif isinstance(item, CONTENT_BLOCK_TYPES):
                messages.append({"role": "user", "content": item.to_json()})
            else:
                raise TypeError(f"a prompt message is a PromptMessage or a content block, not {type(item).__name__}")
        return messages
    raise TypeError(f"a prompt returns str, a PromptMessage or a list of them, not {type(value).__name__}")


def complete(
    prompts: Mapping[str, Prompt],
    resources: Mapping[str, Resource],
    templates: Mapping[str, ResourceTemplate],
    completers: Mapping[CompleterKey, Completer],
    params: JsonObject,
    make_context: MakeContext,
) -> JsonObject:
    ref = params.get("ref")
    kind = ref.get("type") if isinstance(ref, dict) else None
    if kind == "ref/prompt":
        key = ref.get("name") if isinstance(ref, dict) else None
        if not isinstance(key, str) or key not in prompts:
            raise RpcError(INVALID_PARAMS, f"Unknown prompt: {_named(key)}")
    elif kind == "ref/resource":
        key = ref.get("uri") if isinstance(ref, dict) else None
        if not isinstance(key, str) or (key not in templates and key not in resources):
            raise RpcError(INVALID_PARAMS, "Unknown resource template")
    else:
        raise RpcError(INVALID_PARAMS, "Invalid params: ref is {type: ref/prompt, name} or {type: ref/resource, uri}")
    argument = params.get("argument")
    name = argument.get("name") if isinstance(argument, dict) else None
    value = argument.get("value") if isinstance(argument, dict) else None
    if not isinstance(name, str) or not isinstance(value, str) or len(value) > MAX_ARGUMENT_CHARS:
        raise RpcError(INVALID_PARAMS, "Invalid params: argument must be {name: string, value: string}")
    context = _completion_context(params.get("context"))
    completer = completers.get(CompleterKey(kind, key, name))
    if completer is None:
        return {"completion": {"values": []}}
    ctx = make_context(key)
    try:
        arguments = {completer.value_param: value, completer.context_param: MappingProxyType(context)}
        return {"completion": _completion(completer.function.call(ctx, **arguments))}
    except Exception as exc:
        raise _failed("completer of", f"{key} {name}", exc, ctx) from None


def _completion_context(context: object) -> dict[str, str]:
    if context is None:
        return {}
    arguments = context.get("arguments") if isinstance(context, dict) else None
    if arguments is None and isinstance(context, dict):
        return {}
    if (
        not isinstance(arguments, dict)
        or len(arguments) > MAX_CONTEXT_ARGUMENTS
        or not all(isinstance(v, str) and len(v) <= MAX_ARGUMENT_CHARS for v in arguments.values())
    ):
        raise RpcError(
            INVALID_PARAMS,
            f"Invalid params: context.arguments must be an object of at most {MAX_CONTEXT_ARGUMENTS} strings",
        )
    return dict(arguments)


def _completion(returned: Any) -> JsonObject:
    """The first 100 values, ``total`` (the length of a sized result, else the count when all were read) and
    ``hasMore``; an unsized iterable (a generator) is read no further than the 101st value."""
    if isinstance(returned, str | bytes) or not isinstance(returned, Iterable):
        raise TypeError(f"a completer returns an iterable of str, not {type(returned).__name__}")
    head = list(itertools.islice(returned, MAX_COMPLETION_VALUES + 1))
    if not all(isinstance(value, str) for value in head):
        raise TypeError("a completer returns str values")
    values = head[:MAX_COMPLETION_VALUES]
    total = len(returned) if isinstance(returned, Sized) else None
    more = len(head) > MAX_COMPLETION_VALUES
    if total is None and not more:
        total = len(values)
    completion: JsonObject = {"values": values}
    if total is not None:
        completion["total"] = total
    completion["hasMore"] = more
    return completion
