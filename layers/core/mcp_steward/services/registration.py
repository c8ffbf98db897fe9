"""Registering a server (internal or vendor): list what it exposes (tools, prompts, resources, resource templates:
:mod:`mcp_steward.services.listing`), scan each, and record them with their hashes.

Every definition is scanned before a model can see it (``pending`` when clean or suspicious, ``rejected`` when
malicious). Registering a server again keeps what was decided about unchanged entries (status, pins, prices); a
changed approved entry goes to quarantine, as a sync would put it. Every primitive has this one lifecycle
(:func:`reconcile`); its registry id says which it is (:mod:`mcp_steward.domain.registry`).

Exposed ids are owned by one server: registration refuses a server any of whose ids another server already exposes
(only a server exposed unprefixed, ``namespaced=False``, can meet another's names), so no server shadows another's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from mcp_steward.domain.egress_policy import (
    DEFAULT_AUTH_HEADER,
    AuthHeader,
    EgressPolicy,
    EgressRefusedError,
    check_secret_id,
    check_url,
    normalize_host,
)
from mcp_steward.domain.names import (
    EXPOSED_NAME,
    SEPARATOR,
    UPSTREAM_NAME,
    ExposedName,
    InvalidNameError,
    ServerName,
    check_server_name,
    exposed_name,
    exposed_prompt_name,
    exposed_uri,
)
from mcp_steward.domain.pinning import PinningError, definition_hash
from mcp_steward.domain.ports import Registry, ToolInvoker, VersionResolver, VersionUnavailableError
from mcp_steward.domain.registry import (
    Catalog,
    Primitive,
    ServerKind,
    ServerRecord,
    ToolRecord,
    ToolStatus,
    entry_id,
)
from mcp_steward.domain.scanning import scan_tool
from mcp_steward.services import listing as listings
from mcp_steward.services.listing import (
    DISCOVERY_TIMEOUT_MS,
    MAX_ENTRIES_PER_SERVER,
    MAX_ERROR_CHARS,
    SYSTEM_PRINCIPAL,
    Listing,
    ListingError,
    upstream_of,
)

__all__ = [
    "DISCOVERY_TIMEOUT_MS",
    "MAX_ENTRIES_PER_SERVER",
    "MAX_ERROR_CHARS",
    "SYSTEM_PRINCIPAL",
    "Registration",
    "RegistrationError",
    "Transition",
    "approve",
    "discover_tools",
    "list_server",
    "reconcile",
    "register_internal_server",
    "register_server",
    "vendor_server",
]


class RegistrationError(Exception):
    """A server could not be registered; the message says why. ``rule``: the egress rule that refused listing a
    vendor server's tools (``credential_origin``, ``host_not_allowed``...), for the audit; None otherwise."""

    def __init__(self, message: str, *, rule: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule


@dataclass(frozen=True, slots=True)
class Transition:
    """One entry's status change (``before`` is None for an entry seen for the first time), for the audit.
    ``tool`` is the entry's registry id (a tool's exposed name, ``prompt:...``, ``resource:...``)."""

    tool: str
    server: str
    before: str | None
    after: str
    reason: str

    def detail(self) -> dict[str, Any]:
        return {"server": self.server, "from": self.before, "to": self.after, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Registration:
    """What registering a server recorded: every entry it lists, and the listed entries it skipped (with why)."""

    records: list[ToolRecord]
    skipped: list[str] = field(default_factory=list)


def discover_tools(invoker: ToolInvoker, server: ServerRecord) -> list[dict[str, Any]]:
    """Ask the server's function (its version ``server.version`` when known) for its tools (``tools/list`` in
    the internal dialect).

    Raises:
        RegistrationError: the function could not be invoked or answered with a malformed result.
    """
    try:
        return listings.list_tools(invoker, server)
    except ListingError as exc:
        raise RegistrationError(str(exc), rule=exc.rule) from exc


def list_server(invoker: ToolInvoker, server: ServerRecord) -> Listing:
    """Everything the server exposes (:func:`mcp_steward.services.listing.list_server`).

    Raises:
        RegistrationError: a list failed, was malformed, or holds more entries than one server may expose.
    """
    try:
        return listings.list_server(invoker, server)
    except ListingError as exc:
        raise RegistrationError(str(exc), rule=exc.rule) from exc


def other_names(tools: Iterable[ToolRecord], listing: Iterable[dict[str, Any]], server: ServerName) -> set[str]:
    """Every registered exposed and upstream name, and the listing's names: what a tool may shadow."""
    names: set[str] = set()
    for tool in tools:
        names.update((tool.exposed_name, tool.upstream_name))
    for definition in listing:
        names.update((definition["name"], f"{server}__{definition['name']}"))
    return names


def _scan(definition: dict[str, Any], others: set[str], own: set[str]) -> tuple[str, tuple[dict[str, str], ...]]:
    result = scan_tool(definition, other_tool_names=tuple(sorted(others - own)))
    findings = tuple(
        {"rule": f.rule, "severity": str(f.severity), "path": f.path, "evidence": f.evidence} for f in result.findings
    )
    return str(result.verdict), findings


def reconcile(
    existing: ToolRecord | None,
    *,
    exposed: ExposedName,
    server: ServerName,
    definition: dict[str, Any],
    version: str | None,
    others: set[str],
    upstream: str | None = None,
) -> tuple[ToolRecord, Transition | None]:
    """The record of a listed entry (a tool, prompt, resource or resource template: ``exposed`` is its registry
    id, ``upstream`` its upstream name or URI, a tool's ``name`` by default) given what was recorded before, and its
    status change if any.

    A new tool is ``pending`` (``rejected`` when malicious). An approved tool whose definition no longer
    matches its pin, or whose server's code version is no longer the pinned one, is ``quarantined``, keeping
    the approved definition for the diff. A rejected tool whose definition changed and is no longer
    malicious is ``pending`` again. Everything else keeps its status; the listing resets the missing count.

    Raises:
        RegistrationError: the definition has no canonical form.
    """
    upstream = definition["name"] if upstream is None else upstream
    try:
        current = definition_hash(definition)
    except PinningError as exc:
        raise RegistrationError(f"{upstream}: {exc}") from exc
    verdict, findings = _scan(definition, others, {upstream, exposed, str(definition.get("name", ""))})
    malicious = verdict == "malicious"
    if existing is None:
        status = ToolStatus.REJECTED if malicious else ToolStatus.PENDING
        record = ToolRecord(
            exposed_name=exposed,
            upstream_name=upstream,
            server=server,
            definition=definition,
            status=status,
            current_hash=current,
            findings=findings,
            verdict=verdict,
        )
        return record, Transition(exposed, server, None, status.value, "scan_malicious" if malicious else "new")
    record = replace(
        existing, definition=definition, current_hash=current, findings=findings, verdict=verdict, missing_syncs=0
    )
    status, reason = existing.status, ""
    if status is ToolStatus.APPROVED:
        if current != existing.pinned_hash:
            status, reason = ToolStatus.QUARANTINED, "definition_changed"
        elif version is not None and version != existing.pinned_version:
            status, reason = ToolStatus.QUARANTINED, "code_changed"
        if status is ToolStatus.QUARANTINED:
            record = replace(record, status=status, previous_definition=existing.definition)
    elif status is ToolStatus.PENDING and malicious:
        status, reason = ToolStatus.REJECTED, "scan_malicious"
        record = replace(record, status=status)
    elif status is ToolStatus.REJECTED and current != existing.current_hash and not malicious:
        status, reason = ToolStatus.PENDING, "definition_changed"
        record = replace(record, status=status)
    if status is existing.status:
        return record, None
    return record, Transition(exposed, server, existing.status.value, status.value, reason)


def approve(tool: ToolRecord, server: ServerRecord) -> ToolRecord:
    """The tool approved: its current definition and the server's code version pinned.

    Raises:
        RegistrationError: an internal server without a known version: there would be no code to pin, and
            governance would invoke whatever is deployed.
    """
    if server.kind is ServerKind.INTERNAL and server.version is None:
        raise RegistrationError(f"{server.name} has no published version to pin: sync it first")
    return replace(
        tool,
        status=ToolStatus.APPROVED,
        pinned_hash=tool.current_hash,
        pinned_version=server.version,
        previous_definition=None,
    )


def register_internal_server(
    registry: Registry,
    invoker: ToolInvoker,
    *,
    name: str,
    function_name: str,
    function_timeout_s: int,
    versions: VersionResolver,
    logical_id: str | None = None,
    aliases: dict[str, str] | None = None,
    status: ToolStatus = ToolStatus.PENDING,
    namespaced: bool = True,
) -> list[ToolRecord]:
    """Register an internal server (its function) and what it exposes: :func:`register_server`."""
    server = ServerRecord(
        name=check_server_name(name),
        kind=ServerKind.INTERNAL,
        function_name=function_name,
        function_timeout_s=function_timeout_s,
        logical_id=logical_id,
        namespaced=namespaced,
    )
    return register_server(registry, invoker, server, versions=versions, aliases=aliases, status=status)


def vendor_server(
    name: str,
    *,
    url: str,
    allowed_hosts: Sequence[str] = (),
    secret_id: str | None = None,
    auth_header: str | None = None,
    secret_prefix: str,
) -> ServerRecord:
    """The record of a vendor server, checked as egress will check it (to fail fast; the egress function's
    check at call time is the one that counts). The URL's host is always allowed.

    Raises:
        RegistrationError: the URL, a host, the secret's name or the auth header breaks the egress rules.
        InvalidNameError: the server name breaks the naming rules.
    """
    checked = check_server_name(name)
    if auth_header is not None and secret_id is None:
        raise RegistrationError("--auth-header needs --secret (the credential it carries)")
    try:
        hosts = [normalize_host(urlsplit(url).hostname or "")]
        hosts += [h for h in (normalize_host(host) for host in allowed_hosts) if h not in hosts]
    except ValueError as exc:
        raise RegistrationError(f"{exc}") from None
    try:
        check_url(url, hosts, EgressPolicy())
        if secret_id is not None:
            check_secret_id(secret_id, secret_prefix)
            AuthHeader.parse(auth_header or DEFAULT_AUTH_HEADER)
    except EgressRefusedError as refusal:
        raise RegistrationError(f"{refusal.message} ({refusal.rule})") from None
    return ServerRecord(
        name=checked,
        kind=ServerKind.VENDOR,
        function_name="",
        function_timeout_s=0,
        url=url,
        allowed_hosts=tuple(hosts),
        secret_id=secret_id,
        auth_header=(auth_header or DEFAULT_AUTH_HEADER) if secret_id is not None else None,
    )


def exposed_entry(kind: Primitive, server: ServerRecord, upstream: str, alias: str | None = None) -> ExposedName:
    """The registry id an upstream entry of ``server`` is exposed under (namespaced per ``server.namespaced``).

    Raises:
        InvalidNameError: the name or URI cannot be exposed (too long, a character the rules refuse; a server
            exposed unprefixed may not use ``__`` in a tool or prompt name, nor the ``steward://`` scheme).
    """
    if kind is Primitive.TOOL:
        if UPSTREAM_NAME.fullmatch(upstream) is None:
            raise InvalidNameError(f"{server.name} lists a tool with an invalid name: {upstream[:80]!r}")
        if server.namespaced:
            return exposed_name(server.name, upstream, alias)
        name = alias if alias is not None else upstream
        if EXPOSED_NAME.fullmatch(name) is None or SEPARATOR in name:
            raise InvalidNameError(
                f"tool {name[:80]!r} of an unprefixed server must be at most 48 characters of [A-Za-z0-9_-] without "
                f"{SEPARATOR!r}; map it with --alias {upstream[:80]}=SHORTER_NAME"
            )
        return ExposedName(name)
    if kind is Primitive.PROMPT:
        return entry_id(kind, exposed_prompt_name(server.name, upstream, namespaced=server.namespaced))
    return entry_id(kind, exposed_uri(server.name, upstream, namespaced=server.namespaced))


@dataclass
class EntriesPlan:
    """What a listing means for a server's recorded entries (:func:`plan_entries`)."""

    records: list[ToolRecord] = field(default_factory=list)  # every listed entry, as it is to be recorded
    transitions: list[Transition] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    listed: set[ExposedName] = field(default_factory=set)


def plan_entries(
    catalog: Catalog,
    server: ServerRecord,
    listing: Listing,
    recorded: Sequence[ToolRecord],
    *,
    aliases: dict[str, str] | None = None,
    strict: bool,
) -> EntriesPlan:
    """Reconcile each listed definition with the server's ``recorded`` entries (one lifecycle for every primitive).

    An entry keeps its registry id unless an alias (tools) names another; a new id is a new entry to review.
    ``strict`` (registration): a tool whose name cannot be exposed, or an id another server exposes, refuses the
    whole listing; otherwise (sync) such an entry is skipped and reported. A prompt, resource or template whose name
    or URI cannot be exposed is always skipped and reported.

    Raises:
        RegistrationError: ``strict`` and a refusal above, or a definition without a canonical form.
    """
    aliases = aliases or {}
    existing = {(record.kind, record.upstream_name): record for record in recorded}
    owners = {
        ExposedName(record.exposed_name): record.server
        for kind in Primitive
        for record in catalog.entries(kind).values()
        if record.server != server.name
    }
    tools = [definition for kind, definition in listing.definitions if kind is Primitive.TOOL]
    others = other_names((t for t in catalog.tools.values() if t.server != server.name), tools, server.name)
    plan = EntriesPlan(skipped=list(listing.skipped))
    for kind, definition in listing.definitions:
        upstream = upstream_of(kind, definition)
        before = existing.get((kind, upstream))
        alias = aliases.get(upstream) if kind is Primitive.TOOL else None
        try:
            if before is not None and alias is None and _kept(before, server):
                exposed = before.exposed_name
            else:
                exposed = exposed_entry(kind, server, upstream, alias)
        except InvalidNameError as exc:
            if strict and kind is Primitive.TOOL:
                raise RegistrationError(str(exc)) from exc
            plan.skipped.append(f"{kind.value} {upstream[:128]!r}: {exc}")
            continue
        owner = owners.get(exposed)
        if exposed in plan.listed or owner is not None:
            why = f"{exposed} is already exposed by server {owner}" if owner else f"{exposed} is listed twice"
            if strict and owner is not None:
                raise RegistrationError(f"{server.name} cannot be registered: {why} (no server may shadow another's)")
            plan.skipped.append(f"{kind.value} {upstream[:128]!r}: {why}")
            continue
        if before is not None and before.exposed_name != exposed:
            before = None  # a new exposed name is a new entry to review
        record, transition = reconcile(
            before,
            exposed=exposed,
            server=server.name,
            definition=definition,
            version=server.version,
            others=others,
            upstream=upstream,
        )
        plan.listed.add(exposed)
        plan.records.append(record)
        if transition is not None:
            plan.transitions.append(transition)
    return plan


def _kept(before: ToolRecord, server: ServerRecord) -> bool:
    """Whether a recorded entry keeps its id: unless the server changed between namespaced and unprefixed."""
    namespaced = before.public_name.startswith((f"{server.name}{SEPARATOR}", f"steward://{server.name}/"))
    return namespaced == server.namespaced


def register_server(
    registry: Registry,
    invoker: ToolInvoker,
    server: ServerRecord,
    *,
    versions: VersionResolver,
    aliases: dict[str, str] | None = None,
    status: ToolStatus = ToolStatus.PENDING,
) -> list[ToolRecord]:
    """:func:`register`, returning the recorded entries only."""
    return register(registry, invoker, server, versions=versions, aliases=aliases, status=status).records


def register(
    registry: Registry,
    invoker: ToolInvoker,
    server: ServerRecord,
    *,
    versions: VersionResolver,
    aliases: dict[str, str] | None = None,
    status: ToolStatus = ToolStatus.PENDING,
) -> Registration:
    """Discover, scan and record what a server exposes: tools under ``<server>__<tool>``, prompts under
    ``prompt:<server>__<prompt>``, resources and templates under ``resource:``/``template:steward://<server>/...``
    (unprefixed names for a server that is not ``namespaced``).

    The function's current version is published (or found) first and everything is listed from that version, so
    what is reviewed is the code an approval pins.

    ``status=APPROVED`` (the demo seed) approves and pins every entry the scan does not reject. Entries of a
    primitive the server listed but no longer lists are removed; the listed ones keep their status, pins and
    prices unless changed. Every write is conditional on what was read: a concurrent change makes this raise,
    writing nothing.

    Raises:
        RegistrationError: no version could be published, the server could not be listed, a tool name breaks the
            naming rules, an exposed id is another server's, or there are more entries than one server may expose.
        ConcurrentChangeError: an entry of the server changed while it was being registered.
    """
    name = server.name
    catalog = registry.catalog()
    previous = catalog.servers.get(name)
    if previous is not None:  # registering again keeps what an admin set for the server
        server = replace(server, delegation=previous.delegation, capabilities=previous.capabilities)
    try:
        server = replace(server, version=versions(server))
    except VersionUnavailableError as exc:
        raise RegistrationError(str(exc)) from exc
    listing = list_server(invoker, server)
    if listing.capabilities is not None:
        server = replace(server, capabilities=listing.capabilities)
    recorded = registry.tools_of(server.name)
    plan = plan_entries(catalog, server, listing, recorded, aliases=aliases, strict=True)
    records = plan.records
    if status is ToolStatus.APPROVED:
        records = [record if record.status is ToolStatus.REJECTED else approve(record, server) for record in records]
    removed = [r for r in recorded if r.exposed_name not in plan.listed and r.kind in listing.listed]
    if len(records) > MAX_ENTRIES_PER_SERVER or len(records) + len(removed) >= 100:
        raise RegistrationError(listings.too_many(name, len(records)) + f" (and {len(removed)} to remove)")
    registry.put_server(server, records, removed)
    return Registration(records, plan.skipped)
