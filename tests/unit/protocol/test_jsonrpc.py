"""JSON-RPC framing: limits, ids, notifications, posted responses, only Unicode text."""

from __future__ import annotations

import pytest

from mcp_steward.protocol.errors import InvalidRequestError, ParseError
from mcp_steward.protocol.jsonrpc import (
    JsonTextError,
    Message,
    PostedResponse,
    is_utf8_json,
    loads_unicode,
    parse_body,
    readable_id,
    to_message,
)


@pytest.mark.parametrize("body", [b"", b"{", b"\xff\xfe", b"[" * 5000 + b"]" * 5000, b"1" * 5000])
def test_bodies_that_are_not_usable_json_are_parse_errors(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_body(body)


def test_nesting_up_to_the_limit_is_accepted() -> None:
    assert parse_body(b"[" * 64 + b"]" * 64) is not None


@pytest.mark.parametrize(
    "decoded",
    [
        [{"jsonrpc": "2.0", "id": 1, "method": "ping"}],
        {"jsonrpc": "1.0", "id": 1, "method": "ping"},
        {"jsonrpc": "2.0", "id": 1},
        {"jsonrpc": "2.0", "id": 1, "method": ""},
        {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": [1]},
        {"jsonrpc": "2.0", "id": True, "method": "ping"},
        {"jsonrpc": "2.0", "id": 1.5, "method": "ping"},
        {"jsonrpc": "2.0", "id": None, "method": "ping"},
        "ping",
    ],
)
def test_malformed_envelopes_are_invalid_requests(decoded: object) -> None:
    with pytest.raises(InvalidRequestError):
        to_message(decoded)


def test_requests_notifications_and_posted_responses_are_told_apart() -> None:
    request = to_message({"jsonrpc": "2.0", "id": "a", "method": "tools/list"})
    note = to_message({"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert request == Message("tools/list", {}, "a", is_notification=False)
    assert isinstance(note, Message) and note.is_notification
    assert isinstance(to_message({"jsonrpc": "2.0", "id": 3, "error": {"code": 1}}), PostedResponse)


def test_only_string_and_integer_ids_are_echoed() -> None:
    assert readable_id({"id": 5}) == 5
    assert readable_id({"id": "x"}) == "x"
    assert readable_id({"id": True}) is None
    assert readable_id([{"id": 5}]) is None


# --- only Unicode text: lone surrogates, bytes that are not UTF-8 --------------------------------------------

REQUEST = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo__echo","arguments":{"m":"%s"}}}'


@pytest.mark.parametrize(
    "body",
    [
        b'{"jsonrpc":"2.0","id":"\\ud800","method":"ping"}',  # a lone high surrogate in the id
        b'{"jsonrpc":"2.0","id":"\\uDC80","method":"ping"}',  # a lone low one, upper case
        b'{"jsonrpc":"2.0","id":"\\ude00\\ud83d","method":"ping"}',  # a pair in the wrong order
        b'{"jsonrpc":"2.0","id":"a\\ud83d","method":"ping"}',  # a high one at the end of the string
        b'{"jsonrpc":"2.0","id":1,"method":"ping\\udfff"}',
        b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"\\ud800":1}}',  # in a key
        b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"k":["x",{"y":"\\udbff"}]}}}',  # deep
        REQUEST % b"\\\\\\ud800",  # an escaped backslash, then a real lone escape
    ],
)
def test_a_lone_surrogate_anywhere_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError, match="lone surrogate"):
        parse_body(body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"id":"\xed\xa0\x80"}',  # a surrogate encoded in bytes (CESU-8): json.loads(bytes) lets it through
        b'{"id":"\xff"}',
        b'{"id":"\xc3"}',  # a truncated sequence
        '{"id":"x"}'.encode("utf-16"),  # json.loads(bytes) would guess UTF-16 (and UTF-32) and accept it
    ],
)
def test_a_body_that_is_not_utf8_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError, match="not UTF-8"):
        parse_body(body)
    with pytest.raises(ParseError):  # without a byte order mark: valid UTF-8 full of NULs, so not JSON
        parse_body('{"id":"x"}'.encode("utf-32-le"))


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_not_json(constant: bytes) -> None:
    with pytest.raises(ParseError, match="is not JSON"):
        parse_body(b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":' + constant + b"}}")


def test_a_surrogate_pair_an_escaped_backslash_and_non_ascii_text_are_accepted() -> None:
    assert parse_body(REQUEST % b"\\ud83d\\ude00")["params"]["arguments"]["m"] == "\U0001f600"
    assert parse_body(REQUEST % b"\\uD83D\\uDE00")["params"]["arguments"]["m"] == "\U0001f600"
    assert parse_body(REQUEST % b"\\\\ud800")["params"]["arguments"]["m"] == "\\ud800"  # text, not an escape
    assert parse_body(REQUEST % "żółw 🐢 \\u00e9".encode())["params"]["arguments"]["m"] == "żółw 🐢 é"


def test_loads_unicode_refuses_surrogates_in_text_and_turns_deep_nesting_into_a_value_error() -> None:
    with pytest.raises(JsonTextError):
        loads_unicode('"\ud800"')  # a str that already holds one (decoded with surrogateescape, say)
    with pytest.raises(JsonTextError):
        loads_unicode('"\\ud800"')
    with pytest.raises(JsonTextError):
        loads_unicode(b"[" * 100_000)  # a RecursionError in json, which callers catching ValueError would miss
    assert loads_unicode(bytearray(b'{"a":"\\ud83d\\ude00"}')) == {"a": "\U0001f600"}


def test_is_utf8_json_says_whether_a_value_can_be_written() -> None:
    assert is_utf8_json({"a": ["\U0001f600", 1, 1.5, None, True]})
    assert not is_utf8_json({"a": ["\udc80"]})
    assert not is_utf8_json({"\ud800": 1})
    assert not is_utf8_json({"a": float("nan")})
    assert not is_utf8_json({"a": float("inf")})
    assert not is_utf8_json({"a": object()})
