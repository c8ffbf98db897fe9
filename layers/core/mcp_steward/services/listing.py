"""Listing what a server exposes (the internal dialect): ``server/discover``, then ``tools/list`` and, when the
server declares them, ``resources/list``, ``resources/templates/list`` and ``prompts/list``.

An old server answers ``server/discover`` with -32601: it has tools only. A server that declared resources or
prompts but answers -32601 to one of their lists has none of it. A ``server/discover`` that fails otherwise, or
answers without a ``capabilities`` object, is read as an old server's, but the primitives other than tools are then
*not listed* (:attr:`Listing.listed`): what the server exposed of them is kept as it was, neither removed nor counted
missing, so a flaky discovery cannot disable a server's prompts. Any list that fails is the listing's failure
(:class:`~mcp_steward.services.registration.RegistrationError`), as a failed ``tools/list`` always was.

Every definition other than a tool's is bounded and reduced to the fields a client is shown (resources: ``uri``,
``name``, ``title``, ``description``, ``mimeType``, ``size``, ``annotations``; templates: ``uriTemplate``, ``name``,
``title``, ``description``, ``mimeType``, ``annotations``; prompts: ``name``, ``title``, ``description``,
``arguments``, each ``name``, ``title``, ``description``, ``required``). One that breaks a bound or a type is skipped
and reported (:attr:`Listing.skipped`), never silently dropped. Tools are checked as they always were.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from mcp_steward.contracts import envelope
from mcp_steward.domain.names import MAX_URI_BYTES
from mcp_steward.domain.ports import InvocationError, ToolInvoker
from mcp_steward.domain.registry import Primitive, ServerRecord
from mcp_steward.domain.scanning import MAX_STRING_CHARS
from mcp_steward.protocol.jsonrpc import is_utf8_json

#: The principal named in the envelope when the plane itself (not a person) lists a server.
SYSTEM_PRINCIPAL: Final = envelope.Principal("steward:registry", "steward")
DISCOVERY_TIMEOUT_MS: Final = 30_000
#: Of a listing's error message (the egress's refusals say what to run: a ``put-vendor`` command line).
MAX_ERROR_CHARS: Final = 600
METHOD_NOT_FOUND: Final = -32601
#: A server's entries (tools, prompts, resources and templates together) are written in one DynamoDB transaction
#: of at most 100 actions: the server item and 99 entries (the DynamoDB registry's ``MAX_TOOLS_PER_SERVER``).
MAX_ENTRIES_PER_SERVER: Final = 99
#: The optional capabilities governance remembers in :attr:`ServerRecord.capabilities`.
REMEMBERED_CAPABILITIES: Final = frozenset({"completions"})

MAX_NAME_CHARS: Final = 128
MAX_TITLE_CHARS: Final = 256
#: A description as long as the scanner examines (a longer tool description is a scan finding; here it is refused).
MAX_DESCRIPTION_CHARS: Final = MAX_STRING_CHARS
MAX_MIME_TYPE_CHARS: Final = 255
MAX_ARGUMENTS: Final = 32
#: Of one definition as stored (JSON): well under a DynamoDB item, with room for the record's other attributes.
MAX_DEFINITION_BYTES: Final = 64 * 1024
MAX_SIZE: Final = 2**53 - 1
_AUDIENCES: Final = frozenset({"user", "assistant"})

#: Each list method of a primitive other than tools, the capability that declares it and the key of its items.
LISTS: Final = {
    Primitive.RESOURCE: ("resources", "resources/list", "resources"),
    Primitive.RESOURCE_TEMPLATE: ("resources", "resources/templates/list", "resourceTemplates"),
    Primitive.PROMPT: ("prompts", "prompts/list", "prompts"),
}
#: The member of each primitive's definition that names it upstream.
UPSTREAM_KEY: Final = {
    Primitive.TOOL: "name",
    Primitive.PROMPT: "name",
    Primitive.RESOURCE: "uri",
    Primitive.RESOURCE_TEMPLATE: "uriTemplate",
}


class ListingError(Exception):
    """A server could not be listed; ``rule`` is the egress rule that refused it (vendors), else None."""

    def __init__(self, message: str, *, rule: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule


class _MethodNotFoundError(Exception):
    """The server does not implement the method (-32601)."""


@dataclass(frozen=True, slots=True)
class Listing:
    """What one listing of a server found: its definitions (tools first) in listing order, the primitives it
    listed (the others are unknown this time: see the module docstring), the capabilities to remember, and the
    definitions skipped, each with why."""

    definitions: list[tuple[Primitive, dict[str, Any]]]
    listed: frozenset[Primitive]
    capabilities: frozenset[str] | None = None  # None: discovery did not answer (keep what was remembered)
    skipped: list[str] = field(default_factory=list)

    def count(self, kind: Primitive) -> int:
        return sum(1 for each, _ in self.definitions if each is kind)


def upstream_of(kind: Primitive, definition: dict[str, Any]) -> str:
    """The upstream name of a prompt or tool, the original URI of a resource, the URI template of a template."""
    return str(definition[UPSTREAM_KEY[kind]])


def _call(invoker: ToolInvoker, server: ServerRecord, method: str, what: str) -> Any:
    """The result of one internal-dialect request to the server (its version ``server.version`` when known).

    Raises:
        _MethodNotFoundError: it answered -32601.
        ListingError: it could not be invoked, or answered with another error.
    """
    deadline_ms = int(time.time() * 1000) + DISCOVERY_TIMEOUT_MS
    steward = envelope.StewardContext(uuid.uuid4().hex, deadline_ms, SYSTEM_PRINCIPAL)
    try:
        response = invoker.invoke(
            server, envelope.request(steward, 1, method, {}), deadline_ms=deadline_ms, version=server.version
        )
    except InvocationError as exc:
        raise ListingError(f"could not list the {what} of {server.name}: {exc.message}") from exc
    error = response.get("error")
    if isinstance(error, dict):
        if error.get("code") == METHOD_NOT_FOUND:
            raise _MethodNotFoundError(method)
        text = str(error.get("message", ""))[:MAX_ERROR_CHARS]
        data = error.get("data")
        rule = data.get("rule") if isinstance(data, dict) and data.get("reason") == "egress_refused" else None
        rule = rule[:64] if isinstance(rule, str) and rule.isprintable() else None
        message_text = f"could not list the {what} of {server.name}: {text or error.get('code')}"
        raise ListingError(message_text + (f" (egress rule {rule})" if rule else ""), rule=rule)
    return response.get("result")


def list_tools(invoker: ToolInvoker, server: ServerRecord) -> list[dict[str, Any]]:
    """``tools/list``: every tool definition, each an object with a string ``name``.

    Raises:
        ListingError: the function could not be invoked, answered with an error (-32601 included: every server
            has tools) or with a malformed result.
    """
    try:
        result = _call(invoker, server, "tools/list", "tools")
    except _MethodNotFoundError:
        raise ListingError(f"could not list the tools of {server.name}: -32601 (method not found)") from None
    tools = result.get("tools") if isinstance(result, dict) else None
    if (
        not isinstance(tools, list)
        or not all(isinstance(t, dict) and isinstance(t.get("name"), str) for t in tools)
        or not is_utf8_json(tools)  # a definition every tools/list would fail to write out
    ):
        raise ListingError(f"{server.name} answered tools/list with a malformed result")
    return tools


def discover(invoker: ToolInvoker, server: ServerRecord) -> tuple[frozenset[str], bool]:
    """The capabilities ``server/discover`` declares and whether they are known: ``({"tools"}, True)`` for an old
    server (-32601); ``({"tools"}, False)`` when discovery failed or answered without capabilities."""
    try:
        result = _call(invoker, server, "server/discover", "capabilities")
    except _MethodNotFoundError:
        return frozenset({"tools"}), True
    except ListingError:
        return frozenset({"tools"}), False
    capabilities = result.get("capabilities") if isinstance(result, dict) else None
    if not isinstance(capabilities, dict):
        return frozenset({"tools"}), False
    return frozenset(str(name)[:64] for name in list(capabilities)[:64]) | {"tools"}, True


def list_server(invoker: ToolInvoker, server: ServerRecord) -> Listing:
    """Everything ``server`` exposes (the module docstring).

    Raises:
        ListingError: a list failed or was malformed, or the server lists more entries than fit one transaction.
    """
    capabilities, known = discover(invoker, server)
    definitions: list[tuple[Primitive, dict[str, Any]]] = [(Primitive.TOOL, t) for t in list_tools(invoker, server)]
    listed = {Primitive.TOOL}
    skipped: list[str] = []
    if known:
        for kind, (capability, method, key) in LISTS.items():
            listed.add(kind)
            if capability not in capabilities:
                continue
            for raw in _list(invoker, server, method, key):
                try:
                    definitions.append((kind, clean_definition(kind, raw)))
                except DefinitionError as exc:
                    skipped.append(f"{kind.value} {exc.subject}: {exc}")
            if len(definitions) > MAX_ENTRIES_PER_SERVER:
                break  # refused below: no need to list (and check) more
    if len(definitions) > MAX_ENTRIES_PER_SERVER:
        raise ListingError(too_many(server.name, len(definitions)))
    remembered = capabilities & REMEMBERED_CAPABILITIES if known else None
    return Listing(definitions, frozenset(listed), remembered, skipped)


def too_many(server: str, count: int) -> str:
    return (
        f"{server} exposes {count} or more entries (tools, prompts, resources and resource templates together): "
        f"a server may expose at most {MAX_ENTRIES_PER_SERVER}, as its entries are written in one transaction"
    )


def _list(invoker: ToolInvoker, server: ServerRecord, method: str, key: str) -> list[Any]:
    try:
        result = _call(invoker, server, method, key)
    except _MethodNotFoundError:
        return []  # an internal server that answers -32601 has none of it
    items = result.get(key) if isinstance(result, dict) else None
    if not isinstance(items, list):
        raise ListingError(f"{server.name} answered {method} with a malformed result")
    if len(items) > MAX_ENTRIES_PER_SERVER:
        raise ListingError(too_many(server.name, len(items)))
    return items


# --- definitions --------------------------------------------------------------------------------------------


class DefinitionError(ValueError):
    """A definition that is skipped: ``subject`` names it (its name or URI, quoted and cut short)."""

    def __init__(self, subject: str, message: str) -> None:
        super().__init__(message)
        self.subject = subject


def _text(raw: dict[str, Any], key: str, limit: int, subject: str, *, required: bool = False) -> str | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (not value and required):
        raise DefinitionError(subject, f"{key} must be a {'non-empty ' if required else ''}string")
    if len(value) > limit:
        raise DefinitionError(subject, f"{key} is longer than {limit} characters")
    return value


def _subject(raw: object, key: str) -> str:
    value = raw.get(key) if isinstance(raw, dict) else None
    return repr(value[:80]) if isinstance(value, str) else "(unnamed)"


def _annotations(raw: dict[str, Any], subject: str) -> dict[str, Any] | None:
    """A resource's annotations (``audience``, ``priority``, ``lastModified``); other members are dropped."""
    value = raw.get("annotations")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise DefinitionError(subject, "annotations must be an object")
    kept: dict[str, Any] = {}
    audience = value.get("audience")
    if audience is not None:
        if not isinstance(audience, list) or len(audience) > len(_AUDIENCES) or not set(audience) <= _AUDIENCES:
            raise DefinitionError(subject, "annotations.audience must list 'user' and/or 'assistant'")
        kept["audience"] = list(audience)
    priority = value.get("priority")
    if priority is not None:
        if isinstance(priority, bool) or not isinstance(priority, int | float) or not 0 <= priority <= 1:
            raise DefinitionError(subject, "annotations.priority must be a number from 0 to 1")
        kept["priority"] = priority
    modified = _text(value, "lastModified", 64, subject)
    if modified is not None:
        kept["lastModified"] = modified
    return kept


