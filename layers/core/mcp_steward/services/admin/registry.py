"""Servers and their registry entries: ``steward servers add|delegation|sync``, ``steward tools|prompts|resources
approve|reject|reset|disable`` and the servers, delegation policies and approvals ``steward apply`` makes.

Every primitive has one lifecycle, so each entry operation is written once and takes the primitive (``family``) its
command administers; a resource command's name with ``{`` is a template's (:func:`~.pricing.kind_of`). Their audit
actions are the tools' (``tools.approve``...), the record's ``tool`` being the entry's registry id."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from mcp_steward.domain.approval import (
    approval_refusal,
    finding_rules,
    rejected_by,
    rejected_by_scan,
    rejection_refusal,
)
from mcp_steward.domain.names import SERVER_NAME, ServerName
from mcp_steward.domain.ports import ConcurrentChangeError
from mcp_steward.domain.registry import (
    MAX_NESTED_CALLS,
    DelegationPolicy,
    Primitive,
    Rejection,
    ServerKind,
    ServerRecord,
    ToolRecord,
    ToolStatus,
)
from mcp_steward.services.admin.ports import AdminPorts, AdminRefusedError
from mcp_steward.services.admin.pricing import COMMAND, known_entry
from mcp_steward.services.delegation_policy import set_delegation as _store_delegation
from mcp_steward.services.registration import (
    Registration,
    RegistrationError,
    approve,
    register,
    vendor_server,
)
from mcp_steward.services.sync import SyncReport, sync_server

# --- servers -------------------------------------------------------------------------------------------------


def _server_name(name: str) -> str:
    if SERVER_NAME.fullmatch(name) is None:
        raise AdminRefusedError(f"server name {name!r} must match ^[a-z][a-z0-9-]{{0,15}}$")
    return name


@dataclass(frozen=True, slots=True)
class InternalServer:
    """A server that is one of the plane's functions (its physical name and timeout, and its template ID)."""

    name: str
    function_name: str
    timeout_s: int
    logical_id: str
    aliases: Mapping[str, str] | None = None  # upstream tool name → exposed name
    #: False: names exposed unprefixed (an admin's explicit choice; registration refuses another server's names).
    namespaced: bool = True


@dataclass(frozen=True, slots=True)
class VendorServer:
    """A vendor's MCP server, reached through the egress function."""

    name: str
    url: str
    allowed_hosts: Sequence[str] = ()
    secret_id: str | None = None  # the credential's name, never its value
    auth_header: str | None = None
    aliases: Mapping[str, str] | None = None
    namespaced: bool = True


def _registered(registration: Registration, namespaced: bool) -> dict[str, Any]:
    """The audit detail of what a registration recorded: every entry's status by registry id, how many listed
    entries were skipped (their names are the server's text: not in the audit), and an unprefixed registration."""
    detail: dict[str, Any] = {"tools": {record.exposed_name: record.status.value for record in registration.records}}
    if registration.skipped:
        detail["skipped"] = len(registration.skipped)
    if not namespaced:
        detail["namespaced"] = False
    return detail


def add_server(ports: AdminPorts, server: InternalServer | VendorServer) -> Registration:
    """Register (or register again) a server and what it exposes (tools, prompts, resources, templates), scanned
    and recorded pending; audited as ``servers.add``. A vendor registration the egress refuses
    (``credential_origin`` or any other egress rule) changes nothing in the registry and is audited as
    ``servers.add_refused`` with the rule.

    Raises:
        AdminRefusedError: the name, or a vendor's URL, host, secret name or header, breaks the rules.
        RegistrationError: the server could not be listed (or the egress refused), or one of its exposed ids is
            another server's (nothing written).
    """
    _server_name(server.name)
    if isinstance(server, VendorServer):
        return _add_vendor(ports, server)
    invoker = ports.tool_invoker()
    ports.acting()
    record = ServerRecord(
        name=ServerName(server.name),
        kind=ServerKind.INTERNAL,
        function_name=server.function_name,
        function_timeout_s=server.timeout_s,
        logical_id=server.logical_id,
        namespaced=server.namespaced,
    )
    registration = register(
        ports.registry, invoker, record, versions=ports.versions, aliases=dict(server.aliases or {})
    )
    version = ports.registry.catalog().servers[ServerName(server.name)].version
    ports.audit(
        "servers.add",
        {
            "server": server.name,
            "function": server.function_name,
            "version": version,
            **_registered(registration, server.namespaced),
        },
    )
    return registration


