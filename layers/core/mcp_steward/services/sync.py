"""Sync: list a registered server again and apply what changed (docs/design.md section 4, issue 4).

Each sync first learns the function's current published version (publishing one when the code changed) and
lists that version's tools, so the definitions reviewed are those of the code that would run. A changed
definition (its hash no longer the pinned one) or a new code version of an approved tool puts it in
``quarantine``; new or renamed tools are ``pending`` (scanned); a tool missing from a successful,
non-empty listing for :data:`MISSING_SYNCS_TO_DISABLE` syncs in a row is ``disabled``. A failed listing (or
version lookup) or an empty listing changes nothing, and a tool that is listed again starts counting from zero.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from mcp_steward.domain.names import UPSTREAM_NAME, InvalidNameError, exposed_name
from mcp_steward.domain.ports import (
    ConcurrentChangeError,
    Registry,
    ToolInvoker,
    VersionResolver,
    VersionUnavailableError,
)
from mcp_steward.domain.records import AuditRecord
from mcp_steward.domain.registry import ServerRecord, ToolRecord, ToolStatus
from mcp_steward.services.registration import (
    RegistrationError,
    Transition,
    discover_tools,
    other_names,
    reconcile,
)

MISSING_SYNCS_TO_DISABLE = 3
#: A sync that lost a race with an admin change (an approval, say) reads again and redoes its work.
CONFLICT_ATTEMPTS = 3
#: The actor of the scheduled sync's audit records.
SYNC_ACTOR = "steward:sync"


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What one sync of one server did: the transitions to audit, or why nothing was done."""

    server: str
    transitions: list[Transition] = field(default_factory=list)
    error: str | None = None
    version: str | None = None
    skipped: list[str] = field(default_factory=list)  # listed tools whose names break the rules


def sync_server(
    registry: Registry, invoker: ToolInvoker, server: ServerRecord, resolve_version: VersionResolver
) -> SyncReport:
    """List ``server`` again and record the changes; returns the transitions (the caller audits them).

    The records are written on condition that none changed since they were read; when one did (an admin
    approved a tool meanwhile, say), the sync reads again and decides again, so no admin change is lost.
    """
    try:
        version = resolve_version(server)
        current = replace(server, version=version)
        listing = discover_tools(invoker, current)
    except (VersionUnavailableError, RegistrationError) as exc:
        return SyncReport(server=server.name, error=str(exc))
    conflict = ""
    for _ in range(CONFLICT_ATTEMPTS):
        try:
            return _apply_listing(registry, current, listing)
        except ConcurrentChangeError as exc:
            conflict = str(exc)
    return SyncReport(server=server.name, error=f"{conflict} ({CONFLICT_ATTEMPTS} times); nothing changed")


def _apply_listing(registry: Registry, server: ServerRecord, listing: list[dict[str, Any]]) -> SyncReport:
    """Reconcile the recorded tools with ``listing`` and write the changed ones (raises on a conflict)."""
    version = server.version
    recorded = registry.tools_of(server.name)
    by_upstream = {tool.upstream_name: tool for tool in recorded}
    others = other_names(
        (t for t in registry.catalog().tools.values() if t.server != server.name), listing, server.name
    )
    transitions: list[Transition] = []
    skipped: list[str] = []
    records: list[ToolRecord] = []
    listed: set[str] = set()
    for definition in listing:
        upstream = definition["name"]
        before = by_upstream.get(upstream)
        try:
            if UPSTREAM_NAME.fullmatch(upstream) is None:
                raise InvalidNameError(upstream)
            exposed = before.exposed_name if before is not None else exposed_name(server.name, upstream)
            record, transition = reconcile(
                before, exposed=exposed, server=server.name, definition=definition, version=version, others=others
            )
        except (InvalidNameError, RegistrationError):
            skipped.append(upstream[:128])
            continue
        listed.add(upstream)
        if record != before:
            records.append(record)
        if transition is not None:
            transitions.append(transition)
    for tool in recorded:
        if tool.upstream_name in listed:
            continue
        if not listing:  # an empty list is not evidence that anything is gone
            continue
        missing = tool.missing_syncs + 1
        if missing >= MISSING_SYNCS_TO_DISABLE and tool.status is not ToolStatus.DISABLED:
            transitions.append(
                Transition(tool.exposed_name, server.name, tool.status.value, ToolStatus.DISABLED.value, "missing")
            )
            records.append(replace(tool, missing_syncs=missing, status=ToolStatus.DISABLED))
        else:
            records.append(replace(tool, missing_syncs=missing))
    registry.put_server(server, records)
    return SyncReport(server=server.name, transitions=transitions, version=version, skipped=skipped)


def sync_all(
    registry: Registry,
    invoker: ToolInvoker,
    resolve_version: VersionResolver,
    record: Callable[[AuditRecord], None],
    *,
    actor: str = SYNC_ACTOR,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[SyncReport]:
    """Sync every registered server, writing one audit record per transition (the scheduled sync)."""
    reports = []
    for _, server in sorted(registry.catalog().servers.items()):
        report = sync_server(registry, invoker, server, resolve_version)
        for transition in report.transitions:
            record(
                AuditRecord(
                    kind="admin",
                    at=clock(),
                    request_id=f"sync-{uuid.uuid4().hex}",
                    actor=actor,
                    action="tools.transition",
                    detail=transition.detail(),
                    tool=transition.tool,
                )
            )
        reports.append(report)
    return reports
