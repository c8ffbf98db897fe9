"""Content blocks: each ``to_json()`` is exactly the MCP 2025-11-25 shape (checked against the official types)."""

from __future__ import annotations

import math
from typing import Any

import mcp_types
import pytest
from pydantic import BaseModel

from mcp_steward.sdk import (
    AudioContent,
    EmbeddedResource,
    ImageContent,
    PromptMessage,
    ResourceContents,
    ResourceLink,
    TextContent,
    ToolResult,
)

ANNOTATIONS = {"audience": ["user", "assistant"], "priority": 0.5, "lastModified": "2025-01-01T00:00:00Z"}
META = {"com.example/trace": "t-1", "nested": {"a": [1, 2]}}


def _wire(model: type[BaseModel], shape: dict[str, Any]) -> None:
    """``shape`` is what the official type reads and writes back, key for key (no key ignored, none missing)."""
    dumped = model.model_validate(shape).model_dump(by_alias=True, exclude_none=True, mode="json")
    dumped.pop("resultType", None)
    assert dumped == shape


def test_text_content_is_the_text_block() -> None:
    shape = TextContent("hello").to_json()
    assert shape == {"type": "text", "text": "hello"}
    _wire(mcp_types.TextContent, shape)


def test_annotations_and_meta_are_carried_as_annotations_and_underscore_meta() -> None:
    shape = TextContent("hi", annotations=ANNOTATIONS, meta=META).to_json()
    assert shape == {"type": "text", "text": "hi", "annotations": ANNOTATIONS, "_meta": META}
    _wire(mcp_types.TextContent, shape)


def test_image_content_base64_encodes_its_bytes() -> None:
    shape = ImageContent(b"\x89PNG\r\n\x1a\n\x00\xff", "image/png", meta=META).to_json()
    assert shape == {"type": "image", "data": "iVBORw0KGgoA/w==", "mimeType": "image/png", "_meta": META}
    _wire(mcp_types.ImageContent, shape)


def test_image_content_from_base64_keeps_the_bytes_it_names() -> None:
    image = ImageContent.from_base64("iVBORw0KGgoA/w==", "image/png", annotations={"priority": 1})
    assert image.data == b"\x89PNG\r\n\x1a\n\x00\xff"
    assert image.to_json()["data"] == "iVBORw0KGgoA/w=="
    assert image.to_json()["annotations"] == {"priority": 1}


@pytest.mark.parametrize("data", ["not base64!", "aGk", "aGk=\n=", "é", "aGk=aGk="])
def test_from_base64_refuses_text_that_is_not_strict_base64(data: str) -> None:
    with pytest.raises(ValueError, match="base64"):
        ImageContent.from_base64(data, "image/png")
    with pytest.raises(ValueError, match="base64"):
        AudioContent.from_base64(data, "audio/wav")


def test_audio_content_base64_encodes_its_bytes() -> None:
    shape = AudioContent(b"RIFF", "audio/wav").to_json()
    assert shape == {"type": "audio", "data": "UklGRg==", "mimeType": "audio/wav"}
    _wire(mcp_types.AudioContent, shape)
    assert AudioContent.from_base64("UklGRg==", "audio/wav").data == b"RIFF"


def test_resource_link_has_only_the_fields_given() -> None:
    assert ResourceLink("files://a.txt", "a").to_json() == {
        "type": "resource_link",
        "uri": "files://a.txt",
        "name": "a",
    }
    shape = ResourceLink(
        "files://a.txt",
        "a",
        title="A",
        description="The a file.",
        mime_type="text/plain",
        size=0,
        annotations=ANNOTATIONS,
        meta=META,
    ).to_json()
    assert shape == {
        "type": "resource_link",
        "uri": "files://a.txt",
        "name": "a",
        "title": "A",
        "description": "The a file.",
        "mimeType": "text/plain",
        "size": 0,
        "annotations": ANNOTATIONS,
        "_meta": META,
    }
    _wire(mcp_types.ResourceLink, shape)


def test_embedded_text_resource() -> None:
    shape = EmbeddedResource("files://a.txt", text="hello", mime_type="text/plain", meta=META).to_json()
    assert shape == {
        "type": "resource",
        "resource": {"uri": "files://a.txt", "mimeType": "text/plain", "text": "hello"},
        "_meta": META,
    }
    _wire(mcp_types.EmbeddedResource, shape)


def test_embedded_blob_resource_is_base64() -> None:
    shape = EmbeddedResource("files://a.bin", blob=b"\x00\x01", annotations={"audience": ["assistant"]}).to_json()
    assert shape == {
        "type": "resource",
        "resource": {"uri": "files://a.bin", "blob": "AAE="},
        "annotations": {"audience": ["assistant"]},
    }
    _wire(mcp_types.EmbeddedResource, shape)


