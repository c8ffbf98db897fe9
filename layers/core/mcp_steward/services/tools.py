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
from mcp_steward.domain.names import URI_SCHEME, ExposedName, ServerName, uri_owner
from mcp_steward.domain.ports import GrantStore, Registry
from mcp_steward.domain.registry import Catalog, Primitive, ServerRecord, ToolRecord, ToolStatus
from mcp_steward.domain.uri_templates import match_template
from mcp_steward.protocol.errors import InvalidParamsError, StewardError, UnknownToolError
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

    def _granted(self, principal: Principal) -> Callable[[ToolRecord], bool]:
        """A predicate over registry entries: the principal's grants, and the user's too for an agent key."""
        grants = self._grants.grants_for(subjects_of(principal))
        if principal.obo is None:
            return lambda entry: allows(grants, entry.exposed_name, entry.server)
        # An agent acting for a user may call only what both may call: no confused deputy.
        user_grants = self._grants.grants_for(self._user_subjects(principal.obo))
        return lambda entry: (
            allows(grants, entry.exposed_name, entry.server) and allows(user_grants, entry.exposed_name, entry.server)
        )

    def _visible(self, principal: Principal, kind: Primitive = Primitive.TOOL) -> list[ToolRecord]:
        granted = self._granted(principal)
        return [
            entry
            for entry in self._registry.catalog().entries(kind).values()
            if entry.status is ToolStatus.APPROVED and granted(entry)
        ]

    def list_tools(self, principal: Principal, cursor: object = None) -> dict[str, Any]:
        return self.list_entries(principal, Primitive.TOOL, cursor)

    def list_entries(self, principal: Principal, kind: Primitive, cursor: object = None) -> dict[str, Any]:
        """One page of the approved entries of ``kind`` the principal holds a grant for, in exposed-name order."""
        entries = self._visible(principal, kind)
        if cursor is not None:
            after = _decode_cursor(cursor)
            entries = [entry for entry in entries if entry.public_name > after]
        page = entries[: self._page_size]
        result: dict[str, Any] = {_LIST_KEYS[kind]: [entry.listing() for entry in page]}
        if len(entries) > self._page_size:
            result["nextCursor"] = _encode_cursor(page[-1].public_name)
        return result

    def offers_completions(self, principal: Principal) -> bool:
        """Whether a server whose prompts or resource templates the principal may use offers completion."""
        catalog = self._registry.catalog()
        servers = {entry.server for kind in _COMPLETABLE for entry in self._visible(principal, kind)}
        return any("completions" in catalog.servers[name].capabilities for name in servers if name in catalog.servers)

    def find_resource(self, uri: object) -> tuple[ToolRecord, str] | None:
        """The registry entry a resource URI is read through, and the server's own URI for it: a listed resource
        of that exact URI, else the first (in order) approved template of the URI's server that matches it. The
        server is the URI's authority (``steward://<server>/``) or, for a URI outside that scheme, one of the
        servers exposed unprefixed. Nothing about grants is decided here."""
        if not isinstance(uri, str) or not uri:
            return None
        catalog = self._registry.catalog()
        listed = catalog.resources.get(uri)
        if listed is not None:
            return listed, listed.upstream_name
        owner = uri_owner(uri)
        if owner is None and uri[: len(URI_SCHEME)].lower() == URI_SCHEME:
            # Steward's own scheme (any case) without a server name: never an unprefixed server's URI.
            return None
        for template in _templates_for(catalog, owner[0] if owner else None):
            original = owner[1] if owner else uri
            if match_template(template.upstream_name, original) is not None:
                return template, original
        return None

    def resolve_entry(
        self, principal: Principal, entry: ToolRecord | None, unknown: Callable[[], StewardError]
    ) -> tuple[ToolRecord, tuple[Grant, ...]]:
        """The prompt or resource entry the principal holds a grant for (as :meth:`resolve` for a tool):
        ``unknown()`` is raised for an unknown, ungranted, disabled or rejected entry alike."""
        if entry is None or entry.status in (ToolStatus.DISABLED, ToolStatus.REJECTED):
            raise unknown()
        grants = self._person_grants(principal, entry)
        if grants is None:
            raise unknown()
        if entry.status is not ToolStatus.APPROVED:
            what = f"The {entry.kind.noun} {entry.public_name[:200]}"
            raise Denied(
                "quarantined", f"{what} is awaiting review and cannot be used now.", {"tool": entry.exposed_name}
            )
        return entry, grants

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
            grants = self._person_grants(principal, tool)
        else:
            server_grant = _first_match(self._grants.grants_for([(SubjectKind.SERVER, acting_server)]), tool)
            grants = None if server_grant is None else (server_grant,)
            if grants is not None and intersect:
                person = self._person_grants(principal, tool)
                grants = None if person is None else (*grants, *person)
        if grants is None:
            raise UnknownToolError(name)
        if tool.status is not ToolStatus.APPROVED:
            raise Denied("quarantined", f"The tool {name} is awaiting review and cannot be called now.", {"tool": name})
        return tool, grants

    def _person_grants(self, principal: Principal, entry: ToolRecord) -> tuple[Grant, ...] | None:
        """The principal's grant for ``entry`` (and the user's too for an agent acting for a user), or None."""
        chosen = _first_match(self._grants.grants_for(subjects_of(principal)), entry)
        if chosen is None:
            return None
        if principal.obo is None:
            return (chosen,)
        user = _first_match(self._grants.grants_for(self._user_subjects(principal.obo)), entry)
        return None if user is None else (chosen, user)

    def catalog(self) -> Catalog:
        """The registry as cached (≤ 5 s stale)."""
        return self._registry.catalog()

    def server_named(self, name: str) -> ServerRecord | None:
        return self._registry.catalog().servers.get(ServerName(name))

    def server_of(self, tool: ToolRecord) -> ServerRecord:
        server = self._registry.catalog().servers.get(tool.server)
        if server is None:
            raise UnknownToolError(tool.exposed_name)
        return server


