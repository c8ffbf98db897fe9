"""What every admin operation needs: the stores, the clock, who is acting and the audit writer
(:class:`AdminPorts`), and how it refuses (:class:`AdminRefusedError`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from mcp_steward.domain.grants import SubjectKind
from mcp_steward.domain.identity import valid_entity_name
from mcp_steward.domain.keys import KeyRecord
from mcp_steward.domain.known import UnknownName
from mcp_steward.domain.ports import BudgetLimits, GrantStore, Registry, ToolInvoker, VersionResolver
from mcp_steward.domain.registry import ServerRecord


class AdminRefusedError(Exception):
    """An admin operation refused its input or the state it found: nothing changed.

    ``exit_code`` is what the CLI exits with (2: refused input, as for a usage error); the message is shown as is.
    """

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class AdminConflictError(AdminRefusedError):
    """The plane changed under the operation (a principal created in another team meanwhile): exit 1."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=1)


class Directory(Protocol):
    """Principals, teams and keys (the key store)."""

    def members(self) -> dict[str, str]: ...

    def teams(self) -> list[tuple[str, int]]: ...

    def ensure_principal(self, principal: str, team: str) -> str: ...

    def principal(self, name: str) -> str | None: ...

    def put(self, record: KeyRecord) -> None: ...

    def revoke(self, key_id: str) -> bool: ...


class AuditSink(Protocol):
    """Writes one admin audit record after a change (``Target.record_admin``): ``detail`` holds small, value-free
    facts, never a token, digest or secret."""

    def __call__(
        self,
        action: str,
        detail: dict[str, Any],
        *,
        team: str | None = None,
        principal: str | None = None,
        tool: str | None = None,
    ) -> object: ...


def _unknown_versions(server: ServerRecord) -> str | None:
    return None


@dataclass
class AdminPorts:
    """The ports an admin operation acts through. The CLI builds one from its ``Target``; ``steward apply``, the
    local plane's seed and tests build theirs."""

    keys: Directory
    registry: Registry
    grants: GrantStore
    budgets: BudgetLimits
    audit: AuditSink
    #: Who is acting, asked before the first change so that a failure to tell (no credentials) changes nothing.
    #: None: the caller asked already, or there is no one to ask (the seed).
    actor: Callable[[], str] | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    #: Lists servers' tools (internal servers through their functions, vendors through the egress function).
    invoker: ToolInvoker | None = None
    #: The current published version of a server's function (pinned at approval, compared at sync).
    versions: VersionResolver = _unknown_versions
    #: Where this plane's vendor credentials must live (``<stack>/vendor/``).
    vendor_secret_prefix: str = ""

    def acting(self) -> str:
        """Who is acting, asked before any change (its failure propagates, nothing changed); ``unknown`` when
        there is no one to ask."""
        return self.actor() if self.actor is not None else "unknown"

    def tool_invoker(self) -> ToolInvoker:
        if self.invoker is None:
            raise AdminRefusedError("this plane cannot list servers' tools (no invoker)", exit_code=1)
        return self.invoker


def entity(value: str, what: str) -> str:
    """A team or principal name, refused unless it follows the naming rule."""
    if not valid_entity_name(value):
        raise AdminRefusedError(f"{what} {value!r} must match ^[a-z0-9][a-z0-9._-]{{0,63}}$")
    return value


#: What a refusal of an unknown name adds: where the names are listed, and what admits an OIDC-only one.
LISTED_IN = {
    SubjectKind.PRINCIPAL: "see 'steward teams list'; --allow-unknown admits a principal only an OIDC issuer knows",
    SubjectKind.TEAM: "see 'steward teams list'; --allow-unknown admits a team only an OIDC issuer knows",
    SubjectKind.SERVER: "see 'steward servers list'",
    "tool": "see 'steward tools list'",
    "prompt": "see 'steward prompts list'",
    "resource": "see 'steward resources list'",
}


def refuse_unknown(missing: UnknownName, what: str = "") -> AdminRefusedError:
    """The refusal of a name the plane does not hold, with the closest name it does and where to look."""
    prefix = f"{what}: " if what else ""
    return AdminRefusedError(f"{prefix}{missing.message()}; {LISTED_IN[missing.kind]}")


def teams(ports: AdminPorts) -> set[str]:
    """Every team: a team item, or the team of a principal (one scan of the keys table)."""
    return {team for team, _ in ports.keys.teams()}
