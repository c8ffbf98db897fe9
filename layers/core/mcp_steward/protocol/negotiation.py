"""Per-request era detection and the modern envelope checks, in the order docs/design.md section 11 gives."""

from __future__ import annotations

import base64
import binascii
import decimal
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from mcp_steward.protocol.errors import (
    HeaderMismatchError,
    InvalidParamsError,
    MethodNotFoundError,
    MissingEnvelopeError,
    UnsupportedVersionError,
)
from mcp_steward.protocol.jsonrpc import Message
from mcp_steward.protocol.versions import (
    DEFAULT_LEGACY,
    HEADER_METHOD,
    HEADER_NAME,
    HEADER_PROTOCOL_VERSION,
    LEGACY_VERSIONS,
    META_CLIENT_CAPABILITIES,
    META_PROTOCOL_VERSION,
    MODERN_VERSIONS,
    NAME_BEARING_METHODS,
    Era,
)

_ENCODED_WORD = re.compile(r"=\?base64\?([A-Za-z0-9+/=]{0,4096})\?=", re.IGNORECASE)


def decode_header_value(raw: str | None) -> str | None:
    """Strip whitespace and decode a ``=?base64?...?=`` value (used for non-ASCII tool names)."""
    if raw is None:
        return None
    value = raw.strip()
    match = _ENCODED_WORD.fullmatch(value)
    if match is None:
        return value
    try:
        return base64.b64decode(match.group(1), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return value


@dataclass(frozen=True, slots=True)
class Headers:
    """The routing headers of one request, each a list (a repeated header is an error in the modern era)."""

    values: Mapping[str, list[str]]

    def one(self, name: str) -> str | None:
        found = self.values.get(name)
        if not found:
            return None
        if len(found) > 1:
            raise HeaderMismatchError(f"{name} header appears more than once")
        return decode_header_value(found[0])


def detect_era(headers: Headers, decoded_params: Any) -> tuple[Era, str]:
    """Decide the era and the protocol version of one request (docs/design.md section 11, "Eras").

    Raises:
        HeaderMismatchError: a modern request without the version header, or with it repeated.
    """
    raw = headers.values.get(HEADER_PROTOCOL_VERSION)
    if raw:
        version = headers.one(HEADER_PROTOCOL_VERSION) or ""
        if version in LEGACY_VERSIONS:
            return Era.LEGACY, version
        # Any other value is the modern era; check_modern_envelope refuses an unsupported one.
        return Era.MODERN, version
    meta = decoded_params.get("_meta") if isinstance(decoded_params, dict) else None
    if isinstance(meta, dict) and META_PROTOCOL_VERSION in meta:
        raise HeaderMismatchError("MCP-Protocol-Version header is required with a per-request protocol version")
    return Era.LEGACY, DEFAULT_LEGACY


def check_modern_envelope(message: Message, headers: Headers, version: str) -> None:
    """The modern ladder: ``_meta`` envelope keys, then header/body agreement, then the version itself."""
    meta = message.params.get("_meta")
    if version not in MODERN_VERSIONS and not (isinstance(meta, dict) and META_PROTOCOL_VERSION in meta):
        raise _unsupported(version)
    if message.method == "initialize":
        raise MethodNotFoundError("Method not found: initialize (stateless protocol: use server/discover)")
    if not isinstance(meta, dict):
        raise MissingEnvelopeError(
            f"params._meta must be an object carrying {META_PROTOCOL_VERSION} and {META_CLIENT_CAPABILITIES}"
        )
    missing = [key for key in (META_PROTOCOL_VERSION, META_CLIENT_CAPABILITIES) if key not in meta]
    if missing:
        raise MissingEnvelopeError(f"params._meta is missing: {', '.join(missing)}")
    body_version = meta[META_PROTOCOL_VERSION]
    if body_version != version:
        raise HeaderMismatchError("MCP-Protocol-Version header does not match _meta's protocol version")
    if headers.one(HEADER_METHOD) != message.method:
        raise HeaderMismatchError("Mcp-Method header does not match the request's method")
    name_key = NAME_BEARING_METHODS.get(message.method)
    if name_key is not None:
        body_name = message.params.get(name_key)
        header_name = headers.one(HEADER_NAME)
        if body_name is None and message.method == "tools/call":
            raise InvalidParamsError("tools/call needs params.name")
        if header_name != body_name:
            raise HeaderMismatchError(f"Mcp-Name header does not match params.{name_key}")
    if not isinstance(meta[META_CLIENT_CAPABILITIES], dict):
        raise MissingEnvelopeError(f"{META_CLIENT_CAPABILITIES} must be an object")
    if version not in MODERN_VERSIONS:
        raise _unsupported(version)


def _unsupported(version: str) -> UnsupportedVersionError:
    return UnsupportedVersionError(
        "Unsupported protocol version",
        data={"supported": [*MODERN_VERSIONS, *LEGACY_VERSIONS], "requested": version},
    )


def negotiate_legacy(requested: Any) -> str:
    """``initialize``: echo a supported requested version, else answer the newest legacy one."""
    if isinstance(requested, str) and requested in LEGACY_VERSIONS:
        return requested
    return LEGACY_VERSIONS[-1]


# --- SEP-2243: arguments mirrored into Mcp-Param-* headers ---------------------------------------------------

#: The prefix of a mirrored argument's header (``Mcp-Param-<Name>``, names compared case-insensitively).
PARAM_HEADER_PREFIX: Final = "mcp-param-"
#: At most this many ``Mcp-Param-*`` headers, each value at most this long (every input bounded).
MAX_PARAM_HEADERS: Final = 64
MAX_PARAM_HEADER_CHARS: Final = 8192
#: An ``x-mcp-header`` name a header can carry: an RFC 9110 token.
_HEADER_TOKEN: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}")
_BASE64_WORD: Final = re.compile(r"=\?base64\?(.*)\?=", re.IGNORECASE | re.DOTALL)
_JSON_NUMBER: Final = re.compile(r"-?(?:0|[1-9][0-9]{0,300})(?:\.[0-9]{1,300})?(?:[eE][+-]?[0-9]{1,4})?")