@pytest.mark.parametrize("kwargs", [{}, {"text": "a", "blob": b"a"}])
def test_a_resource_has_exactly_one_of_text_and_blob(kwargs: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match="exactly one"):
        EmbeddedResource("files://a", **kwargs)
    with pytest.raises(TypeError, match="exactly one"):
        ResourceContents("files://a", **kwargs)


def test_resource_contents_shapes() -> None:
    text = ResourceContents("files://a", text="", mime_type="text/plain").to_json()
    assert text == {"uri": "files://a", "mimeType": "text/plain", "text": ""}
    _wire(mcp_types.TextResourceContents, text)
    blob = ResourceContents("files://b", blob=b"\xff").to_json()
    assert blob == {"uri": "files://b", "blob": "/w=="}
    _wire(mcp_types.BlobResourceContents, blob)


def test_prompt_message_holds_one_block_of_any_type() -> None:
    for block in (
        TextContent("t"),
        ImageContent(b"i", "image/png"),
        AudioContent(b"a", "audio/wav"),
        ResourceLink("files://a", "a"),
        EmbeddedResource("files://a", text="t"),
    ):
        shape = PromptMessage("assistant", block).to_json()
        assert shape == {"role": "assistant", "content": block.to_json()}
        _wire(mcp_types.PromptMessage, shape)


def test_prompt_message_refuses_another_role_or_content() -> None:
    with pytest.raises(ValueError, match="role"):
        PromptMessage("system", TextContent("t"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="content block"):
        PromptMessage("user", {"type": "text", "text": "t"})  # type: ignore[arg-type]


def test_tool_result_shape() -> None:
    result = ToolResult([TextContent("a"), ImageContent(b"i", "image/png")], structured={"n": 1}, meta=META)
    shape = result.to_json()
    assert shape == {
        "content": [{"type": "text", "text": "a"}, {"type": "image", "data": "aQ==", "mimeType": "image/png"}],
        "structuredContent": {"n": 1},
        "isError": False,
        "_meta": META,
    }
    _wire(mcp_types.CallToolResult, shape)
    assert ToolResult([], is_error=True).to_json() == {"content": [], "isError": True}


@pytest.mark.parametrize(
    "build",
    [
        lambda meta: TextContent("t", meta=meta),
        lambda meta: ImageContent(b"i", "image/png", meta=meta),
        lambda meta: AudioContent(b"a", "audio/wav", meta=meta),
        lambda meta: ResourceLink("files://a", "a", meta=meta),
        lambda meta: EmbeddedResource("files://a", text="t", meta=meta),
        lambda meta: ResourceContents("files://a", text="t", meta=meta),
        lambda meta: ToolResult([], meta=meta),
    ],
)
def test_steward_meta_keys_are_refused_on_every_block(build: Any) -> None:
    with pytest.raises(ValueError, match="steward/"):
        build({"ok": 1, "steward/units": 5})
    assert build({"stewardish": 1}).to_json()["_meta"] == {"stewardish": 1}


@pytest.mark.parametrize(
    "meta",
    [{"a": {1, 2}}, {"a": math.nan}, {"a": object()}, {1: "x"}, "not a mapping"],
)
def test_meta_must_be_a_json_object(meta: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        TextContent("t", meta=meta)


@pytest.mark.parametrize(
    "annotations",
    [
        {"audience": ["system"]},
        {"audience": "user"},
        {"priority": 2},
        {"priority": -0.1},
        {"priority": True},
        {"lastModified": 5},
        {"x": math.inf},
    ],
)
def test_annotations_are_checked(annotations: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="annotations"):
        TextContent("t", annotations=annotations)


def test_blocks_are_copies_the_caller_cannot_change_afterwards() -> None:
    meta: dict[str, Any] = {"list": [1]}
    block = TextContent("t", meta=meta)
    meta["list"].append(2)
    shape = block.to_json()
    shape["_meta"]["list"].append(3)
    assert block.to_json()["_meta"] == {"list": [1]}


@pytest.mark.parametrize(
    "build",
    [
        lambda: TextContent(5),  # type: ignore[arg-type]
        lambda: ImageContent("aGk=", "image/png"),  # type: ignore[arg-type]
        lambda: ImageContent(b"x", ""),
        lambda: AudioContent(b"x", None),  # type: ignore[arg-type]
        lambda: ResourceLink("", "a"),
        lambda: ResourceLink("files://a", ""),
        lambda: ResourceLink("files://a", "a", size=-1),
        lambda: ResourceLink("files://a", "a", size=True),
        lambda: ResourceContents("files://a", blob="text"),  # type: ignore[arg-type]
        lambda: ToolResult(TextContent("t")),  # type: ignore[arg-type]
        lambda: ToolResult(["text"]),  # type: ignore[list-item]
        lambda: ToolResult([], structured=[1]),  # type: ignore[arg-type]
        lambda: ToolResult([], is_error=1),  # type: ignore[arg-type]
    ],
)
def test_wrong_types_are_refused_when_the_block_is_built(build: Any) -> None:
    with pytest.raises(TypeError):
        build()
