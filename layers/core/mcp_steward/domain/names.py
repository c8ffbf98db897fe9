"""Naming rules for servers and exposed tools (docs/design.md section 10)."""

from __future__ import annotations

import re
from typing import Final, NewType

ServerName = NewType("ServerName", str)
ExposedName = NewType("ExposedName", str)

SEPARATOR: Final = "__"
SERVER_NAME: Final = re.compile(r"[a-z][a-z0-9-]{0,15}")
EXPOSED_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,48}")
#: What an MCP tool name may be upstream (2025-11-25: 1 to 128 of ``[A-Za-z0-9_.-]``).
UPSTREAM_NAME: Final = re.compile(r"[A-Za-z0-9_.-]{1,128}")


class InvalidNameError(ValueError):
    """A server, tool or alias name that breaks the rules."""


def check_server_name(name: str) -> ServerName:
    if SERVER_NAME.fullmatch(name) is None:
        raise InvalidNameError(f"server name {name!r} must match ^[a-z][a-z0-9-]{{0,15}}$")
    return ServerName(name)


def exposed_name(server: ServerName, upstream: str, alias: str | None = None) -> ExposedName:
    """``<server>__<tool>`` (or ``<server>__<alias>``), at most 48 characters of ``[A-Za-z0-9_-]``."""
    tool = alias if alias is not None else upstream
    name = f"{server}{SEPARATOR}{tool}"
    if EXPOSED_NAME.fullmatch(name) is None:
        raise InvalidNameError(
            f"exposed name {name!r} must be at most 48 characters of [A-Za-z0-9_-]; map the upstream name "
            f"{upstream!r} with --alias {upstream}=SHORTER_NAME"
        )
    return ExposedName(name)


def server_of(name: str) -> str | None:
    """The server part of an exposed name (the text before the first ``__``)."""
    head, sep, _ = name.partition(SEPARATOR)
    return head if sep else None


# --- Prompts, resources and resource templates (docs/design.md section 4, "Primitives") ---------------------

#: How exposed resource URIs and templates are namespaced: ``steward://<server>/<the original URI, verbatim>``.
#: The server is the authority, so a read routes to its owner without guessing, and the original stays visible.
URI_SCHEME: Final = "steward://"
#: Upstream URIs and URI templates longer than this are not exposed (DynamoDB sort keys hold 1,024 bytes).
MAX_URI_BYTES: Final = 768
#: Exposed prompt names: as tools, plus dots (prompt names are not subject to the clients' tool-name caps).
EXPOSED_PROMPT_NAME: Final = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def exposed_prompt_name(server: ServerName, upstream: str, *, namespaced: bool = True) -> str:
    """``<server>__<prompt>``, or the upstream name itself for a server exposed unprefixed."""
    name = f"{server}{SEPARATOR}{upstream}" if namespaced else upstream
    if EXPOSED_PROMPT_NAME.fullmatch(name) is None:
        raise InvalidNameError(f"exposed prompt name {name!r} must be 1 to 64 characters of [A-Za-z0-9_.-]")
    if not namespaced and SEPARATOR in name:
        raise InvalidNameError(f"prompt {name!r} of an unprefixed server may not contain {SEPARATOR!r}")
    return name


def exposed_uri(server: ServerName, original: str, *, namespaced: bool = True) -> str:
    """The URI (or URI template) a client sees for a server's resource: ``steward://<server>/<original>``, or
    the original itself for a server exposed unprefixed (which may then not use the ``steward`` scheme)."""
    if not original or len(original.encode()) > MAX_URI_BYTES or any(ord(c) < 0x21 for c in original):
        raise InvalidNameError(f"resource URI {original[:80]!r} must be 1 to {MAX_URI_BYTES} bytes, no spaces")
    if not namespaced:
        if original.startswith(URI_SCHEME):
            raise InvalidNameError(f"resource URI {original[:80]!r} of an unprefixed server may not use steward://")
        return original
    return f"{URI_SCHEME}{server}/{original}"


def uri_owner(uri: str) -> tuple[str, str] | None:
    """The server and original URI of an exposed ``steward://<server>/<original>``, or None."""
    if not uri.startswith(URI_SCHEME):
        return None
    server, sep, original = uri[len(URI_SCHEME) :].partition("/")
    if not sep or SERVER_NAME.fullmatch(server) is None or not original:
        return None
    return server, original
