"""JSON-RPC 2.0 framing with input limits: parse a body into one request or notification, build answers.

Every JSON that comes from outside Steward (a request body, a tool function's or a vendor's answer, a token's
header) is read with :func:`loads_unicode`: UTF-8 only, and only Unicode text. Python's ``json`` accepts a
``"\\ud800"`` escape (a lone surrogate) and, from bytes, CESU-8 surrogates and UTF-16: the resulting ``str``
has no UTF-8 form, so it would break the answer, the audit record and the log line that try to write it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

from mcp_steward.protocol.errors import InvalidRequestError, ParseError, StewardError

MAX_JSON_DEPTH: Final = 64

#: Where a lone surrogate can hide in JSON text: an escape in U+D800..U+DFFF (a valid pair matches too, so a
#: match is only a reason to look at the parsed value).
_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE: Final = re.compile("[\ud800-\udfff]")

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


class JsonTextError(ValueError):
    """JSON that parses but that Steward does not accept from outside: a string or key with a lone surrogate,
    ``NaN`` or ``Infinity`` (not JSON, and not writable back as JSON), or nesting too deep for the parser."""


def has_surrogate(text: str) -> bool:
    """Whether ``text`` holds a surrogate code point (it then has no UTF-8 form). Free for ASCII text."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def is_utf8_json(value: Any) -> bool:
    """Whether ``value`` can be written as UTF-8 JSON: every string and key Unicode text (no lone surrogate),
    no ``NaN`` or infinity, only JSON types. Costs one ``json.dumps`` of the value."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return False
    return not has_surrogate(text)


def _refuse_constant(name: str) -> Any:
    raise JsonTextError(f"{name} is not JSON")


#: One decoder for every call (``json.loads`` with an option builds a new one each time).
_DECODER: Final = json.JSONDecoder(parse_constant=_refuse_constant)


def loads_unicode(data: bytes | bytearray | str) -> Any:
    """``json.loads`` for JSON from outside: bytes must be UTF-8 (RFC 8259 section 8.1), and the value must be
    Unicode text throughout (see :class:`JsonTextError`). A surrogate *pair* (``"\\ud83d\\ude00"``) is one
    character and is accepted.

    The common case costs a byte search: the parsed value is only re-checked when the text holds an escape in
    U+D800..U+DFFF.

    Raises:
        ValueError: :class:`UnicodeDecodeError` (not UTF-8), :class:`json.JSONDecodeError` (not JSON), or
            :class:`JsonTextError`.
    """
    if isinstance(data, str):
        if has_surrogate(data):
            raise JsonTextError("the text holds a lone surrogate")
        text = data
    else:
        # Strict: json.loads(bytes) would guess UTF-16/32 and decode with 'surrogatepass'.
        text = bytes(data).decode("utf-8")
    try:
        value = _DECODER.decode(text)  # a byte order mark is not JSON either
    except RecursionError as exc:
        raise JsonTextError("the JSON is nested too deeply to parse") from exc
    if "\\" in text and _SURROGATE_ESCAPE.search(text) is not None and not _strings_are_unicode(value):
        raise JsonTextError("a string holds a lone surrogate (a \\uD800-\\uDFFF escape without its pair)")
    return value


def _strings_are_unicode(value: Any) -> bool:
    try:
        return not has_surrogate(json.dumps(value, ensure_ascii=False))
    except RecursionError:
        return False


def parse_body(body: bytes) -> Any:
    """Decode a request body (:func:`loads_unicode`).

    Raises:
        ParseError: not UTF-8, not JSON, not Unicode text (a lone surrogate anywhere, keys included), ``NaN``
            or ``Infinity``, or nested deeper than :data:`MAX_JSON_DEPTH`.
    """
    try:
        decoded = loads_unicode(body)
    except UnicodeDecodeError as exc:
        raise ParseError("Parse error: the body is not UTF-8") from exc
    except JsonTextError as exc:
        raise ParseError(f"Parse error: {exc}") from exc
    except (ValueError, RecursionError) as exc:  # bad JSON, huge ints
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


def error_message(request_id: RequestId | None, error: StewardError, code: int | None = None) -> JsonObject:
    body: JsonObject = {"code": error.code if code is None else code, "message": error.message}
    if error.data is not None:
        body["data"] = error.data
    return {"jsonrpc": "2.0", "id": request_id, "error": body}