def _add_vendor(ports: AdminPorts, spec: VendorServer) -> Registration:
    try:
        server = vendor_server(
            spec.name,
            url=spec.url,
            allowed_hosts=spec.allowed_hosts,
            secret_id=spec.secret_id,
            auth_header=spec.auth_header,
            secret_prefix=ports.vendor_secret_prefix,
        )
    except RegistrationError as exc:
        raise AdminRefusedError(str(exc)) from None
    server = replace(server, namespaced=spec.namespaced)
    invoker = ports.tool_invoker()
    ports.acting()
    detail: dict[str, Any] = {
        "server": spec.name,
        "kind": "vendor",
        "url": server.url,
        "allowed_hosts": list(server.allowed_hosts),
        "secret_id": server.secret_id,  # the reference, never the value
    }
    try:
        registration = register(
            ports.registry, invoker, server, versions=ports.versions, aliases=dict(spec.aliases or {})
        )
    except RegistrationError as exc:
        if exc.rule is not None:
            ports.audit("servers.add_refused", {**detail, "rule": exc.rule})
        raise
    ports.audit("servers.add", {**detail, **_registered(registration, spec.namespaced)})
    return registration


def known_server(ports: AdminPorts, name: str) -> ServerRecord:
    """A registered server.

    Raises:
        AdminRefusedError: no such server.
    """
    server = ports.registry.catalog().servers.get(ServerName(name))
    if server is None:
        raise AdminRefusedError(f"no server {name!r} (see 'steward servers list')")
    return server


def set_delegation(ports: AdminPorts, name: str, policy: DelegationPolicy) -> ServerRecord:
    """Set what one invocation of an internal server may spend on nested calls; audited as
    ``servers.delegation``.

    Raises:
        AdminRefusedError: no such server, a vendor server, or more calls than :data:`MAX_NESTED_CALLS`.
    """
    server = known_server(ports, name)
    if server.kind is not ServerKind.INTERNAL:
        raise AdminRefusedError(f"{name} is a vendor server: only internal servers make nested calls")
    if not 0 <= policy.calls <= MAX_NESTED_CALLS:
        raise AdminRefusedError(f"--calls must be between 0 and {MAX_NESTED_CALLS}")
    ports.acting()
    _store_delegation(ports.registry, ports.audit, server.name, policy)
    return server


def store_delegation(ports: AdminPorts, server: ServerName, policy: DelegationPolicy) -> None:
    """Set a delegation policy a plan checked (``steward apply``); audited as ``servers.delegation``."""
    ports.acting()
    _store_delegation(ports.registry, ports.audit, server, policy)


def sync_servers(ports: AdminPorts, names: Collection[str] | None = None) -> list[SyncReport]:
    """List servers again (``names``, or every server when None) and record what changed; each transition is
    audited as ``tools.transition`` and each synced server as ``servers.sync``. A server that could not be
    listed is reported with its error, unchanged.

    Raises:
        AdminRefusedError: a name that is not a registered server.
    """
    servers = ports.registry.catalog().servers
    for name in names or ():
        if name not in servers:
            raise AdminRefusedError(f"no server {name!r} (see 'steward servers list')")
    invoker = ports.tool_invoker()
    ports.acting()
    reports = []
    for name in sorted(servers) if names is None else [ServerName(n) for n in names]:
        report = sync_server(ports.registry, invoker, servers[name], ports.versions)
        reports.append(report)
        if report.error is not None:
            continue
        for transition in report.transitions:
            ports.audit("tools.transition", transition.detail(), tool=transition.tool)
        ports.audit("servers.sync", {"server": name, "version": report.version, "transitions": len(report.transitions)})
    return reports


# --- registry entries: tools, prompts, resources and resource templates ---------------------------------------


def approve_tool(
    ports: AdminPorts, name: str, acknowledged: Collection[str] = (), family: Primitive = Primitive.TOOL
) -> ToolRecord:
    """Approve an entry (a tool by default), pinning its current definition and its server's code version; audited
    as ``tools.approve``. An entry with scan findings needs each finding's rule acknowledged. The approved record.

    Raises:
        AdminRefusedError: no such entry, a rejected one, or findings not acknowledged.
        RegistrationError: the entry changed while it was being approved, or its server has no version to pin.
    """
    catalog = ports.registry.catalog()
    tool = known_entry(ports, name, family)
    command = COMMAND[tool.kind]
    refusal = approval_refusal(tool, list(acknowledged))
    if refusal is not None and refusal.rejected:
        raise AdminRefusedError(f"{rejection_refusal(tool)} (see 'steward {command} show {name}')")
    if refusal is not None:
        raise AdminRefusedError(
            f"{name} has scan findings ({tool.verdict}): approve with --acknowledge for each finding's rule: "
            + " ".join(f"--acknowledge {rule}" for rule in refusal.unacknowledged)
        )
    rules = finding_rules(tool)
    ports.acting()
    approved = approve(tool, catalog.servers[tool.server])
    try:
        ports.registry.put_tool(approved)  # only if the tool is still the one just checked
    except ConcurrentChangeError:
        raise RegistrationError(
            f"{name} changed while it was being approved (a sync ran?): nothing was approved; "
            f"review 'steward {command} show {name}' and approve again"
        ) from None
    _audit_approval(ports, tool, approved, rules)
    return approved


