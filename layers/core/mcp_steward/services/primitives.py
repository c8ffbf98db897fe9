"""Prompts and resources through the call pipeline: what differs from a tool call (docs/design.md section 3).

``prompts/get`` and ``resources/read`` are governed like ``tools/call`` (resolve, authorize, integrity, validate,
reserve, invoke once, settle, ledger and audit; free unless priced) by :class:`~mcp_steward.services.calls.CallTool`.
This module holds what is particular to them: the arguments schema a prompt's declared arguments make, the
message sent to the server, how its answer is read (the shape checked, a resource's URIs exposed, a prompt's
messages scanned as the model will read them), and how a failure is answered, since neither result has an
``isError`` of its own: a failure is kept as an error result (so that a replay answers it again) and answered as a
JSON-RPC error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from mcp_steward.contracts import result_meta
from mcp_steward.domain.names import InvalidNameError, exposed_uri
from mcp_steward.domain.records import Outcome
from mcp_steward.domain.registry import Primitive, ServerKind, ServerRecord, ToolRecord
from mcp_steward.protocol.errors import (
    GovernanceDeniedError,
    InvalidParamsError,
    ResourceNotFoundError,
    StewardError,
    UpstreamFailedError,
)
from mcp_steward.services.tools import request_envelope, tool_error_result
from mcp_steward.services.validation import ValidationReport

if TYPE_CHECKING:
    from mcp_steward.domain.scanning import Finding

#: A prompt argument's value (the specification's arguments are strings).
MAX_ARGUMENT_CHARS: Final = 16 * 1024
MAX_MESSAGES: Final = 256
MAX_CONTENTS: Final = 256
_ROLES: Final = frozenset({"user", "assistant"})
#: The JSON-RPC codes a server says "no such resource" or "bad prompt arguments" with (-32002: legacy).
_NOT_FOUND_CODES: Final = frozenset({-32602, -32002})
_METHODS: Final = {Primitive.PROMPT: "prompts/get", Primitive.RESOURCE: "resources/read"}


def prompt_arguments_schema(definition: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema of a prompt's arguments as it declared them: an object of strings, the required ones
    required, nothing undeclared (deny by default)."""
    declared = definition.get("arguments")
    properties: dict[str, Any] = {}
    required: list[str] = []
    for argument in declared if isinstance(declared, list) else []:
        name = argument.get("name") if isinstance(argument, dict) else None
        if not isinstance(name, str) or name in properties:
            continue
        properties[name] = {"type": "string", "maxLength": MAX_ARGUMENT_CHARS}
        if argument.get("required") is True:
            required.append(name)
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def invalid_arguments_error(report: ValidationReport) -> InvalidParamsError:
    """Refused prompt arguments: ``-32602`` listing each violation with its JSON Pointer."""
    violations = [violation.as_dict() for violation in report.violations]
    lines = "; ".join(f"{v['pointer'] or '(root)'}: {v['message']}" for v in violations[:10])
    return InvalidParamsError(f"Invalid prompt arguments: {lines}", data={"violations": violations})


def envelope_of(
    request: Any, kind: Primitive, target: str, arguments: dict[str, Any], delegation: str | None
) -> dict[str, Any]:
    """The envelope of a ``prompts/get`` (``target``: the upstream name) or ``resources/read`` (the server's
    own URI) for ``request`` (a :class:`~mcp_steward.services.calls.CallRequest`)."""
    params: dict[str, Any] = {"uri": target} if kind is Primitive.RESOURCE else {"name": target}
    if kind is Primitive.PROMPT:
        params["arguments"] = arguments
    return request_envelope(
        request.request_id, request.deadline_ms, request.principal, request.rpc_id, _METHODS[kind], params, delegation
    )


@dataclass(frozen=True, slots=True)
class Answer:
    """A server's answer read: the result to keep and return, its outcome and charge, the audit's reason and
    detail."""

    result: dict[str, Any]
    outcome: Outcome
    cost: int
    units: int = 0
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def read_answer(answer: dict[str, Any], entry: ToolRecord, server: ServerRecord) -> Answer:
    """A ``prompts/get`` or ``resources/read`` answer as the result to return (never raises for anything the
    server can send: what cannot be read is the server's malformed answer, charged its fixed price)."""
    price = entry.price
    noun = entry.kind.noun
    if "error" in answer:
        return _error_answer(answer["error"], entry, server)
    result = answer.get("result")
    checked = _checked(result, entry, server) if isinstance(result, dict) else None
    if checked is None:
        text = f"The {noun} {entry.public_name[:200]} came back malformed from its server."
        return Answer(tool_error_result(text, "malformed"), Outcome.UNKNOWN, price.price)
    units = min(max(result_meta.reported_units(checked.get("_meta")) or 0, 0), price.max_units)
    if entry.kind is Primitive.PROMPT:
        refused = _unsafe_prompt(checked, entry)
        if refused is not None:
            return Answer(refused[0], Outcome.INVALID_OUTPUT, price.actual(units), units, "unsafe_content", refused[1])
    return Answer(checked, Outcome.OK, price.actual(units), units)


