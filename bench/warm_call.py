"""Warm ``tools/call`` through Mangum, as on Lambda, per call:

- governance: the governance handler (authorizer identity, in-memory stores, grants, the tool function called
  in process with a JSON round trip as at the Lambda boundary, logging and metrics on, as deployed);
- the official MCP SDK's ``MCPServer`` serving the same tool the way it must on Lambda: stateless JSON, a fresh
  app per invocation (its session manager cannot survive a second warm invocation behind Mangum);
- a minimal Starlette app on Mangum that returns a fixed result (the floor of any Python handler).

Calls are interleaved in blocks so that machine noise hits all three alike; each figure is a median of
per-call times. ``MCPServer()`` configures the root logger at INFO on every construction (its cost, kept); before
each block of the other two the root logger is put back at WARNING, as Lambda's Python runtime has it, so Mangum's
per-request INFO line is not charged to them. Log output goes to /dev/null, not the terminal. A cProfile
run then attributes the governance handler's time to the packages it spends it in.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import cProfile
import json
import logging
import os
import pstats
import time
import uuid
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mangum import Mangum
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.stats import median, ratio_line
from mcp_steward.adapters.memory import InMemoryGrantStore, InMemoryKeyStore, InMemoryRegistry, InProcessInvoker
from mcp_steward.adapters.memory_budgets import InMemoryBudgetLedger
from mcp_steward.bootstrap import Ports, build_endpoint
from mcp_steward.domain.budgets import Owner, OwnerKind, period_of
from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.money import parse_credits
from mcp_steward.domain.names import ExposedName
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.registry import ToolStatus
from mcp_steward.http.app import create_app
from mcp_steward.http.lambda_entry import lambda_handler
from mcp_steward.observability import MetricsObserver
from mcp_steward.sdk import ToolServer
from mcp_steward.services.registration import register_internal_server
from mcp_steward.settings import Settings

CALLS = 1_200
BLOCK = 50
WARMUP = 50
TARGET = 0.5
HOST = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
VERSION = "2026-07-28"
ARGUMENTS = {"a": 20, "b": 22}

type Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


class Context:
    """A Lambda context as powertools reads it."""

    function_name = "bench-governance"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:bench-governance"
    memory_limit_in_mb = 1024
    log_group_name = "/aws/lambda/bench-governance"
    log_stream_name = "bench"

    def __init__(self) -> None:
        # A fresh request id per invocation, as Lambda gives: the governance handler reserves under it, and a
        # reused id is refused (the call would then time the error path, not the governed call).
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 28_000


def event(tool_name: str, *, authorizer: bool) -> dict[str, Any]:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {
            "name": tool_name,
            "arguments": ARGUMENTS,
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": VERSION,
                "io.modelcontextprotocol/clientCapabilities": {},
            },
        },
    }
    headers = {
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        "host": HOST,
        "mcp-protocol-version": VERSION,
        "mcp-method": "tools/call",
        "mcp-name": tool_name,
        "authorization": "Bearer bench",
    }
    context: dict[str, Any] = {"resourcePath": "/mcp", "httpMethod": "POST", "stage": "v1", "requestId": "r"}
    if authorizer:
        context["authorizer"] = {
            "principalId": "alice",
            "team": "finance",
            "roles": "",
            "obo": "",
            "keyId": "k",
            "tokenKind": "api_key",
        }
    return {
        "resource": "/mcp",
        "path": "/mcp",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "requestContext": context,
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def governance_handler() -> Handler:
    tool_server = ToolServer(name="calc", version="1.0.0")
    tool_server.tool()(add)
    registry, grants = InMemoryRegistry(), InMemoryGrantStore([Grant(SubjectKind.PRINCIPAL, "alice", "calc__*")])
    invoker = InProcessInvoker({"bench-tool-calc": tool_server.handler})
    register_internal_server(
        registry,
        invoker,
        name="calc",
        function_name="bench-tool-calc",
        function_timeout_s=10,
        versions=lambda _: "1",
        status=ToolStatus.APPROVED,
    )
    # Governance on: a priced tool, a team budget, argument validation, reserve and settle (in memory).
    tool = registry.catalog().tools[ExposedName("calc__add")]
    registry.set_price(tool, Price(price=parse_credits("0.001")))
    budgets = InMemoryBudgetLedger(grants, registry)
    budgets.set_limit(
        Owner(OwnerKind.TEAM, "finance"), "finance", parse_credits("1000000"), period_of(datetime.now(UTC))
    )
    settings = Settings(
        identity_mode="authorizer",
        keys_table="k",
        registry_table="r",
        grants_table="g",
        budgets_table="b",
        ledger_table="l",
        audit_table="a",
    )
    ports = Ports(keys=InMemoryKeyStore(), registry=registry, grants=grants, invoker=invoker, budgets=budgets)
    endpoint = build_endpoint(settings, ports, offload_blocking=False, observer=MetricsObserver())  # as deployed
    return lambda_handler(create_app(endpoint))


def sdk_handler() -> Handler:
    from mcp.server import MCPServer
    from mcp.server.transport_security import TransportSecuritySettings

    security = TransportSecuritySettings(enable_dns_rebinding_protection=False)

    def handler(evt: dict[str, Any], context: Any) -> dict[str, Any]:
        server = MCPServer("calc")
        server.tool()(add)
        app = server.streamable_http_app(stateless_http=True, json_response=True, transport_security=security)
        response: dict[str, Any] = Mangum(app, lifespan="auto")(evt, context)
        return response

    return handler


def minimal_handler() -> Handler:
    async def fixed(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": "42"}]}})

    adapter = Mangum(Starlette(routes=[Route("/mcp", fixed, methods=["POST"])]), lifespan="off")

    def handler(evt: dict[str, Any], context: Any) -> dict[str, Any]:
        response: dict[str, Any] = adapter(evt, context)
        return response

    return handler


def check(name: str, response: dict[str, Any]) -> None:
    body = json.loads(response["body"])
    result = body.get("result", {})
    text = json.dumps(result)
    if response["statusCode"] != 200 or "42" not in text or result.get("isError"):
        raise RuntimeError(f"{name} did not answer the call correctly: {response['statusCode']} {response['body']}")


_GROUPS = (
    ("mcp_steward/sdk", "tool SDK (argument validation, result)"),
    ("mcp_steward/http", "mcp_steward http (guards, endpoint, responses)"),
    ("mcp_steward/protocol", "mcp_steward protocol (parse, negotiate)"),
    ("mcp_steward/services", "mcp_steward services (grants, registry, call)"),
    ("mcp_steward/adapters", "mcp_steward adapters (in-process invoke)"),
    ("mcp_steward", "mcp_steward other"),
    ("pydantic", "tool SDK (argument validation, result)"),
    ("mangum", "mangum (event <-> ASGI)"),
    ("starlette", "starlette (request, response)"),
    ("anyio", "asyncio / anyio (event loop)"),
    ("asyncio", "asyncio / anyio (event loop)"),
    ("aws_lambda_powertools", "powertools (logging context, metrics flush)"),
    ("logging", "powertools (logging context, metrics flush)"),
    ("json", "json (encode, decode)"),
)


def _group(filename: str, function: str) -> str:
    for marker, group in _GROUPS:
        if marker in filename:
            return group
    if "json" in function:
        return "json (encode, decode)"
    return "other (stdlib, builtins)"


def breakdown(handler: Handler, evt: dict[str, Any], calls: int = 600) -> list[str]:
    """Attribute self time by package (cProfile; the deployed handler runs on one thread)."""
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(calls):
        handler(copy.copy(evt), Context())
    profile.disable()
    totals: dict[str, float] = {}
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    for (filename, _line, function), (_cc, _nc, tottime, _ct, _callers) in stats.items():
        group = _group(filename, function)
        totals[group] = totals.get(group, 0.0) + tottime
    whole = sum(totals.values())
    lines = ["  where the governance handler's time goes (cProfile self time by package, profiler overhead included):"]
    for group, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        lines.append(f"    {group:<52} {100 * seconds / whole:5.1f} %")
    return lines


def run() -> list[str]:
    devnull = Path(os.devnull).open("w")  # noqa: SIM115 - lives as long as the benchmark
    logging.basicConfig(stream=devnull, level=logging.WARNING, force=True)
    handlers = {
        "governance": (governance_handler(), event("calc__add", authorizer=True)),
        "sdk": (sdk_handler(), event("add", authorizer=False)),
        "minimal": (minimal_handler(), event("add", authorizer=False)),
    }
    # The EMF metrics powertools prints per call go to /dev/null too (written, as on Lambda, not shown).
    with warnings.catch_warnings(), contextlib.redirect_stdout(devnull):
        warnings.simplefilter("ignore")  # powertools warns once that no application metric was added
        for name, (handler, evt) in handlers.items():
            check(name, handler(copy.copy(evt), Context()))
            for _ in range(WARMUP):
                handler(copy.copy(evt), Context())
        samples: dict[str, list[float]] = {name: [] for name in handlers}
        for _ in range(CALLS // BLOCK):
            for name, (handler, evt) in handlers.items():
                logging.root.setLevel(logging.WARNING)
                for _ in range(BLOCK):
                    request, context = copy.copy(evt), Context()
                    started = time.perf_counter()
                    response = handler(request, context)
                    samples[name].append((time.perf_counter() - started) * 1000)
                    check(name, response)  # every answer, outside the timed part
        logging.root.setLevel(logging.WARNING)
        profile_lines = breakdown(*handlers["governance"])
    governance, sdk, minimal = (median(samples[n]) for n in ("governance", "sdk", "minimal"))
    return [
        f"warm tools/call through Mangum (median of {CALLS} calls each, interleaved in blocks of {BLOCK})",
        ratio_line("governance handler vs MCP SDK MCPServer (fresh app per call)", governance, sdk, target=TARGET),
        ratio_line("governance handler vs minimal Starlette-on-Mangum fixed result", governance, minimal),
        ratio_line("MCP SDK MCPServer vs minimal Starlette-on-Mangum", sdk, minimal),
        *profile_lines,
    ]


if __name__ == "__main__":
    asyncio.set_event_loop(asyncio.new_event_loop())
    print("\n".join(run()))
