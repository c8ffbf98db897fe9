"""Builders shared by unit tests: an in-memory plane with a hand-written internal tool function."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mcp_steward.adapters.memory import InMemoryGrantStore, InMemoryKeyStore, InMemoryRegistry, InProcessInvoker
from mcp_steward.adapters.memory_budgets import InMemoryBudgetLedger
from mcp_steward.bootstrap import Ports
from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.identity import KeyId, PrincipalId, TeamName
from mcp_steward.domain.keys import KeyRecord, token_digest
from mcp_steward.domain.registry import ToolStatus
from mcp_steward.services.registration import register_internal_server
from mcp_steward.settings import Settings

ECHO_TOOLS = [
    {
        "name": "echo",
        "description": "Echo a message back.",
        "inputSchema": {
            "type": "object",
            "properties": {"message": {"type": "string", "examples": ["hi"]}},
            "required": ["message"],
            "additionalProperties": False,
        },
    },
    {"name": "boom", "description": "Always fails.", "inputSchema": {"type": "object"}},
]


def echo_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A minimal internal MCP server in the internal dialect, written by hand (no SDK)."""
    message = event["message"]
    if message["method"] == "tools/list":
        return {"jsonrpc": "2.0", "id": message["id"], "result": {"tools": ECHO_TOOLS}}
    params = message["params"]
    if params["name"] == "boom":
        raise RuntimeError("secret-ish internal detail")
    principal = event["steward"]["principal"]
    structured = {"message": params["arguments"].get("message"), "caller": principal["id"]}
    return {
        "jsonrpc": "2.0",
        "id": message["id"],
        "result": {"content": [{"type": "text", "text": str(structured)}], "structuredContent": structured},
    }


TOKENS = {"alice": "stw_alice_token", "bob": "stw_bob_token", "agent": "stw_agent_token"}


class Plane:
    """Ports wired in memory with two principals, one server ``demo`` and its tools."""

    def __init__(self) -> None:
        self.keys = InMemoryKeyStore()
        self.registry = InMemoryRegistry()
        self.grants = InMemoryGrantStore()
        self.invoker = InProcessInvoker({"steward-local-tool-demo": echo_handler})
        self.budgets = InMemoryBudgetLedger(self.grants, self.registry)
        now = datetime.now(UTC)
        for name, team, obo in (("alice", "finance", None), ("bob", "support", None), ("agent", "finance", "bob")):
            self.keys.put(
                KeyRecord(
                    key_id=KeyId(f"key_{name}"),
                    digest=token_digest(TOKENS[name]),
                    principal=PrincipalId(name),
                    team=TeamName(team),
                    roles=frozenset(),
                    obo=PrincipalId(obo) if obo else None,
                    created_at=now,
                )
            )
        register_internal_server(
            self.registry,
            self.invoker,
            name="demo",
            function_name="steward-local-tool-demo",
            function_timeout_s=10,
            versions=lambda _: "1",
            status=ToolStatus.APPROVED,
        )
        self.grants.add(Grant(SubjectKind.PRINCIPAL, "alice", "demo__*"))
        self.grants.add(Grant(SubjectKind.TEAM, "finance", "demo__echo"))

    def ports(self) -> Ports:
        return Ports(
            keys=self.keys, registry=self.registry, grants=self.grants, invoker=self.invoker, budgets=self.budgets
        )


def settings(**overrides: Any) -> Settings:
    """Settings naming every table (the in-memory ports ignore the names)."""
    fields: dict[str, Any] = {
        "identity_mode": "bearer",
        "keys_table": "keys",
        "registry_table": "registry",
        "grants_table": "grants",
        "budgets_table": "budgets",
        "ledger_table": "ledger",
        "audit_table": "audit",
        "local_plane": True,
    }
    fields.update(overrides)
    return Settings(**fields)
