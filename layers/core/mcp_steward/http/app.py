"""The Starlette app: ``POST /mcp``, stateless, JSON only, both protocol eras decided per request."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from mcp_steward.domain.identity import IdentityError, Principal
from mcp_steward.domain.ports import StoreUnavailableError
from mcp_steward.domain.registry import Primitive
from mcp_steward.http.discovery import MCP_PATH, WELL_KNOWN_PATH, ProtectedResource, ProtectedResourceMetadata
from mcp_steward.http.guards import HostPolicy, check_media_types
from mcp_steward.http.identity import IdentityResolver
from mcp_steward.http.responses import accepted, http_refusal, json_answer, rpc_error, unauthorized
from mcp_steward.observability import logger
from mcp_steward.protocol.errors import (
    HttpRefusalError,
    InvalidParamsError,
    MethodNotFoundError,
    ServiceUnavailableError,
    StewardError,
)
from mcp_steward.protocol.jsonrpc import Message, PostedResponse, parse_body, readable_id, to_message
from mcp_steward.protocol.negotiation import Headers, check_modern_envelope, detect_era, negotiate_legacy, param_headers
from mcp_steward.protocol.versions import (
    HEADER_METHOD,
    HEADER_NAME,
    HEADER_PROTOCOL_VERSION,
    LEGACY_VERSIONS,
    META_SERVER_INFO,
    MODERN_VERSIONS,
    Era,
)
from mcp_steward.services.calls import CallRequest, CallTool
from mcp_steward.services.completion import Completion
from mcp_steward.services.tools import ToolService

SERVER_NAME: Final = "mcp-steward"
LIST_TTL_MS: Final = 5_000
#: A read is a governed decision of its own (granted, charged, audited) and its contents may change at any time:
#: a client may not reuse it (the caching scenario needs the hint on every read, SEP-2549).
READ_TTL_MS: Final = 0
#: The levels ``logging/setLevel`` accepts (RFC 5424 severities, as the specification names them).
LOG_LEVELS: Final = frozenset({"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"})
DISCOVER_TTL_MS: Final = 60_000
_ROUTING_HEADERS: Final = (HEADER_PROTOCOL_VERSION, HEADER_METHOD, HEADER_NAME)
_LISTS: Final = {
    "tools/list": Primitive.TOOL,
    "prompts/list": Primitive.PROMPT,
    "resources/list": Primitive.RESOURCE,
    "resources/templates/list": Primitive.RESOURCE_TEMPLATE,
}
#: What ``prompts/get`` and ``resources/read`` use: governed as calls (services/primitives.py).
_USES: Final = {"prompts/get": Primitive.PROMPT, "resources/read": Primitive.RESOURCE}
#: Leave the function this much time after the tool's deadline to settle and answer.
DEADLINE_MARGIN_MS: Final = 1_500


@dataclass(frozen=True)
class EndpointConfig:
    host_policy: HostPolicy
    max_body_bytes: int
    request_timeout_s: float
    version: str
    #: Run blocking work (stores, invokes) in a worker thread. Under uvicorn many requests share the event
    #: loop, so this is required; a Lambda sandbox serves one request at a time, where the hop only costs.
    offload_blocking: bool = True
    #: The endpoint as an OAuth resource server: its metadata document and 401 challenge (RFC 9728).
    resource: ProtectedResource = field(default_factory=ProtectedResource)


class McpEndpoint:
    """One MCP request in, one JSON answer out. Blocking work runs off the event loop."""

    def __init__(
        self,
        tools: ToolService,
        call_tool: CallTool,
        identity: IdentityResolver,
        config: EndpointConfig,
        complete: Completion | None = None,
    ) -> None:
        self._tools = tools
        self._call_tool = call_tool
        self._identity = identity
        self._config = config
        self._complete = complete
        self._server_info = {"name": SERVER_NAME, "version": config.version}

    def _capabilities(self, principal: Principal, era: Era) -> dict[str, Any]:
        """Tools, prompts and resources always (each listed as the principal's grants allow); ``completions``
        only when a server whose prompts or templates the principal may use offers it; ``logging`` in the
        legacy era (``logging/setLevel`` is answered; Steward sends no log notification, so any level holds)."""
        capabilities: dict[str, Any] = {
            "tools": {"listChanged": False},
            "prompts": {"listChanged": False},
            "resources": {"listChanged": False},
        }
        if self._complete is not None and self._tools.offers_completions(principal):
            capabilities["completions"] = {}
        if era is Era.LEGACY:
            capabilities["logging"] = {}
        return capabilities

    @property
    def config(self) -> EndpointConfig:
        return self._config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """An ASGI app, so every HTTP method reaches it (it answers 405 itself, with ``Allow: POST``)."""
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        try:
            return await self._handle(request)
        except HttpRefusalError as refusal:
            return http_refusal(refusal)

    async def _handle(self, request: Request) -> Response:
        if request.method != "POST":
            raise HttpRefusalError(405, "Method Not Allowed: this endpoint serves POST only", {"Allow": "POST"})
        headers = request.headers
        self._config.host_policy.check(headers.get("host"), headers.get("origin"))
        check_media_types(headers.get("accept"), headers.get("content-type"))
        body = await _read_capped(request, self._config.max_body_bytes)
        decoded: Any = None
        era = Era.LEGACY
        try:
            decoded = parse_body(body)
            routing = Headers({name: headers.getlist(name) for name in _ROUTING_HEADERS})
            params = decoded.get("params") if isinstance(decoded, dict) else None
            era, version = detect_era(routing, params)
            message = to_message(decoded)
            mirrored: dict[str, list[str]] = {}
            if era is Era.MODERN and isinstance(message, Message) and not message.is_notification:
                check_modern_envelope(message, routing, version)
                if message.method == "tools/call":
                    mirrored = param_headers({name: headers.getlist(name) for name in headers})
        except StewardError as error:
            return rpc_error(readable_id(decoded), error, era)
        arguments = (request.scope, headers.get("authorization"), message, era, version, mirrored)
        if not self._config.offload_blocking:
            return self._dispatch(*arguments)
        return await anyio.to_thread.run_sync(self._dispatch, *arguments)

    def _dispatch(
        self,
        scope: Mapping[str, Any],
        authorization: str | None,
        message: Message | PostedResponse,
        era: Era,
        version: str,
        mirrored: Mapping[str, list[str]],
    ) -> Response:
        """Identify, then answer one request. Notifications and posted responses are acknowledged (202) only
        for an identified caller: nothing is accepted anonymously. Stores and invokes block: see
        ``EndpointConfig.offload_blocking``."""
        request_id = message.id if isinstance(message, Message) else None
        try:
            principal = self._identity(scope, authorization)
            if isinstance(message, PostedResponse) or message.is_notification:
                return accepted()
            result = self._answer(scope, principal, message, era, version, mirrored)
        except IdentityError as exc:
            return unauthorized(request_id, str(exc), self._config.resource.challenge(scope))
        except StewardError as error:
            return rpc_error(request_id, error, era)
        except StoreUnavailableError:
            # Fail closed: a store that cannot answer refuses the request.
            logger.exception("store unavailable", extra={"method": getattr(message, "method", None)})
            return rpc_error(request_id, ServiceUnavailableError(), era)
        if era is Era.MODERN:
            result = {"resultType": "complete", **result}
            result.setdefault("_meta", {})[META_SERVER_INFO] = self._server_info
        return json_answer(request_id, result)

    def _answer(
        self,
        scope: Mapping[str, Any],
        principal: Principal,
        message: Message,
        era: Era,
        version: str,
        mirrored: Mapping[str, list[str]],
    ) -> dict[str, Any]:
        method, params = message.method, message.params
        if method in _LISTS:
            listing = self._tools.list_entries(principal, _LISTS[method], params.get("cursor"))
            if era is Era.MODERN:
                listing.update(ttlMs=LIST_TTL_MS, cacheScope="private")
            return listing
        if method == "tools/call" or method in _USES:
            request_id, deadline_ms = _request_clock(scope, self._config.request_timeout_s)
            if message.id is None:  # pragma: no cover - notifications never reach here
                raise InvalidParamsError(f"{method} needs an id")
            meta = params.get("_meta")
            kind = _USES.get(method, Primitive.TOOL)
            if kind is Primitive.RESOURCE and not isinstance(params.get("uri"), str):
                raise InvalidParamsError("resources/read needs params.uri, a string")
            if kind is Primitive.PROMPT and not isinstance(params.get("name"), str):
                raise InvalidParamsError("prompts/get needs params.name, a string")
            result = self._call_tool(
                CallRequest(
                    principal=principal,
                    request_id=request_id,
                    rpc_id=message.id,
                    name=params.get("uri") if kind is Primitive.RESOURCE else params.get("name"),
                    arguments=None if kind is Primitive.RESOURCE else params.get("arguments"),
                    deadline_ms=deadline_ms,
                    meta=meta if isinstance(meta, dict) else None,
                    kind=kind,
                    # SEP-2243: checked by the pipeline once it has resolved the tool for a grant holder
                    mirrored=mirrored if era is Era.MODERN and kind is Primitive.TOOL else None,
                )
            )
            if era is Era.MODERN and kind is Primitive.RESOURCE:
                result = {**result, "ttlMs": READ_TTL_MS, "cacheScope": "private"}
            return result
        if method == "completion/complete" and self._complete is not None:
            _, deadline_ms = _request_clock(scope, self._config.request_timeout_s)
            assert message.id is not None
            return self._complete(principal, params, message.id, deadline_ms)
        if era is Era.MODERN and method == "server/discover":
            return {
                "supportedVersions": [*MODERN_VERSIONS, *LEGACY_VERSIONS],
                "capabilities": self._capabilities(principal, era),
                "serverInfo": self._server_info,
                "ttlMs": DISCOVER_TTL_MS,
                # the capabilities follow the caller's grants (completions)
                "cacheScope": "private",
            }
        if era is Era.LEGACY and method == "initialize":
            return {
                "protocolVersion": negotiate_legacy(params.get("protocolVersion")),
                "capabilities": self._capabilities(principal, era),
                "serverInfo": self._server_info,
                "instructions": (
                    "Governed by MCP Steward: only the tools, prompts and resources you are granted are listed."
                ),
            }
        if era is Era.LEGACY and method == "ping":
            return {}
        if era is Era.LEGACY and method == "logging/setLevel":
            if params.get("level") not in LOG_LEVELS:
                raise InvalidParamsError(f"logging/setLevel needs params.level, one of {', '.join(sorted(LOG_LEVELS))}")
            return {}
        raise MethodNotFoundError(f"Method not found: {method[:100]}")


def _request_clock(scope: Mapping[str, Any], default_timeout_s: float) -> tuple[str, int]:
    """The request id and absolute deadline: from the Lambda context when there is one."""
    now_ms = int(time.time() * 1000)
    context = scope.get("aws.context")
    if context is not None:
        remaining = int(context.get_remaining_time_in_millis())
        return str(context.aws_request_id), now_ms + remaining - DEADLINE_MARGIN_MS
    return uuid.uuid4().hex, now_ms + int(default_timeout_s * 1000) - DEADLINE_MARGIN_MS


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise HttpRefusalError(413, f"Payload Too Large: the limit is {limit} bytes")
        except ValueError as exc:
            raise HttpRefusalError(400, "Bad Request: invalid Content-Length") from exc
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HttpRefusalError(413, f"Payload Too Large: the limit is {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(endpoint: McpEndpoint) -> Starlette:
    """The ASGI app: the MCP endpoint and its protected resource metadata (RFC 9728), at the well-known URL for
    the endpoint and at the root form. Every method reaches both, and each answers 405 itself."""
    metadata = ProtectedResourceMetadata(endpoint.config.resource, endpoint.config.host_policy)
    return Starlette(
        routes=[
            Route(MCP_PATH, endpoint),
            Route(WELL_KNOWN_PATH + MCP_PATH, metadata),
            Route(WELL_KNOWN_PATH, metadata),
        ]
    )
