"""Schema regular expressions at call time: linear time (RE2, never Python's ``re``), ECMA-262's meaning, fail
closed on what RE2 cannot evaluate, and no exception out of validation whatever the arguments."""

from __future__ import annotations

import json
import types
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_steward.domain import schema_regex
from mcp_steward.services.validation import (
    InvalidSchemaError,
    SchemaValidators,
    ValidationReport,
    check_schema,
    invalid_arguments_result,
    invalid_output_result,
    validate_arguments,
    validate_output,
)

EVIL = "^(a+)+$"
ATTACK = "a" * 40 + "!"


@pytest.fixture
def no_python_re(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``re`` jsonschema evaluates patterns with refuses: a backtracking engine must never see them."""
    import jsonschema._format  # type: ignore[import-untyped]
    import jsonschema._keywords  # type: ignore[import-untyped]
    import jsonschema._legacy_keywords  # type: ignore[import-untyped]
    import jsonschema._utils  # type: ignore[import-untyped]

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a schema regular expression reached Python's re")

    stub = types.SimpleNamespace(search=refuse, compile=refuse, match=refuse, fullmatch=refuse, error=ValueError)
    for module in (jsonschema._keywords, jsonschema._utils, jsonschema._legacy_keywords, jsonschema._format):
        monkeypatch.setattr(module, "re", stub)


def string_property(**keywords: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {"v": {"type": "string", **keywords}}}


def found(report: ValidationReport) -> list[tuple[str, str]]:
    return [(violation.pointer, violation.keyword) for violation in report.violations]


# --- linear time -------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_python_re")
def test_a_nested_quantifier_pattern_is_evaluated_without_python_re() -> None:
    validators = SchemaValidators()
    schema = string_property(pattern=EVIL)
    report = validate_arguments(validators, "h", schema, {"v": ATTACK})
    assert found(report) == [("/v", "pattern")]
    assert report.violations[0].message == f"{ATTACK!r} does not match {EVIL!r}"
    assert validate_arguments(validators, "h", schema, {"v": "a" * 100_000}).valid


@pytest.mark.usefixtures("no_python_re")
def test_pattern_properties_and_additional_properties_search_with_re2() -> None:
    schema = {"type": "object", "patternProperties": {EVIL: {"type": "integer"}}, "additionalProperties": False}
    report = validate_arguments(SchemaValidators(), "h", schema, {ATTACK: 1, "aaa": "x", "a": 2})
    assert found(report) == [("/aaa", "type"), (f"/{ATTACK}", "additionalProperties")]


@pytest.mark.usefixtures("no_python_re")
@pytest.mark.parametrize("dialect", [None, "https://json-schema.org/draft/2019-09/schema"])
def test_unevaluated_properties_beside_pattern_properties_search_with_re2(dialect: str | None) -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "allOf": [{"patternProperties": {"^x-(a+)+$": {"type": "integer"}}}],
        "unevaluatedProperties": False,
    }
    if dialect:
        schema["$schema"] = dialect
    report = validate_arguments(SchemaValidators(), "h", schema, {"x-aaa": 1, "x-" + ATTACK: 2, "y": 3})
    assert found(report) == [("", "unevaluatedProperties")]
    assert report.violations[0].message == (
        f"Unevaluated properties are not allowed ({'x-' + ATTACK!r}, 'y' were unexpected)"
    )


@pytest.mark.usefixtures("no_python_re")
def test_a_format_regex_value_of_5000_open_parentheses_is_a_violation_not_an_exception() -> None:
    schema = string_property(format="regex")
    validators = SchemaValidators()
    report = validate_arguments(validators, "h", schema, {"v": "(" * 5000})
    assert found(report) == [("/v", "format")]
    assert invalid_arguments_result(report)["_meta"]["steward/reason"] == "invalid_arguments"
    # ECMA-262 is the yardstick: lookaround and backreferences are regular expressions, PCRE's \Z is one too
    # (an identity escape), an unclosed class is not.
    assert validate_arguments(validators, "h", schema, {"v": r"(?<=a)(b)\1"}).valid
    assert found(validate_arguments(validators, "h", schema, {"v": "[a-"})) == [("/v", "format")]


@pytest.mark.usefixtures("no_python_re")
def test_the_metaschema_check_reads_patterns_in_linear_time_too() -> None:
    with pytest.raises(InvalidSchemaError) as excinfo:
        validate_arguments(SchemaValidators(), "h", string_property(pattern="(" * 5000), {"v": "x"})
    assert "is not a 'regex'" in excinfo.value.message


# --- fail closed ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "pointer", "reason"),
    [
        (string_property(pattern=r"^(a)\1$"), "/properties/v/pattern", "backreference"),
        (string_property(pattern="^(?=a)a$"), "/properties/v/pattern", "lookahead"),
        (
            {"type": "object", "patternProperties": {"(?<!x)-id$": {"type": "string"}}},
            "/patternProperties/(?<!x)-id$",
            "lookbehind",
        ),
        (
            {
                "type": "object",
                "$defs": {"code": {"type": "string", "pattern": r"^\w+\Z"}},
                "properties": {"items": {"type": "array", "items": {"anyOf": [{"$ref": "#/$defs/code"}]}}},
            },
            "/$defs/code/pattern",
            r"\Z has no meaning in ECMA-262",
        ),
    ],
)
def test_a_pattern_re2_cannot_evaluate_refuses_every_call(schema: dict[str, Any], pointer: str, reason: str) -> None:
    validators = SchemaValidators()
    for arguments in ({}, {"v": "aa"}, {"v": "b"}):
        report = validate_arguments(validators, "h", schema, arguments)
        assert found(report) == [("", "pattern")]
        message = report.violations[0].message
        assert pointer in message and reason in message and "refused" in message
    assert validators.compiles == 1  # the refusal is remembered
    result = invalid_arguments_result(report)
    assert result["isError"] is True and result["_meta"]["steward/reason"] == "invalid_arguments"
    output = validate_output(validators, "h", schema, {"v": "aa"})
    assert found(output) == [("", "pattern")] and "output schema" in output.violations[0].message
    assert invalid_output_result(output)["_meta"]["steward/reason"] == "invalid_output"
    with pytest.raises(InvalidSchemaError):
        check_schema(schema)


def test_a_refused_pattern_reached_only_at_call_time_still_fails_closed() -> None:
    # Draft 4's metaschema does not mark patternProperties keys as regular expressions, and a $ref may point
    # anywhere: whatever the schema walk misses, the keyword itself refuses rather than fall back.
    schema = {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "patternProperties": {"(?=x)": {"type": "string"}},
    }
    report = validate_arguments(SchemaValidators(), "h", schema, {"x": 1})
    assert found(report) == [("", "pattern")]


# --- ECMA-262's meaning --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        (r"\d", "order 66", True),  # unanchored: a search, not a match
        ("^a", "ba", False),
        ("a$", "a\n", False),  # $ is the end of the text (Python's re also matched before a final newline)
        (r"^\d+$", "١٢٣", False),  # \d is ASCII (Python's re took any Unicode digit)
        (r"^\w+$", "héllo", False),
        (r"^\s$", "\u00a0", True),  # ECMA's white space includes NBSP, U+FEFF, U+2028...
        (r"^\s$", "\ufeff", True),
        (r"^a.b$", "a\u2028b", False),  # . excludes ECMA's line terminators
        (r"^a.b$", "a\u0085b", True),
        (r"^caf\u00e9$", "café", True),
        (r"^\uD83D\uDE00$", "😀", True),  # a surrogate pair is one character
        ("^[^]$", "\n", True),
        ("^[]$", "", False),
        ("^a{2}$", "aa", True),
        ("^a{,2}$", "a{,2}", True),  # Annex B: not a quantifier, literal braces
        (r"^(?<year>\d{4})-\d\d$", "2026-05", True),
        (r"^[\w.-]+@[\w-]+\.[a-z]{2,}$", "alice@example.com", True),
    ],
)
def test_patterns_keep_their_ecma_262_meaning(pattern: str, value: str, matches: bool) -> None:
    report = validate_arguments(SchemaValidators(), "h", string_property(pattern=pattern), {"v": value})
    assert report.valid is matches


def test_a_lone_surrogate_in_a_value_is_matched_not_raised() -> None:
    schema = {"type": "object", "properties": {"v": {"pattern": "^[a-z]+$"}}, "patternProperties": {"^x": {}}}
    report = validate_arguments(SchemaValidators(), "h", schema, {"v": "ab\ud800", "x\udfff": 1})
    assert found(report) == [("/v", "pattern")]


def test_compiled_patterns_are_cached_and_the_cache_is_bounded() -> None:
    unique = f"^cache-{id(object())}$"
    before = schema_regex._compiled.cache_info()
    for _ in range(5):
        assert schema_regex.search(unique, unique[1:-1])
    after = schema_regex._compiled.cache_info()
    assert after.misses == before.misses + 1
    assert after.maxsize == schema_regex.CACHE_SIZE


# --- never an exception ----------------------------------------------------------------------------------------------


def _nested(depth: int, leaf: object) -> object:
    value = leaf
    for _ in range(depth):
        value = {"c": value}
    return value


def _tree(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"kids": []}
    for _ in range(depth):
        node = {"kids": [node]}
    return node


def test_arguments_nested_too_deeply_for_the_checker_are_a_violation() -> None:
    recursive = {"type": "object", "properties": {"c": {"$ref": "#"}}}
    report = validate_arguments(SchemaValidators(), "h", recursive, _nested(3_000, {}))
    assert found(report) == [("", "validation")]
    assert "could not be validated" in report.violations[0].message
    output = validate_output(SchemaValidators(), "h", recursive, _nested(3_000, {}))
    assert found(output) == [("", "validation")] and "output" in output.violations[0].message


def test_a_checker_that_raises_is_a_violation(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(pattern: str, text: str) -> bool:
        raise RuntimeError("a bug in a checker")

    monkeypatch.setattr(schema_regex, "search", broken)
    report = validate_arguments(SchemaValidators(), "h", string_property(pattern="^x$"), {"v": "x"})
    assert found(report) == [("", "validation")]
    assert "a bug" not in report.violations[0].message  # the exception's text may carry argument values


SCHEMAS: list[dict[str, Any]] = [
    string_property(pattern=EVIL, format="regex", maxLength=64),
    {
        "type": "object",
        "patternProperties": {"^(\\w+\\s?)+$": {"type": "integer"}, "^x-": {"format": "regex"}},
        "additionalProperties": {"type": "array", "items": {"$ref": "#"}},
    },
    {
        "type": "object",
        "properties": {"tree": {"$ref": "#/$defs/node"}},
        "$defs": {
            "node": {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}
        },
        "anyOf": [{"patternProperties": {"^t": {}}}, {"required": ["z"]}],
        "unevaluatedProperties": False,
    },
]

_ADVERSARIAL = st.sampled_from(["(" * 5000, ATTACK, "\ud800", "[" * 100, "a" * 10_000, "\\", "(?=a)"])
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30) | _ADVERSARIAL,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8) | _ADVERSARIAL, children),
    max_leaves=20,
)
_DEEP = st.integers(min_value=1, max_value=4_000).map(lambda depth: {"tree": _tree(depth)})


@settings(max_examples=60, derandomize=True, deadline=None)
@given(schema=st.sampled_from(SCHEMAS), arguments=st.dictionaries(st.text(max_size=8), _JSON) | _DEEP)
def test_validation_never_raises_whatever_the_arguments(schema: dict[str, Any], arguments: dict[str, Any]) -> None:
    validators = SchemaValidators()
    report = validate_arguments(validators, "h", schema, arguments)
    assert isinstance(report, ValidationReport)
    json.dumps(invalid_arguments_result(report))  # the answer is serializable
    assert isinstance(validate_output(validators, "h", schema, arguments), ValidationReport)
