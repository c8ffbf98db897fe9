"""Type hints → JSON Schema (2020-12) and validators, compiled once per tool at decoration time.

Arguments are described and validated by one pydantic model built from the function's signature
(``additionalProperties: false``; ``Field(description=..., examples=...)`` carried through). Validation is
pydantic's strict JSON mode, so it accepts what the published schema accepts (``"5"`` is not an integer).
The return annotation gives the output schema; anything whose schema is not an object is wrapped as
``{"result": ...}`` so that ``structuredContent`` is always an object. A tool annotated to return content
(:class:`~mcp_steward.sdk.content.ToolResult`, a content block class or a union of them, or a list of those)
has no output schema: its result's ``content`` is what it returns.
"""

from __future__ import annotations

import collections.abc
import inspect
import json
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model
from pydantic.fields import FieldInfo

from mcp_steward.sdk.content import CONTENT_BLOCK_TYPES, ContentBlock, ToolResult
from mcp_steward.sdk.context import ToolContext
from mcp_steward.sdk.envelope import JsonObject

_ARGUMENTS_CONFIG = ConfigDict(extra="forbid")


@dataclass(frozen=True, slots=True)
class Violation:
    """One argument error: where (an RFC 6901 JSON Pointer into ``arguments``) and what."""

    path: str
    message: str


class InvalidArgumentsError(Exception):
    """The arguments do not match the tool's input schema."""

    def __init__(self, violations: list[Violation]) -> None:
        super().__init__(f"{len(violations)} invalid argument(s)")
        self.violations = violations


class InvalidOutputError(Exception):
    """The tool returned a value that does not match its return annotation."""


