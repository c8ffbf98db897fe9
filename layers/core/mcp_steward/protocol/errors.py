"""Every error Steward answers with, in one table: JSON-RPC code and HTTP status for each era.

Exceptions carry a stable ``reason`` (dashboards and alarms key on it) and are mapped to responses in one
place (``http.responses``). Codes ``-32020..-32099`` are the specification's; ``-31000`` is Steward's
governance denial, outside the reserved range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Final

from mcp_steward.protocol.versions import Era

PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
INTERNAL_ERROR: Final = -32603
#: The legacy era's "resource not found" (2025-06-18 and 2025-11-25); 2026-07-28 answers -32602 (SEP-2164).
LEGACY_RESOURCE_NOT_FOUND: Final = -32002
HEADER_MISMATCH: Final = -32020
UNSUPPORTED_PROTOCOL_VERSION: Final = -32022
GOVERNANCE_DENIED: Final = -31000

#: The closed list of ``data.reason`` values for ``-31000`` (docs/design.md section 3). Adding one is a design change.
DENIAL_REASONS: Final = frozenset(
    {
        "budget_exceeded",
        "cap_exceeded",
        "rate_limited",
        "quarantined",
        "idempotency_in_progress",
        "idempotency_result_not_kept",
        "idempotency_key_reused",
        "delegation_invalid",
        "unsafe_content",
    }
)


@dataclass(frozen=True)
class ErrorRule:
    """How one kind of error is answered: its JSON-RPC code and HTTP status per era."""

    code: int
    modern_status: int
    legacy_status: int

    def status(self, era: Era) -> int:
        return self.modern_status if era is Era.MODERN else self.legacy_status


class StewardError(Exception):
    """Base of every error answered to a client. Subclasses name their rule and a stable reason."""

    rule: ClassVar[ErrorRule] = ErrorRule(INTERNAL_ERROR, 500, 500)
    reason: ClassVar[str] = "internal_error"

    def __init__(self, message: str, *, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data

    @property
    def code(self) -> int:
        return self.rule.code

    def code_in(self, era: Era) -> int:
        """The JSON-RPC code in ``era`` (the same in both, but for a resource not found)."""
        return self.code


class ParseError(StewardError):
    """A body that is not JSON text: not UTF-8, not JSON, a lone surrogate anywhere (``"\\ud800"`` in an id, a
    key, a name, ``_meta``...), ``NaN``/``Infinity``, or too deeply nested. Answered before anything else is read
    from it, with a null id."""

    rule = ErrorRule(PARSE_ERROR, 400, 400)
    reason = "parse_error"


class InvalidRequestError(StewardError):
    """Not a JSON-RPC request: a batch, a wrong ``jsonrpc``, a null or missing id, a bad envelope."""

    rule = ErrorRule(INVALID_REQUEST, 400, 400)
    reason = "invalid_request"


class MethodNotFoundError(StewardError):
    rule = ErrorRule(METHOD_NOT_FOUND, 404, 200)
    reason = "method_not_found"


class InvalidParamsError(StewardError):
    """Malformed parameters of a known method (a bad cursor, a non-object ``arguments``)."""

    rule = ErrorRule(INVALID_PARAMS, 200, 200)
    reason = "invalid_params"


class UnknownToolError(StewardError):
    """Unknown, not granted, disabled or rejected: one answer for all, so nothing about a tool leaks."""

    rule = ErrorRule(INVALID_PARAMS, 200, 200)
    reason = "unknown_tool"

    def __init__(self, name: object) -> None:
        super().__init__(f"Unknown tool: {name}" if isinstance(name, str) and len(name) <= 128 else "Unknown tool")


class UnknownPromptError(StewardError):
    """Unknown, not granted, disabled or rejected prompt: one answer for all."""

    rule = ErrorRule(INVALID_PARAMS, 200, 200)
    reason = "unknown_prompt"

    def __init__(self, name: object) -> None:
        super().__init__(f"Unknown prompt: {name}" if isinstance(name, str) and len(name) <= 128 else "Unknown prompt")


class ResourceNotFoundError(StewardError):
    """Unknown, not granted, disabled or rejected resource (or no template of its server matches the URI): one
    answer for all. ``-32602`` in 2026-07-28, ``-32002`` in the legacy era; ``data.uri`` names the URI."""

    rule = ErrorRule(INVALID_PARAMS, 200, 200)
    reason = "resource_not_found"

    def __init__(self, uri: object) -> None:
        shown = uri if isinstance(uri, str) and len(uri) <= 2048 else None
        super().__init__("Resource not found", data={"uri": shown} if shown is not None else None)

    def code_in(self, era: Era) -> int:
        return INVALID_PARAMS if era is Era.MODERN else LEGACY_RESOURCE_NOT_FOUND


class UpstreamFailedError(StewardError):
    """A server failed to answer a resource read, a prompt get or a completion (it ran, or may have): the
    server's failure, not the endpoint's, so HTTP 200. ``data.reason`` says what happened."""

    rule = ErrorRule(INTERNAL_ERROR, 200, 200)
    reason = "upstream_failed"


class MissingEnvelopeError(StewardError):
    """A modern request whose ``params._meta`` lacks the protocol version or client capabilities."""

    rule = ErrorRule(INVALID_PARAMS, 400, 400)
    reason = "missing_meta"


class HeaderMismatchError(StewardError):
    rule = ErrorRule(HEADER_MISMATCH, 400, 400)
    reason = "header_mismatch"


class UnsupportedVersionError(StewardError):
    rule = ErrorRule(UNSUPPORTED_PROTOCOL_VERSION, 400, 400)
    reason = "unsupported_protocol_version"


class ServiceUnavailableError(StewardError):
    """A store could not answer; the request is refused (fail closed) and may be retried."""

    rule = ErrorRule(INTERNAL_ERROR, 503, 503)
    reason = "service_unavailable"

    def __init__(self) -> None:
        super().__init__("Service unavailable: try again")


class GovernanceDeniedError(StewardError):
    """A call refused by policy. ``reason`` must be one of :data:`DENIAL_REASONS`."""

    rule = ErrorRule(GOVERNANCE_DENIED, 200, 200)
    reason = "governance_denied"

    def __init__(self, reason: str, message: str, *, data: dict[str, Any] | None = None) -> None:
        if reason not in DENIAL_REASONS:
            raise ValueError(f"not a denial reason: {reason}")
        super().__init__(message, data={"reason": reason, **(data or {})})
        self.denial_reason = reason


class HttpRefusalError(Exception):
    """A refusal at the HTTP layer, before JSON-RPC parsing (405, 403, 406, 415, 413, 401)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
