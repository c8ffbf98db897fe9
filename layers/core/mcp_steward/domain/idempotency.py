"""Idempotency keys in their exact scope (docs/design.md section 4).

A caller's ``_meta["steward/idempotencyKey"]`` belongs to the paying principal, the person an agent acts for,
and the delegation chain of a nested call (its parent reservation namespaces every key a tool server sends):
the record it names is found by those and the key, never by the key alone. The record also binds the exposed
tool and the SHA-256 of the RFC 8785 canonical arguments, so a repeat replays only the very same call; the same
key for another tool or other arguments is refused (``idempotency_key_reused``), never answered with a result
produced for something else.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import rfc8785

#: The longest key a caller may send (characters).
MAX_KEY_CHARS: Final = 256


class KeptResult(StrEnum):
    """What an idempotency record holds once its call closed: the result, or why not."""

    KEPT = "kept"
    TOO_LARGE = "too_large"  # larger than what the store keeps
    UNENCODABLE = "unencodable"  # not storable as UTF-8 JSON
    ABANDONED = "abandoned"  # the call never settled: the sweeper closed it, its result is unknown


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """A key in its scope, and the call it was first used for."""

    key: str
    principal: str
    obo: str | None
    #: A nested call's parent reservation (its request id) and the servers called so far; none for a person's call.
    parent: str | None
    chain: tuple[str, ...]
    tool: str
    #: SHA-256 hex of the RFC 8785 canonical arguments (see :func:`arguments_digest`).
    arguments: str

    @property
    def record_id(self) -> str:
        """Where the record lives: a digest of the scope and the key (not of the tool or the arguments, which
        the record binds, so that reusing the key for another call is seen and refused)."""
        scope = json.dumps(
            [self.principal, self.obo, self.parent, list(self.chain), self.key],
            ensure_ascii=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(scope.encode("ascii")).hexdigest()

    def same_call(self, tool: str, arguments: str) -> bool:
        """Whether a record written for ``tool`` with ``arguments`` is this very call."""
        return tool == self.tool and arguments == self.arguments


def arguments_digest(arguments: dict[str, Any]) -> str:
    """SHA-256 hex of the arguments' RFC 8785 canonical JSON.

    Arguments without a canonical form (an integer beyond I-JSON's 2**53, say) are digested from a sorted,
    ASCII-escaped JSON instead, under a different prefix: deterministic, and never equal to a canonical digest.
    """
    try:
        return hashlib.sha256(b"jcs:" + rfc8785.dumps(arguments)).hexdigest()
    except (rfc8785.CanonicalizationError, TypeError, ValueError, RecursionError):
        fallback = json.dumps(arguments, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
        return hashlib.sha256(b"json:" + fallback.encode("ascii")).hexdigest()
