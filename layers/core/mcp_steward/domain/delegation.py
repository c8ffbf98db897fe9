"""Delegation tokens (docs/design.md section 5): how a tool server calls another tool on a person's behalf.

Governance mints one token per invocation of an internal server and puts it in the envelope's
``delegation`` field. The server may hand it to the nested-governance function (the SDK's
``ctx.call_tool``) to call another tool; nested governance verifies it, authorizes the call against the
calling server's grants, charges the person's team and spends from the parent reservation's nested
allowance. The token is ``b64url(payload).b64url(HMAC-SHA256(key[kid], payload))``: the payload is bound
to the invocation (``rid``), the calling server (``caller``) and the nested-governance audience, expires no
later than the outer deadline, and carries the chain of servers so far (a cycle or a chain deeper than
``max_depth`` is refused).

Pure code: keys come in as bytes (the Secrets Manager adapter reads them); comparison is constant-time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, Final

TOKEN_VERSION: Final = 1
AUDIENCE: Final = "steward:nested"
MAX_DEPTH: Final = 3
#: A token is small (a few hundred bytes); anything much longer is refused before any decoding.
MAX_TOKEN_CHARS: Final = 4096
CALLER_PREFIX: Final = "server:"


class DelegationError(Exception):
    """A token or a nested call that is refused. ``reason`` is the ``why`` of a ``delegation_invalid`` denial
    (docs/design.md section 3): ``forged`` (a bad signature, an unknown key, or not a token at all), ``target``
    (addressed elsewhere), ``expired``, ``depth`` or ``cycle``. The message never quotes the token."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class DelegationClaims:
    """The signed payload. ``chain`` lists the servers invoked so far, the outermost first."""

    v: int
    kid: str
    aud: str
    jti: str
    rid: str  # the invocation this token was minted for (the parent reservation's request id)
    root_rid: str  # the person's original request
    caller: str  # "server:<name>": the server this token was handed to
    sub: str  # the person
    obo: str | None
    team: str  # the person's team: nested calls are charged to it
    chain: tuple[str, ...]
    depth: int
    max_depth: int
    iat: int
    exp: int
    deadline_ms: int

    @property
    def caller_server(self) -> str:
        return self.caller.removeprefix(CALLER_PREFIX)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()


def mint(claims: DelegationClaims, key: bytes) -> str:
    """The token for ``claims``, signed with ``key`` (the one named by ``claims.kid``)."""
    payload = json.dumps(asdict(claims), separators=(",", ":"), sort_keys=True).encode()
    return f"{_b64(payload)}.{_b64(_sign(key, payload))}"


def root_claims(
    *,
    kid: str,
    request_id: str,
    server: str,
    person: str,
    obo: str | None,
    team: str,
    now_s: int,
    deadline_ms: int,
) -> DelegationClaims:
    """The claims of the token for a person's call to ``server`` (depth 1)."""
    return DelegationClaims(
        v=TOKEN_VERSION,
        kid=kid,
        aud=AUDIENCE,
        jti=secrets.token_hex(16),
        rid=request_id,
        root_rid=request_id,
        caller=f"{CALLER_PREFIX}{server}",
        sub=person,
        obo=obo,
        team=team,
        chain=(server,),
        depth=1,
        max_depth=MAX_DEPTH,
        iat=now_s,
        exp=deadline_ms // 1000,
        deadline_ms=deadline_ms,
    )


def child_claims(parent: DelegationClaims, *, kid: str, request_id: str, server: str, now_s: int) -> DelegationClaims:
    """The claims of the token for a nested invocation of ``server`` made with ``parent``.

    Raises:
        DelegationError: ``cycle`` when ``server`` is already in the chain; ``depth`` past ``max_depth``.
    """
    if server in parent.chain:
        raise DelegationError("cycle", f"{server} is already in this call's chain")
    if parent.depth + 1 > parent.max_depth:
        raise DelegationError("depth", f"nested calls may go {parent.max_depth} servers deep")
    return replace(
        parent,
        kid=kid,
        jti=secrets.token_hex(16),
        rid=request_id,
        caller=f"{CALLER_PREFIX}{server}",
        chain=(*parent.chain, server),
        depth=parent.depth + 1,
        iat=now_s,
    )


def verify(token: object, key_for: Callable[[str], bytes | None], *, now_s: int) -> DelegationClaims:
    """The claims of a genuine, current token addressed to nested governance.

    ``key_for(kid)`` returns the key a kid names (current or previous), or None.

    Raises:
        DelegationError: malformed, forged (bad signature or unknown key), re-targeted (another audience or
            version), expired, or deeper than its own maximum.
    """
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_CHARS or token.count(".") != 1:
        raise DelegationError("forged", "the delegation token is malformed")
    encoded_payload, encoded_signature = token.split(".")
    try:
        payload, signature = _unb64(encoded_payload), _unb64(encoded_signature)
        decoded = json.loads(payload)
    except (binascii.Error, ValueError):
        raise DelegationError("forged", "the delegation token is malformed") from None
    kid = decoded.get("kid") if isinstance(decoded, dict) else None
    key = key_for(kid) if isinstance(kid, str) else None
    # The signature is checked before any claim is believed; an unknown kid is a forgery too.
    if key is None or not hmac.compare_digest(_sign(key, payload), signature):
        raise DelegationError("forged", "the delegation token's signature is not valid")
    claims = _claims(decoded)
    if claims.v != TOKEN_VERSION or claims.aud != AUDIENCE or not claims.caller.startswith(CALLER_PREFIX):
        raise DelegationError("target", "the delegation token is not addressed to nested governance")
    if now_s >= claims.exp or now_s * 1000 >= claims.deadline_ms:
        raise DelegationError("expired", "the delegation token has expired")
    if not 1 <= claims.depth <= claims.max_depth <= MAX_DEPTH or len(claims.chain) != claims.depth:
        raise DelegationError("depth", f"nested calls may go {MAX_DEPTH} servers deep")
    return claims


def _claims(decoded: Mapping[str, Any]) -> DelegationClaims:
    """Typed claims from a signed payload (a signed payload of the wrong shape is still refused)."""
    try:
        chain = decoded["chain"]
        obo = decoded["obo"]
        claims = DelegationClaims(
            v=_int(decoded["v"]),
            kid=_str(decoded["kid"]),
            aud=_str(decoded["aud"]),
            jti=_str(decoded["jti"]),
            rid=_str(decoded["rid"]),
            root_rid=_str(decoded["root_rid"]),
            caller=_str(decoded["caller"]),
            sub=_str(decoded["sub"]),
            obo=None if obo is None else _str(obo),
            team=_str(decoded["team"]),
            chain=tuple(_str(server) for server in chain) if isinstance(chain, list) else _bad(),
            depth=_int(decoded["depth"]),
            max_depth=_int(decoded["max_depth"]),
            iat=_int(decoded["iat"]),
            exp=_int(decoded["exp"]),
            deadline_ms=_int(decoded["deadline_ms"]),
        )
    except (KeyError, TypeError):
        raise DelegationError("forged", "the delegation token is malformed") from None
    return claims


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError
    return value


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError
    return value


def _bad() -> tuple[str, ...]:
    raise TypeError
