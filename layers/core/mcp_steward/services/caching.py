"""Per-sandbox caches with a stated staleness (docs/design.md section 4: at most 5 seconds)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Final

from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.identity import Principal
from mcp_steward.domain.names import ServerName
from mcp_steward.domain.ports import GrantStore, KeyStore, Registry
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.registry import Catalog, DelegationPolicy, ServerRecord, ToolRecord, ToolStatus

DEFAULT_TTL_S: Final = 5.0


class TtlCache[K: Hashable, V]:
    """A small thread-safe map whose entries expire ``ttl_s`` after they were loaded."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic, max_entries: int = 10_000) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._max = max_entries
        self._entries: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K, load: Callable[[], V]) -> V:
        now = self._clock()
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        with self._lock:
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[key] = (now + self._ttl_s, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class CachedRegistry:
    """The registry's catalog, reloaded at most every ``ttl_s`` seconds."""

    def __init__(self, inner: Registry, ttl_s: float = DEFAULT_TTL_S, clock: Callable[[], float] = time.monotonic):
        self._inner = inner
        self._cache: TtlCache[str, Catalog] = TtlCache(ttl_s, clock)

    def catalog(self) -> Catalog:
        return self._cache.get("catalog", self._inner.catalog)

    def put_server(self, server: ServerRecord, tools: Sequence[ToolRecord], removed: Sequence[ToolRecord] = ()) -> None:
        self._inner.put_server(server, tools, removed)
        self._cache.clear()

    def tools_of(self, server: ServerName) -> list[ToolRecord]:
        return self._inner.tools_of(server)

    def put_tool(self, tool: ToolRecord) -> None:
        self._inner.put_tool(tool)
        self._cache.clear()

    def set_delegation(self, server: ServerName, policy: DelegationPolicy) -> None:
        self._inner.set_delegation(server, policy)
        self._cache.clear()

    def set_status(self, tool: ToolRecord, status: ToolStatus) -> None:
        self._inner.set_status(tool, status)
        self._cache.clear()

    def set_price(self, tool: ToolRecord, price: Price) -> None:
        self._inner.set_price(tool, price)
        self._cache.clear()


class CachedGrants:
    def __init__(self, inner: GrantStore, ttl_s: float = DEFAULT_TTL_S, clock: Callable[[], float] = time.monotonic):
        self._inner = inner
        self._cache: TtlCache[tuple[tuple[SubjectKind, str], ...], list[Grant]] = TtlCache(ttl_s, clock)

    def grants_for(self, subjects: list[tuple[SubjectKind, str]]) -> list[Grant]:
        key = tuple(subjects)
        return self._cache.get(key, lambda: self._inner.grants_for(subjects))

    def add(self, grant: Grant) -> None:
        self._inner.add(grant)
        self._cache.clear()

    def remove(self, grant: Grant) -> bool:
        found = self._inner.remove(grant)
        self._cache.clear()
        return found

    def all(self) -> list[Grant]:
        return self._inner.all()


class CachedKeys:
    """Bearer tokens resolved through the keys table, cached in process (stated staleness as above)."""

    def __init__(self, inner: KeyStore, ttl_s: float = DEFAULT_TTL_S, clock: Callable[[], float] = time.monotonic):
        self._inner = inner
        self._cache: TtlCache[str, Principal | None] = TtlCache(ttl_s, clock)

    def principal_team(self, name: str) -> str | None:
        return self._inner.principal_team(name)

    def resolve(self, token: str) -> Principal | None:
        # Keyed by the token's digest, so the cache never holds a token as a key.
        digest = hashlib.sha256(token.encode()).hexdigest()
        return self._cache.get(digest, lambda: self._inner.resolve(token))
