"""The ports the services depend on. Adapters implement them for DynamoDB, Lambda and in memory."""

from __future__ import annotations

from typing import Any, Protocol

from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.identity import Principal
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.registry import Catalog, ServerRecord, ToolRecord, ToolStatus


class KeyStore(Protocol):
    """API keys, stored as hashes only."""

    def resolve(self, token: str) -> Principal | None:
        """The principal a bearer token belongs to, or None when unknown, revoked or expired."""
        ...


class Registry(Protocol):
    def catalog(self) -> Catalog:
        """A snapshot of every server and tool."""
        ...

    def put_server(self, server: ServerRecord, tools: list[ToolRecord]) -> None:
        """Register (or replace) a server and its tools in one step."""
        ...

    def set_status(self, tool: ToolRecord, status: ToolStatus) -> None:
        """Change one tool's review status."""
        ...

    def set_price(self, tool: ToolRecord, price: Price) -> None:
        """Change one tool's price (takes effect for new calls within the cache's staleness)."""
        ...


class GrantStore(Protocol):
    def grants_for(self, subjects: list[tuple[SubjectKind, str]]) -> list[Grant]:
        """Every grant held by any of the subjects."""
        ...

    def add(self, grant: Grant) -> None: ...

    def remove(self, grant: Grant) -> bool:
        """Returns False when there was no such grant."""
        ...

    def all(self) -> list[Grant]: ...


class InvocationError(Exception):
    """A tool function could not produce a usable answer. ``reason`` is stable; the message is for people."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class ToolInvoker(Protocol):
    def invoke(self, server: ServerRecord, envelope: dict[str, Any], *, deadline_ms: int) -> dict[str, Any]:
        """Send the invocation envelope to the server's function once; return its JSON-RPC response.

        Raises:
            InvocationError: timeout, function error, oversized or malformed payload, or unknown function.
        """
        ...


class StoreUnavailableError(Exception):
    """A store could not answer. Callers fail closed: the request is refused, never allowed by default."""
