"""In-memory fakes of every port. They pass the same contract tests as the DynamoDB adapters."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.identity import Principal
from mcp_steward.domain.keys import KeyRecord, token_digest
from mcp_steward.domain.names import ExposedName, ServerName
from mcp_steward.domain.ports import ConcurrentChangeError, InvocationError
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.registry import Catalog, DelegationPolicy, ServerRecord, ToolRecord, ToolStatus
from mcp_steward.protocol.jsonrpc import loads_unicode


class InMemoryKeyStore:
    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._by_digest: dict[str, KeyRecord] = {}
        self._clock = clock
        self._principals: dict[str, str] = {}  # principal → team
        self._teams: set[str] = set()

    def put(self, record: KeyRecord) -> None:
        if record.digest in self._by_digest:
            raise ValueError("a key with this token already exists")
        self._by_digest[record.digest] = record

    def resolve(self, token: str) -> Principal | None:
        record = self._by_digest.get(token_digest(token))
        if record is None or not record.usable_at(self._clock()):
            return None
        return record.principal_view()

    def records(self) -> list[KeyRecord]:
        return sorted(self._by_digest.values(), key=lambda record: record.key_id)

    def revoke(self, key_id: str) -> bool:
        for digest, record in self._by_digest.items():
            if record.key_id == key_id:
                self._by_digest[digest] = replace(record, revoked=True)
                return True
        return False

    # principals and teams: the same rules as DynamoDbKeyStore (keys without an entity name their team)

    def members(self) -> dict[str, str]:
        legacy: dict[str, str] = {}
        for record in sorted(self._by_digest.values(), key=lambda r: (r.created_at, r.key_id), reverse=True):
            legacy[record.principal] = record.team
        return {**legacy, **self._principals}

    def principal(self, name: str) -> str | None:
        return self.members().get(name)

    def principal_team(self, name: str) -> str | None:
        return self._principals.get(name)

    def ensure_principal(self, principal: str, team: str) -> str:
        existing = self.principal(principal)
        if existing is not None and existing != team:
            return existing
        self._principals.setdefault(principal, team)
        self._teams.add(team)
        return self._principals[principal]

    def teams(self) -> list[tuple[str, int]]:
        counts = dict.fromkeys(self._teams, 0)
        for team in self.members().values():
            counts[team] = counts.get(team, 0) + 1
        return sorted(counts.items())


class InMemoryRegistry:
    def __init__(self) -> None:
        self._servers: dict[ServerName, ServerRecord] = {}
        self._tools: dict[ServerName, list[ToolRecord]] = {}
        self._lock = threading.Lock()

    def catalog(self) -> Catalog:
        with self._lock:
            return Catalog.build(list(self._servers.values()), [t for ts in self._tools.values() for t in ts])

    def put_server(self, server: ServerRecord, tools: Sequence[ToolRecord], removed: Sequence[ToolRecord] = ()) -> None:
        with self._lock:
            stored = {t.exposed_name: t for t in self._tools.get(server.name, [])}
            for tool in [*tools, *removed]:
                self._check_revision_locked(stored, tool)
            for tool in removed:
                stored.pop(tool.exposed_name, None)
            for tool in tools:
                stored[tool.exposed_name] = replace(tool, revision=tool.revision + 1)
            self._servers[server.name] = server
            self._tools[server.name] = list(stored.values())

    @staticmethod
    def _check_revision_locked(stored: dict[ExposedName, ToolRecord], tool: ToolRecord) -> None:
        """The DynamoDB adapter's condition: a record read from the store (revision > 0) is still current."""
        current = stored.get(tool.exposed_name)
        if tool.revision and (current is None or current.revision != tool.revision):
            raise ConcurrentChangeError(f"{tool.exposed_name} changed since it was read")

    def tools_of(self, server: ServerName) -> list[ToolRecord]:
        with self._lock:
            return sorted(self._tools.get(server, []), key=lambda tool: tool.exposed_name)

    def put_tool(self, tool: ToolRecord) -> None:
        with self._lock:
            stored = {t.exposed_name: t for t in self._tools.get(tool.server, [])}
            self._check_revision_locked(stored, tool)
            stored[tool.exposed_name] = replace(tool, revision=tool.revision + 1)
            self._tools[tool.server] = list(stored.values())

    def set_delegation(self, server: ServerName, policy: DelegationPolicy) -> None:
        with self._lock:
            self._servers[server] = replace(self._servers[server], delegation=policy)

    def set_status(self, tool: ToolRecord, status: ToolStatus) -> None:
        self._update(tool, status=status)

    def set_price(self, tool: ToolRecord, price: Price) -> None:
        self._update(tool, price=price)

    def _update(self, tool: ToolRecord, **changes: Any) -> None:
        with self._lock:
            self._tools[tool.server] = [
                replace(t, **changes, revision=t.revision + 1) if t.exposed_name == tool.exposed_name else t
                for t in self._tools.get(tool.server, [])
            ]


class InMemoryGrantStore:
    def __init__(self, grants: list[Grant] | None = None) -> None:
        self._grants: set[Grant] = set(grants or [])

    def grants_for(self, subjects: list[tuple[SubjectKind, str]]) -> list[Grant]:
        wanted = set(subjects)
        return sorted((g for g in self._grants if (g.subject_kind, g.subject) in wanted), key=str)

    def add(self, grant: Grant) -> None:
        self._grants.add(grant)

    def remove(self, grant: Grant) -> bool:
        found = grant in self._grants
        self._grants.discard(grant)
        return found

    def all(self) -> list[Grant]:
        return sorted(self._grants, key=str)


type Handler = Callable[[dict[str, Any], Any], Any]


class InProcessInvoker:
    """Calls tool handlers in this process, with a JSON round trip as at the Lambda boundary.

    A handler registered as ``"<function>:<version>"`` serves that published version only; one registered
    under the bare function name serves every version (a fake that does not model versions).
    """

    def __init__(self, handlers: dict[str, Handler], context: Any = None) -> None:
        self._handlers = handlers
        self._context = context

    def invoke(
        self, server: ServerRecord, envelope: dict[str, Any], *, deadline_ms: int, version: str | None = None
    ) -> dict[str, Any]:
        handler = self._handlers.get(f"{server.function_name}:{version}") or self._handlers.get(server.function_name)
        if handler is None:
            raise InvocationError("function_not_found", f"The tool function of {server.name} does not exist.")
        try:
            answer = handler(json.loads(json.dumps(envelope)), self._context)
        except Exception as exc:
            raise InvocationError("function_error", f"The tool function of {server.name} failed.") from exc
        try:
            decoded = loads_unicode(json.dumps(answer))  # as the Lambda invoker reads a payload
        except (TypeError, ValueError):
            decoded = None
        if not isinstance(decoded, dict):
            raise InvocationError("malformed_response", f"The tool function of {server.name} answered garbage.")
        return decoded