def _arguments(raw: dict[str, Any], subject: str) -> list[dict[str, Any]] | None:
    value = raw.get("arguments")
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_ARGUMENTS:
        raise DefinitionError(subject, f"arguments must be a list of at most {MAX_ARGUMENTS}")
    arguments = []
    names: set[str] = set()
    for argument in value:
        if not isinstance(argument, dict):
            raise DefinitionError(subject, "each argument must be an object")
        name = _text(argument, "name", MAX_NAME_CHARS, subject, required=True)
        assert name is not None  # required
        if name in names:
            raise DefinitionError(subject, f"argument {name[:80]!r} is declared twice")
        names.add(name)
        cleaned: dict[str, Any] = {"name": name}
        for key, limit in (("title", MAX_TITLE_CHARS), ("description", MAX_DESCRIPTION_CHARS)):
            text = _text(argument, key, limit, subject)
            if text is not None:
                cleaned[key] = text
        required = argument.get("required")
        if required is not None:
            if not isinstance(required, bool):
                raise DefinitionError(subject, "an argument's required must be true or false")
            cleaned["required"] = required
        arguments.append(cleaned)
    return arguments


def _common(raw: dict[str, Any], subject: str, kept: dict[str, Any]) -> None:
    """``name`` (required), ``title``, ``description``, into ``kept``."""
    kept["name"] = _text(raw, "name", MAX_NAME_CHARS, subject, required=True)
    for key, limit in (("title", MAX_TITLE_CHARS), ("description", MAX_DESCRIPTION_CHARS)):
        text = _text(raw, key, limit, subject)
        if text is not None:
            kept[key] = text


