"""Invoking vendor servers: the egress function is their :class:`~mcp_steward.domain.ports.ToolInvoker`.

Governance never calls a vendor and never reads a vendor secret: it invokes the egress function once (Lambda
Invoke, no retries, the request's deadline) with the invocation envelope plus the vendor target (URL, allowed
hosts, the credential's secret id and header template: references, never values). The egress answers like a
tool function.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from mcp_steward.contracts.vendor_target import VendorTarget, with_target
from mcp_steward.domain.ports import InvocationError, ToolInvoker
from mcp_steward.domain.registry import ServerKind, ServerRecord


def vendor_target(server: ServerRecord) -> VendorTarget:
    """The vendor target of ``server`` (a vendor server: its ``url`` is set)."""
    return VendorTarget(server.name, server.url or "", server.allowed_hosts, server.secret_id, server.auth_header)


class EgressInvoker:
    """Vendor calls through the egress function, over an invoker of Lambda functions."""

    def __init__(self, functions: ToolInvoker, function_name: str, timeout_s: int) -> None:
        self._functions = functions
        self._function = function_name
        self._timeout_s = timeout_s

    def invoke(
        self, server: ServerRecord, envelope: dict[str, Any], *, deadline_ms: int, version: str | None = None
    ) -> dict[str, Any]:
        if server.kind is not ServerKind.VENDOR or not server.url:
            raise InvocationError("function_forbidden", f"{server.name} is not a vendor server.")
        egress = replace(server, function_name=self._function, function_timeout_s=self._timeout_s)
        event = with_target(envelope, vendor_target(server))
        return self._functions.invoke(egress, event, deadline_ms=deadline_ms)

    def close(self) -> None:
        _close(self._functions)


class RoutingInvoker:
    """Internal servers to their functions, vendor servers to the egress function (when there is one)."""

    def __init__(self, internal: ToolInvoker, vendor: ToolInvoker | None) -> None:
        self._internal = internal
        self._vendor = vendor

    def invoke(
        self, server: ServerRecord, envelope: dict[str, Any], *, deadline_ms: int, version: str | None = None
    ) -> dict[str, Any]:
        if server.kind is ServerKind.VENDOR:
            if self._vendor is None:
                raise InvocationError("function_not_found", "No egress function is configured for vendor servers.")
            return self._vendor.invoke(server, envelope, deadline_ms=deadline_ms)
        return self._internal.invoke(server, envelope, deadline_ms=deadline_ms, version=version)

    def close(self) -> None:
        """Close the invokers' clients (the plane's processes and tests end cleanly)."""
        _close(self._internal)
        _close(self._vendor)


def _close(invoker: object) -> None:
    close = getattr(invoker, "close", None)
    if callable(close):
        close()