@dataclass(frozen=True, slots=True)
class ContentReturn:
    """A return annotation that is content: a :class:`ToolResult`, one block, or a list of blocks."""

    kind: Literal["result", "block", "list"]
    allowed: tuple[type, ...]  # the block classes the annotation names (ToolResult for "result")

    def result(self, value: Any) -> ToolResult:
        """The returned value as a :class:`ToolResult`.

        Raises:
            InvalidOutputError: the value is not what the annotation says.
        """
        if self.kind == "result" and isinstance(value, ToolResult):
            return value
        if self.kind == "block" and isinstance(value, self.allowed):
            return ToolResult([typing.cast(ContentBlock, value)])
        if self.kind == "list" and isinstance(value, list | tuple) and all(isinstance(b, self.allowed) for b in value):
            return ToolResult(value)
        raise InvalidOutputError(f"expected {self.kind} content, got {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class Signature:
    """A tool function's compiled signature."""

    context_param: str | None
    params: dict[str, str]  # model field name -> parameter name
    arguments_model: type[BaseModel]
    input_schema: JsonObject
    output_adapter: TypeAdapter[Any] | None
    output_schema: JsonObject | None  # None when the tool returns content
    wrap_output: bool
    content_return: ContentReturn | None = None

    def parse_arguments(self, arguments: JsonObject) -> dict[str, Any]:
        """Validate ``arguments`` and return them as keyword arguments for the tool function.

        Raises:
            InvalidArgumentsError: with one violation per error, located by JSON Pointer.
        """
        try:
            encoded = json.dumps(arguments, allow_nan=False)
        except (TypeError, ValueError, RecursionError):  # not JSON (NaN, too deep): nothing to locate
            raise InvalidArgumentsError([Violation(path="", message="arguments are not valid JSON")]) from None
        try:
            model = self.arguments_model.model_validate_json(encoded, strict=True)
        except ValidationError as exc:
            raise InvalidArgumentsError(_violations(exc)) from None
        return {param: getattr(model, field) for field, param in self.params.items()}

    def structured(self, value: Any) -> JsonObject:
        """The JSON object ``structuredContent`` for a returned value.

        Raises:
            InvalidOutputError: the value does not match the return annotation.
        """
        if self.output_adapter is None:
            raise InvalidOutputError("the tool returns content, not structured output")
        try:
            checked = self.output_adapter.validate_python(value)
        except ValidationError as exc:
            raise InvalidOutputError(f"{exc.error_count()} output error(s)") from None
        dumped = self.output_adapter.dump_python(checked, mode="json")
        if self.wrap_output:
            return {"result": dumped}
        return typing.cast(JsonObject, dumped)


def compile_signature(fn: Callable[..., Any], tool_name: str) -> Signature:
    """Build the argument model, the output adapter and both schemas for ``fn``.

    Raises:
        TypeError: a parameter is variadic or unannotated, or the return type is not annotated.
    """
    hints = typing.get_type_hints(fn, include_extras=True)
    context_param: str | None = None
    fields: dict[str, Any] = {}
    params: dict[str, str] = {}
    for index, param in enumerate(inspect.signature(fn).parameters.values()):
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise TypeError(f"tool {tool_name}: parameter {param.name!r} must be a plain named parameter")
        if param.name not in hints:
            raise TypeError(f"tool {tool_name}: parameter {param.name!r} needs a type annotation")
        annotation = hints[param.name]
        if annotation is ToolContext:
            context_param = param.name
            continue
        default = ... if param.default is inspect.Parameter.empty else param.default
        # Field names are positional and the parameter name is the alias: a parameter called ``json`` or
        # ``schema`` must not shadow BaseModel attributes.
        field_name = f"p{index}"
        fields[field_name] = (annotation, Field(default, alias=param.name))
        params[field_name] = param.name
    if "return" not in hints:
        raise TypeError(f"tool {tool_name}: annotate the return type (it becomes the outputSchema)")

    model: type[BaseModel] = create_model(f"{tool_name}_arguments", __config__=_ARGUMENTS_CONFIG, **fields)
    input_schema = _strip_titles(model.model_json_schema(mode="validation"), model)

    returned = hints["return"]
    content = content_return(returned, tool_name)
    if content is not None:
        return Signature(
            context_param=context_param,
            params=params,
            arguments_model=model,
            input_schema=input_schema,
            output_adapter=None,
            output_schema=None,
            wrap_output=False,
            content_return=content,
        )
    adapter: TypeAdapter[Any] = TypeAdapter(returned)
    output_schema = adapter.json_schema(mode="serialization")
    wrap = output_schema.get("type") != "object"
    if wrap:
        wrapper = create_model(f"{tool_name}_output", result=(returned, ...))
        output_schema = wrapper.model_json_schema(mode="serialization")
        output_schema.pop("title", None)
        output_schema["properties"]["result"].pop("title", None)
    else:
        output_schema.pop("title", None)
    return Signature(
        context_param=context_param,
        params=params,
        arguments_model=model,
        input_schema=input_schema,
        output_adapter=adapter,
        output_schema=output_schema,
        wrap_output=wrap,
    )


def content_return(annotation: Any, tool_name: str) -> ContentReturn | None:
    """How a return annotation that is content is checked, or None when it is not content (a typed return).

    Raises:
        TypeError: the annotation mentions content types in any other form (``TextContent | None``,
            ``dict[str, ImageContent]``, ``ToolResult | TextContent``).
    """
    if annotation is ToolResult:
        return ContentReturn("result", (ToolResult,))
    blocks = _block_classes(annotation)
    if blocks is not None:
        return ContentReturn("block", blocks)
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin in (list, collections.abc.Sequence) and len(arguments) == 1:
        listed = _block_classes(arguments[0])
        if listed is not None:
            return ContentReturn("list", listed)
    if _mentions_content(annotation):
        raise TypeError(
            f"tool {tool_name}: return ToolResult, a content block class (or a union of them), or a list of them"
        )
    return None


def _block_classes(annotation: Any) -> tuple[type, ...] | None:
    if annotation in CONTENT_BLOCK_TYPES:
        return (annotation,)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = typing.get_args(annotation)
        if all(member in CONTENT_BLOCK_TYPES for member in members):
            return tuple(members)
    return None


def _mentions_content(annotation: Any) -> bool:
    if annotation is ToolResult or annotation in CONTENT_BLOCK_TYPES:
        return True
    return any(_mentions_content(argument) for argument in typing.get_args(annotation))


def _strip_titles(schema: JsonObject, model: type[BaseModel]) -> JsonObject:
    """Drop the titles pydantic derives from names (noise for a model); keep ones set with ``Field(title=)``."""
    schema.pop("title", None)
    explicit = {info.alias: info.title for info in model.model_fields.values() if _has_title(info)}
    for name, prop in schema.get("properties", {}).items():
        if name not in explicit:
            prop.pop("title", None)
    return schema


def _has_title(info: FieldInfo) -> bool:
    return info.title is not None


def _violations(exc: ValidationError) -> list[Violation]:
    return [
        Violation(path=_pointer(error["loc"]), message=error["msg"])
        for error in exc.errors(include_url=False, include_input=False, include_context=False)
    ]


def _pointer(loc: tuple[int | str, ...]) -> str:
    if not loc:
        return ""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in loc)
