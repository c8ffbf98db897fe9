"""Registering a server (internal or vendor): discover its tools, scan each, and record them with their hashes.

Every tool definition is scanned before a model can see it (``pending`` when clean or suspicious,
``rejected`` when malicious). Registering a server again keeps what was decided about unchanged tools
(status, pins, prices); a changed approved tool goes to quarantine, as a sync would put it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from mcp_steward.contracts import envelope
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
    UPSTREAM_NAME,
    ExposedName,
    InvalidNameError,
    ServerName,
    check_server_name,
    exposed_name,
)
from mcp_steward.domain.pinning import PinningError, definition_hash
from mcp_steward.domain.ports import InvocationError, Registry, ToolInvoker, VersionResolver, VersionUnavailableError
from mcp_steward.domain.registry import ServerKind, ServerRecord, ToolRecord, ToolStatus
from mcp_steward.domain.scanning import scan_tool
from mcp_steward.protocol.jsonrpc import is_utf8_json

#: The principal named in the envelope when the plane itself (not a person) lists a server's tools.
SYSTEM_PRINCIPAL = envelope.Principal("steward:registry", "steward")
DISCOVERY_TIMEOUT_MS = 30_000
#: Of a listing's error message (the egress's refusals say what to run: a ``put-vendor`` command line).
MAX_ERROR_CHARS = 600


class RegistrationError(Exception):
    """A server could not be registered; the message says why. ``rule``: the egress rule that refused listing a
    vendor server's tools (``credential_origin``, ``host_not_allowed``...), for the audit; None otherwise."""

    def __init__(self, message: str, *, rule: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule


@dataclass(frozen=True, slots=True)
class Transition:
    """One tool's status change (``before`` is None for a tool seen for the first time), for the audit."""

    tool: str
    server: str
    before: str | None
    after: str
    reason: str

    def detail(self) -> dict[str, Any]:
        return {"server": self.server, "from": self.before, "to": self.after, "reason": self.reason}


def discover_tools(invoker: ToolInvoker, server: ServerRecord) -> list[dict[str, Any]]:
    """Ask the server's function (its version ``server.version`` when known) for its tools (``tools/list`` in
    the internal dialect).

    Raises:
        RegistrationError: the function could not be invoked or answered with a malformed result.
    """
    deadline_ms = int(time.time() * 1000) + DISCOVERY_TIMEOUT_MS
    steward = envelope.StewardContext(uuid.uuid4().hex, deadline_ms, SYSTEM_PRINCIPAL)
    listing = envelope.tools_list(steward)
    try:
        response = invoker.invoke(server, listing, deadline_ms=deadline_ms, version=server.version)
    except InvocationError as exc:
        raise RegistrationError(f"could not list the tools of {server.name}: {exc.message}") from exc
    error = response.get("error")
    if isinstance(error, dict):
        message = str(error.get("message", ""))[:MAX_ERROR_CHARS]
        data = error.get("data")
        rule = data.get("rule") if isinstance(data, dict) and data.get("reason") == "egress_refused" else None
        rule = rule[:64] if isinstance(rule, str) and rule.isprintable() else None
        text = f"could not list the tools of {server.name}: {message or error.get('code')}"
        raise RegistrationError(text + (f" (egress rule {rule})" if rule else ""), rule=rule)
    result = response.get("result")
    tools = result.get("tools") if isinstance(result, dict) else None
    if (
        not isinstance(tools, list)
        or not all(isinstance(t, dict) and isinstance(t.get("name"), str) for t in tools)
        or not is_utf8_json(tools)  # a definition every tools/list would fail to write out
    ):
        raise RegistrationError(f"{server.name} answered tools/list with a malformed result")
    return tools


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
) -> tuple[ToolRecord, Transition | None]:
    """The record of a listed tool given what was recorded before, and its status change if any.

    A new tool is ``pending`` (``rejected`` when malicious). An approved tool whose definition no longer
    matches its pin, or whose server's code version is no longer the pinned one, is ``quarantined``, keeping
    the approved definition for the diff. A rejected tool whose definition changed and is no longer
    malicious is ``pending`` again. Everything else keeps its status; the listing resets the missing count.

    Raises:
        RegistrationError: the definition has no canonical form.
    """
    upstream = definition["name"]
    try:
        current = definition_hash(definition)
    except PinningError as exc:
        raise RegistrationError(f"{upstream}: {exc}") from exc
    verdict, findings = _scan(definition, others, {upstream, exposed})
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
) -> list[ToolRecord]:
    """Register an internal server (its function) and its tools: :func:`register_server`."""
    server = ServerRecord(
        name=check_server_name(name),
        kind=ServerKind.INTERNAL,
        function_name=function_name,
        function_timeout_s=function_timeout_s,
        logical_id=logical_id,
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


def register_server(
    registry: Registry,
    invoker: ToolInvoker,
    server: ServerRecord,
    *,
    versions: VersionResolver,
    aliases: dict[str, str] | None = None,
    status: ToolStatus = ToolStatus.PENDING,
) -> list[ToolRecord]:
    """Discover, scan and record a server's tools under ``<server>__<tool>`` names.

    The function's current version is published (or found) first and its tools are listed from that
    version, so what is reviewed is the code an approval pins.

    ``status=APPROVED`` (the demo seed) approves and pins every tool the scan does not reject. Tools the
    server no longer lists are removed; the listed ones keep their status, pins and prices unless changed.
    Every write is conditional on what was read: a concurrent change makes this raise, writing nothing.

    Raises:
        RegistrationError: no version could be published, the server could not be listed, or a tool name
            breaks the naming rules.
        ConcurrentChangeError: a tool of the server changed while it was being registered.
    """
    name = server.name
    previous = registry.catalog().servers.get(name)
    if previous is not None:  # registering again keeps what an admin set for the server
        server = replace(server, delegation=previous.delegation)
    try:
        server = replace(server, version=versions(server))
    except VersionUnavailableError as exc:
        raise RegistrationError(str(exc)) from exc
    version = server.version
    aliases = aliases or {}
    listing = discover_tools(invoker, server)
    recorded = registry.tools_of(server.name)
    existing = {tool.upstream_name: tool for tool in recorded}
    others = other_names(
        (t for t in registry.catalog().tools.values() if t.server != server.name), listing, server.name
    )
    records = []
    for definition in listing:
        upstream = definition["name"]
        if UPSTREAM_NAME.fullmatch(upstream) is None:
            raise RegistrationError(f"{name} lists a tool with an invalid name: {upstream[:80]!r}")
        before = existing.get(upstream)
        try:
            if upstream in aliases or before is None:
                exposed = exposed_name(server.name, upstream, aliases.get(upstream))
            else:
                exposed = before.exposed_name
        except InvalidNameError as exc:
            raise RegistrationError(str(exc)) from exc
        if before is not None and before.exposed_name != exposed:
            before = None  # a new exposed name is a new tool to review
        record, _ = reconcile(
            before, exposed=exposed, server=server.name, definition=definition, version=version, others=others
        )
        if status is ToolStatus.APPROVED and record.status is not ToolStatus.REJECTED:
            record = approve(record, server)
        records.append(record)
    kept = {record.exposed_name for record in records}
    registry.put_server(server, records, [tool for tool in recorded if tool.exposed_name not in kept])
    return records
