"""Listing and calling tools: the governed path from a principal to an internal server's function."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any, Final

from mcp_steward.contracts import envelope, result_meta
from mcp_steward.domain.budgets import Denied
from mcp_steward.domain.grants import Grant, SubjectKind, allows, subjects_of
from mcp_steward.domain.identity import Principal
from mcp_steward.domain.names import ExposedName, ServerName
from mcp_steward.domain.ports import GrantStore, Registry
from mcp_steward.domain.registry import ServerRecord, ToolRecord, ToolStatus
from mcp_steward.protocol.errors import InvalidParamsError, UnknownToolError
from mcp_steward.protocol.jsonrpc import is_utf8_json, loads_unicode

PAGE_SIZE: Final = 100


def _encode_cursor(after: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode().rstrip("=")


def _decode_cursor(cursor: object) -> str:
    if not isinstance(cursor, str) or len(cursor) > 512:
        raise InvalidParamsError("Invalid cursor")
    try:
        decoded = loads_unicode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
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
        "_meta": {result_meta.REASON: reason, **{result_meta.PREFIX + key: value for key, value in meta.items()}},
    }


class ToolService:
    """What a principal may see and call, deny by default: ``tools/list`` and the resolution of a name."""

    def __init__(
        self,
        registry: Registry,
        grants: GrantStore,
        page_size: int = PAGE_SIZE,
        team_of: Callable[[str], str | None] = lambda _: None,
    ):
        self._registry = registry
        self._grants = grants
        self._page_size = page_size
        self._team_of = team_of

    def _user_subjects(self, user: str) -> list[tuple[SubjectKind, str]]:
        """The user an agent acts for: the user's own grants and the user's team's (when the user is a known
        principal entity). The agent's team is not the user's, so its team grants are never borrowed."""
        team = self._team_of(user)
        return [(SubjectKind.PRINCIPAL, user), *([(SubjectKind.TEAM, team)] if team else [])]

    def _granted(self, principal: Principal) -> Callable[[str], bool]:
        """A predicate over exposed names: the principal's grants, and the user's too for an agent key."""
        grants = self._grants.grants_for(subjects_of(principal))
        if principal.obo is None:
            return lambda name: allows(grants, name)
        # An agent acting for a user may call only what both may call: no confused deputy.
        user_grants = self._grants.grants_for(self._user_subjects(principal.obo))
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

    def resolve(
        self, principal: Principal, name: object, *, acting_server: str | None = None, intersect: bool = False
    ) -> tuple[ToolRecord, tuple[Grant, ...]]:
        """The tool the principal holds a grant for, and the grant items to re-check when reserving (the
        principal's, and the user's too for an agent acting for a user). Unknown, not granted, disabled and
        rejected tools answer alike; a granted tool that is pending or quarantined is a governance denial.

        A nested call (``acting_server``: the server calling on the principal's behalf) needs that server's
        grant, and with ``intersect`` the principal's too (docs/design.md section 5).

        Raises:
            UnknownToolError: no such tool for this principal.
            Denied: ``quarantined``, for a grant holder only.
        """
        if not isinstance(name, str):
            raise UnknownToolError(name)
        tool = self._registry.catalog().tools.get(ExposedName(name))
        if tool is None or tool.status in (ToolStatus.DISABLED, ToolStatus.REJECTED):
            raise UnknownToolError(name)
        if acting_server is None:
            grants = self._person_grants(principal, name)
        else:
            server_grant = _first_match(self._grants.grants_for([(SubjectKind.SERVER, acting_server)]), name)
            grants = None if server_grant is None else (server_grant,)
            if grants is not None and intersect:
                person = self._person_grants(principal, name)
                grants = None if person is None else (*grants, *person)
        if grants is None:
            raise UnknownToolError(name)
        if tool.status is not ToolStatus.APPROVED:
            raise Denied("quarantined", f"The tool {name} is awaiting review and cannot be called now.", {"tool": name})
        return tool, grants

    def _person_grants(self, principal: Principal, name: str) -> tuple[Grant, ...] | None:
        """The principal's grant for ``name`` (and the user's too for an agent acting for a user), or None."""
        chosen = _first_match(self._grants.grants_for(subjects_of(principal)), name)
        if chosen is None:
            return None
        if principal.obo is None:
            return (chosen,)
        user = _first_match(self._grants.grants_for(self._user_subjects(principal.obo)), name)
        return None if user is None else (chosen, user)

    def server_named(self, name: str) -> ServerRecord | None:
        return self._registry.catalog().servers.get(ServerName(name))

    def server_of(self, tool: ToolRecord) -> ServerRecord:
        server = self._registry.catalog().servers.get(tool.server)
        if server is None:
            raise UnknownToolError(tool.exposed_name)
        return server


def _first_match(grants: list[Grant], name: str) -> Grant | None:
    # Principal grants before team grants: the most specific subject is the one re-checked.
    ordered = sorted(grants, key=lambda grant: grant.subject_kind is not SubjectKind.PRINCIPAL)
    return next((grant for grant in ordered if grant.matches(name)), None)


def envelope_for(
    request_id: str,
    deadline_ms: int,
    principal: Principal,
    rpc_id: str | int,
    upstream: str,
    arguments: dict[str, Any],
    delegation: str | None = None,
) -> dict[str, Any]:
    """The invocation envelope of docs/design.md section 5 (``delegation``: the token minted for this invocation)."""
    who = envelope.Principal(principal.id, principal.team, principal.obo)
    return envelope.tools_call(
        envelope.StewardContext(request_id, deadline_ms, who, delegation), rpc_id, upstream, arguments
    )


def tool_result(response: dict[str, Any], name: str) -> dict[str, Any] | None:
    """A tool function's JSON-RPC answer as a ``tools/call`` result; None when it is not a well-formed one.

    A result that cannot be written as UTF-8 JSON (a lone surrogate in any string or key, ``NaN``, anything not
    JSON) is not well-formed: answering it would fail after the call was charged. The invokers already refuse
    such payloads when they parse them; this holds for every invoker (one ``json.dumps`` of the result)."""
    if "error" in response:
        error = response["error"]
        code = error.get("code") if isinstance(error, dict) else None
        shown = code if isinstance(code, int) and not isinstance(code, bool) else None
        return tool_error_result(f"The tool {name} answered with an error (code {shown}).", "tool_error")
    result = response.get("result")
    if not isinstance(result, dict) or not isinstance(result.get("content"), list) or not is_utf8_json(result):
        return None
    return result