def param_headers(values: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """The ``Mcp-Param-*`` headers of a request by lower-case name (the caller passes every header's values).

    Raises:
        HeaderMismatchError: more than :data:`MAX_PARAM_HEADERS` of them, or a value longer than
            :data:`MAX_PARAM_HEADER_CHARS`.
    """
    found = {name.lower(): list(raw) for name, raw in values.items() if name.lower().startswith(PARAM_HEADER_PREFIX)}
    if sum(len(raw) for raw in found.values()) > MAX_PARAM_HEADERS:
        raise HeaderMismatchError(f"At most {MAX_PARAM_HEADERS} Mcp-Param headers are accepted")
    if any(len(value) > MAX_PARAM_HEADER_CHARS for raw in found.values() for value in raw):
        raise HeaderMismatchError(f"An Mcp-Param header value is longer than {MAX_PARAM_HEADER_CHARS} characters")
    return found


def check_param_headers(input_schema: object, arguments: object, headers: Mapping[str, list[str]]) -> None:
    """SEP-2243 on a modern ``tools/call``: every top-level property of ``input_schema`` that declares
    ``x-mcp-header: Name`` and whose argument is present (not null) needs the header ``Mcp-Param-Name``, once,
    equal to the argument: a string as it is, a number or boolean by its JSON text (numbers compared as
    numbers). A value wrapped as ``=?base64?...?=`` is decoded strictly (alphabet and padding), anything else is
    literal; surrounding whitespace is trimmed. Objects and arrays cannot be mirrored and are not checked.

    ``headers``: :func:`param_headers`. The caller resolved the tool for a grant holder only.

    Raises:
        HeaderMismatchError: a header absent, repeated, undecodable or different from the argument.
    """
    properties = input_schema.get("properties") if isinstance(input_schema, dict) else None
    if not isinstance(properties, dict) or not isinstance(arguments, dict):
        return
    for key, schema in properties.items():
        name = schema.get("x-mcp-header") if isinstance(schema, dict) else None
        if not isinstance(name, str) or _HEADER_TOKEN.fullmatch(name) is None:
            continue
        value = arguments.get(key)
        if value is None or isinstance(value, (dict, list)):
            continue
        raw = headers.get(PARAM_HEADER_PREFIX + name.lower())
        header = f"Mcp-Param-{name}"
        if not raw:
            raise HeaderMismatchError(f"{header} header is required: the body carries its argument")
        if len(raw) > 1:
            raise HeaderMismatchError(f"{header} header appears more than once")
        if not _param_matches(_decoded_param(raw[0], header), value):
            raise HeaderMismatchError(f"{header} header does not match the argument {key[:64]!r}")


def _decoded_param(raw: str, header: str) -> str:
    """The header's value without its surrounding whitespace, base64 decoded when so wrapped (a value that
    begins or ends with whitespace, or holds characters a header cannot, is sent that way)."""
    value = raw.strip(" \t")
    word = _BASE64_WORD.fullmatch(value)
    if word is None:
        return value
    try:
        # strict_mode: the alphabet only, padding exactly where due, nothing after it
        return binascii.a2b_base64(word.group(1).encode("ascii"), strict_mode=True).decode("utf-8")
    except (binascii.Error, ValueError) as exc:  # a bad alphabet or padding; not ASCII; not UTF-8
        raise HeaderMismatchError(f"{header} header is not valid base64") from exc


def _param_matches(header: str, value: object) -> bool:
    if isinstance(value, bool):
        return header == ("true" if value else "false")
    if isinstance(value, (int, float)):
        if _JSON_NUMBER.fullmatch(header) is None:
            return False
        try:
            return decimal.Decimal(header) == decimal.Decimal(repr(value))
        except decimal.InvalidOperation:
            return False
    return isinstance(value, str) and header == value
