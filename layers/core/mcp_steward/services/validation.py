"""Arguments and outputs checked against a tool's registered JSON Schemas (docs/design.md section 3, steps 6 and 9).

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

Regular expressions run in linear time. A schema's ``pattern``s and ``patternProperties`` keys are matched
against attacker-controlled values, before any money is reserved, so they never reach Python's ``re`` (which
backtracks: ``^(a+)+$`` against 28 bytes held the GIL for seconds). The ``pattern``, ``patternProperties``,
``additionalProperties`` and ``unevaluatedProperties`` keywords are replaced by versions that search with RE2
(:mod:`mcp_steward.domain.schema_regex`: ECMA-262's meaning, unanchored, compiled patterns cached), and
``format: "regex"`` is checked by that module's linear-time ECMA-262 parser; the metaschema check of a schema
uses the same keywords. A pattern RE2 cannot evaluate (lookaround, backreferences, ...) never falls back to a
backtracking engine: every call to the tool is refused (fail closed) with an ``isError`` result saying why
(``invalid_arguments``, or ``invalid_output`` for an ``outputSchema``), and registration's scanner reports it
(``unsupported_regex``).

Whatever else validation raises (a value nested too deeply for the checker, a format checker's internal error)
is a refusal of the same kind, never a server error. A schema that is not a JSON Schema at all, or whose
``$ref`` does not resolve, is still :class:`InvalidSchemaError`. ``$ref`` resolves only within the schema and
the JSON Schema metaschemas: never over the network.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any, Final, Literal, Protocol

from mcp_steward.contracts import result_meta
from mcp_steward.domain import schema_regex
from mcp_steward.domain.schema_regex import RegexError
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


@dataclass(frozen=True, slots=True)
class _Refusal:
    """A schema that cannot be evaluated safely: every call is refused with one violation (never a 5xx)."""

    detail: str
    keyword: str


class _RefusedError(Exception):
    def __init__(self, refusal: _Refusal) -> None:
        super().__init__(refusal.detail)
        self.refusal = refusal


class SchemaValidators:
    """Compiled validators for one sandbox, keyed by the tool's pinned definition hash and which schema.

    Thread-safe and bounded (LRU). The key must identify the schema: the same key with another schema
    returns the validator compiled first. A schema found invalid is remembered too, so it is not re-checked
    on every call.
    """

    def __init__(self, max_entries: int = CACHE_SIZE) -> None:
        self._max = max_entries
        self._entries: OrderedDict[tuple[str, Which], _Validator | _Refusal | str] = OrderedDict()
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
            _RefusedError: it is, but cannot be evaluated safely (a pattern RE2 refuses, a schema too deep to check).
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
            except Exception as exc:  # a schema too deep or odd to check: its calls are refused, no 5xx
                entry = _Refusal(f"{type(exc).__name__} while checking it", "validation")
            with self._lock:
                self.compiles += 1
                self._entries[cache_key] = entry
                self._entries.move_to_end(cache_key)
                while len(self._entries) > self._max:
                    self._entries.popitem(last=False)
        if isinstance(entry, str):
            raise InvalidSchemaError(which, entry)
        if isinstance(entry, _Refusal):
            raise _RefusedError(entry)
        return entry


def check_schema(schema: object, which: Which = "input") -> None:
    """Check a schema as a call would: valid for the dialect its ``$schema`` names (2020-12 by default).

    Registration can use it to refuse a tool whose schema would fail every call: one whose regular expressions
    RE2 cannot evaluate is refused too.

    Raises:
        InvalidSchemaError: it is not, or its calls would all be refused.
    """
    try:
        entry = _compile(schema)
    except _SchemaProblemError as exc:
        raise InvalidSchemaError(which, str(exc)) from exc
    except Exception as exc:
        raise InvalidSchemaError(which, f"{type(exc).__name__} while checking it") from exc
    if isinstance(entry, _Refusal):
        raise InvalidSchemaError(which, entry.detail)


def validate_arguments(
    validators: SchemaValidators, key: str, schema: Mapping[str, Any] | None, arguments: object
) -> ValidationReport:
    """Check ``tools/call`` arguments against the tool's ``inputSchema``.

    Arguments must be an object whatever the schema says (pass ``{}`` when the request omitted them); no
    schema, or ``{"type": "object"}``, accepts any object without compiling anything. A schema that cannot be
    evaluated safely, or arguments the checker fails on, are a violation at the root: never an exception.

    Raises:
        InvalidSchemaError: the registered ``inputSchema`` is invalid.
    """
    if not isinstance(arguments, dict):
        message = _truncate_value(f"{_repr(arguments)} is not of type 'object'", arguments)
        return ValidationReport((Violation("", message, "type"),))
    if schema is None or schema == _ANY_OBJECT:
        return ValidationReport()
    try:
        validator = validators.validator(key, "input", schema)
    except _RefusedError as exc:
        return _refused(exc.refusal, "input")
    return _report(validator, arguments, "input")


def validate_output(
    validators: SchemaValidators, key: str, schema: Mapping[str, Any] | None, structured: object | None
) -> ValidationReport:
    """Check a tool's ``structuredContent`` (``None`` when the result has none) against its ``outputSchema``.

    Call it for successful results only: a result with ``isError`` is not held to the ``outputSchema``.
    Without an ``outputSchema`` nothing is checked; with one, ``structuredContent`` must be present. A schema that
    cannot be evaluated safely, or output the checker fails on, are a violation at the root: never an exception.

    Raises:
        InvalidSchemaError: the registered ``outputSchema`` is invalid.
    """
    if schema is None:
        return ValidationReport()
    if structured is None:
        missing = "The result has no structuredContent, but the tool declares an outputSchema"
        return ValidationReport((Violation("", missing, "outputSchema"),))
    try:
        validator = validators.validator(key, "output", schema)
    except _RefusedError as exc:
        return _refused(exc.refusal, "output")
    return _report(validator, structured, "output")


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
        result_meta.REASON: reason,
        result_meta.VIOLATIONS: [violation.as_dict() for violation in report.violations],
    }
    if report.omitted:
        lines.append(f"({'at least ' if report.scan_stopped else ''}{report.omitted} more violations not shown)")
        meta[result_meta.VIOLATIONS_OMITTED] = report.omitted
    return {"content": [{"type": "text", "text": "\n".join(lines)}], "isError": True, "_meta": meta}


class _SchemaProblemError(ValueError):
    """Why a schema cannot be compiled; callers turn it into :class:`InvalidSchemaError`."""


def _compile(schema: object) -> _Validator | _Refusal:
    import jsonschema  # type: ignore[import-untyped]  # lazily: see the module docstring
    import referencing

    if not isinstance(schema, (Mapping, bool)):
        raise _SchemaProblemError(f"a schema must be an object or a boolean, not {type(schema).__name__}")
    if isinstance(schema, Mapping) and not isinstance(schema.get("$schema", ""), str):
        raise _SchemaProblemError("$schema must be a string")
    base = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    cls, format_checker = _linear(base)
    # The metaschema check (jsonschema's check_schema), with the same linear-time keywords and "regex" format.
    meta_cls, meta_format_checker = _linear(jsonschema.validators.validator_for(base.META_SCHEMA, default=base))
    for error in meta_cls(base.META_SCHEMA, format_checker=meta_format_checker).iter_errors(schema):
        raise _SchemaProblemError(_describe(error))
    patterns, _ = schema_regex.schema_patterns(schema)
    for pointer, pattern in patterns:
        try:
            schema_regex.check(pattern)
        except RegexError as exc:
            return _Refusal(f"{_shorten(pointer, VALUE_REPR_LIMIT)}: {exc.reason}", "pattern")
    # An empty registry (jsonschema adds the metaschemas): the default one fetches remote $refs over HTTP.
    validator: _Validator = cls(schema, registry=referencing.Registry(), format_checker=format_checker)
    return validator


#: Per jsonschema validator class, its linear-time version and format checker (built once per dialect).
_LINEAR: dict[Any, tuple[Any, Any]] = {}


def _linear(base: Any) -> tuple[Any, Any]:
    """``base`` with every keyword that matches a regular expression searching with RE2 instead of ``re``, and a
    copy of its format checker whose ``regex`` format is checked in linear time."""
    found = _LINEAR.get(base)
    if found is not None:
        return found
    import jsonschema
    from jsonschema import _legacy_keywords

    replacements = {
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties_keyword,
        "unevaluatedProperties": (
            _unevaluated_properties_2019
            if base.VALIDATORS.get("unevaluatedProperties") is _legacy_keywords.unevaluatedProperties_draft2019
            else _unevaluated_properties
        ),
    }
    keywords = {name: function for name, function in replacements.items() if name in base.VALIDATORS}
    cls = jsonschema.validators.extend(base, keywords)
    format_checker = jsonschema.FormatChecker(formats=())
    format_checker.checkers = {**base.FORMAT_CHECKER.checkers, "regex": (_is_regex, RegexError)}
    found = _LINEAR[base] = (cls, format_checker)
    return found


def _is_regex(instance: object) -> bool:
    return not isinstance(instance, str) or schema_regex.is_ecma_regex(instance)


# jsonschema's keyword functions, searching with RE2 (schema_regex.search) where jsonschema calls re.search;
# the messages are jsonschema's. Each raises RegexError for a pattern RE2 cannot evaluate.


def _pattern(validator: Any, pattern: Any, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]

    if validator.is_type(instance, "string") and not schema_regex.search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator: Any, patterns: Any, instance: Any, schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for name, value in instance.items():
            if schema_regex.search(pattern, name):
                yield from validator.descend(value, subschema, path=name, schema_path=pattern)


def _additional_properties_keyword(validator: Any, additional: Any, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema._utils import extras_msg  # type: ignore[import-untyped]
    from jsonschema.exceptions import ValidationError

    if not validator.is_type(instance, "object"):
        return
    extras = set(_additional_properties(instance, schema))
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        if "patternProperties" in schema:
            verb = "does" if len(extras) == 1 else "do"
            joined = ", ".join(repr(each) for each in sorted(extras))
            patterns = ", ".join(repr(each) for each in sorted(schema["patternProperties"]))
            yield ValidationError(f"{joined} {verb} not match any of the regexes: {patterns}")
        else:
            shown, verb = extras_msg(sorted(extras, key=str))
            yield ValidationError(f"Additional properties are not allowed ({shown} {verb} unexpected)")


def _unevaluated_properties(validator: Any, unevaluated: Any, instance: Any, schema: Any) -> Iterator[Any]:
    yield from _unevaluated(validator, unevaluated, instance, schema, legacy=False)


def _unevaluated_properties_2019(validator: Any, unevaluated: Any, instance: Any, schema: Any) -> Iterator[Any]:
    yield from _unevaluated(validator, unevaluated, instance, schema, legacy=True)


def _unevaluated(validator: Any, unevaluated: Any, instance: Any, schema: Any, *, legacy: bool) -> Iterator[Any]:
    from jsonschema._utils import extras_msg
    from jsonschema.exceptions import ValidationError

    if not validator.is_type(instance, "object"):
        return
    evaluated = _evaluated_keys(validator, instance, schema, legacy=legacy)
    invalid = [
        name
        for name in instance
        if name not in evaluated
        and any(True for _ in validator.descend(instance[name], unevaluated, path=name, schema_path=name))
    ]
    if not invalid:
        return
    if unevaluated is False:
        shown, verb = extras_msg(sorted(invalid, key=str))
        yield ValidationError(f"Unevaluated properties are not allowed ({shown} {verb} unexpected)")
    else:
        shown, verb = extras_msg(invalid)
        yield ValidationError(
            f"Unevaluated properties are not valid under the given schema ({shown} {verb} unevaluated and invalid)"
        )


def _evaluated_keys(validator: Any, instance: Any, schema: Any, *, legacy: bool) -> list[Any]:
    """jsonschema's ``find_evaluated_property_keys_by_schema`` (2020-12, or 2019-09's when ``legacy``)."""
    if validator.is_type(schema, "boolean"):
        return []
    keys: list[Any] = []
    resolved_schemas = []
    for keyword in ("$ref",) if legacy else ("$ref", "$dynamicRef"):
        reference = schema.get(keyword)
        if reference is not None:
            resolved_schemas.append(validator._resolver.lookup(reference))
    if legacy and "$recursiveRef" in schema:
        from referencing.jsonschema import lookup_recursive_ref

        resolved_schemas.append(lookup_recursive_ref(validator._resolver))
    for resolved in resolved_schemas:
        evolved = validator.evolve(schema=resolved.contents, _resolver=resolved.resolver)
        keys.extend(_evaluated_keys(evolved, instance, resolved.contents, legacy=legacy))
    if legacy:
        for keyword in ("properties", "additionalProperties", "unevaluatedProperties"):
            value = schema.get(keyword)
            if value is True:
                keys.extend(instance)
            elif validator.is_type(value, "object"):
                keys.extend(name for name in value if name in instance)
    else:
        properties = schema.get("properties")
        if validator.is_type(properties, "object"):
            keys.extend(properties.keys() & instance.keys())
        for keyword in ("additionalProperties", "unevaluatedProperties"):
            subschema = schema.get(keyword)
            if subschema is not None:
                keys.extend(name for name, value in instance.items() if _valid(validator.descend(value, subschema)))
    for pattern in schema.get("patternProperties", {}):
        keys.extend(name for name in instance if schema_regex.search(pattern, name))
    for name, subschema in schema.get("dependentSchemas", {}).items():
        if name in instance:
            keys.extend(_evaluated_keys(validator, instance, subschema, legacy=legacy))
    for keyword in ("allOf", "oneOf", "anyOf"):
        for subschema in schema.get(keyword, []):
            if _valid(validator.descend(instance, subschema)):
                keys.extend(_evaluated_keys(validator, instance, subschema, legacy=legacy))
    if "if" in schema:
        if validator.evolve(schema=schema["if"]).is_valid(instance):
            keys.extend(_evaluated_keys(validator, instance, schema["if"], legacy=legacy))
            if "then" in schema:
                keys.extend(_evaluated_keys(validator, instance, schema["then"], legacy=legacy))
        elif "else" in schema:
            keys.extend(_evaluated_keys(validator, instance, schema["else"], legacy=legacy))
    return keys


def _valid(errors: Iterator[Any]) -> bool:
    return next(errors, None) is None


def _report(validator: _Validator, instance: object, which: Which) -> ValidationReport:
    from referencing.exceptions import Unresolvable

    try:
        errors = list(islice(validator.iter_errors(instance), SCAN_LIMIT))
        if not errors:
            return ValidationReport()
        found = sorted(
            (violation for error in errors for violation in _violations(error)),
            key=lambda item: (item[0], item[1].keyword, item[1].message),
        )
    except Unresolvable as exc:
        raise InvalidSchemaError(which, f"unresolvable $ref: {exc}") from exc
    except RegexError as exc:
        return _refused(_Refusal(exc.reason, "pattern"), which)
    except Exception as exc:  # too deep, too big, a checker's bug: refused, never a 5xx
        subject = "arguments" if which == "input" else "output"
        message = (
            f"The {subject} could not be validated against the tool's {which} schema ({type(exc).__name__}: "
            "nested too deeply or too complex for the checker); the call is refused."
        )
        return ValidationReport((Violation("", message, "validation"),))
    listed = tuple(violation for _, violation in found[:MAX_VIOLATIONS])
    return ValidationReport(listed, len(found) - len(listed), scan_stopped=len(errors) >= SCAN_LIMIT)


def _refused(refusal: _Refusal, which: Which) -> ValidationReport:
    """The one violation of every call whose schema cannot be evaluated safely."""
    if refusal.keyword == "pattern":
        what = "a regular expression that cannot be evaluated in linear time"
    else:
        what = "a part that cannot be evaluated safely"
    message = (
        f"The tool's {which} schema has {what} ({_shorten(refusal.detail, MESSAGE_LIMIT // 2)}); calls to this "
        "tool are refused until an administrator fixes the schema."
    )
    return ValidationReport((Violation("", message, refusal.keyword),))


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
    """The properties ``additionalProperties`` judges, as jsonschema finds them (a search for each pattern).

    Raises:
        RegexError: a pattern RE2 cannot evaluate.
    """
    properties = schema.get("properties")
    known = properties if isinstance(properties, Mapping) else {}
    pattern_properties = schema.get("patternProperties")
    patterns = list(pattern_properties) if isinstance(pattern_properties, Mapping) else []
    return [
        name
        for name in instance
        if name not in known and not any(schema_regex.search(pattern, name) for pattern in patterns)
    ]


def _pointer(path: Iterable[str | int]) -> str:
    """An RFC 6901 JSON Pointer: ``~`` escaped as ``~0`` before ``/`` as ``~1``."""
    return "".join("/" + str(token).replace("~", "~0").replace("/", "~1") for token in path)


def _repr(value: object) -> str:
    try:
        return repr(value)
    except RecursionError:
        return f"(a {type(value).__name__} nested too deeply to show)"


def _truncate_value(message: str, value: object, limit: int = VALUE_REPR_LIMIT) -> str:
    """The message with the offending value's rendering cut to ``limit`` characters."""
    if isinstance(value, (bool, int, float)) or value is None:
        return message
    rendered = _repr(value)
    if len(rendered) <= limit:
        return message
    return message.replace(rendered, _shorten(rendered, limit))


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}{_ELLIPSIS}"


def _describe(exc: Exception) -> str:
    """A schema error in one line: where in the schema, and jsonschema's message."""
    path = getattr(exc, "absolute_path", ())
    # The offending value cut short, so that the reason still fits in InvalidSchemaError's message.
    message = _truncate_value(getattr(exc, "message", str(exc)), getattr(exc, "instance", None), 60)
    where = _pointer(path) or "(root)"
    return f"{where}: {message}"
