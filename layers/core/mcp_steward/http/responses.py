"""Turning answers and errors into HTTP responses: the one place statuses are chosen."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from mcp_steward.observability import logger
from mcp_steward.protocol.errors import INVALID_REQUEST, HttpRefusalError, StewardError
from mcp_steward.protocol.jsonrpc import RequestId, error_message
from mcp_steward.protocol.versions import Era

_JSON = "application/json"


def _dump(body: dict[str, Any]) -> bytes:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate is refused where outside JSON is parsed (protocol.jsonrpc.loads_unicode) and in tool
        # results; should one still get here, the answer stays UTF-8 JSON rather than becoming a 500.
        logger.warning("an answer held a lone surrogate: replaced")
        return text.encode("utf-8", errors="replace")


def json_answer(request_id: RequestId | None, result: dict[str, Any]) -> Response:
    return Response(_dump({"jsonrpc": "2.0", "id": request_id, "result": result}), media_type=_JSON)


def rpc_error(request_id: RequestId | None, error: StewardError, era: Era) -> Response:
    body = error_message(request_id, error, error.code_in(era))
    return Response(_dump(body), status_code=error.rule.status(era), media_type=_JSON)


def http_refusal(refusal: HttpRefusalError) -> Response:
    body = {"jsonrpc": "2.0", "id": None, "error": {"code": INVALID_REQUEST, "message": refusal.message}}
    return Response(_dump(body), status_code=refusal.status, media_type=_JSON, headers=refusal.headers)


def unauthorized(request_id: RequestId | None, why: str, challenge: str) -> Response:
    """401 with ``challenge`` as ``WWW-Authenticate`` (see :mod:`mcp_steward.http.discovery`)."""
    body = {"jsonrpc": "2.0", "id": request_id, "error": {"code": INVALID_REQUEST, "message": f"Unauthorized: {why}"}}
    return Response(_dump(body), status_code=401, media_type=_JSON, headers={"WWW-Authenticate": challenge})


def accepted() -> Response:
    return Response(status_code=202)
