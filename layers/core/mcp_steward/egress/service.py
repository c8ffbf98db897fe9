"""One egress invocation: the envelope and its vendor target in, a JSON-RPC response out (docs/design.md section 6).

Governance (or registration and sync) invokes the egress function once per vendor call with the invocation
envelope plus ``vendor``: ``{"server", "url", "allowed_hosts", "secret_id", "auth_header"}``. The egress checks
the URL and the secret's name again (the check at call time is the one that counts), reads the credential with the
origins it was stored for and refuses a target outside them (rule ``credential_origin``: the URL's origin must be
one of them, every allowed host one of their hosts; a credential stored without origins goes nowhere), puts it on
the outbound request only, speaks MCP to the vendor through the pinned transport (which checks each request's
origin again) within the envelope's deadline, and answers like an internal server's function: the methods of the
internal dialect (``server/discover``, ``tools/list``, ``tools/call``, ``resources/list``,
``resources/templates/list``, ``resources/read``, ``prompts/list``, ``prompts/get``, ``completion/complete``) in
the same shapes; the lists are followed over the vendor's pages and answered whole.

Failures are ``tools/call`` results with ``isError`` (for the other methods, JSON-RPC errors whose ``data``
carries the same ``reason``, ``rule``) whose ``_meta`` says what happened, so governance can decide who pays and
audit it:

- ``steward/reason``: ``egress_refused`` (a rule refused the call; ``steward/rule`` names it), ``vendor_timeout``,
  ``vendor_unreachable``, ``vendor_unauthorized``, ``vendor_error``, ``malformed_response``, ``interactive``,
  ``credential_unavailable``;
- ``steward/sent``: whether the request may have reached the vendor's tool.

Whatever the vendor answers is untrusted: a result not of its method's shape is ``malformed_response``; its own
``steward/*`` ``_meta`` keys are dropped at every level a result has ``_meta`` (the result, each list item,
content block, embedded resource, message, contents item) with the modern ``resultType``; a JSON-RPC error of its
own passes through with its code, its message cut to 500 characters and of its data only a string ``uri``; and any
occurrence of the credential in the answer is redacted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import ssl
import time
from collections.abc import Callable
from typing import Any, Final

from mcp_steward.contracts.result_meta import EgressFailure, is_steward_key
from mcp_steward.contracts.vendor_target import VendorTarget, VendorTargetError, target_of
from mcp_steward.domain.egress_policy import (
    CREDENTIAL_ORIGIN,
    DEFAULT_AUTH_HEADER,
    AuthHeader,
    EgressPolicy,
    EgressRefusedError,
    Origin,
    check_literal_host,
    check_secret_id,
    check_url,
    normalize_host,
    origin_text,
    outside_origins,
)
from mcp_steward.domain.vendor_secrets import StoredCredential
from mcp_steward.egress.client import Session, VendorClient, VendorError, VendorUnauthorizedError
from mcp_steward.egress.credentials import CredentialCache, CredentialUnavailableError, UnboundCredentialError
from mcp_steward.egress.transport import Resolver, pinned_client, system_resolver
from mcp_steward.protocol.versions import META_SERVER_INFO

MIN_USEFUL_S: Final = 0.25
MAX_LIST_PAGES: Final = 20
REDACTED: Final = "[redacted]"
#: Refusals that happen after the request was sent (the vendor may have run the tool).
_SENT_RULES: Final = frozenset({"redirect", "response_too_large"})
#: The methods the egress forwards, and for each list method the key its items are listed under.
LISTS: Final = {
    "tools/list": "tools",
    "resources/list": "resources",
    "resources/templates/list": "resourceTemplates",
    "prompts/list": "prompts",
}
_METHODS: Final = frozenset(
    {*LISTS, "server/discover", "tools/call", "resources/read", "prompts/get", "completion/complete"}
)
MAX_ERROR_MESSAGE_CHARS: Final = 500
MAX_ERROR_URI_CHARS: Final = 2048
MAX_COMPLETION_VALUES: Final = 100

_log = logging.getLogger(__name__)


class EgressService:
    def __init__(
        self,
        policy: EgressPolicy,
        credentials: CredentialCache,
        *,
        secret_prefix: str,
        ssl_context: ssl.SSLContext,
        resolver: Resolver = system_resolver,
        clock: Callable[[], float] = time.time,
        on_refused: Callable[[str], None] = lambda rule: None,
    ) -> None:
        self._policy = policy
        self._credentials = credentials
        self._prefix = secret_prefix
        self._ssl = ssl_context
        self._resolver = resolver
        self._clock = clock
        self._on_refused = on_refused
        #: What each vendor URL speaks (era, legacy session), kept for the sandbox's life.
        self._sessions: dict[str, Session] = {}

    async def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        """Answer one egress invocation (never raises for anything a vendor or a target can cause)."""
        started = time.perf_counter()
        message = event.get("message") if isinstance(event, dict) else None
        message = message if isinstance(message, dict) else {}
        rpc_id = message.get("id")
        method = message.get("method")
        raw_params = message.get("params")
        params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
        server = ""
        secret: str | None = None
        outcome: dict[str, Any]
        try:
            try:
                target = target_of(event)
            except VendorTargetError as malformed:
                raise EgressRefusedError("malformed_target", str(malformed)) from malformed
            server = target.server
            if method not in _METHODS:
                return _error(rpc_id, -32601, f"Method not found: {str(method)[:64]}")
            invalid = _invalid_params(str(method), params)
            if invalid is not None:
                return _error(rpc_id, -32602, invalid)
            remaining = self._remaining(event)
            destination = check_url(target.url, target.allowed_hosts, self._policy)
            check_literal_host(destination, self._policy)
            header = None
            stored: StoredCredential | None = None
            if target.secret_id is not None:
                check_secret_id(target.secret_id, self._prefix)
                header = AuthHeader.parse(target.auth_header or DEFAULT_AUTH_HEADER)
                stored = self._bound_credential(target, destination)
                secret = stored.credential
            async with asyncio.timeout(remaining):
                try:
                    answer = await self._call(target, header, stored, str(method), params)
                except VendorUnauthorizedError:
                    if target.secret_id is None or header is None:
                        raise
                    # Rotation: read the secret again (once), check its origins again, and retry with it.
                    stored = self._bound_credential(target, destination, refresh=True)
                    secret = stored.credential
                    answer = await self._call(target, header, stored, str(method), params)
            outcome = {"jsonrpc": "2.0", "id": rpc_id, **answer}
            reason, rule = "ok", ""
        except EgressRefusedError as refusal:
            reason, rule = "egress_refused", refusal.rule
            self._on_refused(rule)
            outcome = _failure(rpc_id, method, refusal.message, reason, rule=rule, sent=rule in _SENT_RULES)
        except CredentialUnavailableError:
            reason, rule = "credential_unavailable", ""
            text = "The vendor credential could not be read."
            outcome = _failure(rpc_id, method, text, reason, sent=False)
        except VendorError as failure:
            reason, rule = failure.reason, ""
            outcome = _failure(rpc_id, method, failure.message, _public_reason(failure.reason), sent=failure.sent)
        except TimeoutError:
            reason, rule = "vendor_timeout", ""
            text = "The vendor did not answer before the call's deadline."
            outcome = _failure(rpc_id, method, text, reason, sent=True)
        _log.info(
            "vendor call",
            extra={
                "server": server,
                "method": str(method)[:64],
                "outcome": reason,
                "rule": rule,
                "latency_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return _redacted(outcome, secret)

    def _remaining(self, event: dict[str, Any]) -> float:
        steward = event.get("steward")
        deadline_ms = steward.get("deadline_ms") if isinstance(steward, dict) else None
        if not isinstance(deadline_ms, int | float):
            raise EgressRefusedError("malformed_target", "The egress call carries no deadline.")
        remaining = deadline_ms / 1000 - self._clock()
        if remaining < MIN_USEFUL_S:
            raise EgressRefusedError("deadline", "The call's deadline passed before the vendor was called.")
        return remaining

    def _bound_credential(
        self, target: VendorTarget, destination: Origin, *, refresh: bool = False
    ) -> StoredCredential:
        """The target's credential, when the target lies within the origins it was stored for.

        A cached credential whose origins do not cover the target is read once more before refusing: it may have
        been stored again for them (``put-vendor`` then ``servers add`` with a new URL must not wait for the cache).

        Raises:
            EgressRefusedError: ``credential_origin``: the URL's origin or an allowed host is outside the stored
                origins, or the secret binds its credential to no origins (nothing has been sent).
            CredentialUnavailableError: the secret could not be read.
        """
        assert target.secret_id is not None
        try:
            stored = self._credentials.get(target.secret_id, refresh=refresh)
            outside = outside_origins(destination, target.allowed_hosts, stored.origins)
            if outside is not None and not refresh:
                stored = self._credentials.get(target.secret_id, refresh=True)
                outside = outside_origins(destination, target.allowed_hosts, stored.origins)
        except UnboundCredentialError:
            outside, stored = "", None
        if stored is not None and outside is None:
            return stored
        name = _secret_name(target.secret_id)
        hint = _put_vendor_hint(target, self._prefix, destination)
        if stored is None:
            text = (
                f"The vendor credential {name} was stored without the origins it may be sent to (before they were "
                f"recorded, or not by put-vendor), so it is sent nowhere. Store it again with them: {hint}"
            )
        else:
            text = (
                f"The vendor credential {name} was not stored for {outside}: it is sent only to the origins it was "
                f"stored for. If this vendor's URL and hosts are right, store the credential again for them: {hint}"
            )
        raise EgressRefusedError(CREDENTIAL_ORIGIN, text)

    async def _call(
        self,
        target: VendorTarget,
        header: AuthHeader | None,
        stored: StoredCredential | None,
        method: str,
        params: dict[str, Any],
    ) -> dict[str, Any]:
        auth = dict([header.render(stored.credential)]) if header is not None and stored is not None else {}
        origins = stored.origins if stored is not None else None
        http, _ = pinned_client(
            self._policy, timeout_s=30.0, resolver=self._resolver, context=self._ssl, credential_origins=origins
        )
        async with http:
            client = VendorClient(http, target.url, auth, self._sessions)
            if method in LISTS:
                return await _list_all(client, method, params)
            if method == "server/discover":
                response = await client.discover()
            else:
                response = await client.request(method, _forwarded(method, params))
        if "error" in response:
            return {"error": _vendor_error(response["error"])}
        result = response.get("result")
        cleaned = _SHAPES[method](result) if isinstance(result, dict) else None
        if cleaned is None:
            raise VendorError("malformed_response", f"The vendor's {method} result is malformed.", sent=True)
        if method == "server/discover":
            cleaned = _discovered(cleaned, target.server)
        return {"result": cleaned}


def _invalid_params(method: str, params: dict[str, Any]) -> str | None:
    """Why the request cannot be forwarded as its method needs (governance checks first; this only keeps the
    egress from sending what has no ``Mcp-Name``), or None."""
    if method == "resources/read" and not isinstance(params.get("uri"), str):
        return "resources/read needs a string uri."
    if method == "prompts/get" and not isinstance(params.get("name"), str):
        return "prompts/get needs a string name."
    if method == "completion/complete" and not (
        isinstance(params.get("ref"), dict) and isinstance(params.get("argument"), dict)
    ):
        return "completion/complete needs a ref and an argument."
    return None


def _forwarded(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """The request's parameters the vendor is sent (only those of the method: never the caller's ``_meta``)."""
    if method == "tools/call":
        return {"name": params.get("name"), "arguments": params.get("arguments")}
    if method == "resources/read":
        return {"uri": params["uri"]}
    if method == "prompts/get":
        arguments = params.get("arguments")
        return {"name": params["name"], **({"arguments": arguments} if arguments is not None else {})}
    context = params.get("context")  # completion/complete
    return {"ref": params["ref"], "argument": params["argument"], **({"context": context} if context else {})}


async def _list_all(client: VendorClient, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """Every page of a list (at most :data:`MAX_LIST_PAGES`), as one list under the method's key."""
    key = LISTS[method]
    items: list[Any] = []
    cursor = params.get("cursor")
    for _ in range(MAX_LIST_PAGES):
        response = await client.request(method, {"cursor": cursor} if cursor else {})
        if "error" in response:
            return {"error": _vendor_error(response["error"])}
        result = response.get("result")
        page = result.get(key) if isinstance(result, dict) else None
        if not isinstance(page, list) or not all(isinstance(item, dict) for item in page):
            raise VendorError("malformed_response", f"The vendor's {method} result is malformed.", sent=True)
        items.extend(_without_steward_meta(item) for item in page)
        cursor = result.get("nextCursor") if isinstance(result, dict) else None
        if not isinstance(cursor, str) or not cursor:
            return {"result": {key: items}}
    raise VendorError("malformed_response", f"The vendor listed more than {MAX_LIST_PAGES} pages of {key}.", sent=True)


