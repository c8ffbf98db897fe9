"""A misbehaving vendor over HTTPS on loopback, in a thread: each path is one behaviour the egress must survive."""

from __future__ import annotations

import asyncio
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


def _result(message: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": message.get("id"), "result": result}


def _text(text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": False}


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

    routes = [
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
