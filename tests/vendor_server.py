"""A vendor MCP server built with the official SDK (``MCPServer``), over HTTPS on loopback, that requires a
bearer credential: the peer of the egress tests (``python -m tests.vendor_server --port N ...``).

The credential is read from ``--token-file`` on every request (so a test can rotate it), compared in constant
time, and never written anywhere: ``--log-file`` gets one line per request, ``authorized`` or ``refused``.
``--mode`` picks the SDK's transport: ``stateless-json`` (no sessions, JSON answers), ``stateful-sse`` (legacy
sessions with ``Mcp-Session-Id``, SSE answers).

Besides its tools (``forecast``, ``shout``, and ``weather_map``, whose result is an image, a resource link and an
embedded resource) it serves the rest of the protocol the egress forwards: the resources ``weather://cities``
(text) and ``weather://logo.png`` (binary), the template ``weather://forecast/{city}``, the prompts
``daily_briefing`` (no arguments) and ``plan_trip`` (``city`` required, ``days`` optional), and completion of
``plan_trip``'s ``city`` from :data:`CITIES`.
"""

from __future__ import annotations

import argparse
import base64
import hmac
import sys
import threading
from pathlib import Path
from typing import Any

import uvicorn
from mcp.server import MCPServer
from mcp.server.mcpserver.prompts.base import AssistantMessage, Message, UserMessage
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import (
    Completion,
    CompletionArgument,
    CompletionContext,
    EmbeddedResource,
    ImageContent,
    PromptReference,
    ResourceLink,
    ResourceTemplateReference,
    TextResourceContents,
)
from pydantic import BaseModel
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK = TransportSecuritySettings(
    enable_dns_rebinding_protection=True,
    allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
    allowed_origins=["https://127.0.0.1:*", "https://localhost:*", "https://[::1]:*"],
)


#: The cities the vendor knows: the ``weather://cities`` resource, and what completes ``plan_trip``'s ``city``.
CITIES = ("Bergen", "Berlin", "Bern", "Oslo", "Stockholm")
#: A 1x1 transparent PNG: the ``weather://logo.png`` resource and ``weather_map``'s image.
PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
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

    @server.tool()
    def weather_map(city: str) -> list[ImageContent | ResourceLink | EmbeddedResource]:
        """A weather map of a city, a link to its forecast and the forecast itself."""
        uri = f"weather://forecast/{city}"
        return [
            ImageContent(type="image", data=base64.b64encode(PIXEL_PNG).decode(), mime_type="image/png"),
            ResourceLink(type="resource_link", uri=uri, name=f"forecast-{city}", mime_type="text/plain"),
            EmbeddedResource(
                type="resource",
                resource=TextResourceContents(uri=uri, mime_type="text/plain", text=_forecast_text(city)),
            ),
        ]

    @server.resource("weather://cities", name="cities", title="Cities", mime_type="text/plain")
    def cities() -> str:
        """The cities this vendor forecasts, one a line."""
        return "\n".join(CITIES)

    @server.resource("weather://logo.png", name="logo", mime_type="image/png")
    def logo() -> bytes:
        """The vendor's logo."""
        return PIXEL_PNG

    @server.resource("weather://forecast/{city}", name="city_forecast", mime_type="text/plain")
    def city_forecast(city: str) -> str:
        """Tomorrow's forecast for a city, as text."""
        return _forecast_text(city)

    @server.prompt(title="Daily briefing")
    def daily_briefing() -> str:
        """Ask for today's weather briefing."""
        return "Give me today's weather briefing for every city you know."

    @server.prompt(title="Plan a trip")
    def plan_trip(city: str, days: str = "3") -> list[Message]:
        """Plan a trip around the weather."""
        return [
            UserMessage(f"Plan a {days}-day trip to {city} around the weather."),
            AssistantMessage(f"Tomorrow in {city}: {_forecast_text(city)}"),
        ]

    @server.completion()  # type: ignore[untyped-decorator,no-untyped-call]  # the SDK leaves this decorator unannotated
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        if isinstance(ref, PromptReference) and ref.name == "plan_trip" and argument.name == "city":
            values = [city for city in CITIES if city.lower().startswith(argument.value.lower())]
            return Completion(values=values, total=len(values), has_more=False)
        return None

    return server


def _forecast_text(city: str) -> str:
    return f"{city}: sunny, high 21 C"


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