def _without_steward_meta(item: dict[str, Any], *, also: frozenset[str] = frozenset()) -> dict[str, Any]:
    """``item`` without the ``steward/*`` keys of its ``_meta`` (nor those in ``also``); an emptied ``_meta``, or
    one that is not an object, goes."""
    if "_meta" not in item:
        return item
    meta = item["_meta"]
    cleaned = {k: v for k, v in item.items() if k != "_meta"}
    if isinstance(meta, dict):
        kept = {k: v for k, v in meta.items() if not is_steward_key(k) and k not in also}
        if kept:
            cleaned["_meta"] = kept
    return cleaned


#: A modern vendor's framing of its results (2026-07-28): not part of the internal dialect's shapes (2025-11-25),
#: and what Steward's own answers say of caching and of the server is Steward's to say.
_MODERN_FRAMING: Final = frozenset({"resultType", "ttlMs", "cacheScope"})
_MODERN_META: Final = frozenset({META_SERVER_INFO})


def _untrusted_result(result: dict[str, Any]) -> dict[str, Any]:
    """The vendor's result without what only Steward may say (its ``steward/*`` meta, the modern framing: the
    result's ``resultType``, ``ttlMs``, ``cacheScope`` and its ``_meta``'s serverInfo)."""
    framed = {k: v for k, v in result.items() if k not in _MODERN_FRAMING}
    return _without_steward_meta(framed, also=_MODERN_META)


