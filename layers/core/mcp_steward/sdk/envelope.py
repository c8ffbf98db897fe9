"""The invocation envelope governance sends a tool function (docs/design.md section 5), as the SDK reads it.

The typed definition, its encoding and decoding live in :mod:`mcp_steward.contracts.envelope`, shared with
governance; this module keeps the SDK's names for them.
"""

from __future__ import annotations

from typing import Any

from mcp_steward.contracts.envelope import (
    ENVELOPE_VERSION,
    EnvelopeError,
    JsonObject,
    Principal,
    RequestId,
    StewardContext,
)

__all__ = [
    "ENVELOPE_VERSION",
    "EnvelopeError",
    "JsonObject",
    "Principal",
    "RequestId",
    "StewardContext",
    "readable_id",
]


def readable_id(message: Any) -> RequestId | None:
    """The JSON-RPC id of ``message`` if it has a valid one (a string or an integer, never a bool or null)."""
    if isinstance(message, dict):
        rid = message.get("id")
        if isinstance(rid, str) or (isinstance(rid, int) and not isinstance(rid, bool)):
            return rid
    return None
