"""The upstream of the pass-through baseline: the official MCP SDK's ``MCPServer`` serving ``currency__convert``.

Stateless, JSON responses, under uvicorn as its own OS process (``python -m bench.sdk_server --port N``). The tool
is trivially equivalent to the demo's currency server (a decimal multiply by a fixed rate, no table read): its
cost is excluded from the baseline, as the tool function's process is excluded on the plane. Transport security
stays on (DNS rebinding protection), configured to accept loopback ``Host`` and ``Origin`` on any port, the policy
the local plane applies.
"""

from __future__ import annotations

import argparse
import sys
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

import uvicorn
from mcp.server import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import BaseModel
from starlette.applications import Starlette

TOOL_NAME: Final = "currency__convert"
#: Units of the target currency per unit of the source currency, whatever the pair (a fixed rate).
RATE: Final = Decimal("0.92000000")
LOOPBACK: Final = TransportSecuritySettings(
    enable_dns_rebinding_protection=True,
    allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
    allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
)


class Conversion(BaseModel):
    amount: str
    from_currency: str
    to_currency: str
    converted_amount: str
    rate: str


def convert(amount: str, from_currency: str, to_currency: str) -> Conversion:
    """Convert an amount between two currencies at a fixed rate."""
    converted = (Decimal(amount) * RATE).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    return Conversion(
        amount=amount,
        from_currency=from_currency,
        to_currency=to_currency,
        converted_amount=str(converted),
        rate=str(RATE),
    )


def create_app() -> Starlette:
    server = MCPServer("currency", log_level="WARNING")
    server.tool(name=TOOL_NAME)(convert)
    return server.streamable_http_app(stateless_http=True, json_response=True, transport_security=LOOPBACK)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sdk_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    # lifespan "on": the SDK's stateless session manager runs inside the app's lifespan.
    uvicorn.run(create_app(), host=args.host, port=args.port, lifespan="on", log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
