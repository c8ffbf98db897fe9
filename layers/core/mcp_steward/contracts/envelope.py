"""The invocation envelope governance sends a tool function (docs/design.md section 5).

Governance encodes it with :func:`request` (``services/tools.py`` for the calls, ``services/listing.py`` for the
listings) and the SDK decodes its ``steward`` half (``sdk/server.py``). The contract is fixed at ``v: 1``: later
changes add keys and never break it, so decoding ignores unknown keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Final

from mcp_steward.contracts import ContractError

ENVELOPE_VERSION: Final = 1

type RequestId = str | int
type JsonObject = dict[str, Any]


class EnvelopeError(ContractError):
    """An envelope (or its ``steward`` half) that does not follow the contract."""


def _text(raw: dict[str, Any], key: str, *, optional: bool = False) -> Any:
    value = raw.get(key)
    if optional and value is None:
        return None
    if type(value) is not str or (not optional and not value):
        raise EnvelopeError(f"steward.{key} must be a {'string' if optional else 'non-empty string'}")
    return value


@dataclass(frozen=True, slots=True)
class Principal:
    """Who the call is for: the person (or service) id, their team, and whom they act on behalf of."""

    id: str
    team: str
    obo: str | None = None

    def encode(self) -> JsonObject:
        return {"id": self.id, "team": self.team, "obo": self.obo}

    @classmethod
    def decode(cls, raw: object) -> Principal:
        """Raises:
        EnvelopeError: not an object with a non-empty string ``id`` and ``team`` and a string or null ``obo``.
        """
        if not isinstance(raw, dict):
            raise EnvelopeError("steward.principal must be an object")
        return cls(_text(raw, "id"), _text(raw, "team"), _text(raw, "obo", optional=True))


@dataclass(frozen=True, slots=True)
class StewardContext:
    """The ``steward`` half of the envelope.

    Attributes:
        deadline_ms: Epoch milliseconds after which governance stops waiting.
        delegation: The delegation token for nested calls (docs/design.md section 5), or None.
    """

    request_id: str
    deadline_ms: int
    principal: Principal
    delegation: str | None = None
    v: ClassVar[int] = ENVELOPE_VERSION

    def encode(self) -> JsonObject:
        return {
            "v": ENVELOPE_VERSION,
            "request_id": self.request_id,
            "deadline_ms": self.deadline_ms,
            "principal": self.principal.encode(),
            "delegation": self.delegation,
        }

    @classmethod
    def decode(cls, raw: object) -> StewardContext:
        """Raises:
        EnvelopeError: not an object of version 1 with a non-empty ``request_id``, an integer ``deadline_ms``
            >= 0, a valid ``principal`` and a string or null ``delegation``.
        """
        if not isinstance(raw, dict):
            raise EnvelopeError("steward must be an object")
        version = raw.get("v")
        if not isinstance(version, int | float) or version != ENVELOPE_VERSION:
            raise EnvelopeError(f"steward.v must be {ENVELOPE_VERSION}")
        deadline_ms = raw.get("deadline_ms")
        if type(deadline_ms) is not int or deadline_ms < 0:
            raise EnvelopeError("steward.deadline_ms must be an integer >= 0")
        request_id = _text(raw, "request_id")
        principal = Principal.decode(raw.get("principal"))
        return cls(request_id, deadline_ms, principal, _text(raw, "delegation", optional=True))


@dataclass(frozen=True, slots=True)
class Envelope:
    """One invocation: the ``steward`` context and the internal-dialect JSON-RPC ``message``."""

    steward: StewardContext
    message: JsonObject

    def encode(self) -> JsonObject:
        return {"steward": self.steward.encode(), "message": self.message}

    @classmethod
    def decode(cls, raw: object) -> Envelope:
        """Raises:
        EnvelopeError: not an object with a valid ``steward`` and an object ``message`` (the message's JSON-RPC
            shape is the receiver's to check: it answers with the message's id).
        """
        if not isinstance(raw, dict):
            raise EnvelopeError("the envelope must be an object")
        message = raw.get("message")
        if not isinstance(message, dict):
            raise EnvelopeError("the envelope's message must be an object")
        return cls(StewardContext.decode(raw.get("steward")), message)


def request(steward: StewardContext, rpc_id: RequestId, method: str, params: JsonObject) -> JsonObject:
    """The encoded envelope of an internal-dialect request (``tools/call``, ``prompts/get``, ``resources/read``,
    ``completion/complete``, the listings: docs/design.md section 5)."""
    return Envelope(steward, {"jsonrpc": "2.0", "id": rpc_id, "method": method, "params": params}).encode()