def _content_block(block: object) -> dict[str, Any] | None:
    """A content block (any type: governance passes it on) without steward meta, nor its embedded resource's;
    None when it is not an object."""
    if not isinstance(block, dict):
        return None
    cleaned = _without_steward_meta(block)
    resource = cleaned.get("resource")
    if isinstance(resource, dict):
        cleaned["resource"] = _without_steward_meta(resource)
    return cleaned


def _tool_result(result: dict[str, Any]) -> dict[str, Any] | None:
    content = result.get("content")
    if not isinstance(content, list):
        return None
    blocks = [_content_block(block) for block in content]
    if any(block is None for block in blocks):
        return None
    return {**_untrusted_result(result), "content": blocks}


def _read_result(result: dict[str, Any]) -> dict[str, Any] | None:
    contents = result.get("contents")
    if not isinstance(contents, list):
        return None
    items = []
    for item in contents:
        if not isinstance(item, dict) or not isinstance(item.get("uri"), str):
            return None
        if not (isinstance(item.get("text"), str) or isinstance(item.get("blob"), str)):
            return None
        items.append(_without_steward_meta(item))
    return {**_untrusted_result(result), "contents": items}


def _prompt_result(result: dict[str, Any]) -> dict[str, Any] | None:
    messages = result.get("messages")
    if not isinstance(messages, list):
        return None
    cleaned_messages = []
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return None
        content = _content_block(message.get("content"))
        if content is None:
            return None
        cleaned_messages.append({**_without_steward_meta(message), "content": content})
    return {**_untrusted_result(result), "messages": cleaned_messages}


