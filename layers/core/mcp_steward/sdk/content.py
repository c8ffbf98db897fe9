"""MCP content blocks, prompt messages, resource contents and tool results, as a tool server builds them.

Each block is a small frozen dataclass whose ``to_json()`` is exactly its MCP 2025-11-25 shape (camelCase keys,
binary data base64-encoded, ``meta`` as ``_meta``). Constructors check what a client would otherwise reject
(types, a base64 string that does not decode, a role other than ``user``/``assistant``) and refuse ``_meta``
keys in Steward's own namespace (``steward/``): only the SDK and governance write those.

Example:
    @server.tool()
    def chart(city: str) -> ToolResult:
        png = render(city)
        return ToolResult([TextContent(f"Rain in {city}"), ImageContent(png, "image/png")])
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Literal, Self, TypeAlias

from mcp_steward.contracts.result_meta import is_steward_key
from mcp_steward.sdk.envelope import JsonObject

__all__ = [
    "AudioContent",
    "ContentBlock",
    "EmbeddedResource",
    "ImageContent",
    "PromptMessage",
    "ResourceContents",
    "ResourceLink",
    "TextContent",
    "ToolResult",
]

_ROLES = frozenset({"user", "assistant"})


def json_object(value: Mapping[str, Any], what: str) -> dict[str, Any]:
    """A JSON copy of ``value`` (so a block never changes after it is built and always encodes).

    Raises:
        TypeError: not a mapping with string keys.
        ValueError: a value JSON cannot hold (a set, NaN, an object, a cycle).
    """
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        raise TypeError(f"{what} must be a mapping with string keys")
    try:
        copied: dict[str, Any] = json.loads(json.dumps(dict(value), allow_nan=False))
    except (TypeError, ValueError, RecursionError):
        raise ValueError(f"{what} must hold only JSON values") from None
    return copied


def checked_meta(meta: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``meta`` as a JSON object, refusing Steward's own ``steward/`` keys (ValueError)."""
    if meta is None:
        return None
    copied = json_object(meta, "meta")
    reserved = sorted(key for key in copied if is_steward_key(key))
    if reserved:
        raise ValueError(f"_meta keys starting 'steward/' are reserved for Steward: {reserved}")
    return copied


def checked_annotations(annotations: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """MCP ``Annotations``: ``audience`` (roles), ``priority`` (0 to 1), ``lastModified`` (ISO 8601 text)."""
    if annotations is None:
        return None
    annotations = json_object(annotations, "annotations")
    audience = annotations.get("audience")
    if audience is not None and (not isinstance(audience, list) or not all(role in _ROLES for role in audience)):
        raise ValueError("annotations.audience must be a list of 'user' and 'assistant'")
    priority = annotations.get("priority")
    if priority is not None and (
        isinstance(priority, bool) or not isinstance(priority, int | float) or not 0 <= priority <= 1
    ):
        raise ValueError("annotations.priority must be a number from 0 to 1")
    modified = annotations.get("lastModified")
    if modified is not None and not isinstance(modified, str):
        raise ValueError("annotations.lastModified must be an ISO 8601 string")
    return annotations


def _text(value: object, what: str, *, optional: bool = False, empty: bool = True) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or (not empty and not value):
        raise TypeError(f"{what} must be a {'non-empty ' if not empty else ''}string")


def _binary(value: object, what: str) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"{what} must be bytes (the SDK base64-encodes it)")
    return bytes(value)


def _from_base64(data: str) -> bytes:
    if not isinstance(data, str):
        raise TypeError("data must be a base64 string")
    try:
        return binascii.a2b_base64(data.encode("ascii"), strict_mode=True)
    except (UnicodeEncodeError, binascii.Error):
        raise ValueError("data is not valid base64") from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _finish(block: JsonObject, annotations: dict[str, Any] | None, meta: dict[str, Any] | None) -> JsonObject:
    if annotations is not None:
        block["annotations"] = copy.deepcopy(annotations)
    if meta is not None:
        block["_meta"] = copy.deepcopy(meta)
    return block


