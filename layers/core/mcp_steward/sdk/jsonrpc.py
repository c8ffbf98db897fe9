"""JSON-RPC codes and answer builders used by tool functions (the internal dialect, docs/design.md section 5)."""

from __future__ import annotations

from typing import Any

# The codes are the protocol's own, defined once in mcp_steward.protocol.errors (standard library only).
from mcp_steward.protocol.errors import INTERNAL_ERROR as INTERNAL_ERROR
from mcp_steward.protocol.errors import INVALID_PARAMS as INVALID_PARAMS
from mcp_steward.protocol.errors import INVALID_REQUEST as INVALID_REQUEST
from mcp_steward.protocol.errors import METHOD_NOT_FOUND as METHOD_NOT_FOUND
from mcp_steward.sdk.envelope import JsonObject, RequestId


def result_message(request_id: RequestId | None, result: JsonObject) -> JsonObject:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def error_message(request_id: RequestId | None, code: int, message: str, data: Any = None) -> JsonObject:
    error: JsonObject = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}
