"""One egress invocation: the envelope and its vendor target in, a JSON-RPC response out (docs/design.md section 6).

Governance (or registration and sync) invokes the egress function once per vendor call with the invocation
envelope plus ``vendor``: ``{"server", "url", "allowed_hosts", "secret_id", "auth_header"}``. The egress checks
the URL and the secret's name again (the check at call time is the one that counts), reads the credential with the
origins it was stored for and refuses a target outside them (rule ``credential_origin``: the URL's origin must be
one of them, every allowed host one of their hosts; a credential stored without origins goes nowhere), puts it on
the outbound request only, speaks MCP to the vendor through the pinned transport (which checks each request's
origin again) within the envelope's deadline, and answers like a tool function.

Failures are ``tools/call`` results with ``isError`` (for ``tools/list``, JSON-RPC errors) whose ``_meta``
says what happened, so governance can decide who pays and audit it:

- ``steward/reason``: ``egress_refused`` (a rule refused the call; ``steward/rule`` names it), ``vendor_timeout``,
  ``vendor_unreachable``, ``vendor_unauthorized``, ``vendor_error``, ``malformed_response``, ``interactive``,
  ``credential_unavailable``;
- ``steward/sent``: whether the request may have reached the vendor's tool.

Whatever the vendor answers is untrusted: its own ``steward/*`` ``_meta`` keys are dropped, and any occurrence
of the credential in the answer is redacted.
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

MIN_USEFUL_S: Final = 0.25
MAX_LIST_PAGES: Final = 20
REDACTED: Final = "[redacted]"
#: Refusals that happen after the request was sent (the vendor may have run the tool).
_SENT_RULES: Final = frozenset({"redirect", "response_too_large"})
_METHODS: Final = frozenset({"tools/list", "tools/call"})

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
            if method == "tools/list":
                return await _list_all(client, params)
            response = await client.request(method, {"name": params.get("name"), "arguments": params.get("arguments")})
        if "error" in response:
            return {"error": response["error"]}
        result = response.get("result")
        if not isinstance(result, dict) or not isinstance(result.get("content"), list):
            raise VendorError("malformed_response", "The vendor's tools/call result is malformed.", sent=True)
        return {"result": _untrusted_result(result)}


async def _list_all(client: VendorClient, params: dict[str, Any]) -> dict[str, Any]:
    tools: list[Any] = []
    cursor = params.get("cursor")
    for _ in range(MAX_LIST_PAGES):
        response = await client.request("tools/list", {"cursor": cursor} if cursor else {})
        if "error" in response:
            return {"error": response["error"]}
        result = response.get("result")
        page = result.get("tools") if isinstance(result, dict) else None
        if not isinstance(page, list):
            raise VendorError("malformed_response", "The vendor's tools/list result is malformed.", sent=True)
        tools.extend(page)
        cursor = result.get("nextCursor") if isinstance(result, dict) else None
        if not isinstance(cursor, str) or not cursor:
            return {"result": {"tools": tools}}
    raise VendorError("malformed_response", f"The vendor listed more than {MAX_LIST_PAGES} pages of tools.", sent=True)


def _untrusted_result(result: dict[str, Any]) -> dict[str, Any]:
    """The vendor's result without what only Steward may say (its ``steward/*`` meta, the modern framing)."""
    cleaned = {k: v for k, v in result.items() if k not in ("resultType", "_meta")}
    meta = result.get("_meta")
    if isinstance(meta, dict):
        kept = {k: v for k, v in meta.items() if not is_steward_key(k)}
        if kept:
            cleaned["_meta"] = kept
    return cleaned


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
