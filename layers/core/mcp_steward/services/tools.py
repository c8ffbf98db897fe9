"""Listing and calling tools: the governed path from a principal to an internal server's function."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from mcp_steward.domain.grants import SubjectKind, allows, subjects_of
from mcp_steward.domain.identity import Principal
from mcp_steward.domain.names import ExposedName
from mcp_steward.domain.ports import GrantStore, InvocationError, Registry, ToolInvoker
from mcp_steward.domain.registry import ToolRecord, ToolStatus
from mcp_steward.protocol.errors import InvalidParamsError, UnknownToolError

PAGE_SIZE: Final = 100
ENVELOPE_VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class CallRequest:
    principal: Principal
    request_id: str
    rpc_id: str | int
    name: object
    arguments: object
    deadline_ms: int


def _encode_cursor(after: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode().rstrip("=")


def _decode_cursor(cursor: object) -> str:
    if not isinstance(cursor, str) or len(cursor) > 512:
        raise InvalidParamsError("Invalid cursor")
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise InvalidParamsError("Invalid cursor") from exc
    after = decoded.get("after") if isinstance(decoded, dict) else None
    if not isinstance(after, str):
        raise InvalidParamsError("Invalid cursor")
    return after


def tool_error_result(text: str, reason: str, **meta: Any) -> dict[str, Any]:
    """A ``tools/call`` result with ``isError`` (the model sees it and can correct itself)."""
    return {
        "content": [{"type": "text", "text": text}],
        "isError": True,
        "_meta": {"steward/reason": reason, **{f"steward/{key}": value for key, value in meta.items()}},
    }


class ToolService:
    """``tools/list`` and ``tools/call`` for one principal, deny by default."""

    def __init__(self, registry: Registry, grants: GrantStore, invoker: ToolInvoker, page_size: int = PAGE_SIZE):
        self._registry = registry
        self._grants = grants
        self._invoker = invoker
        self._page_size = page_size

    def _granted(self, principal: Principal) -> Callable[[str], bool]:
        """A predicate over exposed names: the principal's grants, and the user's too for an agent key."""
        grants = self._grants.grants_for(subjects_of(principal))
        if principal.obo is None:
            return lambda name: allows(grants, name)
        # An agent acting for a user may call only what both may call: no confused deputy. The user's own
        # grants count; the agent's team is not the user's, so team grants are not borrowed (fail closed).
        user_grants = self._grants.grants_for([(SubjectKind.PRINCIPAL, principal.obo)])
        return lambda name: allows(grants, name) and allows(user_grants, name)

    def _visible(self, principal: Principal) -> list[ToolRecord]:
        granted = self._granted(principal)
        return [
            tool
            for name, tool in self._registry.catalog().tools.items()
            if tool.status is ToolStatus.APPROVED and granted(name)
        ]

    def list_tools(self, principal: Principal, cursor: object = None) -> dict[str, Any]:
        tools = self._visible(principal)
        if cursor is not None:
            after = _decode_cursor(cursor)
            tools = [tool for tool in tools if tool.exposed_name > after]
        page = tools[: self._page_size]
        result: dict[str, Any] = {"tools": [tool.listing() for tool in page]}
        if len(tools) > self._page_size:
            result["nextCursor"] = _encode_cursor(page[-1].exposed_name)
        return result

    def resolve(self, principal: Principal, name: object) -> ToolRecord:
        """The tool the principal may call under that name; unknown and not granted answer alike."""
        if not isinstance(name, str):
            raise UnknownToolError(name)
        tool = self._registry.catalog().tools.get(ExposedName(name))
        if tool is None or tool.status is not ToolStatus.APPROVED or not self._granted(principal)(name):
            raise UnknownToolError(name)
        return tool

    def call_tool(self, request: CallRequest) -> dict[str, Any]:
        tool = self.resolve(request.principal, request.name)
        arguments = request.arguments if request.arguments is not None else {}
        if not isinstance(arguments, dict):
            raise InvalidParamsError("tools/call arguments must be an object")
        server = self._registry.catalog().servers.get(tool.server)
        if server is None:
            raise UnknownToolError(request.name)
        principal = request.principal
        envelope = {
            "steward": {
                "v": ENVELOPE_VERSION,
                "request_id": request.request_id,
                "deadline_ms": request.deadline_ms,
                "principal": {"id": principal.id, "team": principal.team, "obo": principal.obo},
                "delegation": None,
            },
            "message": {
                "jsonrpc": "2.0",
                "id": request.rpc_id,
                "method": "tools/call",
                "params": {"name": tool.upstream_name, "arguments": arguments},
            },
        }
        try:
            response = self._invoker.invoke(server, envelope, deadline_ms=request.deadline_ms)
        except InvocationError as exc:
            return tool_error_result(exc.message, exc.reason)
        return _tool_result(response, ExposedName(tool.exposed_name))


def _tool_result(response: dict[str, Any], name: ExposedName) -> dict[str, Any]:
    """Accept a tool function's JSON-RPC answer only if it is a well-formed ``tools/call`` result."""
    if "error" in response:
        error = response["error"]
        code = error.get("code") if isinstance(error, dict) else None
        return tool_error_result(f"The tool {name} answered with an error (code {code}).", "tool_error")
    result = response.get("result")
    if not isinstance(result, dict) or not isinstance(result.get("content"), list):
        return tool_error_result(f"The tool {name} returned a malformed result.", "malformed_response")
    structured = result.get("structuredContent")
    if structured is not None and not isinstance(structured, dict):
        result = {**result, "structuredContent": {"result": structured}}
    return result
