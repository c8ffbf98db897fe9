"""A vendor MCP server built with the official SDK (``MCPServer``), over HTTPS on loopback, that requires a
bearer credential: the peer of the egress tests (``python -m tests.vendor_server --port N ...``).

The credential is read from ``--token-file`` on every request (so a test can rotate it), compared in constant
time, and never written anywhere: ``--log-file`` gets one line per request, ``authorized`` or ``refused``.
``--mode`` picks the SDK's transport: ``stateless-json`` (no sessions, JSON answers), ``stateful-sse`` (legacy
sessions with ``Mcp-Session-Id``, SSE answers).
"""

from __future__ import annotations

import argparse
import hmac
import sys
import threading
from pathlib import Path
from typing import Any

import uvicorn
from mcp.server import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import BaseModel
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK = TransportSecuritySettings(
    enable_dns_rebinding_protection=True,
    allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
    allowed_origins=["https://127.0.0.1:*", "https://localhost:*", "https://[::1]:*"],
)


class Forecast(BaseModel):
    city: str
    summary: str
    high_c: int


def build_server() -> MCPServer:
    server = MCPServer("weather", log_level="WARNING")

    @server.tool()
    def forecast(city: str) -> Forecast:
        """Tomorrow's forecast for a city."""
        return Forecast(city=city, summary="sunny", high_c=21)

    @server.tool()
    def shout(text: str) -> str:
        """The text in capitals."""
        return text.upper()

    return server


class BearerGate:
    """Refuses (401) any request whose ``Authorization`` is not ``Bearer <the token in the file>``."""

    def __init__(self, app: ASGIApp, token_file: Path, log_file: Path | None) -> None:
        self._app = app
        self._token_file = token_file
        self._log_file = log_file
        self._lock = threading.Lock()

    def _log(self, line: str) -> None:
        if self._log_file is not None:
            with self._lock, self._log_file.open("a") as handle:
                handle.write(line + "\n")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v for k, v in scope["headers"]}
        presented = headers.get("authorization", b"")
        expected = b"Bearer " + self._token_file.read_text().strip().encode()
        if not hmac.compare_digest(presented, expected):
            self._log("refused")
            await send({"type": "http.response.start", "status": 401, "headers": [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        self._log("authorized")
        await self._app(scope, receive, send)


def create_app(token_file: Path, log_file: Path | None, mode: str) -> Any:
    server = build_server()
    stateless = mode == "stateless-json"
    app = server.streamable_http_app(stateless_http=stateless, json_response=stateless, transport_security=LOOPBACK)
    return BearerGate(app, token_file, log_file)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.vendor_server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--token-file", type=Path, required=True)
    parser.add_argument("--log-file", type=Path)
    parser.add_argument("--mode", choices=["stateless-json", "stateful-sse"], default="stateless-json")
    args = parser.parse_args(argv)
    uvicorn.run(
        create_app(args.token_file, args.log_file, args.mode),
        host="127.0.0.1",
        port=args.port,
        ssl_certfile=args.cert,
        ssl_keyfile=args.key,
        lifespan="on",
        log_level="warning",
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
