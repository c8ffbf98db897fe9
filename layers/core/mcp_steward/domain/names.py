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
