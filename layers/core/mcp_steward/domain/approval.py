"""Whether a tool may be approved: never when it is rejected (by the scan, or by an admin until
``steward tools reset``); a suspicious one only when every finding's rule is acknowledged by the reviewer.
``steward tools approve`` and ``steward apply`` decide alike, and say who or what rejected a tool."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mcp_steward.domain.registry import ToolRecord, ToolStatus


@dataclass(frozen=True, slots=True)
class ApprovalRefusal:
    """Why a tool cannot be approved: ``rejected`` (``rejected_by`` says by whom or what), or findings whose
    rules are ``unacknowledged``."""

    rejected: bool
    unacknowledged: tuple[str, ...] = ()
    rejected_by: str = ""


def finding_rules(tool: ToolRecord) -> list[str]:
    """The distinct rules of the tool's scan findings, sorted: what an approval acknowledges."""
    return sorted({finding["rule"] for finding in tool.findings})


def rejected_by_scan(tool: ToolRecord) -> bool:
    """The scan finds the current definition malicious: no admin can approve or reset it."""
    return tool.verdict == "malicious"


def rejected_by(tool: ToolRecord) -> str | None:
    """Who or what rejected the tool, as messages say it (``the scan (malicious: rule, ...)``, ``admin
    local:ana at 2026-11-24T12:00:00+00:00``); None when nothing did."""
    if rejected_by_scan(tool):
        return f"the scan (malicious: {', '.join(finding_rules(tool)) or 'no finding recorded'})"
    if tool.status is not ToolStatus.REJECTED:
        return None
    rejection = tool.rejection
    if rejection is not None and rejection.hash == tool.current_hash:
        return f"admin {rejection.by} at {rejection.at.isoformat(timespec='seconds')}"
    # Rejected before rejections were recorded: by an admin, or by a scan that no longer finds it malicious.
    return "an admin or an earlier scan (not recorded: see 'steward audit --kind admin')"


def approval_refusal(tool: ToolRecord, acknowledged: Iterable[str]) -> ApprovalRefusal | None:
    """None when the tool may be approved with these acknowledgements."""
    who = rejected_by(tool)
    if who is not None:
        return ApprovalRefusal(rejected=True, rejected_by=who)
    given = set(acknowledged)
    missing = tuple(rule for rule in finding_rules(tool) if rule not in given)
    return ApprovalRefusal(rejected=False, unacknowledged=missing) if missing else None


def rejection_refusal(tool: ToolRecord) -> str:
    """Why a rejected tool cannot be approved, and what would change that."""
    who = rejected_by(tool)
    if rejected_by_scan(tool):
        return (
            f"{tool.exposed_name} was rejected by {who} and cannot be approved "
            "(it stays rejected while its definition is malicious)"
        )
    return (
        f"{tool.exposed_name} was rejected by {who} and cannot be approved: "
        f"'steward tools reset {tool.exposed_name}' returns it to pending first"
    )
