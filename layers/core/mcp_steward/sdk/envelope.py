"""The invocation envelope governance sends a tool function (docs/design.md section 5), as typed models.

The contract is fixed at ``v: 1``; later issues extend it and never break it, so unknown keys are ignored.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

ENVELOPE_VERSION: Final = 1

type RequestId = str | int
type JsonObject = dict[str, Any]


class Principal(BaseModel):
    """Who the call is for: the person (or service) id, their team, and whom they act on behalf of."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: StrictStr = Field(min_length=1)
    team: StrictStr = Field(min_length=1)
    obo: StrictStr | None = None


class StewardContext(BaseModel):
    """The ``steward`` half of the envelope."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    v: Literal[1]
    request_id: StrictStr = Field(min_length=1)
    deadline_ms: StrictInt = Field(ge=0, description="Epoch milliseconds after which governance stops waiting.")
    principal: Principal
    #: A delegation token for nested calls (a later issue); only its type is checked here.
    delegation: StrictStr | None = None


def readable_id(message: Any) -> RequestId | None:
    """The JSON-RPC id of ``message`` if it has a valid one (a string or an integer, never a bool or null)."""
    if isinstance(message, dict):
        rid = message.get("id")
        if isinstance(rid, str) or (isinstance(rid, int) and not isinstance(rid, bool)):
            return rid
    return None
