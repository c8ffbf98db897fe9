"""An MCP client for vendor servers over Streamable HTTP, both protocol eras (docs/design.md section 11).

One request is sent the modern way first (2026-07-28: no ``initialize``, ``MCP-Protocol-Version``, ``Mcp-Method``
and ``Mcp-Name`` headers, the per-request ``_meta``). A vendor that refuses it as a protocol error is spoken to
in the legacy way (``initialize``, ``notifications/initialized``, then the request with its
``Mcp-Session-Id`` when one was issued; a 404 on a session re-initializes once). A JSON-RPC error answering the
request itself (its id, a code other than the protocol's own refusals: a resource not found is ``-32602`` over
HTTP 400) is the vendor's answer, not a sign of the legacy era. What was learnt (era, session, and a legacy
vendor's ``initialize`` capabilities, which answer ``server/discover`` for it) is kept per vendor URL for the
sandbox's life. Answers may be JSON or an SSE stream; a vendor that needs the user
(a 2026-07-28 ``input_required`` result, or a request of its own in the stream) is refused: Steward has nobody
to ask.

The official SDK client is not used at run time: it would add about ten packages to the layer (and ~2 s of
imports on a cold start), it follows same-origin redirects, and its HTTP stack (httpx2) is not the transport
whose every connection is checked here. The SDK's server is the peer the tests run against.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Final

import httpx

from mcp_steward.domain.egress_policy import EgressRefusedError
from mcp_steward.egress.transport import ResponseTooLargeError, read_capped
from mcp_steward.protocol.jsonrpc import loads_unicode

MODERN_VERSION: Final = "2026-07-28"
LEGACY_VERSIONS: Final = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
CLIENT_INFO: Final = {"name": "mcp-steward-egress", "version": "1"}
INTERACTIVE: Final = "interactive vendor tools are not supported"
#: Modern requests a legacy-only server answers with one of these statuses are sent again the legacy way.
_FALLBACK_STATUSES: Final = frozenset({400, 404, 405, 406, 415, 421})
#: JSON-RPC errors that refuse the request's framing (parse, invalid request, header mismatch, unsupported
#: version), not what it asked: with a fallback status they still mean "try the legacy way".
_ERA_ERROR_CODES: Final = frozenset({-32700, -32600, -32020, -32022})
#: The request parameter the ``Mcp-Name`` header mirrors, per method (MCP 2026-07-28).
NAME_BEARING: Final = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}


class VendorError(Exception):
    """A vendor call that produced no usable answer. ``reason`` is stable; ``sent`` tells whether the request
    may have reached the vendor's tool (who pays depends on it)."""

    def __init__(self, reason: str, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.sent = sent


class VendorUnauthorizedError(VendorError):
    """The vendor answered 401: the credential is missing, wrong or rotated."""

    def __init__(self) -> None:
        super().__init__("vendor_unauthorized", "The vendor refused Steward's credential (HTTP 401).", sent=False)


@dataclass(slots=True)
class Session:
    """What a vendor URL was found to speak: ``modern``, or ``legacy`` with its version and session id."""

    era: str
    version: str = MODERN_VERSION
    session_id: str | None = None
    #: A legacy vendor's ``initialize`` result: its capabilities and serverInfo (objects, or None).
    capabilities: dict[str, Any] | None = None
    server_info: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    headers: httpx.Headers
    message: dict[str, Any] | None  # the JSON-RPC response to our request, when there was one
    answered: bool = False  # the message carried our request's id (the vendor dispatched the request)


class VendorClient:
    """One vendor endpoint over an HTTP client whose connections the egress rules check."""

    def __init__(self, http: httpx.AsyncClient, url: str, auth: dict[str, str], sessions: dict[str, Session]) -> None:
        self._http = http
        self._url = url
        self._auth = auth
        self._sessions = sessions
        self._next_id = 0

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send one request (``tools/call``, a list, ``resources/read``, ``prompts/get``, ``completion/complete``);
        return the vendor's JSON-RPC response message.

        Raises:
            VendorError: no usable answer (unreachable, timeout, HTTP error, garbage, interactive).
            VendorUnauthorizedError: HTTP 401.
            EgressRefusedError: a redirect, an oversized answer, or a connection the rules refuse.
        """
        session = self._sessions.get(self._url)
        if session is None or session.era == "modern":
            reply = await self._modern(method, params)
            if reply is not None:
                self._sessions[self._url] = Session("modern")
                return reply
        if session is None or session.era != "legacy":
            session = await self._initialize()
        try:
            return await self._legacy(session, method, params)
        except _SessionExpiredError:
            session = await self._initialize()
            return await self._legacy(session, method, params)

    async def discover(self) -> dict[str, Any]:
        """The vendor's ``server/discover`` response: a modern vendor's own, or for a legacy vendor one made of
        what its ``initialize`` result said (``{"capabilities", "serverInfo"}``, either possibly not an object).

        Any error to the modern request is a reason to try ``initialize`` (as the SDK's own probe does: a legacy
        server may answer ``-32601`` with HTTP 200); only when that fails too does the modern error stand.

        Raises:
            as :meth:`request`.
        """
        session = self._sessions.get(self._url)
        modern_error: dict[str, Any] | None = None
        if session is None or session.era == "modern":
            reply = await self._modern("server/discover", {})
            if reply is not None and "result" in reply:
                self._sessions[self._url] = Session("modern")
                return reply
            modern_error = reply
        if session is None or session.era != "legacy" or session.capabilities is None:
            try:
                session = await self._initialize()
            except VendorError:
                if modern_error is not None:
                    return modern_error  # a modern vendor's own error to server/discover
                raise
        result = {"capabilities": session.capabilities, "serverInfo": session.server_info}
        return {"jsonrpc": "2.0", "id": self._next_id, "result": result}

    # -- eras ---------------------------------------------------------------------------------------------

    async def _modern(self, method: str, params: dict[str, Any]) -> dict[str, Any] | None:
        meta = {
            "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
            "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
            "io.modelcontextprotocol/clientCapabilities": {},
        }
        body = {**params, "_meta": {**(params.get("_meta") or {}), **meta}}
        headers = {"MCP-Protocol-Version": MODERN_VERSION, "Mcp-Method": method}
        named = params.get(NAME_BEARING.get(method, ""))
        if isinstance(named, str):
            headers["Mcp-Name"] = header_value(named)
        reply = await self._send(method, body, headers)
        if reply.message is not None and "result" in reply.message:
            return _complete(reply.message)
        if reply.message is not None and reply.answered and _error_code(reply.message) not in _ERA_ERROR_CODES:
            return reply.message  # the vendor's own answer to the request (a modern server's -32602 is HTTP 400)
        if reply.status in _FALLBACK_STATUSES:
            return None  # not a modern server: try the legacy way
        if reply.message is not None:
            return reply.message  # a JSON-RPC error from a modern server
        raise _http_error(reply.status)

    async def _initialize(self) -> Session:
        params = {"protocolVersion": LEGACY_VERSIONS[0], "capabilities": {}, "clientInfo": CLIENT_INFO}
        reply = await self._send("initialize", params, {})
        result = reply.message.get("result") if reply.message is not None else None
        if not isinstance(result, dict):
            if reply.message is None and reply.status != 200:
                raise _http_error(reply.status)
            raise VendorError("malformed_response", "The vendor answered initialize without a result.", sent=False)
        version = result.get("protocolVersion")
        if version not in LEGACY_VERSIONS:
            raise VendorError("unsupported_version", "The vendor speaks no protocol version Steward does.", sent=False)
        session_id = reply.headers.get("mcp-session-id")
        capabilities, server_info = result.get("capabilities"), result.get("serverInfo")
        session = Session(
            "legacy",
            str(version),
            session_id if session_id and session_id.isprintable() else None,
            capabilities if isinstance(capabilities, dict) else None,
            server_info if isinstance(server_info, dict) else None,
        )
        headers = self._legacy_headers(session)
        await self._send("notifications/initialized", None, headers, notification=True)
        self._sessions[self._url] = session
        return session

    async def _legacy(self, session: Session, method: str, params: dict[str, Any]) -> dict[str, Any]:
        reply = await self._send(method, params, self._legacy_headers(session))
        if reply.status == 404 and session.session_id is not None:
            raise _SessionExpiredError
        if reply.message is not None:
            return _complete(reply.message)
        raise _http_error(reply.status)

    @staticmethod
    def _legacy_headers(session: Session) -> dict[str, str]:
        headers = {"MCP-Protocol-Version": session.version}
        if session.session_id is not None:
            headers["Mcp-Session-Id"] = session.session_id
        return headers

    # -- HTTP ---------------------------------------------------------------------------------------------

    async def _send(
        self, method: str, params: dict[str, Any] | None, headers: dict[str, str], *, notification: bool = False
    ) -> _Reply:
        self._next_id += 1
        rpc_id = self._next_id
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        if not notification:
            message["id"] = rpc_id
        all_headers = {
            **self._auth,
            **headers,
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        }
        try:
            async with self._http.stream(
                "POST", self._url, content=json.dumps(message, separators=(",", ":")), headers=all_headers
            ) as response:
                status = response.status_code
                if 300 <= status < 400:
                    raise EgressRefusedError("redirect", "The vendor answered with a redirect; egress follows none.")
                if status == 401:
                    raise VendorUnauthorizedError
                body = await read_capped(response)
                content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
                reply_headers = response.headers
        except ResponseTooLargeError:
            raise EgressRefusedError("response_too_large", "The vendor's answer exceeded 1 MB.") from None
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise VendorError("vendor_unreachable", "The vendor could not be reached.", sent=False) from exc
        except httpx.TimeoutException as exc:
            raise VendorError("vendor_timeout", "The vendor did not answer in time.", sent=True) from exc
        except httpx.HTTPError as exc:
            raise VendorError("vendor_transport_error", "The connection to the vendor failed.", sent=True) from exc
        if notification or status == 202:
            return _Reply(status, reply_headers, None)
        found: dict[str, Any] | None
        answered = False
        if content_type == "text/event-stream":
            found, answered = _from_event_stream(body, rpc_id), True
        elif content_type == "application/json" or (status >= 400 and body[:1] == b"{"):
            found, answered = _from_json(body, rpc_id, strict=status < 400)
        elif status < 400:
            raise VendorError("malformed_response", "The vendor answered neither JSON nor an event stream.", sent=True)
        else:
            found = None
        if found is not None:
            found = {**found, "id": rpc_id}
        return _Reply(status, reply_headers, found, answered)


class _SessionExpiredError(Exception):
    """A legacy session the vendor no longer knows (HTTP 404): initialize again."""


def header_value(value: str) -> str:
    """``value`` as an HTTP header value: verbatim when it is printable ASCII without edge whitespace (and does not
    look like the encoding), else ``=?base64?<UTF-8 base64>?=`` (MCP 2026-07-28; a URI may hold any text)."""
    plain = value.isascii() and value.isprintable() and value == value.strip()
    if plain and not (value.startswith("=?base64?") and value.endswith("?=")):
        return value
    return f"=?base64?{base64.b64encode(value.encode('utf-8', 'surrogatepass')).decode('ascii')}?="


def _complete(message: dict[str, Any]) -> dict[str, Any]:
    """``message``, unless its result asks for the user's input (2026-07-28 ``input_required``; a legacy vendor
    saying it is refused all the same).

    Raises:
        VendorError: ``interactive``.
    """
    result = message.get("result")
    if isinstance(result, dict) and result.get("resultType") == "input_required":
        raise VendorError("interactive", INTERACTIVE, sent=True)
    return message


def _error_code(message: dict[str, Any]) -> object:
    error = message.get("error")
    return error.get("code") if isinstance(error, dict) else None


def _http_error(status: int) -> VendorError:
    return VendorError("vendor_http_error", f"The vendor answered HTTP {status}.", sent=status < 400 or status >= 500)


def _response_to(message: object, rpc_id: int) -> dict[str, Any] | None:
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return None
    if "method" in message:
        if "id" in message:  # the vendor asks the client something (elicitation, sampling, roots): interactive
            raise VendorError("interactive", INTERACTIVE, sent=True)
        return None  # a notification (progress, logging)
    if message.get("id") == rpc_id and ("result" in message or "error" in message):
        return message
    return None


def _from_json(body: bytes, rpc_id: int, *, strict: bool) -> tuple[dict[str, Any] | None, bool]:
    """The response to ``rpc_id`` in a JSON body, and whether it carried that id (an HTTP error's JSON-RPC error
    without it, such as a legacy server's refusal of a request without a session, is returned too)."""
    try:
        decoded = loads_unicode(body)  # UTF-8 and Unicode text only: a lone surrogate is a malformed answer
    except ValueError:
        if not strict:
            return None, False
        raise VendorError("malformed_response", "The vendor answered invalid JSON.", sent=True) from None
    found = _response_to(decoded, rpc_id)
    if found is None and strict:
        raise VendorError("malformed_response", "The vendor answered a malformed JSON-RPC message.", sent=True)
    if found is None and isinstance(decoded, dict) and isinstance(decoded.get("error"), dict):
        return {"jsonrpc": "2.0", "id": rpc_id, "error": decoded["error"]}, False  # an HTTP error's JSON-RPC error
    return found, found is not None


def _from_event_stream(body: bytes, rpc_id: int) -> dict[str, Any]:
    text = body.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    for block in text.split("\n\n"):
        data = "\n".join(line[5:].removeprefix(" ") for line in block.split("\n") if line.startswith("data:"))
        if not data:
            continue
        try:
            message = loads_unicode(data)
        except ValueError:
            raise VendorError("malformed_response", "The vendor's event stream held invalid JSON.", sent=True) from None
        found = _response_to(message, rpc_id)
        if found is not None:
            return found
    raise VendorError("malformed_response", "The vendor's event stream ended without an answer.", sent=True)