def _first_match(grants: list[Grant], entry: ToolRecord) -> Grant | None:
    # Principal grants before team grants: the most specific subject is the one re-checked.
    ordered = sorted(grants, key=lambda grant: grant.subject_kind is not SubjectKind.PRINCIPAL)
    return next((grant for grant in ordered if grant.matches(entry.exposed_name, entry.server)), None)


_LIST_KEYS: Final = {
    Primitive.TOOL: "tools",
    Primitive.PROMPT: "prompts",
    Primitive.RESOURCE: "resources",
    Primitive.RESOURCE_TEMPLATE: "resourceTemplates",
}
_COMPLETABLE: Final = (Primitive.PROMPT, Primitive.RESOURCE_TEMPLATE)


def _templates_for(catalog: Catalog, server: str | None) -> list[ToolRecord]:
    """The templates a URI may be read through: its server's (namespaced), else the unprefixed
    servers'. Templates of other servers are never tried: a read routes to its owner, never by guessing."""
    chosen: list[ToolRecord] = []
    for template in catalog.templates.values():
        if template.status in (ToolStatus.DISABLED, ToolStatus.REJECTED):
            continue
        owner = catalog.servers.get(template.server)
        if owner is None:
            continue
        if (server is not None and owner.namespaced and template.server == server) or (
            server is None and not owner.namespaced
        ):
            chosen.append(template)
    return chosen


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
    params = {"name": upstream, "arguments": arguments}
    return request_envelope(request_id, deadline_ms, principal, rpc_id, "tools/call", params, delegation)


def request_envelope(
    request_id: str,
    deadline_ms: int,
    principal: Principal,
    rpc_id: str | int,
    method: str,
    params: dict[str, Any],
    delegation: str | None = None,
) -> dict[str, Any]:
    """The envelope of any internal-dialect request (``tools/call``, ``prompts/get``, ``resources/read``,
    ``completion/complete``) for ``principal``."""
    who = envelope.Principal(principal.id, principal.team, principal.obo)
    return envelope.request(envelope.StewardContext(request_id, deadline_ms, who, delegation), rpc_id, method, params)


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
