"""Whether a tool may be approved: never when the scan rejected it; a suspicious one only when every finding's
rule is acknowledged by the reviewer. ``steward tools approve`` and ``steward apply`` decide alike."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mcp_steward.domain.registry import ToolRecord, ToolStatus


@dataclass(frozen=True, slots=True)
class ApprovalRefusal:
    """Why a tool cannot be approved: ``rejected`` by the scan, or findings whose rules are ``unacknowledged``."""

    rejected: bool
    unacknowledged: tuple[str, ...] = ()


def finding_rules(tool: ToolRecord) -> list[str]:
    """The distinct rules of the tool's scan findings, sorted: what an approval acknowledges."""
    return sorted({finding["rule"] for finding in tool.findings})


def approval_refusal(tool: ToolRecord, acknowledged: Iterable[str]) -> ApprovalRefusal | None:
    """None when the tool may be approved with these acknowledgements."""
    if tool.status is ToolStatus.REJECTED or tool.verdict == "malicious":
        return ApprovalRefusal(rejected=True)
    given = set(acknowledged)
    missing = tuple(rule for rule in finding_rules(tool) if rule not in given)
    return ApprovalRefusal(rejected=False, unacknowledged=missing) if missing else None
