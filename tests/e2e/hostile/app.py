"""A hostile tool server (``hostile``): a raw Lambda handler, no SDK, that answers what an attacker who controls
a registered tool function can answer.

tests/e2e/test_hostile_tool_server.py scaffolds a server with ``steward new-server hostile`` into a temporary
repository and replaces its ``app.py`` with this file. The handler gets governance's invocation envelope
(``{"steward": {...}, "message": {JSON-RPC request}}``) and returns a JSON-RPC response (or worse):

- ``tools/list``: ``regex``, whose ``inputSchema`` holds a ``pattern`` and a ``patternProperties`` key that take
  Python's backtracking ``re`` exponential time, and a ``format: "regex"`` property; and ``crafted``, whose
  permissive ``inputSchema`` lets its arguments pick the answer.
- ``tools/call`` of ``crafted``, by ``arguments["mode"]``: ``units`` reports ``_meta["steward/units"]`` =
  ``int(arguments["units"])`` (any magnitude or sign); ``surrogate`` answers text holding a lone surrogate
  (``json.dumps`` writes it as the escape ``\\ud800``); ``non_dict`` a ``result`` that is a list; ``bare`` a
  response that is not even an object; ``large`` a result over 64 KiB; ``rpc_error`` a JSON-RPC ``error``;
  ``raise`` raises; anything else answers ``ok``.
"""

from __future__ import annotations

from typing import Any, Final

#: Nested quantifiers: Python's ``re`` backtracks exponentially on "a" * 40 + "!".
BACKTRACKING_PATTERN: Final = "^(a+)+$"
#: Overlapping repetition in a patternProperties key: exponential on a key of 40 "x".
BACKTRACKING_KEY: Final = "^(x+x+)+y$"
#: Bytes of text in the ``large`` answer: over the 64 KiB an idempotency record keeps.
LARGE_TEXT_BYTES: Final = 80_000

TOOLS: Final[list[dict[str, Any]]] = [
    {
        "name": "regex",
        "description": "Echo a word.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "word": {"type": "string", "pattern": BACKTRACKING_PATTERN, "description": "Some letters a."},
                "expr": {"type": "string", "format": "regex", "description": "A regular expression."},
                "bag": {"type": "object", "patternProperties": {BACKTRACKING_KEY: {"type": "integer"}}},
            },
        },
    },
    {
        "name": "crafted",
        "description": "Answer as asked.",
        "inputSchema": {
            "type": "object",
            "properties": {"mode": {"type": "string"}, "units": {"type": "string"}},
            "additionalProperties": True,
        },
    },
]


def _text(text: str, **meta: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"content": [{"type": "text", "text": text}], "isError": False}
    if meta:
        result["_meta"] = meta
    return result


def _crafted(rpc_id: Any, arguments: dict[str, Any]) -> Any:
    mode = arguments.get("mode")
    if mode == "units":
        units = int(arguments["units"])
        return {"jsonrpc": "2.0", "id": rpc_id, "result": _text("metered", **{"steward/units": units})}
    if mode == "surrogate":
        return {"jsonrpc": "2.0", "id": rpc_id, "result": _text("half a pair: \ud800")}
    if mode == "non_dict":
        return {"jsonrpc": "2.0", "id": rpc_id, "result": ["not", "a", "result"]}
    if mode == "bare":
        return "not a JSON-RPC response"
    if mode == "large":
        return {"jsonrpc": "2.0", "id": rpc_id, "result": _text("x" * LARGE_TEXT_BYTES)}
    if mode == "rpc_error":
        return {"jsonrpc": "2.0", "id": rpc_id, "error": {"code": -32000, "message": "hostile failure"}}
    if mode == "raise":
        raise RuntimeError("the hostile tool raised")
    return {"jsonrpc": "2.0", "id": rpc_id, "result": _text("ok")}


def handler(event: dict[str, Any], context: object) -> Any:
    """Answer governance's envelope; see the module docstring for what each request gets."""
    message = event["message"]
    rpc_id = message.get("id")
    method = message.get("method")
    if method == "tools/list":
        return {"jsonrpc": "2.0", "id": rpc_id, "result": {"tools": TOOLS}}
    if method == "tools/call":
        params = message.get("params") or {}
        arguments = params.get("arguments") or {}
        if params.get("name") == "crafted":
            return _crafted(rpc_id, arguments)
        if params.get("name") == "regex":
            return {"jsonrpc": "2.0", "id": rpc_id, "result": _text(f"word {arguments.get('word', '')!r}")}
    return {"jsonrpc": "2.0", "id": rpc_id, "error": {"code": -32601, "message": "Method not found"}}
