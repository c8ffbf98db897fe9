"""A misbehaving vendor over HTTPS on loopback, in a thread: each path is one behaviour the egress must survive."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.tls import TlsFiles


@dataclass
class VendorState:
    token: str = "tok-1"
    sessions: set[str] = field(default_factory=set)
    seen_auth: list[str] = field(default_factory=list)
    initializes: int = 0
    #: The full vendors (``/full``, ``/full-legacy``): how many pages their lists have, results and JSON-RPC
    #: errors they answer instead for a method, and each request's method and (modern) ``Mcp-Name`` header.
    pages: int = 2
    results: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, Any] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    params: list[dict[str, Any]] = field(default_factory=list)
    elicit: bool = False  # the legacy one asks the user something (an elicitation request) before each answer


def _result(message: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": message.get("id"), "result": result}


def _text(text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": False}


#: What a full vendor puts in every ``_meta`` it answers: two keys only Steward may write, one of its own.
VENDOR_META = {"steward/units": 99, "steward/reason": "egress_refused", "vendor/x": 1}
MODERN = "2026-07-28"
_LIST_KEYS = {
    "tools/list": "tools",
    "resources/list": "resources",
    "resources/templates/list": "resourceTemplates",
    "prompts/list": "prompts",
}
_NAMED = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
LEGACY_CAPABILITIES = {"tools": {}, "resources": {"subscribe": False}, "prompts": {}, "completions": {}}


def _list_item(method: str, index: int) -> dict[str, Any]:
    items: dict[str, dict[str, Any]] = {
        "tools/list": {"name": f"tool{index}", "inputSchema": {"type": "object"}},
        "resources/list": {"uri": f"vendor://r{index}", "name": f"r{index}", "mimeType": "text/plain"},
        "resources/templates/list": {"uriTemplate": f"vendor://t{index}/{{x}}", "name": f"t{index}"},
        "prompts/list": {"name": f"p{index}", "arguments": [{"name": "city", "required": True}]},
    }
    return {**items[method], "_meta": dict(VENDOR_META)}


def full_answer(state: VendorState, method: str, params: dict[str, Any], auth: str) -> tuple[Any, Any]:
    """A full vendor's (result, error) for one request: every method of the dialect, ``_meta`` at every level
    holding :data:`VENDOR_META`, the request's ``Authorization`` echoed in read contents and prompt messages."""
    if method in state.errors:
        return None, state.errors[method]
    if method in state.results:
        return state.results[method], None
    meta = dict(VENDOR_META)
    if method in _LIST_KEYS:
        cursor = params.get("cursor")
        index = int(cursor[1:]) if isinstance(cursor, str) else 0
        page: dict[str, Any] = {_LIST_KEYS[method]: [_list_item(method, index)], "_meta": meta}
        if index + 1 < state.pages:
            page["nextCursor"] = f"p{index + 1}"
        return page, None
    if method == "resources/read":
        uri = params.get("uri")
        if uri == "vendor://missing":
            data = {"uri": uri, "internal": "stack trace"}
            return None, {"code": -32602, "message": "Resource not found: " + "x" * 1000, "data": data}
        contents = [
            {"uri": uri, "mimeType": "text/plain", "text": f"read with {auth}", "_meta": meta},
            {"uri": uri, "mimeType": "application/octet-stream", "blob": "AAEC", "_meta": meta},
        ]
        return {"contents": contents, "_meta": meta}, None
    if method == "prompts/get":
        if params.get("name") == "missing":
            return None, {"code": -32602, "message": "Unknown prompt: missing", "data": {"name": "missing"}}
        embedded = {"uri": "vendor://r0", "mimeType": "text/plain", "text": "r0", "_meta": meta}
        messages = [
            {"role": "user", "content": {"type": "text", "text": f"prompt with {auth}", "_meta": meta}, "_meta": meta},
            {"role": "assistant", "content": {"type": "resource", "resource": embedded, "_meta": meta}},
        ]
        return {"description": "a prompt", "messages": messages, "_meta": meta}, None
    if method == "completion/complete":
        return {"completion": {"values": ["Bergen", "Berlin"], "total": 2, "hasMore": False}, "_meta": meta}, None
    if method == "tools/call":
        embedded = {"uri": "vendor://r0", "blob": "AAEC", "_meta": meta}
        content = [
            {"type": "image", "data": "AAEC", "mimeType": "image/png", "_meta": meta},
            {"type": "resource_link", "uri": "vendor://r1", "name": "r1", "_meta": meta},
            {"type": "resource", "resource": embedded, "annotations": {"priority": 1}, "_meta": meta},
        ]
        return {"content": content, "isError": False, "_meta": meta}, None
    return None, {"code": -32601, "message": f"Method not found: {method}"}


