"""Protocol revisions Steward serves, and which era each belongs to (docs/design.md section 11)."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Era(StrEnum):
    """The handshake era (``initialize``, up to 2025-11-25) or the stateless era (2026-07-28 on)."""

    LEGACY = "legacy"
    MODERN = "modern"


LEGACY_VERSIONS: Final = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
MODERN_VERSIONS: Final = ("2026-07-28",)
NEWEST_LEGACY: Final = LEGACY_VERSIONS[-1]
#: A legacy request without any version header is treated as this revision (the transport's first).
DEFAULT_LEGACY: Final = "2025-03-26"

META_PROTOCOL_VERSION: Final = "io.modelcontextprotocol/protocolVersion"
META_CLIENT_CAPABILITIES: Final = "io.modelcontextprotocol/clientCapabilities"
META_CLIENT_INFO: Final = "io.modelcontextprotocol/clientInfo"
META_SERVER_INFO: Final = "io.modelcontextprotocol/serverInfo"

HEADER_PROTOCOL_VERSION: Final = "mcp-protocol-version"
HEADER_METHOD: Final = "mcp-method"
HEADER_NAME: Final = "mcp-name"

#: Methods whose ``Mcp-Name`` header must mirror a body parameter, and which parameter.
NAME_BEARING_METHODS: Final = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
