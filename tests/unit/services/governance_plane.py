"""An in-memory plane for prompts, resources, templates and completion (issue 12): three servers, entries of every
status, grants per primitive, a fake server that answers each internal-dialect method as a test says."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mcp_steward.adapters.memory import InMemoryGrantStore, InMemoryRegistry
from mcp_steward.adapters.memory_budgets import InMemoryBudgetLedger
from mcp_steward.domain.budgets import Owner, OwnerKind, period_of
from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.identity import Principal, PrincipalId, TeamName
from mcp_steward.domain.money import Micros
from mcp_steward.domain.names import ServerName
from mcp_steward.domain.pinning import definition_hash
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.registry import Primitive, ServerKind, ServerRecord, ToolRecord, ToolStatus, entry_id
from mcp_steward.services.calls import CallRequest, CallTool
from mcp_steward.services.completion import Completion
from mcp_steward.services.tools import ToolService

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
DEADLINE_MS = 4_102_444_800_000
ALICE = Principal(PrincipalId("alice"), TeamName("finance"))  # tools, prompts and resources of docs
BOB = Principal(PrincipalId("bob"), TeamName("support"))  # docs tools only
CAROL = Principal(PrincipalId("carol"), TeamName("treasury"))  # docs prompts only
AGENT = Principal(PrincipalId("agent"), TeamName("finance"), obo=PrincipalId("bob"))  # finance's grants, for bob
PRICE = Price(price=Micros(1_000_000), unit_price=Micros(100_000), max_units=5)

GREET = {
    "name": "greet",
    "description": "Greet someone.",
    "arguments": [{"name": "who", "required": True}, {"name": "lang"}],
}


def entry(
    kind: Primitive,
    public: str,
    upstream: str,
    definition: dict[str, Any],
    server: str = "docs",
    status: ToolStatus = ToolStatus.APPROVED,
    price: Price | None = None,
) -> ToolRecord:
    pin = definition_hash(definition) if status is ToolStatus.APPROVED else None
    return ToolRecord(
        entry_id(kind, public),
        upstream,
        ServerName(server),
        definition,
        status,
        price or Price(),
        pinned_hash=pin,
        pinned_version="7",
    )


def prompt(name: str, server: str = "docs", **kwargs: Any) -> ToolRecord:
    definition = {**GREET, "name": name}
    exposed = f"{server}__{name}" if server != "flat" else name
    return entry(Primitive.PROMPT, exposed, name, definition, server, **kwargs)


def resource(uri: str, server: str = "docs", **kwargs: Any) -> ToolRecord:
    exposed = f"steward://{server}/{uri}" if server != "flat" else uri
    definition = {"uri": uri, "name": uri.rsplit("/", 1)[-1], "mimeType": "text/markdown"}
    return entry(Primitive.RESOURCE, exposed, uri, definition, server, **kwargs)


def template(uri_template: str, server: str = "docs", **kwargs: Any) -> ToolRecord:
    exposed = f"steward://{server}/{uri_template}" if server != "flat" else uri_template
    definition = {"uriTemplate": uri_template, "name": "notes"}
    return entry(Primitive.RESOURCE_TEMPLATE, exposed, uri_template, definition, server, **kwargs)


Handler = Callable[[str, dict[str, Any]], dict[str, Any]]


def default_handler(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """A well-behaved server: a result per method."""
    if method == "prompts/get":
        who = params.get("arguments", {}).get("who", "")
        return {"result": {"messages": [{"role": "user", "content": {"type": "text", "text": f"Say hello to {who}"}}]}}
    if method == "resources/read":
        return {"result": {"contents": [{"uri": params["uri"], "mimeType": "text/markdown", "text": "# notes"}]}}
    if method == "tools/call":
        return {"result": {"content": [{"type": "text", "text": f"called {params['name']}"}]}}
    if method == "completion/complete":
        return {"result": {"completion": {"values": ["alpha", "beta"], "total": 2, "hasMore": False}}}
    return {"error": {"code": -32601, "message": "no"}}


@dataclass
class FakeServer:
    """Every server's function at once: answers ``handler(method, params)`` and records each envelope."""

    handler: Handler = default_handler
    calls: list[dict[str, Any]] = field(default_factory=list)
    raises: Exception | None = None

    def invoke(
        self, server: ServerRecord, envelope: dict[str, Any], *, deadline_ms: int, version: str | None = None
    ) -> dict[str, Any]:
        self.calls.append({"server": server.name, "version": version, **envelope})
        if self.raises is not None:
            raise self.raises
        message = envelope["message"]
        return {"jsonrpc": "2.0", "id": message["id"], **self.handler(message["method"], message["params"])}

    def methods(self) -> list[str]:
        return [call["message"]["method"] for call in self.calls]


