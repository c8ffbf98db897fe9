"""The walk: every string of a tool definition a model may read, capped, with size and nesting findings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mcp_steward.domain.readable import MODEL_READ_FIELDS
from mcp_steward.domain.scanning.findings import (
    MAX_DEPTH,
    MAX_NODES,
    MAX_STRING_CHARS,
    MAX_TOTAL_CHARS,
    Finding,
    Severity,
)


@dataclass(frozen=True)
class Readable:
    """A string a model may read: a value, or a member name (``is_key``) such as a parameter name."""

    path: str
    text: str
    is_key: bool = False


def pointer_token(token: str | int) -> str:
    """Escapes one RFC 6901 reference token (``~`` → ``~0``, ``/`` → ``~1``)."""
    return str(token).replace("~", "~0").replace("/", "~1")


@dataclass
class _Walk:
    strings: list[Readable]
    findings: list[Finding]
    total: int = 0
    nodes: int = 0
    truncated: bool = False


def _take(walk: _Walk, path: str, text: str, *, is_key: bool = False) -> None:
    if walk.truncated:
        return
    if len(text) > MAX_STRING_CHARS:
        walk.findings.append(
            Finding("oversized_string", Severity.MEDIUM, path, f"{len(text)} characters (cap {MAX_STRING_CHARS})")
        )
        text = text[:MAX_STRING_CHARS]
    room = MAX_TOTAL_CHARS - walk.total
    if len(text) > room:
        walk.findings.append(
            Finding("oversized_definition", Severity.MEDIUM, path, f"more than {MAX_TOTAL_CHARS} characters of text")
        )
        text = text[:room]
        walk.truncated = True
    walk.total += len(text)
    walk.strings.append(Readable(path, text, is_key))


def _walk(walk: _Walk, value: object, path: str, depth: int) -> None:
    walk.nodes += 1
    if walk.truncated or walk.nodes > MAX_NODES:
        walk.truncated = True
        return
    if depth > MAX_DEPTH:
        walk.findings.append(Finding("excessive_nesting", Severity.MEDIUM, path, f"deeper than {MAX_DEPTH} levels"))
        walk.truncated = True
        return
    if isinstance(value, str):
        _take(walk, path, value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            child = f"{path}/{pointer_token(str(key))}"
            _take(walk, child, str(key), is_key=True)
            _walk(walk, item, child, depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _walk(walk, item, f"{path}/{index}", depth + 1)


def readable_strings(definition: Mapping[str, Any]) -> tuple[list[Readable], list[Finding]]:
    """Every string of ``definition`` a model may read, capped, with the size and nesting findings of the walk."""
    walk = _Walk(strings=[], findings=[])
    for member in MODEL_READ_FIELDS:
        if member in definition:
            _walk(walk, definition[member], f"/{member}", 1)
    return walk.strings, walk.findings
