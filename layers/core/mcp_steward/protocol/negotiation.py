"""Per-request era detection and the modern envelope checks, in the order docs/design.md section 11 gives."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
