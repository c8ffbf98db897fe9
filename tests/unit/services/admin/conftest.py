"""An in-memory plane for the admin services: the memory fakes, a fixed clock, an actor and the audit kept."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from mcp_steward.adapters.memory import InMemoryGrantStore, InMemoryKeyStore, InMemoryRegistry, InProcessInvoker
from mcp_steward.adapters.memory_budgets import InMemoryBudgetLedger
from mcp_steward.domain.registry import ServerRecord
from mcp_steward.services.admin import AdminPorts
from mcp_steward.services.registration import register_internal_server

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ADD = {"name": "add", "description": "Adds two numbers.", "inputSchema": {"type": "object"}}
MUL = {"name": "mul", "description": "Multiplies two numbers.", "inputSchema": {"type": "object"}}


def calc(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A tool function that answers ``tools/list`` only."""
    return {"jsonrpc": "2.0", "id": event["message"]["id"], "result": {"tools": [ADD, MUL]}}


def version(server: ServerRecord) -> str | None:
    return "7"


@dataclass
class Plane:
    keys: InMemoryKeyStore = field(default_factory=lambda: InMemoryKeyStore(clock=lambda: NOW))
    registry: InMemoryRegistry = field(default_factory=InMemoryRegistry)
    grants: InMemoryGrantStore = field(default_factory=InMemoryGrantStore)
    audit: list[tuple[str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    invoker: InProcessInvoker = field(default_factory=lambda: InProcessInvoker({"fn-calc": calc}))

    def __post_init__(self) -> None:
        self.budgets = InMemoryBudgetLedger(self.grants, self.registry)
        self.ports = AdminPorts(
            keys=self.keys,
            registry=self.registry,
            grants=self.grants,
            budgets=self.budgets,
            audit=self.record,
            actor=lambda: "local:admin",
            clock=lambda: NOW,
            invoker=self.invoker,
            versions=version,
        )

    def record(
        self,
        action: str,
        detail: dict[str, Any],
        *,
        team: str | None = None,
        principal: str | None = None,
        tool: str | None = None,
    ) -> None:
        self.audit.append((action, detail, {"team": team, "principal": principal, "tool": tool}))

    def snapshot(self) -> Any:
        return (
            self.keys.members(),
            self.keys.records(),
            self.registry.catalog(),
            sorted(self.grants.all(), key=repr),
            self.budgets.limits(),
            self.budgets.rate_limits(),
            len(self.audit),
        )


@pytest.fixture
def plane() -> Plane:
    return Plane()


@pytest.fixture
def calc_plane(plane: Plane) -> Plane:
    """``alice`` in ``finance`` and the server ``calc`` (``calc__add``, ``calc__mul``, pending) registered."""
    plane.keys.ensure_principal("alice", "finance")
    register_internal_server(
        plane.registry,
        plane.invoker,
        name="calc",
        function_name="fn-calc",
        function_timeout_s=10,
        versions=version,
        logical_id="CalcFunction",
    )
    return plane
