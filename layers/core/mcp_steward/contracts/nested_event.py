"""A nested call: what a tool function sends the nested-governance function, and its answer (docs/design.md
section 5).

The SDK encodes the call (``sdk/nested.py``, ``ctx.call_tool``) and decodes the answer; nested governance
(``services/nested.py`` behind ``functions/nested_governance/app.py``) reads the call's members and encodes the
answer. Small JSON objects::

    {"delegation": "<token>", "name": "vendor__search", "arguments": {...}, "_meta": {...}}
    {"result": {<CallToolResult>}}  or  {"error": {"code": -31000, "message": "...", "data": {...}}}

Nested governance reads the call's members as they come: the token is verified before anything else is believed,
and a malformed name or arguments is refused by the ``tools/call`` pipeline like a person's call (with its audit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from mcp_steward.contracts import ContractError

DELEGATION: Final = "delegation"
NAME: Final = "name"
ARGUMENTS: Final = "arguments"
META: Final = "_meta"


class NestedEventError(ContractError):
    """A nested call or answer that does not follow the contract."""


@dataclass(frozen=True, slots=True)
class NestedCall:
    """One nested call: the invocation's delegation token, the exposed tool name, its arguments."""

    delegation: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] | None = None

    def encode(self) -> dict[str, Any]:
        event: dict[str, Any] = {DELEGATION: self.delegation, NAME: self.name, ARGUMENTS: self.arguments}
        if self.meta is not None:
            event[META] = self.meta
        return event

    @classmethod
    def decode(cls, raw: object) -> NestedCall:
        """Raises:
        NestedEventError: not an object with a string token and name, object arguments and an object or no
            ``_meta``.
        """
        if not isinstance(raw, dict):
            raise NestedEventError("a nested call is a JSON object")
        token, name, arguments, meta = raw.get(DELEGATION), raw.get(NAME), raw.get(ARGUMENTS, {}), raw.get(META)
        if not isinstance(token, str) or not isinstance(name, str):
            raise NestedEventError("a nested call needs a delegation token and a tool name")
        if not isinstance(arguments, dict) or not isinstance(meta, dict | None):
            raise NestedEventError("a nested call's arguments and _meta must be objects")
        return cls(token, name, arguments, meta)


@dataclass(frozen=True, slots=True)
class NestedRefusal:
    """Nested governance refused the call (or could not make it): a JSON-RPC error's members."""

    code: int | None
    message: str
    data: dict[str, Any] = field(default_factory=dict)

    def encode(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "data": self.data}}


def encode_result(result: dict[str, Any]) -> dict[str, Any]:
    """The answer of a call that ran: the tool's ``CallToolResult`` (which may be an ``isError`` result)."""
    return {"result": result}


def decode_answer(raw: object) -> dict[str, Any] | NestedRefusal:
    """The ``CallToolResult`` of an answer, or its refusal (an error wins over a result).

    A refusal's code is kept when it is an integer; its message defaults to ``nested call refused``; data that is
    not an object is dropped.

    Raises:
        NestedEventError: the answer is neither a refusal nor a result object.
    """
    if not isinstance(raw, dict):
        raise NestedEventError("nested call failed: a malformed answer")
    error = raw.get("error")
    if isinstance(error, dict):
        data = error.get("data")
        code = error.get("code")
        return NestedRefusal(
            code if isinstance(code, int) else None,
            str(error.get("message", "nested call refused")),
            data if isinstance(data, dict) else {},
        )
    result = raw.get("result")
    if not isinstance(result, dict):
        raise NestedEventError("nested call failed: a malformed answer")
    return result
