"""Arguments and outputs checked against a tool's registered JSON Schemas (DESIGN.md section 3, steps 6 and 9).

Invalid arguments become an ``isError`` result the model can correct itself from (not charged, not invoked);
a ``structuredContent`` that violates the ``outputSchema`` becomes an ``isError`` result with reason
``invalid_output`` (charged, audit finding). Both answers list every violation with a JSON Pointer.

``jsonschema`` is imported on the first compile, never at module import: a sandbox pays for it only once a
call needs it, and a tool whose schema is absent or just ``{"type": "object"}`` never compiles at all.
Compiled validators are cached per pinned definition hash, because compiling costs ~60 validations.

Pointer rules: a violation points into the instance (RFC 6901, ``""`` is the root). A ``required``
violation points at the missing property (``/amount``, not its parent), and ``additionalProperties: false``
yields one violation per unexpected property, pointing at it; every other keyword (``unevaluatedProperties``
and ``dependentRequired`` included) points at the instance that failed.

Schemas are admin-approved, so their ``pattern`` regular expressions are trusted not to backtrack
catastrophically on the (attacker-controlled) values they are matched against; review them at approval.
``$ref`` resolves only within the schema and the JSON Schema metaschemas: never over the network.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any, Final, Literal, Protocol

from mcp_steward.protocol.errors import INTERNAL_ERROR, ErrorRule, StewardError

#: Violations listed in an answer; the rest are counted in ``ValidationReport.omitted``.
MAX_VIOLATIONS: Final = 50
#: Errors read from jsonschema before it stops looking: bounds the work on a huge, thoroughly wrong instance.
SCAN_LIMIT: Final = 1_000
#: Longest rendering of an offending value inside a message; the value is cut beyond it.
VALUE_REPR_LIMIT: Final = 200
#: Longest message, whatever it quotes (property names, enums).
MESSAGE_LIMIT: Final = 600
#: Compiled validators kept per sandbox (least recently used evicted first).
CACHE_SIZE: Final = 1_024

Which = Literal["input", "output"]

_ANY_OBJECT: Final[Mapping[str, object]] = {"type": "object"}
_ELLIPSIS: Final = "…"


class InvalidSchemaError(StewardError):
    """A tool's registered schema is not a valid JSON Schema (or its ``$ref`` cannot be resolved).

    The call is refused (fail closed); registration should have caught it, so this is an internal error.
    """

    rule = ErrorRule(INTERNAL_ERROR, 500, 500)
    reason = "invalid_schema"

    def __init__(self, which: str, detail: str) -> None:
        super().__init__(f"The tool's registered {which} schema is invalid: {_shorten(detail, VALUE_REPR_LIMIT)}")
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Violation:
    """One way an instance fails its schema: where (a JSON Pointer), why, and which keyword failed."""

    pointer: str
    message: str
    keyword: str

    def as_dict(self) -> dict[str, str]:
        return {"pointer": self.pointer, "message": self.message, "keyword": self.keyword}


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """The violations found, sorted by pointer (array indices numerically) then keyword, at most ``MAX_VIOLATIONS``.

    ``omitted`` counts those found but not listed; scanning stops after ``SCAN_LIMIT`` jsonschema errors, so
    once that limit is reached it is a lower bound (``scan_stopped``).
    """

    violations: tuple[Violation, ...] = ()
    omitted: int = 0
    scan_stopped: bool = False

    @property
    def valid(self) -> bool:
        return not self.violations


class _Error(Protocol):
    """The part of ``jsonschema.ValidationError`` used here (jsonschema ships no type information)."""

    message: str
    validator: object
    validator_value: object
    instance: object
    schema: object

    @property
    def absolute_path(self) -> Iterable[str | int]: ...


class _Validator(Protocol):
    def iter_errors(self, instance: object) -> Iterator[_Error]: ...


class SchemaValidators:
    """Compiled validators for one sandbox, keyed by the tool's pinned definition hash and which schema.

    Thread-safe and bounded (LRU). The key must identify the schema: the same key with another schema
    returns the validator compiled first. A schema found invalid is remembered too, so it is not re-checked
    on every call.
    """

    def __init__(self, max_entries: int = CACHE_SIZE) -> None:
        self._max = max_entries
        self._entries: OrderedDict[tuple[str, Which], _Validator | str] = OrderedDict()
        self._lock = threading.Lock()
        #: Schemas compiled (or found invalid) so far: repeated calls with one key must not add to it.
        self.compiles = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def validator(self, key: str, which: Which, schema: object) -> _Validator:
        """The compiled validator for ``schema``, compiling it on the first use of ``(key, which)``.

        Raises:
            InvalidSchemaError: the schema is not valid for the dialect its ``$schema`` names.
        """
        cache_key = (key, which)
        with self._lock:
            entry = self._entries.get(cache_key)
            if entry is not None:
                self._entries.move_to_end(cache_key)
        if entry is None:
            # Compiled outside the lock: two threads may both compile a new key once; neither blocks others.
            try:
                entry = _compile(schema)
            except _SchemaProblemError as exc:
                entry = str(exc)
            with self._lock:
                self.compiles += 1
                self._entries[cache_key] = entry
                self._entries.move_to_end(cache_key)
                while len(self._entries) > self._max:
                    self._entries.popitem(last=False)
        if isinstance(entry, str):
            raise InvalidSchemaError(which, entry)
        return entry


def check_schema(schema: object, which: Which = "input") -> None:
    """Check a schema as a call would: valid for the dialect its ``$schema`` names (2020-12 by default).

    Registration can use it to refuse a tool whose schema would fail every call.

    Raises:
        InvalidSchemaError: it is not.
    """
    try:
        _compile(schema)
    except _SchemaProblemError as exc:
        raise InvalidSchemaError(which, str(exc)) from exc


def validate_arguments(
    validators: SchemaValidators, key: str, schema: Mapping[str, Any] | None, arguments: object
) -> ValidationReport:
    """Check ``tools/call`` arguments against the tool's ``inputSchema``.

    Arguments must be an object whatever the schema says (pass ``{}`` when the request omitted them); no
    schema, or ``{"type": "object"}``, accepts any object without compiling anything.

    Raises:
        InvalidSchemaError: the registered ``inputSchema`` is invalid.
    """
    if not isinstance(arguments, dict):
        message = _truncate_value(f"{arguments!r} is not of type 'object'", arguments)
        return ValidationReport((Violation("", message, "type"),))
    if schema is None or schema == _ANY_OBJECT:
        return ValidationReport()
    return _report(validators.validator(key, "input", schema), arguments, "input")


def validate_output(
    validators: SchemaValidators, key: str, schema: Mapping[str, Any] | None, structured: object | None
) -> ValidationReport:
    """Check a tool's ``structuredContent`` (``None`` when the result has none) against its ``outputSchema``.

    Call it for successful results only: a result with ``isError`` is not held to the ``outputSchema``.
    Without an ``outputSchema`` nothing is checked; with one, ``structuredContent`` must be present.

    Raises:
        InvalidSchemaError: the registered ``outputSchema`` is invalid.
    """
    if schema is None:
        return ValidationReport()
    if structured is None:
        missing = "The result has no structuredContent, but the tool declares an outputSchema"
        return ValidationReport((Violation("", missing, "outputSchema"),))
    return _report(validators.validator(key, "output", schema), structured, "output")


def invalid_arguments_result(report: ValidationReport) -> dict[str, Any]:
    """The ``tools/call`` result for arguments that fail the ``inputSchema``: one line per violation."""
    return _error_result(report, "invalid_arguments", [])


def invalid_output_result(report: ValidationReport) -> dict[str, Any]:
    """The ``tools/call`` result for a ``structuredContent`` that fails the ``outputSchema``."""
    header = "The tool's output did not match its declared output schema:"
    return _error_result(report, "invalid_output", [header])


def _error_result(report: ValidationReport, reason: str, lines: list[str]) -> dict[str, Any]:
    lines = lines + [f"{violation.pointer or '(root)'}: {violation.message}" for violation in report.violations]
    meta: dict[str, Any] = {
        "steward/reason": reason,
        "steward/violations": [violation.as_dict() for violation in report.violations],
    }
    if report.omitted:
        lines.append(f"({'at least ' if report.scan_stopped else ''}{report.omitted} more violations not shown)")
        meta["steward/violationsOmitted"] = report.omitted
    return {"content": [{"type": "text", "text": "\n".join(lines)}], "isError": True, "_meta": meta}


class _SchemaProblemError(ValueError):
    """Why a schema cannot be compiled; callers turn it into :class:`InvalidSchemaError`."""


def _compile(schema: object) -> _Validator:
    import jsonschema  # type: ignore[import-untyped]  # lazily: see the module docstring
    import referencing

    if not isinstance(schema, (Mapping, bool)):
        raise _SchemaProblemError(f"a schema must be an object or a boolean, not {type(schema).__name__}")
    if isinstance(schema, Mapping) and not isinstance(schema.get("$schema", ""), str):
        raise _SchemaProblemError("$schema must be a string")
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise _SchemaProblemError(_describe(exc)) from exc
    # An empty registry (jsonschema adds the metaschemas): the default one fetches remote $refs over HTTP.
    validator: _Validator = cls(schema, registry=referencing.Registry(), format_checker=cls.FORMAT_CHECKER)
    return validator


def _report(validator: _Validator, instance: object, which: Which) -> ValidationReport:
    from referencing.exceptions import Unresolvable

    try:
        errors = list(islice(validator.iter_errors(instance), SCAN_LIMIT))
    except Unresolvable as exc:
        raise InvalidSchemaError(which, f"unresolvable $ref: {exc}") from exc
    if not errors:
        return ValidationReport()
    found = sorted(
        (violation for error in errors for violation in _violations(error)),
        key=lambda item: (item[0], item[1].keyword, item[1].message),
    )
    listed = tuple(violation for _, violation in found[:MAX_VIOLATIONS])
    return ValidationReport(listed, len(found) - len(listed), scan_stopped=len(errors) >= SCAN_LIMIT)


_SortKey = tuple[tuple[int, int | str], ...]


def _violations(error: _Error) -> Iterator[tuple[_SortKey, Violation]]:
    path = list(error.absolute_path)
    keyword = str(error.validator)
    if keyword == "required" and isinstance(error.instance, Mapping) and isinstance(error.validator_value, list):
        # jsonschema reports each missing property as "<name!r> is a required property" but does not name it.
        for name in error.validator_value:
            if (
                isinstance(name, str)
                and name not in error.instance
                and error.message == f"{name!r} is a required property"
            ):
                yield _violation([*path, name], _shorten(error.message, MESSAGE_LIMIT), keyword)
                return
    if (
        keyword == "additionalProperties"
        and error.validator_value is False
        and isinstance(error.instance, Mapping)
        and isinstance(error.schema, Mapping)
    ):
        extras = _additional_properties(error.instance, error.schema)
        if extras:
            for name in extras:
                shown = _shorten(repr(name), VALUE_REPR_LIMIT)
                yield _violation(
                    [*path, name], f"Additional properties are not allowed ({shown} was unexpected)", keyword
                )
            return
    yield _violation(path, _shorten(_truncate_value(error.message, error.instance), MESSAGE_LIMIT), keyword)


def _violation(path: list[str | int], message: str, keyword: str) -> tuple[_SortKey, Violation]:
    sort_key = tuple((0, token) if isinstance(token, int) else (1, str(token)) for token in path)
    return sort_key, Violation(_pointer(path), message, keyword)


def _additional_properties(instance: Mapping[str, object], schema: Mapping[str, object]) -> list[str]:
    """The properties ``additionalProperties`` judges, as jsonschema finds them (``re.search`` on patterns)."""
    properties = schema.get("properties")
    known = properties if isinstance(properties, Mapping) else {}
    pattern_properties = schema.get("patternProperties")
    patterns = (
        [re.compile(pattern) for pattern in pattern_properties] if isinstance(pattern_properties, Mapping) else []
    )
    return [name for name in instance if name not in known and not any(pattern.search(name) for pattern in patterns)]


def _pointer(path: Iterable[str | int]) -> str:
    """An RFC 6901 JSON Pointer: ``~`` escaped as ``~0`` before ``/`` as ``~1``."""
    return "".join("/" + str(token).replace("~", "~0").replace("/", "~1") for token in path)


def _truncate_value(message: str, value: object) -> str:
    """The message with the offending value's rendering cut to ``VALUE_REPR_LIMIT`` characters."""
    if isinstance(value, (bool, int, float)) or value is None:
        return message
    rendered = repr(value)
    if len(rendered) <= VALUE_REPR_LIMIT:
        return message
    return message.replace(rendered, _shorten(rendered, VALUE_REPR_LIMIT))


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}{_ELLIPSIS}"


def _describe(exc: Exception) -> str:
    """A schema error in one line: where in the schema, and jsonschema's message."""
    path = getattr(exc, "absolute_path", ())
    message = getattr(exc, "message", str(exc))
    where = _pointer(path) or "(root)"
    return f"{where}: {message}"
