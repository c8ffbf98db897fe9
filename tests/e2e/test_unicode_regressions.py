"""Regressions against the running local plane: a request that is not Unicode text (a lone surrogate in its id
and in ``_meta``, as a JSON escape or as CESU-8 bytes) is a parse error (400, null id), never a 5xx, and the
answer is UTF-8 JSON. A tool's result holding one is covered with the in-memory fakes
(tests/unit/services/test_unicode_results.py, tests/unit/http/test_unicode_requests.py): no example server
can be made to answer one."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import token

pytestmark = pytest.mark.plane

CALL = (
    b'{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"currency__convert",'
    b'"arguments":{"amount":"1","from_currency":"USD","to_currency":"CHF"},"_meta":{%s}}}'
)
MODERN_META = b'"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}'


def test_a_lone_surrogate_in_the_id_and_meta_is_a_parse_error_not_a_5xx(plane: dict[str, Any]) -> None:
    legacy = {
        "Authorization": f"Bearer {token(plane, 'alice')}",
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-11-25",
    }
    modern = {
        **legacy,
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call",
        "Mcp-Name": "currency__convert",
    }
    bodies = [
        (CALL % (b'"\\ud800"', b'"steward/idempotencyKey":"\\udc80"'), legacy),
        (CALL % (b'"\\ud800"', MODERN_META + b',"x":"\\udc80"'), modern),
        (CALL % (b"1", MODERN_META + b',"\\ud83d":"key"'), modern),
        (CALL % (b'"\xed\xa0\x80"', b'"x":"\xed\xb2\x80"'), legacy),  # the same, as CESU-8 bytes
    ]
    with httpx.Client(timeout=60) as http:
        for body, headers in bodies:
            response = http.post(plane["mcp_url"], content=body, headers=headers)
            assert response.status_code == 400, response.text
            answer = json.loads(response.content.decode("utf-8"))
            assert answer["id"] is None and answer["error"]["code"] == -32700
        # A surrogate pair is text: the same call with an emoji in _meta goes through.
        fine = http.post(plane["mcp_url"], content=CALL % (b"2", b'"x":"\\ud83d\\ude00"'), headers=legacy)
    assert fine.status_code == 200
    assert fine.json()["id"] == 2 and fine.json()["result"]["isError"] is False
