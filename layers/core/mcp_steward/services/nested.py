"""Nested governance (docs/design.md section 5): the one way a tool server calls another tool.

A tool function's ``ctx.call_tool(name, arguments)`` invokes the nested-governance function with the
delegation token governance put in its envelope. This accepts nothing else: no bearer token, no identity
of its own. The token is verified (signature, audience, expiry, depth); the call then runs the same
``tools/call`` pipeline as a person's, for the person the token names, authorized for the calling server,
charged to the person's team within the parent reservation's allowance, and recorded with the chain.

The event and the answer are small JSON objects (:mod:`mcp_steward.contracts.nested_event`)::

    {"delegation": "<token>", "name": "vendor__search", "arguments": {...}, "_meta": {...}}
    {"result": {<CallToolResult>}}  or  {"error": {"code": -31000, "message": "...", "data": {...}}}
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from mcp_steward.contracts import nested_event
from mcp_steward.domain.delegation import DelegationError, verify
from mcp_steward.domain.identity import Principal, PrincipalId, TeamName
from mcp_steward.domain.ports import AuditWriter, DelegationKeys, StoreUnavailableError
from mcp_steward.domain.records import AuditRecord, Decision
from mcp_steward.protocol.errors import (
    GovernanceDeniedError,
    InvalidParamsError,
    ParseError,
    ServiceUnavailableError,
    StewardError,
)
from mcp_steward.protocol.jsonrpc import is_utf8_json
from mcp_steward.services.calls import CallRequest, CallTool

#: A nested call never waits past the parent's deadline, nor longer than this function may run.
MAX_NESTED_S = 28


class NestedGovernance:
    def __init__(
        self,
        call_tool: CallTool,
        keys: DelegationKeys,
        budgets: AuditWriter,
        *,
        function_timeout_s: int = MAX_NESTED_S,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._call_tool = call_tool
        self._keys = keys
        self._audit = budgets
        self._timeout_ms = function_timeout_s * 1000
        self._clock = clock

    def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Answer one nested call: ``{"result": ...}`` or ``{"error": ...}``, never an exception."""
        request_id = f"nested-{uuid.uuid4().hex}"
        try:
            return nested_event.encode_result(self._call(event, request_id))
        except StoreUnavailableError:
            return _error(ServiceUnavailableError())  # fail closed: nothing was allowed
        except StewardError as error:
            return _error(error)

    def _call(self, event: Mapping[str, Any], request_id: str) -> dict[str, Any]:
        at = self._clock()
        if not isinstance(event, Mapping):
            raise InvalidParamsError("a nested call is a JSON object")
        if not is_utf8_json(event):
            # The runtime parsed the event: a lone surrogate (a name, an argument, _meta) is refused here, before
            # it reaches an audit record or an answer that could not be written.
            raise ParseError("Parse error: the nested call is not Unicode JSON text")
        try:
            claims = verify(event.get(nested_event.DELEGATION), self._keys.key, now_s=int(at.timestamp()))
        except DelegationError as refused:
            self._refuse(request_id, at, event.get(nested_event.NAME), refused.reason)
            message = f"The delegation token was refused ({refused.reason})."
            raise GovernanceDeniedError("delegation_invalid", message, data={"why": refused.reason}) from None
        except StoreUnavailableError:
            raise ServiceUnavailableError from None
        arguments = event.get(nested_event.ARGUMENTS, {})
        meta = event.get(nested_event.META)
        deadline_ms = min(claims.deadline_ms, int(time.time() * 1000) + self._timeout_ms)
        request = CallRequest(
            principal=Principal(PrincipalId(claims.sub), TeamName(claims.team), obo=_obo(claims.obo)),
            request_id=request_id,
            rpc_id=1,
            name=event.get(nested_event.NAME),
            arguments=arguments,
            deadline_ms=deadline_ms,
            meta=meta if isinstance(meta, dict) else None,
            delegation=claims,
        )
        return self._call_tool(request)

    def _refuse(self, request_id: str, at: datetime, name: object, why: str) -> None:
        """Audit a refused token: nothing in it is believed, so the record names no principal."""
        self._audit.record(
            AuditRecord(
                kind="decision",
                at=at,
                request_id=request_id,
                tool=name[:128] if isinstance(name, str) else None,
                decision=Decision.DENIED,
                reason="delegation_invalid",
                detail={"why": why},
            )
        )


def _error(error: StewardError) -> dict[str, Any]:
    return nested_event.NestedRefusal(error.code, error.message, error.data or {}).encode()


def _obo(value: str | None) -> PrincipalId | None:
    return PrincipalId(value) if value is not None else None