def _error_answer(error: object, entry: ToolRecord, server: ServerRecord) -> Answer:
    price = entry.price
    error = error if isinstance(error, dict) else {}
    code = error.get("code")
    data = error.get("data") if isinstance(error.get("data"), dict) else {}
    assert isinstance(data, dict)
    reason = data.get("reason")
    if server.kind is ServerKind.VENDOR and isinstance(reason, str) and reason in result_meta.EGRESS_REASONS:
        # The egress's own failure: not charged when it says the request never left.
        sent = data.get("sent") is not False
        text = str(error.get("message", "The vendor could not be reached."))[:600]
        detail = {"rule": data["rule"]} if isinstance(data.get("rule"), str) else {}
        outcome, cost = (Outcome.UNKNOWN, price.price) if sent else (Outcome.NOT_INVOKED, 0)
        return Answer(tool_error_result(text, reason), outcome, cost, reason=reason, detail=detail)
    if code in _NOT_FOUND_CODES:
        message = error.get("message")
        text = str(message)[:500] if isinstance(message, str) else "Not found"
        return Answer(tool_error_result(text, "not_found"), Outcome.TOOL_ERROR, price.price)
    shown = code if isinstance(code, int) and not isinstance(code, bool) else None
    text = f"The server of {entry.public_name[:200]} answered with an error (code {shown})."
    return Answer(tool_error_result(text, "tool_error"), Outcome.TOOL_ERROR, price.price)


def _checked(result: dict[str, Any], entry: ToolRecord, server: ServerRecord) -> dict[str, Any] | None:
    """The result when it has the method's shape (a resource's URIs exposed as the client names them)."""
    cleaned = {key: value for key, value in result.items() if key not in ("isError", "resultType")}
    if entry.kind is Primitive.PROMPT:
        messages = cleaned.get("messages")
        if not isinstance(messages, list) or len(messages) > MAX_MESSAGES:
            return None
        for message in messages:
            if not isinstance(message, dict) or message.get("role") not in _ROLES:
                return None
            content = message.get("content")
            if not isinstance(content, dict) or not isinstance(content.get("type"), str):
                return None
        return cleaned
    contents = cleaned.get("contents")
    if not isinstance(contents, list) or len(contents) > MAX_CONTENTS:
        return None
    exposed: list[Any] = []
    for item in contents:
        if not isinstance(item, dict) or not isinstance(item.get("uri"), str):
            return None
        if not isinstance(item.get("text"), str) and not isinstance(item.get("blob"), str):
            return None
        exposed.append({**item, "uri": _exposed(server, item["uri"])})
    return {**cleaned, "contents": exposed}


def _exposed(server: ServerRecord, uri: str) -> str:
    """A URI a server returned, as the client must name it to read it through Steward."""
    try:
        return exposed_uri(server.name, uri, namespaced=server.namespaced)
    except InvalidNameError:
        return uri


def _unsafe_prompt(result: dict[str, Any], entry: ToolRecord) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The refusal of a prompt whose messages carry poisoning the scanner calls malicious: a prompt is a
    template the model will obey, so its messages are scanned each time they are got (they are not pinned)."""
    # The scanner compiles its rules on import (~80 ms): only a prompts/get pays for it, never a cold start.
    from mcp_steward.domain.scanning import scan_tool, verdict_of

    findings: list[Finding] = []
    for message in result["messages"]:
        for text in _texts(message["content"]):
            findings.extend(scan_tool({"name": entry.upstream_name, "description": text}).findings)
    if verdict_of(findings) != "malicious":
        return None
    rules = sorted({finding.rule for finding in findings})
    text = (
        f"The prompt {entry.public_name[:200]} was withheld: its messages carry instructions Steward refuses to "
        f"pass to a model ({', '.join(rules[:8])})."
    )
    return tool_error_result(text, "unsafe_content", rules=rules), {"findings": rules}


def _texts(content: dict[str, Any]) -> list[str]:
    """The texts of one content block a model reads (a text block, an embedded text resource)."""
    if content.get("type") == "text" and isinstance(content.get("text"), str):
        return [content["text"]]
    resource = content.get("resource")
    if content.get("type") == "resource" and isinstance(resource, dict) and isinstance(resource.get("text"), str):
        return [resource["text"]]
    return []


def answer_of(kind: Primitive, result: dict[str, Any], public: str) -> dict[str, Any]:
    """The answer of a governed use of ``kind``: a tool's result as it is; a prompt's or resource's error
    result (kept that way so a replay answers alike) raised as its JSON-RPC error.

    Raises:
        ResourceNotFoundError, InvalidParamsError: the server said it has no such resource (or refused the
            prompt's arguments).
        GovernanceDeniedError: ``unsafe_content``.
        UpstreamFailedError: any other failure, ``data.reason`` from the kept result.
    """
    if kind is Primitive.TOOL or result.get("isError") is not True:
        return result
    meta = result.get("_meta") if isinstance(result.get("_meta"), dict) else {}
    assert isinstance(meta, dict)
    reason = meta.get(result_meta.REASON)
    content = result.get("content")
    first = content[0] if isinstance(content, list) and content and isinstance(content[0], dict) else {}
    text = str(first.get("text", "The server failed."))
    error: StewardError
    if reason == "not_found":
        error = ResourceNotFoundError(public) if kind is Primitive.RESOURCE else InvalidParamsError(text)
    elif reason == "unsafe_content":
        rules = meta.get(result_meta.PREFIX + "rules")
        error = GovernanceDeniedError("unsafe_content", text, data={"rules": rules if isinstance(rules, list) else []})
    else:
        error = UpstreamFailedError(text, data={"reason": reason if isinstance(reason, str) else "tool_error"})
    raise error
