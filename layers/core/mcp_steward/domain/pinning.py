"""Pins: what approval fixes about a tool, so that any later change is seen and has to be approved again.

A definition's hash is the SHA-256 of the RFC 8785 canonical JSON (the ``rfc8785`` package, the one
implementation) of the fields a model reads, the upstream name included. A server's code is pinned by its
function's published version (``lambda:PublishVersion``, in AWS and on the local runner alike); the local
runner tells code versions apart by :func:`code_dir_hash`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import rfc8785

from mcp_steward.domain.readable import MODEL_READ_FIELDS

SKIPPED_PARTS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})


class PinningError(ValueError):
    """A definition that has no canonical form (for example an integer beyond 2**53)."""


def pinned_fields(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a definition the pin covers."""
    return {key: definition[key] for key in MODEL_READ_FIELDS if key in definition}


def definition_hash(definition: Mapping[str, Any]) -> str:
    """SHA-256 hex of the RFC 8785 canonical JSON of the pinned fields.

    Raises:
        PinningError: a value has no canonical JSON form.
    """
    try:
        canonical = rfc8785.dumps(pinned_fields(definition))
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise PinningError(f"the definition has no canonical form: {exc}") from exc
    return hashlib.sha256(canonical).hexdigest()


def code_dir_hash(directory: Path) -> str:
    """A stable hash of a code directory: every file's relative path and bytes, in path order.

    Caches and compiled files are skipped, so running the code does not change its hash.
    """
    digest = hashlib.sha256()
    files = sorted(
        (path.relative_to(directory), path) for path in directory.rglob("*") if path.is_file() and path.suffix != ".pyc"
    )
    for relative_path, path in files:
        if SKIPPED_PARTS.intersection(relative_path.parts):
            continue
        relative = relative_path.as_posix().encode()
        content = path.read_bytes()
        digest.update(len(relative).to_bytes(8, "big") + relative)
        digest.update(len(content).to_bytes(8, "big") + content)
    return f"dir-sha256:{digest.hexdigest()}"
