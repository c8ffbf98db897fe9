"""Registered servers and what they expose (tools, prompts, resources, resource templates), as governance sees them.

Every primitive a model reads has one registry lifecycle (scanned, approved and pinned, re-listed, quarantined on
change): each is a :class:`ToolRecord` (the name stayed from when there were only tools). Its registry id,
``exposed_name``, tells the primitive apart without a schema change: a tool's id is its exposed name as before
(``<server>__<tool>``, never containing ``:``); the others carry a prefix: ``prompt:<exposed prompt name>``,
``resource:<exposed URI>`` and ``template:<exposed URI template>``. The id is what the store keys, the ledger and
the audit record, and grants name (docs/design.md section 4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from mcp_steward.domain.money import Micros
from mcp_steward.domain.names import ExposedName, ServerName
from mcp_steward.domain.pinning import definition_hash
from mcp_steward.domain.pricing import Price


class Primitive(StrEnum):
    """What a registry entry is. Resource templates are granted as resources (their family)."""

    TOOL = "tool"
    PROMPT = "prompt"
    RESOURCE = "resource"
    RESOURCE_TEMPLATE = "template"

    @property
    def noun(self) -> str:
        """What a person calls it in a message: a template is read as a resource."""
        return self.family.value

    @property
    def family(self) -> Primitive:
        """The primitive grants name: a template is read as a resource."""
        return Primitive.RESOURCE if self is Primitive.RESOURCE_TEMPLATE else self


def entry_id(kind: Primitive, exposed: str) -> ExposedName:
    """The registry id of an exposed primitive (the module docstring)."""
    return ExposedName(exposed if kind is Primitive.TOOL else f"{kind.value}:{exposed}")


def split_entry_id(entry: str) -> tuple[Primitive, str]:
    """The primitive and exposed name (or URI) of a registry id."""
    head, sep, rest = entry.partition(":")
    if sep and head in _PREFIXED:
        return Primitive(head), rest
    return Primitive.TOOL, entry


_PREFIXED = frozenset({Primitive.PROMPT.value, Primitive.RESOURCE.value, Primitive.RESOURCE_TEMPLATE.value})


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
    #: Whether the server's names are exposed under its own namespace (``<server>__<name>``,
    #: ``steward://<server>/<uri>``). Only an admin's explicit choice exposes them unprefixed (the conformance
    #: fixtures do); registration then refuses a name that another server's would collide with.
    namespaced: bool = True
    #: The optional server capabilities it declared and governance relies on (``completions``), as last listed.
    capabilities: frozenset[str] = frozenset()


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

    @property
    def kind(self) -> Primitive:
        return split_entry_id(self.exposed_name)[0]

    @property
    def public_name(self) -> str:
        """What a client names it by: the exposed tool or prompt name, the exposed URI or URI template."""
        return split_entry_id(self.exposed_name)[1]

    def listing(self) -> dict[str, Any]:
        """The definition a client sees: the upstream one under the exposed name (or URI, or URI template)."""
        kind, public = split_entry_id(self.exposed_name)
        if kind is Primitive.RESOURCE:
            return {**self.definition, "uri": public}
        if kind is Primitive.RESOURCE_TEMPLATE:
            return {**self.definition, "uriTemplate": public}
        return {**self.definition, "name": public}


@dataclass(frozen=True, slots=True)
class Catalog:
    """A consistent snapshot of the registry: servers by name; tools by exposed name, and the other primitives
    by their public name (exposed prompt name, URI, URI template), each sorted (pagination relies on it)."""

    servers: dict[ServerName, ServerRecord]
    tools: dict[ExposedName, ToolRecord]
    prompts: dict[str, ToolRecord] = field(default_factory=dict)
    resources: dict[str, ToolRecord] = field(default_factory=dict)
    templates: dict[str, ToolRecord] = field(default_factory=dict)

    @classmethod
    def build(cls, servers: list[ServerRecord], tools: list[ToolRecord]) -> Catalog:
        """Index the records by primitive, each in exposed-name order, which pagination relies on."""
        by_kind: dict[Primitive, dict[str, ToolRecord]] = {kind: {} for kind in Primitive}
        for record in sorted(tools, key=lambda tool: tool.exposed_name):
            by_kind[record.kind][record.public_name] = record
        return cls(
            servers={server.name: server for server in servers},
            tools={ExposedName(name): record for name, record in by_kind[Primitive.TOOL].items()},
            prompts=by_kind[Primitive.PROMPT],
            resources=by_kind[Primitive.RESOURCE],
            templates=by_kind[Primitive.RESOURCE_TEMPLATE],
        )

    def entries(self, kind: Primitive) -> dict[str, ToolRecord]:
        """The entries of one primitive by public name."""
        match kind:
            case Primitive.TOOL:
                # ExposedName is str at run time: the same dict, not a copy per tools/list
                return cast("dict[str, ToolRecord]", self.tools)
            case Primitive.PROMPT:
                return self.prompts
            case Primitive.RESOURCE:
                return self.resources
            case Primitive.RESOURCE_TEMPLATE:
                return self.templates

    def entry(self, entry: str) -> ToolRecord | None:
        """An entry by registry id."""
        kind, public = split_entry_id(entry)
        return self.entries(kind).get(public)
