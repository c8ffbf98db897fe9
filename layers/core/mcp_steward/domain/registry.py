"""Registered servers and their tools, as governance sees them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from mcp_steward.domain.money import Micros
from mcp_steward.domain.names import ExposedName, ServerName
from mcp_steward.domain.pinning import definition_hash
from mcp_steward.domain.pricing import Price


class ServerKind(StrEnum):
    INTERNAL = "internal"
    VENDOR = "vendor"


class ToolStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    QUARANTINED = "quarantined"
    DISABLED = "disabled"
    REJECTED = "rejected"


class DelegationMode(StrEnum):
    """Whose grants a server's nested calls need: the server's own (it acts as a service account), or the
    server's and the person's both (``intersect``)."""

    SERVICE = "service"
    INTERSECT = "intersect"


@dataclass(frozen=True, slots=True)
class DelegationPolicy:
    """What one invocation of an internal server may spend on nested calls (docs/design.md section 5): at most
    ``calls`` calls and ``credit`` micro-credits of their reservations. ``calls == 0``: it may make none, and
    governance gives it no delegation token."""

    calls: int = 0
    credit: Micros = Micros(0)  # noqa: RUF009 - an int subtype: immutable
    mode: DelegationMode = DelegationMode.SERVICE

    @property
    def enabled(self) -> bool:
        return self.calls > 0


NO_DELEGATION = DelegationPolicy()
#: One invocation's nested calls: each holds Lambda concurrency (docs/quotas.md), so a sane bound.
MAX_NESTED_CALLS = 100


@dataclass(frozen=True, slots=True)
class ServerRecord:
    """An internal server: a Lambda function (``function_name``, its timeout) behind a template logical ID.
    A vendor server: an MCP endpoint (``url``) reached through the egress function only, with the hosts it may
    use and its credential by reference (``secret_id``, placed per ``auth_header``); it has no function and
    no code version (``function_name`` is ``""``)."""

    name: ServerName
    kind: ServerKind
    function_name: str
    function_timeout_s: int
    logical_id: str | None = None
    #: The function's published version as last resolved (registration or sync): ``"1"``, ``"2"``, …
    version: str | None = None
    #: Vendor servers: the MCP endpoint (https).
    url: str | None = None
    #: Vendor servers: the hosts egress may connect to for this vendor (the URL's host among them).
    allowed_hosts: tuple[str, ...] = ()
    #: Vendor servers: the Secrets Manager id of the credential (under ``<stack>/vendor/``), never its value.
    secret_id: str | None = None
    #: Vendor servers: the header the credential is sent in, ``Name: ...{secret}...``.
    auth_header: str | None = None
    #: Internal servers: the nested calls one invocation may make through nested governance.
    delegation: DelegationPolicy = NO_DELEGATION


@dataclass(frozen=True, slots=True)
class Rejection:
    """An admin's rejection of a tool (``steward tools reject``): who (the identity the audit records), when
    (UTC), and the definition hash rejected. It speaks for the tool only while the tool is rejected at that
    hash: a later rejection by the scan (a changed, malicious definition) is the scan's."""

    by: str
    at: datetime
    hash: str


@dataclass(frozen=True, slots=True)
class ToolRecord:
    """A tool as registered: the upstream definition with its exposed name and its review status."""

    exposed_name: ExposedName
    upstream_name: str
    server: ServerName
    definition: dict[str, Any]
    status: ToolStatus
    price: Price = field(default_factory=Price)
    #: The hash approval pinned (``None`` until approved); the reserve transaction requires it unchanged.
    pinned_hash: str | None = None
    #: The hash of ``definition`` (the definition as last listed); computed when not given.
    current_hash: str = ""
    #: The server's code version approval pinned.
    pinned_version: str | None = None
    #: Scan findings of the current definition: ``{"rule", "severity", "path", "evidence"}`` each.
    findings: tuple[dict[str, str], ...] = ()
    #: The scanner's verdict on the current definition: ``clean``, ``suspicious`` or ``malicious``.
    verdict: str = "clean"
    #: Successful, non-empty listings in a row that did not list this tool.
    missing_syncs: int = 0
    #: The approved definition, kept while a change holds the tool in quarantine (for the diff).
    previous_definition: dict[str, Any] | None = None
    #: Who rejected the tool, when an admin did (``steward tools reset`` clears it).
    rejection: Rejection | None = None
    #: How many times the stored record was written (0: not read from the store). Writing a record read
    #: from the store succeeds only while the stored revision is still this one, so a sync and an approval
    #: that overlap cannot silently undo each other (:class:`~mcp_steward.domain.ports.ConcurrentChangeError`).
    revision: int = 0

    def __post_init__(self) -> None:
        if not self.current_hash:
            object.__setattr__(self, "current_hash", definition_hash(self.definition))

    def listing(self) -> dict[str, Any]:
        """The definition a client sees: the upstream one under the exposed name."""
        return {**self.definition, "name": self.exposed_name}


@dataclass(frozen=True, slots=True)
class Catalog:
    """A consistent snapshot of the registry: servers by name, tools by exposed name (sorted)."""

    servers: dict[ServerName, ServerRecord]
    tools: dict[ExposedName, ToolRecord]

    @classmethod
    def build(cls, servers: list[ServerRecord], tools: list[ToolRecord]) -> Catalog:
        """Index the records; tools in exposed-name order, which pagination relies on."""
        return cls(
            servers={server.name: server for server in servers},
            tools={tool.exposed_name: tool for tool in sorted(tools, key=lambda tool: tool.exposed_name)},
        )