def _completion_result(result: dict[str, Any]) -> dict[str, Any] | None:
    completion = result.get("completion")
    if not isinstance(completion, dict):
        return None
    values = completion.get("values")
    if not isinstance(values, list) or len(values) > MAX_COMPLETION_VALUES:
        return None
    if not all(isinstance(value, str) for value in values):
        return None
    kept: dict[str, Any] = {"values": values}
    total, has_more = completion.get("total"), completion.get("hasMore")
    if isinstance(total, int) and not isinstance(total, bool):
        kept["total"] = total
    if isinstance(has_more, bool):
        kept["hasMore"] = has_more
    return {**_untrusted_result(result), "completion": kept}


def _discover_result(result: dict[str, Any]) -> dict[str, Any] | None:
    capabilities = result.get("capabilities")
    if not isinstance(capabilities, dict):
        return None
    server_info = result.get("serverInfo")
    if not isinstance(server_info, dict):  # a modern vendor says it in the result's _meta
        meta = result.get("_meta")
        server_info = meta.get(META_SERVER_INFO) if isinstance(meta, dict) else None
    return {"capabilities": capabilities, "serverInfo": server_info}


def _discovered(result: dict[str, Any], server: str) -> dict[str, Any]:
    """The discover answer with a ``serverInfo`` of strings (the registered server's name when the vendor gave
    none)."""
    info = result.get("serverInfo")
    info = info if isinstance(info, dict) else {}
    name, version = info.get("name"), info.get("version")
    return {
        "capabilities": result["capabilities"],
        "serverInfo": {
            "name": name if isinstance(name, str) and name else server,
            "version": version if isinstance(version, str) else "",
        },
    }