def _audit_approval(ports: AdminPorts, before: ToolRecord, approved: ToolRecord, rules: Sequence[str]) -> None:
    ports.audit(
        "tools.approve",
        {
            "previous_status": before.status.value,
            "pinned_hash": approved.pinned_hash,
            "pinned_version": approved.pinned_version,
            "acknowledged": list(rules),
        },
        tool=before.exposed_name,
    )


def approve_planned(
    ports: AdminPorts, record: ToolRecord, server: ServerRecord, acknowledged: Sequence[str]
) -> str | None:
    """Approve the tool a plan (``steward apply``) checked, only if its definition is still the one planned;
    audited as ``tools.approve``. None when approved, else why it was not (nothing changed)."""
    latest = next((t for t in ports.registry.tools_of(server.name) if t.exposed_name == record.exposed_name), None)
    if latest is None or latest.current_hash != record.current_hash:
        return "its definition changed after the plan: not approved"
    ports.acting()
    approved = approve(latest, server)
    try:
        ports.registry.put_tool(approved)  # only if the tool is still the one just read
    except ConcurrentChangeError:
        return "it changed while it was being approved (a sync ran?): not approved"
    _audit_approval(ports, latest, approved, acknowledged)
    return None


def _put_tool(ports: AdminPorts, tool: ToolRecord, doing: str) -> None:
    """Write a tool read just before, only if it is still that record (the registry's revision)."""
    try:
        ports.registry.put_tool(tool)
    except ConcurrentChangeError:
        raise RegistrationError(
            f"{tool.public_name} changed while it was being {doing} (a sync ran?): nothing changed; "
            f"review 'steward {COMMAND[tool.kind]} show {tool.public_name}' and try again"
        ) from None


def reject_tool(ports: AdminPorts, name: str, family: Primitive = Primitive.TOOL) -> ToolRecord | None:
    """Reject an entry (a tool by default), recording who did; audited as ``tools.reject``. None when it was
    rejected already (nothing changed), else the record before.

    Raises:
        AdminRefusedError: no such entry.
        RegistrationError: the entry changed while it was being rejected.
    """
    tool = known_entry(ports, name, family)
    if tool.status is ToolStatus.REJECTED:
        return None
    actor = ports.acting()
    rejection = Rejection(by=actor, at=ports.clock(), hash=tool.current_hash)
    _put_tool(ports, replace(tool, status=ToolStatus.REJECTED, rejection=rejection), "rejected")
    ports.audit("tools.reject", {"previous_status": tool.status.value}, tool=tool.exposed_name)
    return tool


#: Why a reset leaves a tool of this status alone.
_NOT_RESET = {
    ToolStatus.PENDING: "it is already pending",
    ToolStatus.APPROVED: "'steward tools disable' or 'steward tools reject' withdraws an approved tool",
    ToolStatus.QUARANTINED: "review 'steward tools show', then approve or reject it",
}


def reset_tool(ports: AdminPorts, name: str, family: Primitive = Primitive.TOOL) -> ToolRecord:
    """Return a rejected or disabled entry (a tool by default) to pending (unpinned, to be reviewed and approved
    again); audited as ``tools.reset``. An entry the scan finds malicious stays rejected: only a changed definition
    (a sync) can free it. The record before.

    Raises:
        AdminRefusedError: no such tool, a tool rejected by the scan, or one neither rejected nor disabled.
        RegistrationError: the tool changed while it was being reset.
    """
    tool = known_entry(ports, name, family)
    if rejected_by_scan(tool):
        raise AdminRefusedError(
            f"{name} was rejected by {rejected_by(tool)}: it stays rejected while its definition is malicious"
        )
    if tool.status not in (ToolStatus.REJECTED, ToolStatus.DISABLED):
        why = _NOT_RESET[tool.status].replace("steward tools", f"steward {COMMAND[tool.kind]}")
        raise AdminRefusedError(
            f"{name} is {tool.status.value}: only a rejected or disabled {tool.kind.family.value} is reset; {why}"
        )
    ports.acting()
    pending = replace(
        tool, status=ToolStatus.PENDING, rejection=None, pinned_hash=None, pinned_version=None, previous_definition=None
    )
    _put_tool(ports, pending, "reset")
    ports.audit(
        "tools.reset", {"previous_status": tool.status.value, "rejected_by": rejected_by(tool)}, tool=tool.exposed_name
    )
    return tool


def disable_tool(ports: AdminPorts, name: str, family: Primitive = Primitive.TOOL) -> ToolRecord:
    """Disable an entry (a tool by default: calls, reads or gets are refused); audited as ``tools.disable``. The
    record before.

    Raises:
        AdminRefusedError: no such entry.
    """
    tool = known_entry(ports, name, family)
    ports.acting()
    ports.registry.set_status(tool, ToolStatus.DISABLED)
    ports.audit("tools.disable", {"previous_status": tool.status.value}, tool=tool.exposed_name)
    return tool