@dataclass(frozen=True, slots=True)
class TextContent:
    """``{"type": "text", "text"}``."""

    text: str
    annotations: Mapping[str, Any] | None = None
    meta: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        _text(self.text, "text")
        object.__setattr__(self, "annotations", checked_annotations(self.annotations))
        object.__setattr__(self, "meta", checked_meta(self.meta))

    def to_json(self) -> JsonObject:
        return _finish({"type": "text", "text": self.text}, _plain(self.annotations), _plain(self.meta))


@dataclass(frozen=True, slots=True)
class _MediaContent:
    """An image or audio block: ``{"type", "data": <base64>, "mimeType"}``, ``data`` held as the raw bytes."""

    data: bytes
    mime_type: str
    annotations: Mapping[str, Any] | None = None
    meta: Mapping[str, Any] | None = None
    _TYPE: ClassVar[str]

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", _binary(self.data, "data"))
        _text(self.mime_type, "mime_type", empty=False)
        object.__setattr__(self, "annotations", checked_annotations(self.annotations))
        object.__setattr__(self, "meta", checked_meta(self.meta))

    @classmethod
    def from_base64(
        cls,
        data: str,
        mime_type: str,
        *,
        annotations: Mapping[str, Any] | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Self:
        """A block from data already base64-encoded (strictly checked: ValueError when it does not decode)."""
        return cls(_from_base64(data), mime_type, annotations, meta)

    def to_json(self) -> JsonObject:
        block: JsonObject = {"type": self._TYPE, "data": _b64(self.data), "mimeType": self.mime_type}
        return _finish(block, _plain(self.annotations), _plain(self.meta))


@dataclass(frozen=True, slots=True)
class ImageContent(_MediaContent):
    """``{"type": "image", "data": <base64>, "mimeType"}``; ``data`` is the raw bytes (see :meth:`from_base64`)."""

    _TYPE: ClassVar[str] = "image"


@dataclass(frozen=True, slots=True)
class AudioContent(_MediaContent):
    """``{"type": "audio", "data": <base64>, "mimeType"}``; ``data`` is the raw bytes (see :meth:`from_base64`)."""

    _TYPE: ClassVar[str] = "audio"


@dataclass(frozen=True, slots=True)
class ResourceLink:
    """``{"type": "resource_link", "uri", "name", "title"?, "description"?, "mimeType"?, "size"?}``.

    A link the client may read with ``resources/read``; it need not be one of the server's listed resources.
    """

    uri: str
    name: str
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None
    size: int | None = None
    annotations: Mapping[str, Any] | None = None
    meta: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        _text(self.uri, "uri", empty=False)
        _text(self.name, "name", empty=False)
        _text(self.title, "title", optional=True)
        _text(self.description, "description", optional=True)
        _text(self.mime_type, "mime_type", optional=True)
        if self.size is not None and (isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0):
            raise TypeError("size must be an integer >= 0 (bytes)")
        object.__setattr__(self, "annotations", checked_annotations(self.annotations))
        object.__setattr__(self, "meta", checked_meta(self.meta))

    def to_json(self) -> JsonObject:
        block: JsonObject = {"type": "resource_link", "uri": self.uri, "name": self.name}
        for key, value in (
            ("title", self.title),
            ("description", self.description),
            ("mimeType", self.mime_type),
            ("size", self.size),
        ):
            if value is not None:
                block[key] = value
        return _finish(block, _plain(self.annotations), _plain(self.meta))


@dataclass(frozen=True, slots=True)
class ResourceContents:
    """What ``resources/read`` returns for one URI: ``{"uri", "mimeType"?, "text"}`` or ``{..., "blob"}``.

    Exactly one of ``text`` (a string) and ``blob`` (raw bytes, base64-encoded on the wire) is given.
    """

    uri: str
    text: str | None = None
    blob: bytes | None = None
    mime_type: str | None = None
    meta: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        _text(self.uri, "uri", empty=False)
        if (self.text is None) == (self.blob is None):
            raise TypeError("give exactly one of text and blob")
        if self.text is not None:
            _text(self.text, "text")
        else:
            object.__setattr__(self, "blob", _binary(self.blob, "blob"))
        _text(self.mime_type, "mime_type", optional=True)
        object.__setattr__(self, "meta", checked_meta(self.meta))

    def to_json(self) -> JsonObject:
        contents: JsonObject = {"uri": self.uri}
        if self.mime_type is not None:
            contents["mimeType"] = self.mime_type
        if self.text is not None:
            contents["text"] = self.text
        else:
            contents["blob"] = _b64(self.blob or b"")
        return _finish(contents, None, _plain(self.meta))


@dataclass(frozen=True, slots=True)
class EmbeddedResource:
    """``{"type": "resource", "resource": {"uri", "mimeType"?, "text" | "blob"}}``: a resource's contents inline.

    Exactly one of ``text`` and ``blob`` (raw bytes) is given; ``annotations`` and ``meta`` go on the block.
    """

    uri: str
    text: str | None = None
    blob: bytes | None = None
    mime_type: str | None = None
    annotations: Mapping[str, Any] | None = None
    meta: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        contents = ResourceContents(self.uri, self.text, self.blob, self.mime_type)  # checks uri, text | blob
        object.__setattr__(self, "blob", contents.blob)
        object.__setattr__(self, "annotations", checked_annotations(self.annotations))
        object.__setattr__(self, "meta", checked_meta(self.meta))

    def to_json(self) -> JsonObject:
        resource = ResourceContents(self.uri, self.text, self.blob, self.mime_type).to_json()
        return _finish({"type": "resource", "resource": resource}, _plain(self.annotations), _plain(self.meta))


#: Any MCP content block: what a tool result's ``content`` and a prompt message's ``content`` hold.
ContentBlock: TypeAlias = TextContent | ImageContent | AudioContent | ResourceLink | EmbeddedResource  # noqa: UP040
CONTENT_BLOCK_TYPES: Final[
    tuple[type[TextContent], type[ImageContent], type[AudioContent], type[ResourceLink], type[EmbeddedResource]]
] = (TextContent, ImageContent, AudioContent, ResourceLink, EmbeddedResource)


@dataclass(frozen=True, slots=True)
class PromptMessage:
    """``{"role": "user" | "assistant", "content": <one content block>}``, one message of ``prompts/get``."""

    role: Literal["user", "assistant"]
    content: ContentBlock

    def __post_init__(self) -> None:
        if self.role not in _ROLES:
            raise ValueError("role must be 'user' or 'assistant'")
        if not isinstance(self.content, CONTENT_BLOCK_TYPES):
            raise TypeError("content must be a content block (TextContent, ImageContent, ...)")

    def to_json(self) -> JsonObject:
        return {"role": self.role, "content": self.content.to_json()}


@dataclass(frozen=True, slots=True)
class ToolResult:
    """A tool's whole result: content blocks, optionally ``structuredContent``, ``isError`` and ``_meta``.

    A tool annotated to return it has no ``outputSchema``; ``structured`` (a JSON object) becomes
    ``structuredContent`` as given. ``is_error=True`` reports a failure the model may read, like
    :class:`~mcp_steward.sdk.ToolError` but with any content. Metered units still come from
    ``ctx.report_units``: ``meta`` may not hold ``steward/`` keys.
    """

    content: Sequence[ContentBlock]
    structured: Mapping[str, Any] | None = None
    is_error: bool = False
    meta: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.content, str | bytes) or not isinstance(self.content, Sequence):
            raise TypeError("content must be a list of content blocks")
        if not all(isinstance(block, CONTENT_BLOCK_TYPES) for block in self.content):
            raise TypeError("content must hold only content blocks (TextContent, ImageContent, ...)")
        object.__setattr__(self, "content", tuple(self.content))
        if self.structured is not None:
            object.__setattr__(self, "structured", json_object(self.structured, "structured"))
        if not isinstance(self.is_error, bool):
            raise TypeError("is_error must be a bool")
        object.__setattr__(self, "meta", checked_meta(self.meta))

    def to_json(self) -> JsonObject:
        result: JsonObject = {"content": [block.to_json() for block in self.content]}
        if self.structured is not None:
            result["structuredContent"] = copy.deepcopy(dict(self.structured))
        result["isError"] = self.is_error
        if self.meta is not None:
            result["_meta"] = copy.deepcopy(dict(self.meta))
        return result


def _plain(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if value is None else dict(value)
