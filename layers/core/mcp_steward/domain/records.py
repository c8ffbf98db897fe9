"""What the plane records: one ledger entry per call, one audit record per decision and per admin action.

Neither ever holds argument values, results or secrets: only who, what, when, how much and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    """How a call ended, as the ledger records it (docs/design.md section 3, who pays when things go wrong)."""

    OK = "ok"
    TOOL_ERROR = "tool_error"  # the tool ran and answered isError: fixed price
    UNKNOWN = "unknown"  # timeout, transport failure or garbage after invoking; or abandoned: fixed price
    INVALID_OUTPUT = "invalid_output"  # charged, with an audit finding
    NOT_INVOKED = "not_invoked"  # refused after reserving but before the tool ran (throttled, gone): free


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    request_id: str
    at: datetime  # UTC
    principal: str
    obo: str | None
    team: str
    tool: str
    server: str
    cost_micros: int
    units: int
    outcome: Outcome
    latency_ms: int
    #: A nested call: the request id of the call that made it, and the servers in the chain (outermost first).
    parent: str | None = None
    chain: tuple[str, ...] = ()


class Decision(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """``kind="decision"`` for calls (``decision`` and ``reason`` set); ``kind="admin"`` for admin actions
    (``actor`` and ``action`` set). ``detail`` holds small, value-free facts (never argument values)."""

    kind: str
    at: datetime  # UTC
    request_id: str
    principal: str | None = None
    obo: str | None = None
    team: str | None = None
    tool: str | None = None
    decision: Decision | None = None
    reason: str | None = None
    actor: str | None = None
    action: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
