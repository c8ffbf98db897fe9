"""JSON-RPC 2.0 framing with input limits: parse a body into one request or notification, build answers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from mcp_steward.protocol.errors import InvalidRequestError, ParseError, StewardError

MAX_JSON_DEPTH: Final = 64

type RequestId = str | int
type JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Message:
    """One JSON-RPC request (``id`` set) or notification (``id`` None, ``is_notification`` True)."""

    method: str
    params: JsonObject
    id: RequestId | None
    is_notification: bool


@dataclass(frozen=True, slots=True)
class PostedResponse:
    """A JSON-RPC response or error a client posted (legacy clients answer server requests this way)."""


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in node)
    return False


def parse_body(body: bytes) -> Any:
    """Decode a request body. Raises :class:`ParseError` for invalid or too deeply nested JSON."""
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError) as exc:  # bad UTF-8, bad JSON, huge ints, pathological nesting
        raise ParseError("Parse error: the body is not valid JSON") from exc
    if _depth_exceeds(decoded, MAX_JSON_DEPTH):
        raise ParseError(f"Parse error: JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return decoded


def readable_id(decoded: Any) -> RequestId | None:
    """The request id to echo in an error, if the body has a valid one."""
    if isinstance(decoded, dict):
        rid = decoded.get("id")
        if isinstance(rid, str) or (isinstance(rid, int) and not isinstance(rid, bool)):
            return rid
    return None


def to_message(decoded: Any) -> Message | PostedResponse:
    """Validate the JSON-RPC envelope. Batches are refused (removed from the protocol after 2025-03-26)."""
    if isinstance(decoded, list):
        raise InvalidRequestError("Invalid Request: batches are not supported")
    if not isinstance(decoded, dict) or decoded.get("jsonrpc") != "2.0":
        raise InvalidRequestError("Invalid Request: expected a JSON-RPC 2.0 object")
    if "method" not in decoded:
        if "id" in decoded and ("result" in decoded or "error" in decoded):
            return PostedResponse()
        raise InvalidRequestError("Invalid Request: no method")
    method = decoded["method"]
    if not isinstance(method, str) or not method:
        raise InvalidRequestError("Invalid Request: method must be a non-empty string")
    params = decoded.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise InvalidRequestError("Invalid Request: params must be an object")
    if "id" not in decoded:
        return Message(method=method, params=params, id=None, is_notification=True)
    rid = readable_id(decoded)
    if rid is None:
        raise InvalidRequestError("Invalid Request: id must be a string or an integer")
    return Message(method=method, params=params, id=rid, is_notification=False)


def result_message(request_id: RequestId | None, result: JsonObject) -> JsonObject:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def error_message(request_id: RequestId | None, error: StewardError) -> JsonObject:
    body: JsonObject = {"code": error.code, "message": error.message}
    if error.data is not None:
        body["data"] = error.data
    return {"jsonrpc": "2.0", "id": request_id, "error": body}
