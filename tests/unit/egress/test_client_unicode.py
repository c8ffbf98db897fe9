"""The vendor client reads only Unicode JSON: an answer holding a lone surrogate (as an escape or as CESU-8 bytes),
in JSON or in an event stream, is a malformed response (the vendor was sent the call: sent is True). And it writes
the ``Mcp-Name`` header as HTTP carries it: plain ASCII verbatim, any other text base64-encoded."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mcp.shared.inbound import decode_header_value

from mcp_steward.egress.client import Session, VendorClient, VendorError, header_value

URL = "https://vendor.example/mcp"
RESULT = b'{"content":[{"type":"text","text":"%s"}]}'


def ask(body: bytes, content_type: str) -> dict[str, object]:
    """One modern tools/call to a vendor that answers ``body`` (``%d`` there is the request's id)."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body.replace(b"%d", b"1"), headers={"content-type": content_type})

    async def main() -> dict[str, object]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            client = VendorClient(http, URL, {}, {URL: Session("modern")})
            return await client.request("tools/call", {"name": "search", "arguments": {}})

    return asyncio.run(main())


def as_json(text: bytes) -> bytes:
    return b'{"jsonrpc":"2.0","id":%d,"result":' + RESULT % text + b"}"


def as_stream(text: bytes) -> bytes:
    return b"event: message\ndata: " + as_json(text) + b"\n\n"


@pytest.mark.parametrize("wrap, content_type", [(as_json, "application/json"), (as_stream, "text/event-stream")])
@pytest.mark.parametrize("text", [b"bad \\udc80", b"\\ude00\\ud83d", b"\\\\\\ud800"])
def test_an_answer_with_a_lone_surrogate_escape_is_malformed(
    wrap: Callable[[bytes], bytes], content_type: str, text: bytes
) -> None:
    with pytest.raises(VendorError) as excinfo:
        ask(wrap(text), content_type)
    assert (excinfo.value.reason, excinfo.value.sent) == ("malformed_response", True)


def test_a_json_answer_that_is_not_utf8_is_malformed() -> None:
    for text in (b"\xed\xb2\x80", b"\xff"):
        with pytest.raises(VendorError) as excinfo:
            ask(as_json(text), "application/json")
        assert excinfo.value.reason == "malformed_response"


@pytest.mark.parametrize("wrap, content_type", [(as_json, "application/json"), (as_stream, "text/event-stream")])
def test_a_surrogate_pair_is_text(wrap: Callable[[bytes], bytes], content_type: str) -> None:
    answer = ask(wrap(b"\\ud83d\\ude00"), content_type)
    assert answer["result"] == {"content": [{"type": "text", "text": "\U0001f600"}]}


@settings(derandomize=True, max_examples=200)
@given(st.text(max_size=64))
def test_an_mcp_name_header_value_is_printable_ascii_that_decodes_to_the_name(name: str) -> None:
    value = header_value(name)
    assert value.isascii() and value.isprintable() and value == value.strip()
    assert decode_header_value(value) == name  # the SDK's decoding, as a vendor reads it


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("search", "search"),
        ("vendor://r/a b", "vendor://r/a b"),
        (" x", "=?base64?IHg=?="),
        ("ø", "=?base64?w7g=?="),
        ("=?base64?eA==?=", "=?base64?PT9iYXNlNjQ/ZUE9PT89?="),
        ("a\x7f", "=?base64?YX8=?="),
    ],
)
def test_only_plain_ascii_names_go_verbatim(name: str, value: str) -> None:
    assert header_value(name) == value
