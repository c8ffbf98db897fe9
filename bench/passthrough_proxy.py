"""The baseline of ``bench.plane_cpu``: a minimal pass-through MCP proxy, as its own OS process.

Per request it does what any proxy in front of an MCP server must: read the body, parse it as JSON, check the
method and (for ``tools/call``) the tool name against an allow-list, and forward the original bytes over a pooled
keep-alive connection (``httpx.AsyncClient``) to the upstream, answering with the upstream's status and body. It
does no identity, no budgets, no argument validation, no ledger and no audit; the client's ``Authorization`` is
not passed upstream (a token is for this hop only). Starlette under uvicorn with the server options the local
plane's governance app uses (log level ``warning``, no access log), so the framework costs both sides alike.

``python -m bench.passthrough_proxy --port N --upstream http://127.0.0.1:M/mcp [--allow-tool NAME ...]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Iterable
from typing import Any, Final

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ALLOWED_METHODS: Final = frozenset(
    {"initialize", "notifications/initialized", "ping", "tools/list", "tools/call", "server/discover"}
)
DEFAULT_TOOLS: Final = ("currency__convert",)
#: Request headers passed upstream; everything else (``Authorization`` included) stays at this hop.
FORWARDED_HEADERS: Final = ("content-type", "accept", "mcp-protocol-version", "mcp-method", "mcp-name")
MAX_BODY: Final = 1024 * 1024
UPSTREAM_TIMEOUT_S: Final = 30.0


def _error(request_id: Any, code: int, message: str, status: int = 200) -> JSONResponse:
    rpc_id = request_id if isinstance(request_id, (str, int)) and not isinstance(request_id, bool) else None
    body = {"jsonrpc": "2.0", "id": rpc_id, "error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status)


def create_app(
    upstream: str, allowed_tools: Iterable[str] = DEFAULT_TOOLS, transport: httpx.AsyncBaseTransport | None = None
) -> Starlette:
    """The proxy; ``transport`` replaces the network (tests)."""
    tools = frozenset(allowed_tools)
    pool: dict[str, httpx.AsyncClient] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100, keepalive_expiry=60)
        async with httpx.AsyncClient(limits=limits, timeout=UPSTREAM_TIMEOUT_S, transport=transport) as client:
            pool["client"] = client
            yield
        pool.clear()

    async def mcp(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return _error(None, -32600, "Request body too large", 413)
        try:
            message = json.loads(body)
        except ValueError:
            return _error(None, -32700, "Parse error", 400)
        if not isinstance(message, dict):
            return _error(None, -32600, "Invalid Request", 400)
        method = message.get("method")
        request_id = message.get("id")
        if method not in ALLOWED_METHODS:
            return _error(request_id, -32601, "Method not found")
        if method == "tools/call":
            params = message.get("params")
            name = params.get("name") if isinstance(params, dict) else None
            if name not in tools:
                return _error(request_id, -32602, f"Unknown tool: {name}")
        headers = {key: value for key in FORWARDED_HEADERS if (value := request.headers.get(key)) is not None}
        try:
            answer = await pool["client"].post(upstream, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return _error(request_id, -32603, f"Upstream unavailable: {type(exc).__name__}", 502)
        media_type = answer.headers.get("content-type")
        return Response(answer.content, status_code=answer.status_code, media_type=media_type)

    return Starlette(routes=[Route("/mcp", mcp, methods=["POST"])], lifespan=lifespan)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.passthrough_proxy")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="the upstream MCP endpoint, e.g. http://127.0.0.1:9000/mcp")
    parser.add_argument("--allow-tool", action="append", dest="tools", help="a tool name to allow (repeatable)")
    args = parser.parse_args(argv)
    app = create_app(args.upstream, args.tools or DEFAULT_TOOLS)
    uvicorn.run(app, host=args.host, port=args.port, lifespan="on", log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