#: Per forwarded method other than the lists: the result it answers, or None when the vendor's is malformed.
_SHAPES: Final[dict[str, Callable[[dict[str, Any]], dict[str, Any] | None]]] = {
    "tools/call": _tool_result,
    "resources/read": _read_result,
    "prompts/get": _prompt_result,
    "completion/complete": _completion_result,
    "server/discover": _discover_result,
}


def _vendor_error(error: object) -> dict[str, Any]:
    """A vendor's own JSON-RPC error as governance may pass it on: its integer code, its message cut to
    :data:`MAX_ERROR_MESSAGE_CHARS`, and of its data only a string ``uri`` (an unknown resource's).

    Raises:
        VendorError: ``malformed_response``: the error is not an object with an integer code.
    """
    code = error.get("code") if isinstance(error, dict) else None
    if not isinstance(error, dict) or not isinstance(code, int) or isinstance(code, bool):
        raise VendorError("malformed_response", "The vendor answered a malformed JSON-RPC error.", sent=True)
    message = error.get("message")
    passed: dict[str, Any] = {
        "code": code,
        "message": message[:MAX_ERROR_MESSAGE_CHARS] if isinstance(message, str) else "The vendor answered an error.",
    }
    data = error.get("data")
    uri = data.get("uri") if isinstance(data, dict) else None
    if isinstance(uri, str) and len(uri) <= MAX_ERROR_URI_CHARS:
        passed["data"] = {"uri": uri}
    return passed


def _secret_name(secret_id: str) -> str:
    """The secret's name (an ARN's name part)."""
    return secret_id.split(":secret:", 1)[1] if secret_id.startswith("arn:") else secret_id


def _put_vendor_hint(target: VendorTarget, prefix: str, destination: Origin) -> str:
    """The command that binds the credential to this target (its URL's origin and its other allowed hosts):
    ``put-vendor NAME`` takes the name after the prefix (an ARN's name ends with Secrets Manager's ``-XXXXXX``
    suffix, dropped)."""
    secret_id = target.secret_id or ""
    name = _secret_name(secret_id).removeprefix(prefix)
    if secret_id.startswith("arn:"):
        name = re.sub(r"-[A-Za-z0-9]{6}$", "", name)
    hosts = []
    for entry in target.allowed_hosts:
        try:
            host = normalize_host(entry)
        except ValueError:
            continue
        if host != destination.host and host not in hosts:
            hosts.append(host)
    options = "".join(f" --allow-host {host}" for host in hosts)
    return (
        f"steward secrets put-vendor {name} --origin {origin_text(destination)}{options} --value-file FILE "
        "(or --from-stdin)"
    )


_VENDOR_ERRORS: Final = frozenset({"vendor_http_error", "vendor_transport_error", "unsupported_version"})


def _public_reason(reason: str) -> str:
    return "vendor_error" if reason in _VENDOR_ERRORS else reason


def _failure(rpc_id: object, method: object, text: str, reason: str, *, rule: str = "", sent: bool) -> dict[str, Any]:
    meta = EgressFailure(reason, sent, rule or None).encode()
    if method == "tools/call":
        result = {"content": [{"type": "text", "text": text}], "isError": True, "_meta": meta}
        return {"jsonrpc": "2.0", "id": rpc_id, "result": result}
    data = {"reason": reason, **({"rule": rule} if rule else {})}
    return {"jsonrpc": "2.0", "id": rpc_id, "error": {"code": -32603, "message": text, "data": data}}


def _error(rpc_id: object, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rpc_id, "error": {"code": code, "message": message}}


def _redacted(answer: dict[str, Any], secret: str | None) -> dict[str, Any]:
    """The answer with every occurrence of the credential replaced (a vendor that echoes it leaks nothing)."""
    if not secret:
        return answer
    text = json.dumps(answer, separators=(",", ":"), ensure_ascii=False)
    escaped = json.dumps(secret, ensure_ascii=False)[1:-1]
    if secret not in text and escaped not in text:
        return answer
    return dict(json.loads(text.replace(escaped, REDACTED).replace(secret, REDACTED)))
