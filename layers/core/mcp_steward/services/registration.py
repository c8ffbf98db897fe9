"""Registering an internal server: discover its tools through the invoker and record them."""

from __future__ import annotations

import time
import uuid
from typing import Any

from mcp_steward.domain.names import UPSTREAM_NAME, check_server_name, exposed_name
from mcp_steward.domain.ports import InvocationError, Registry, ToolInvoker
from mcp_steward.domain.registry import ServerKind, ServerRecord, ToolRecord, ToolStatus

#: The principal named in the envelope when the plane itself (not a person) lists a server's tools.
SYSTEM_PRINCIPAL = {"id": "steward:registry", "team": "steward", "obo": None}
DISCOVERY_TIMEOUT_MS = 30_000


class RegistrationError(Exception):
    """A server could not be registered; the message says why."""


def discover_tools(invoker: ToolInvoker, server: ServerRecord) -> list[dict[str, Any]]:
    """Ask the server's function for its tools (``tools/list`` in the internal dialect)."""
    deadline_ms = int(time.time() * 1000) + DISCOVERY_TIMEOUT_MS
    envelope = {
        "steward": {
            "v": 1,
            "request_id": uuid.uuid4().hex,
            "deadline_ms": deadline_ms,
            "principal": SYSTEM_PRINCIPAL,
            "delegation": None,
        },
        "message": {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
    }
    try:
        response = invoker.invoke(server, envelope, deadline_ms=deadline_ms)
    except InvocationError as exc:
        raise RegistrationError(f"could not list the tools of {server.name}: {exc.message}") from exc
    result = response.get("result")
    tools = result.get("tools") if isinstance(result, dict) else None
    if not isinstance(tools, list) or not all(isinstance(t, dict) and isinstance(t.get("name"), str) for t in tools):
        raise RegistrationError(f"{server.name} answered tools/list with a malformed result")
    return tools


def register_internal_server(
    registry: Registry,
    invoker: ToolInvoker,
    *,
    name: str,
    function_name: str,
    function_timeout_s: int,
    logical_id: str | None = None,
    aliases: dict[str, str] | None = None,
    status: ToolStatus = ToolStatus.PENDING,
) -> list[ToolRecord]:
    """Discover and record a server's tools under ``<server>__<tool>`` names.

    Raises:
        RegistrationError: the server could not be listed, or a tool name breaks the naming rules.
        InvalidNameError: the server name breaks the naming rules.
    """
    server = ServerRecord(
        name=check_server_name(name),
        kind=ServerKind.INTERNAL,
        function_name=function_name,
        function_timeout_s=function_timeout_s,
        logical_id=logical_id,
    )
    aliases = aliases or {}
    records = []
    for definition in discover_tools(invoker, server):
        upstream = definition["name"]
        if UPSTREAM_NAME.fullmatch(upstream) is None:
            raise RegistrationError(f"{name} lists a tool with an invalid name: {upstream[:80]!r}")
        records.append(
            ToolRecord(
                exposed_name=exposed_name(server.name, upstream, aliases.get(upstream)),
                upstream_name=upstream,
                server=server.name,
                definition=definition,
                status=status,
            )
        )
    registry.put_server(server, records)
    return records