def _header_text(value: str | None) -> str | None:
    """A modern header's value, its ``=?base64?...?=`` form decoded."""
    if value is not None and value.startswith("=?base64?") and value.endswith("?="):
        return base64.b64decode(value[9:-2], validate=True).decode("utf-8")
    return value


def build_app(state: VendorState) -> Starlette:
    async def modern(request: Request) -> Response:
        state.seen_auth.append(request.headers.get("authorization", ""))
        if request.headers.get("authorization") != f"Bearer {state.token}":
            return Response(status_code=401)
        message = json.loads(await request.body())
        if message["method"] == "tools/list":
            return JSONResponse(_result(message, {"tools": [{"name": "echo", "inputSchema": {"type": "object"}}]}))
        result = _text("ok")
        result["_meta"] = {"steward/reason": "egress_refused", "steward/units": 99, "vendor/x": 1}
        return JSONResponse(_result(message, result))

    async def echo_secret(request: Request) -> Response:
        message = json.loads(await request.body())
        return JSONResponse(_result(message, _text(f"you sent {request.headers.get('authorization')}")))

    async def redirect(request: Request) -> Response:
        return Response(status_code=307, headers={"Location": "https://10.0.0.1/mcp"})

    async def big(request: Request) -> Response:
        message = json.loads(await request.body())
        return JSONResponse(_result(message, _text("x" * 1_100_000)))

    async def slow(request: Request) -> Response:
        await asyncio.sleep(5)
        return PlainTextResponse("late")

    async def garbage(request: Request) -> Response:
        return Response(b"{not json", media_type="application/json")

    async def input_required(request: Request) -> Response:
        message = json.loads(await request.body())
        return JSONResponse(
            _result(message, {"resultType": "input_required", "inputRequests": {"q": {"method": "elicitation/create"}}})
        )

    async def sse_elicit(request: Request) -> Response:
        message = json.loads(await request.body())
        events = [
            {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progress": 1}},
            {"jsonrpc": "2.0", "id": "s1", "method": "elicitation/create", "params": {"message": "who?"}},
            _result(message, _text("never")),
        ]
        body = "".join(f"event: message\ndata: {json.dumps(e)}\n\n" for e in events)
        return Response(body, media_type="text/event-stream")

    async def legacy(request: Request) -> Response:
        """A legacy-only server with sessions, answering over SSE (the 2025-03-26 .. 2025-11-25 shape)."""
        if request.headers.get("mcp-protocol-version") == "2026-07-28":
            error = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Bad Request: no session"}}
            return JSONResponse(error, status_code=400)
        message = json.loads(await request.body())
        if message["method"] == "initialize":
            state.initializes += 1
            session = f"session-{state.initializes}"
            state.sessions.add(session)
            result = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": "l"}}
            return JSONResponse(_result(message, result), headers={"Mcp-Session-Id": session})
        if request.headers.get("mcp-session-id") not in state.sessions:
            return Response(status_code=404)
        if "id" not in message:
            return Response(status_code=202)
        body = f"event: message\ndata: {json.dumps(_result(message, _text('legacy ok')))}\n\n"
        return Response(body, media_type="text/event-stream")

    async def full(request: Request) -> Response:
        """A modern-only vendor of every method: checks the modern headers, answers a JSON-RPC error with the
        SDK's HTTP status for it (-32602 is 400, -32601 404)."""
        message = json.loads(await request.body())
        method, params = message["method"], message.get("params") or {}
        name = request.headers.get("mcp-name")
        state.requests.append((method, name))
        state.params.append(params)
        headers_ok = (
            request.headers.get("mcp-protocol-version") == MODERN
            and request.headers.get("mcp-method") == method
            and (method not in _NAMED or _header_text(name) == params.get(_NAMED[method]))
        )
        if not headers_ok:
            error = {"jsonrpc": "2.0", "id": message.get("id"), "error": {"code": -32020, "message": "Header mismatch"}}
            return JSONResponse(error, status_code=400)
        if method == "server/discover" and method not in state.results:
            info = {"io.modelcontextprotocol/serverInfo": {"name": "full", "version": "9"}}
            capabilities: dict[str, Any] = {"tools": {}, "resources": {}, "completions": {}}
            result = {"supportedVersions": [MODERN], "capabilities": capabilities, "resultType": "complete"}
            return JSONResponse(_result(message, {**result, "_meta": info}))
        result, error = full_answer(state, method, params, request.headers.get("authorization", ""))
        if error is not None:
            code = error.get("code") if isinstance(error, dict) else None
            status = {-32602: 400, -32601: 404}.get(code, 200) if isinstance(code, int) else 200
            return JSONResponse({"jsonrpc": "2.0", "id": message["id"], "error": error}, status_code=status)
        return JSONResponse(_result(message, {**result, "resultType": "complete", "ttlMs": 0, "cacheScope": "public"}))

    async def full_legacy(request: Request) -> Response:
        """A legacy-only vendor of every method, with sessions and SSE answers; its initialize result says its
        capabilities (:data:`LEGACY_CAPABILITIES`)."""
        if request.headers.get("mcp-protocol-version") == MODERN:
            error = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Bad Request: no session"}}
            return JSONResponse(error, status_code=400)
        message = json.loads(await request.body())
        method, params = message["method"], message.get("params") or {}
        state.requests.append((method, None))
        state.params.append(params)
        if method == "initialize":
            state.initializes += 1
            session = f"session-{state.initializes}"
            state.sessions.add(session)
            result = {
                "protocolVersion": "2025-06-18",
                "capabilities": LEGACY_CAPABILITIES,
                "serverInfo": {"name": "full-legacy", "version": "2"},
            }
            return JSONResponse(_result(message, result), headers={"Mcp-Session-Id": session})
        if request.headers.get("mcp-session-id") not in state.sessions:
            return Response(status_code=404)
        if "id" not in message:
            return Response(status_code=202)
        result, error = full_answer(state, method, params, request.headers.get("authorization", ""))
        answer = _result(message, result) if error is None else {"jsonrpc": "2.0", "id": message["id"], "error": error}
        events = [answer]
        if state.elicit:  # the vendor asks the user something before answering
            events.insert(0, {"jsonrpc": "2.0", "id": "s1", "method": "elicitation/create", "params": {}})
        body = "".join(f"event: message\ndata: {json.dumps(event)}\n\n" for event in events)
        return Response(body, media_type="text/event-stream")

    routes = [
        Route("/full", full, methods=["POST"]),
        Route("/full-legacy", full_legacy, methods=["POST"]),
        Route("/mcp", modern, methods=["POST"]),
        Route("/echo", echo_secret, methods=["POST"]),
        Route("/redirect", redirect, methods=["POST"]),
        Route("/big", big, methods=["POST"]),
        Route("/slow", slow, methods=["POST"]),
        Route("/garbage", garbage, methods=["POST"]),
        Route("/input", input_required, methods=["POST"]),
        Route("/sse-elicit", sse_elicit, methods=["POST"]),
        Route("/legacy", legacy, methods=["POST"]),
    ]
    return Starlette(routes=routes)


@contextmanager
def serve(tls: TlsFiles, state: VendorState) -> Iterator[str]:
    """Serve the fake vendor on a free loopback port over HTTPS; yields its origin ``https://127.0.0.1:PORT``."""
    with serve_app(tls, build_app(state)) as origin:
        yield origin


@contextmanager
def serve_app(tls: TlsFiles, app: Any, *, lifespan: Literal["on", "off"] = "off") -> Iterator[str]:
    """Serve an ASGI app on a free loopback port over HTTPS in a thread; yields its origin."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        ssl_certfile=str(tls.cert_file),
        ssl_keyfile=str(tls.key_file),
        log_level="error",
        access_log=False,
        lifespan=lifespan,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the fake vendor did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def ca_path(tls: TlsFiles) -> Path:
    return tls.ca_file
