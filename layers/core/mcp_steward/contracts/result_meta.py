"""The ``steward/*`` ``_meta`` keys of a ``tools/call`` result, and the egress's failure reasons.

Only Steward may write these keys: a tool function reports its metered units (``sdk/server.py`` writes
``steward/units``, governance reads and clamps them in ``services/calls.py``); governance writes a refusal's reason
and violations (``services/tools.py``, ``services/validation.py``); a caller's request ``_meta`` carries its
idempotency key; the egress function reports why a vendor call failed (``egress/service.py`` encodes an
:class:`EgressFailure`, governance decodes it to decide who pays) and drops a vendor's own ``steward/*`` keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from mcp_steward.contracts import ContractError

PREFIX: Final = "steward/"
#: Why a result is an error (a denial, a validation failure, an egress failure): a closed set per writer.
REASON: Final = "steward/reason"
#: The integer units a tool metered (``ctx.report_units``); governance answers with the units charged.
UNITS: Final = "steward/units"
#: Of a validation failure: ``[{"path", "message"}]`` (the SDK) or the violations' dicts (governance).
VIOLATIONS: Final = "steward/violations"
VIOLATIONS_OMITTED: Final = "steward/violationsOmitted"
#: Of an egress failure: whether the request may have reached the vendor's tool, and the rule that refused it.
SENT: Final = "steward/sent"
RULE: Final = "steward/rule"
#: Of a request's ``params._meta``: the caller's idempotency key.
IDEMPOTENCY_KEY: Final = "steward/idempotencyKey"

#: What the egress function reports in ``steward/reason`` of a vendor call that failed (trusted only from the
#: egress: it drops a vendor's own ``steward/*`` keys).
EGRESS_REASONS: Final = frozenset(
    {
        "egress_refused",
        "credential_unavailable",
        "vendor_unreachable",
        "vendor_unauthorized",
        "vendor_timeout",
        "vendor_error",
        "malformed_response",
        "interactive",
    }
)
#: Of a rule's name, as the audit keeps it.
MAX_RULE_CHARS: Final = 64


class ResultMetaError(ContractError):
    """A result ``_meta`` that does not carry what the contract says (for an egress failure: no known reason)."""


def is_steward_key(key: object) -> bool:
    """Whether ``key`` is one only Steward may write."""
    return str(key).startswith(PREFIX)


@dataclass(frozen=True, slots=True)
class EgressFailure:
    """Why the egress could not give a vendor's answer.

    Attributes:
        reason: One of :data:`EGRESS_REASONS`.
        sent: False: the vendor's tool never ran (nothing is charged); True: it may have run.
        rule: For ``egress_refused``, the rule that refused the call.
    """

    reason: str
    sent: bool
    rule: str | None = None

    def encode(self) -> dict[str, Any]:
        meta: dict[str, Any] = {REASON: self.reason, SENT: self.sent}
        if self.rule:
            meta[RULE] = self.rule
        return meta

    @classmethod
    def decode(cls, meta: object) -> EgressFailure:
        """The failure a result's ``_meta`` reports (``sent`` only when exactly true; the rule cut to 64).

        Raises:
            ResultMetaError: ``meta`` is not an object or its reason is not one of :data:`EGRESS_REASONS`.
        """
        reason = meta.get(REASON) if isinstance(meta, dict) else None
        if not isinstance(meta, dict) or not isinstance(reason, str) or reason not in EGRESS_REASONS:
            raise ResultMetaError("the result's _meta reports no egress failure")
        rule = meta.get(RULE)
        return cls(reason, meta.get(SENT) is True, rule[:MAX_RULE_CHARS] if isinstance(rule, str) else None)

    def audit_detail(self) -> dict[str, Any]:
        """What the audit keeps of it: whether the vendor was called and the rule that refused it."""
        detail: dict[str, Any] = {"sent": self.sent}
        if self.rule is not None:
            detail["rule"] = self.rule
        return detail


def reported_units(meta: object) -> int | None:
    """The units a result's ``_meta`` reports: an integer (never a bool), else None (unclamped)."""
    units = meta.get(UNITS) if isinstance(meta, dict) else None
    return units if isinstance(units, int) and not isinstance(units, bool) else None
