"""JSON-RPC framing: limits, ids, notifications, posted responses."""

from __future__ import annotations

import pytest

from mcp_steward.protocol.errors import InvalidRequestError, ParseError
from mcp_steward.protocol.jsonrpc import Message, PostedResponse, parse_body, readable_id, to_message


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
