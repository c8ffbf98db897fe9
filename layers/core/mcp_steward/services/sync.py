"""Sync: list a registered server again and apply what changed (docs/design.md section 4, issue 4).

Each sync first learns the function's current published version (publishing one when the code changed) and
lists what that version exposes (tools, prompts, resources, resource templates: :mod:`.listing`), so the
definitions reviewed are those of the code that would run. Every primitive has the tools' lifecycle: a changed
definition (its hash no longer the pinned one) or a new code version of an approved entry puts it in
``quarantine``; new or renamed entries are ``pending`` (scanned); an entry missing from a successful,
non-empty listing for :data:`MISSING_SYNCS_TO_DISABLE` syncs in a row is ``disabled``. A failed listing (or
version lookup) or an empty listing changes nothing, and an entry that is listed again starts counting from zero.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from mcp_steward.domain.ports import (
    ConcurrentChangeError,
    Registry,
    ToolInvoker,
    VersionResolver,
    VersionUnavailableError,
)
from mcp_steward.domain.records import AuditRecord
from mcp_steward.domain.registry import ServerRecord, ToolStatus
from mcp_steward.services.listing import MAX_ENTRIES_PER_SERVER, Listing, too_many
from mcp_steward.services.registration import RegistrationError, Transition, list_server, plan_entries

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
    #: Listed entries not recorded, each with why (a name that breaks the rules, an id another server exposes).
    skipped: list[str] = field(default_factory=list)


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
        listing = list_server(invoker, current)
    except (VersionUnavailableError, RegistrationError) as exc:
        return SyncReport(server=server.name, error=str(exc))
    if listing.capabilities is not None:
        current = replace(current, capabilities=listing.capabilities)
    conflict = ""
    for _ in range(CONFLICT_ATTEMPTS):
        try:
            return _apply_listing(registry, current, listing)
        except ConcurrentChangeError as exc:
            conflict = str(exc)
    return SyncReport(server=server.name, error=f"{conflict} ({CONFLICT_ATTEMPTS} times); nothing changed")


def _apply_listing(registry: Registry, server: ServerRecord, listing: Listing) -> SyncReport:
    """Reconcile the recorded entries with ``listing`` and write the changed ones (raises on a conflict).

    An entry not listed counts a missing sync only when its primitive was listed this time and the listing is not
    empty (an empty list is not evidence that anything is gone; an unlisted primitive is not known this time)."""
    recorded = registry.tools_of(server.name)
    by_id = {record.exposed_name: record for record in recorded}
    plan = plan_entries(registry.catalog(), server, listing, recorded, strict=False)
    transitions = plan.transitions
    records = [record for record in plan.records if record != by_id.get(record.exposed_name)]
    for tool in recorded:
        if tool.exposed_name in plan.listed or tool.kind not in listing.listed:
            continue
        if not listing.definitions:
            continue
        missing = tool.missing_syncs + 1
        if missing >= MISSING_SYNCS_TO_DISABLE and tool.status is not ToolStatus.DISABLED:
            transitions.append(
                Transition(tool.exposed_name, server.name, tool.status.value, ToolStatus.DISABLED.value, "missing")
            )
            records.append(replace(tool, missing_syncs=missing, status=ToolStatus.DISABLED))
        else:
            records.append(replace(tool, missing_syncs=missing))
    if len(records) > MAX_ENTRIES_PER_SERVER:
        return SyncReport(server=server.name, error=too_many(server.name, len(records)) + "; nothing changed")
    registry.put_server(server, records)
    return SyncReport(server=server.name, transitions=transitions, version=server.version, skipped=plan.skipped)


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