@dataclass
class Plane:
    registry: InMemoryRegistry
    grants: InMemoryGrantStore
    budgets: InMemoryBudgetLedger
    server: FakeServer
    tools: ToolService
    call: CallTool
    complete: Completion
    counter: list[int] = field(default_factory=lambda: [0])

    def get(self, name: object, arguments: object = None, who: Principal = ALICE, **kw: Any) -> dict[str, Any]:
        return self._run(Primitive.PROMPT, name, arguments, who, **kw)

    def read(self, uri: object, who: Principal = ALICE, **kw: Any) -> dict[str, Any]:
        return self._run(Primitive.RESOURCE, uri, None, who, **kw)

    def _run(self, kind: Primitive, name: object, arguments: object, who: Principal, **kw: Any) -> dict[str, Any]:
        self.counter[0] += 1
        request_id = kw.pop("request_id", f"req-{self.counter[0]}")
        return self.call(CallRequest(who, request_id, 1, name, arguments, DEADLINE_MS, kind=kind, **kw))

    def team_charged(self, team: str = "finance") -> int:
        budget = self.budgets.period_budget(Owner(OwnerKind.TEAM, team), period_of(NOW))
        if budget is None:
            return 0  # never reserved against
        assert budget.balanced
        return budget.charged


def catalog_entries() -> dict[str, list[ToolRecord]]:
    tool = entry(Primitive.TOOL, "docs__search", "search", {"name": "search", "inputSchema": {"type": "object"}})
    return {
        "docs": [
            tool,
            prompt("greet"),
            prompt("priced", price=PRICE),
            prompt("pending", status=ToolStatus.PENDING),
            prompt("off", status=ToolStatus.DISABLED),
            prompt("nope", status=ToolStatus.REJECTED),
            resource("file:///a.md"),
            resource("file:///priced.md", price=PRICE),
            resource("file:///pending.md", status=ToolStatus.QUARANTINED),
            resource("file:///off.md", status=ToolStatus.DISABLED),
            resource("file:///nope.md", status=ToolStatus.REJECTED),
            template("file:///notes/{id}.md"),
        ],
        "other": [
            prompt("greet", server="other"),
            resource("file:///b.md", server="other"),
            template("file:///notes/{id}.md", server="other"),
            template("file:///any/{+path}", server="other"),
        ],
        "flat": [
            prompt("flat_prompt", server="flat"),
            resource("test://static-text", server="flat"),
            template("test://template/{id}/data", server="flat"),
        ],
    }


def build(
    handler: Handler = default_handler,
    *,
    page_size: int = 100,
    capabilities: dict[str, frozenset[str]] | None = None,
    extra: dict[str, list[ToolRecord]] | None = None,
) -> Plane:
    registry, grants = InMemoryRegistry(), InMemoryGrantStore()
    caps = capabilities if capabilities is not None else {"docs": frozenset({"completions"})}
    entries = catalog_entries()
    for name, records in (extra or {}).items():
        entries.setdefault(name, []).extend(records)
    for name, records in entries.items():
        server = ServerRecord(
            ServerName(name),
            ServerKind.INTERNAL,
            f"fn-{name}",
            10,
            version="9",
            namespaced=name != "flat",
            capabilities=caps.get(name, frozenset()),
        )
        registry.put_server(server, records)
    for subject_kind, subject, pattern in (
        (SubjectKind.PRINCIPAL, "alice", "docs__*"),
        (SubjectKind.PRINCIPAL, "alice", "prompt:docs__*"),
        (SubjectKind.PRINCIPAL, "alice", "resource:docs__*"),
        (SubjectKind.PRINCIPAL, "alice", "prompt:flat__*"),
        (SubjectKind.PRINCIPAL, "alice", "resource:flat__*"),
        (SubjectKind.PRINCIPAL, "bob", "docs__*"),
        (SubjectKind.PRINCIPAL, "carol", "prompt:docs__*"),
        (SubjectKind.TEAM, "finance", "prompt:docs__greet"),
        (SubjectKind.TEAM, "finance", "resource:steward://docs/file:///a.md"),
    ):
        grants.add(Grant(subject_kind, subject, pattern))
    budgets = InMemoryBudgetLedger(grants, registry)
    budgets.set_limit(Owner(OwnerKind.TEAM, "finance"), "finance", Micros(10_000_000), period_of(NOW))
    fake = FakeServer(handler)
    teams = {"bob": "support", "alice": "finance", "carol": "treasury"}
    service = ToolService(registry, grants, page_size=page_size, team_of=teams.get)
    call = CallTool(service, budgets, fake, clock=lambda: NOW)
    return Plane(registry, grants, budgets, fake, service, call, Completion(service, fake))