def _resource(raw: dict[str, Any], key: str) -> dict[str, Any]:
    subject = _subject(raw, key)
    kept: dict[str, Any] = {key: _text(raw, key, MAX_URI_BYTES, subject, required=True)}
    _common(raw, subject, kept)
    mime = _text(raw, "mimeType", MAX_MIME_TYPE_CHARS, subject)
    if mime is not None:
        kept["mimeType"] = mime
    if key == "uri" and raw.get("size") is not None:
        size = raw["size"]
        if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_SIZE:
            raise DefinitionError(subject, "size must be a non-negative integer")
        kept["size"] = size
    annotations = _annotations(raw, subject)
    if annotations is not None:
        kept["annotations"] = annotations
    return kept


def _prompt(raw: dict[str, Any]) -> dict[str, Any]:
    subject = _subject(raw, "name")
    kept: dict[str, Any] = {}
    _common(raw, subject, kept)
    arguments = _arguments(raw, subject)
    if arguments is not None:
        kept["arguments"] = arguments
    return kept


_CLEANERS: Final[dict[Primitive, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    Primitive.PROMPT: _prompt,
    Primitive.RESOURCE: lambda raw: _resource(raw, "uri"),
    Primitive.RESOURCE_TEMPLATE: lambda raw: _resource(raw, "uriTemplate"),
}


def clean_definition(kind: Primitive, raw: object) -> dict[str, Any]:
    """The stored definition of a listed prompt, resource or resource template: the fields a client is shown,
    each checked and bounded.

    Raises:
        DefinitionError: a field of the wrong type or beyond its bound (the definition is skipped).
    """
    if not isinstance(raw, dict):
        raise DefinitionError("(unnamed)", "a definition must be an object")
    kept = _CLEANERS[kind](raw)
    if not is_utf8_json(kept):
        raise DefinitionError(_subject(raw, UPSTREAM_KEY[kind]), "a string is not Unicode text")
    if len(json.dumps(kept, ensure_ascii=False).encode()) > MAX_DEFINITION_BYTES:
        raise DefinitionError(_subject(raw, UPSTREAM_KEY[kind]), f"the definition is over {MAX_DEFINITION_BYTES} bytes")
    return kept
