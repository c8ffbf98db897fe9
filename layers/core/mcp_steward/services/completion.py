"""``completion/complete``: argument completion for granted prompts and resource templates (docs/design.md
section 3).

The reference names a prompt (its exposed name) or a resource template (its exposed URI template). It resolves as a
``prompts/get`` or a read would (unknown, not granted, disabled and rejected answer alike; pending or quarantined
is ``quarantined`` for a grant holder), and the request goes, with the server's own name or template, to the
owning server's pinned version, only when that server declared the ``completions`` capability (else the values are
empty). Completion is a typing aid: it is not priced, reserved or written to the ledger. The values are untrusted
text shown to a person and maybe a model: at most 100 strings of at most 1,024 characters.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from mcp_steward.domain.budgets import Denied
from mcp_steward.domain.identity import Principal
from mcp_steward.domain.ports import InvocationError, ToolInvoker
from mcp_steward.domain.registry import ToolRecord
from mcp_steward.protocol.errors import (
    GovernanceDeniedError,
    InvalidParamsError,
    ResourceNotFoundError,
    UnknownPromptError,
    UpstreamFailedError,
)
from mcp_steward.services.tools import ToolService, request_envelope

MAX_VALUES: Final = 100
MAX_VALUE_CHARS: Final = 1024
MAX_ARGUMENT_CHARS: Final = 4096
MAX_CONTEXT_ARGUMENTS: Final = 64
EMPTY: Final = {"completion": {"values": [], "hasMore": False}}


class Completion:
    def __init__(self, tools: ToolService, invoker: ToolInvoker) -> None:
        self._tools = tools
        self._invoker = invoker

    def __call__(
        self, principal: Principal, params: dict[str, Any], rpc_id: str | int, deadline_ms: int
    ) -> dict[str, Any]:
        """Raises:
        InvalidParamsError: a malformed reference, argument or context.
        UnknownPromptError, ResourceNotFoundError: the reference is not the principal's to use.
        GovernanceDeniedError: ``quarantined``.
        UpstreamFailedError: the server failed to answer.
        """
        ref, argument, context = _parsed(params)
        entry, upstream_ref = self._resolve(principal, ref)
        server = self._tools.server_of(entry)
        if "completions" not in server.capabilities:
            return dict(EMPTY)
        message_params: dict[str, Any] = {"ref": upstream_ref, "argument": argument}
        if context is not None:
            message_params["context"] = {"arguments": context}
        request = request_envelope(
            uuid.uuid4().hex, deadline_ms, principal, rpc_id, "completion/complete", message_params
        )
        try:
            answer = self._invoker.invoke(server, request, deadline_ms=deadline_ms, version=entry.pinned_version)
        except InvocationError as failure:
            raise UpstreamFailedError(failure.message, data={"reason": failure.reason}) from None
        return _values(answer, entry)

    def _resolve(self, principal: Principal, ref: dict[str, Any]) -> tuple[ToolRecord, dict[str, Any]]:
        catalog = self._tools.catalog()
        try:
            if ref["type"] == "ref/prompt":
                name = ref["name"]
                prompt = catalog.prompts.get(name)
                entry, _ = self._tools.resolve_entry(principal, prompt, lambda: UnknownPromptError(name))
                return entry, {"type": "ref/prompt", "name": entry.upstream_name}
            uri = ref["uri"]
            template = catalog.templates.get(uri)
            entry, _ = self._tools.resolve_entry(principal, template, lambda: ResourceNotFoundError(uri))
            return entry, {"type": "ref/resource", "uri": entry.upstream_name}
        except Denied as denial:
            raise GovernanceDeniedError(denial.reason, denial.message, data=denial.data) from None


def _parsed(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, str] | None]:
    ref = params.get("ref")
    if not isinstance(ref, dict) or ref.get("type") not in ("ref/prompt", "ref/resource"):
        raise InvalidParamsError("completion/complete needs ref {type: ref/prompt, name} or {type: ref/resource, uri}")
    field = "name" if ref["type"] == "ref/prompt" else "uri"
    if not isinstance(ref.get(field), str) or not 0 < len(ref[field]) <= 2048:
        raise InvalidParamsError(f"completion/complete: ref.{field} must be a non-empty string")
    argument = params.get("argument")
    if (
        not isinstance(argument, dict)
        or not isinstance(argument.get("name"), str)
        or not isinstance(argument.get("value"), str)
        or len(argument["name"]) > 256
        or len(argument["value"]) > MAX_ARGUMENT_CHARS
    ):
        raise InvalidParamsError("completion/complete needs argument {name, value}, strings")
    context = params.get("context")
    arguments = context.get("arguments") if isinstance(context, dict) else None
    if arguments is not None and (
        not isinstance(arguments, dict)
        or len(arguments) > MAX_CONTEXT_ARGUMENTS
        or not all(isinstance(v, str) and len(v) <= MAX_ARGUMENT_CHARS for v in arguments.values())
    ):
        raise InvalidParamsError("completion/complete: context.arguments must be an object of strings")
    return (
        {"type": ref["type"], field: ref[field]},
        {"name": argument["name"], "value": argument["value"]},
        dict(arguments) if isinstance(arguments, dict) else None,
    )


def _values(answer: dict[str, Any], entry: ToolRecord) -> dict[str, Any]:
    """The server's completion, bounded; an error or anything malformed is the server's failure."""
    result = answer.get("result") if "error" not in answer else None
    completion = result.get("completion") if isinstance(result, dict) else None
    values = completion.get("values") if isinstance(completion, dict) else None
    if not isinstance(completion, dict) or not isinstance(values, list):
        text = f"The server of {entry.public_name[:200]} could not complete the argument."
        raise UpstreamFailedError(text, data={"reason": "malformed" if "error" not in answer else "tool_error"})
    kept = [value for value in values if isinstance(value, str) and len(value) <= MAX_VALUE_CHARS][:MAX_VALUES]
    out: dict[str, Any] = {"values": kept}
    total = completion.get("total")
    if isinstance(total, int) and not isinstance(total, bool) and total >= len(kept):
        out["total"] = total
    has_more = completion.get("hasMore")
    out["hasMore"] = bool(has_more) if isinstance(has_more, bool) else len(values) > len(kept)
    return {"completion": out}
