"""ECMA-262 patterns on RE2: the translation, what is refused, the backtracking analysis and the schema walk."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_steward.domain.schema_regex import (
    AnalysisBudget,
    RegexError,
    backtracking_hazard,
    check,
    is_ecma_regex,
    schema_patterns,
    search,
    translate,
)

# --- what RE2 gets, and what it refuses ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\1", "backreference"),
        (r"(?<x>a)\k<x>", "named backreference"),
        ("(?=a)", "lookahead"),
        ("(?!a)", "lookahead"),
        ("(?<=a)b", "lookbehind"),
        ("(?<!a)b", "lookbehind"),
        (r"\Z", "no meaning in ECMA-262"),
        (r"\A", "no meaning in ECMA-262"),
        (r"\01", "legacy octal"),
        (r"\p{Script_Extensions=Latin}\p{Foo=Bar}", "Unicode property"),
        (r"\uD800", "lone surrogate"),
        ("a{1001}", "RE2 refuses it"),
        ("(?i:a)", "modifier group"),
    ],
)
def test_features_re2_lacks_are_refused_not_approximated(pattern: str, reason: str) -> None:
    with pytest.raises(RegexError) as excinfo:
        check(pattern)
    assert reason in excinfo.value.reason
    assert not excinfo.value.invalid
    assert is_ecma_regex(pattern)  # valid ECMA-262 all the same (format "regex")


@pytest.mark.parametrize(
    "pattern", ["(unclosed", "a)", "*a", "a**", "a{2}{3}", "[b-a]", "[a", "\\", "(?x:a)", "(?<>a)", "a{3,2}"]
)
def test_what_is_not_ecma_262_is_invalid(pattern: str) -> None:
    with pytest.raises(RegexError) as excinfo:
        translate(pattern)
    assert excinfo.value.invalid
    assert not is_ecma_regex(pattern)


def test_deeply_nested_or_huge_patterns_are_read_without_recursion() -> None:
    assert not is_ecma_regex("(" * 50_000)
    assert is_ecma_regex("(" * 20_000 + ")" * 20_000)
    assert search("(" * 5_000 + "a" + ")" * 5_000, "a")


@pytest.mark.parametrize(
    ("pattern", "spelled"),
    [
        ("^[a-z]+$", "^[a-z]+$"),
        (r"\d{2,}", "[0-9]{2,}"),
        ("a+?b*?", "a+?b*?"),
        (r"(?<n>x)(?:y)", "(x)(?:y)"),
        (r"\u00e9\x41\u{1F600}", r"\x{e9}A\x{1f600}"),
        (r"[\b]", r"\x{8}"),
        ("a{,2}", r"a\{\x{2c}2\x{7d}"),
    ],
)
def test_translation_to_re2_syntax(pattern: str, spelled: str) -> None:
    assert translate(pattern) == spelled


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("b", "abc", True),
        ("^b", "abc", False),
        ("c$", "abc\n", False),
        (r"^\d$", "٣", False),
        (r"^\D$", "٣", True),
        (r"^\W$", "é", True),
        (r"^\s+$", "\t\n\v\f\r \u00a0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000\ufeff", True),
        (r"^\s$", "\u0085", False),
        (r"^\S$", "\u0085", True),
        (r"^[\S]$", " ", False),
        (r"^[^\s]$", "x", True),
        (r"^[\s\S]+$", "a\nb", True),
        (r"^[\d-z]+$", "1-z", True),  # Annex B: beside a class escape '-' is literal
        (r"^\cJ$", "\n", True),
        (r"^\0$", "\x00", True),
        (r"^\p{Greek}+$", "αβγ", True),
        (r"^\P{L}$", "1", True),
        (r"^\/$", "/", True),
        (r"^\x4$", "x4", True),  # Annex B: \x without two hex digits is an x
        ("^a}]$", "a}]", True),
    ],
)
def test_search_has_ecma_262_semantics(pattern: str, text: str, matches: bool) -> None:
    assert search(pattern, text) is matches


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.text(alphabet="ab()[]{}|*+?^$.\\dws-,0123456789:=!<>kuxcpPSDWB\u00e9", max_size=24))
def test_any_text_is_either_refused_or_compiled_and_searched(pattern: str) -> None:
    try:
        check(pattern)
    except RegexError:
        return
    assert isinstance(search(pattern, "ab\n12 é"), bool)


_PLAIN = st.text(alphabet="ab", min_size=1, max_size=3)


@st.composite
def _plain_patterns(draw: st.DrawFn) -> str:
    """Patterns whose meaning ECMA-262, Python's re and RE2 agree on: literals, classes, groups, quantifiers."""
    parts = draw(st.lists(st.one_of(_PLAIN, _PLAIN.map(lambda t: f"({t})"), st.just("[ab]")), min_size=1, max_size=4))
    quantified = [part + draw(st.sampled_from(["", "*", "+", "?", "{1,2}"])) for part in parts]
    return draw(st.sampled_from(["", "^"])) + draw(st.sampled_from(["", "|"])).join(quantified)


@settings(max_examples=150, derandomize=True, deadline=None)
@given(_plain_patterns(), st.text(alphabet="abc", max_size=8))
def test_on_plain_patterns_re2_agrees_with_python_re(pattern: str, text: str) -> None:
    assert search(pattern, text) is (re.search(pattern, text) is not None)


# --- backtracking ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    [
        "^(a+)+$",
        "(a*)*",
        "(a|a)*",
        r"(\w+\s?)+",
        r"^(\s*\w+)+$",
        "^(([a-z])+.)+[A-Z]([a-z])+$",
        r"(\w|\d)+",
        "((ab)*)*",
        "(x+x+)+y",
        r"^(\d+\.\d+)+$",
        r"(?:[a-z]+\.?)*@",
        "(a{1,3}){1,5}",
    ],
)
def test_exponential_backtracking_is_found(pattern: str) -> None:
    assert backtracking_hazard(pattern) is not None


@pytest.mark.parametrize(
    "pattern",
    [
        "^[a-z0-9]+(-[a-z0-9]+)*$",
        r"^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}$",
        r"^(\d{1,3}\.){3}\d{1,3}$",
        r"^(https?://)?([\w-]+\.)+[\w-]+(/[\w- ./?%&=]*)?$",
        r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
        r"(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$",
        r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$",
        "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        r"^(?:[a-z]+\s)*[a-z]+$",
        "^([^,]+,)*[^,]+$",
        "(a|ab)*c",
        "(a+b)+",
        r"\d+\d+",  # polynomial, not exponential: not reported
        ".*",
        "a" * 5_000,
        "(a)\\1",  # refused by RE2 anyway (unsupported_regex), not a hazard
        "(unclosed",
    ],
)
def test_ordinary_patterns_are_not_reported(pattern: str) -> None:
    assert backtracking_hazard(pattern) is None


def test_a_pattern_too_complex_to_analyze_is_reported_as_such() -> None:
    hazard = backtracking_hazard("(" + "|".join(["."] * 300) + ")*")
    assert hazard == "too complex to check for exponential backtracking"


def test_the_budget_is_shared_and_spent() -> None:
    budget = AnalysisBudget(10_000)
    assert backtracking_hazard(r"^[a-z0-9]+(-[a-z0-9]+)*$", budget) is None
    assert 0 < budget.units < 10_000
    assert backtracking_hazard(r"^[a-z0-9]+(-[a-z0-9]+)*$", AnalysisBudget(3)) is not None


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.text(alphabet="ab()|*+?{},12[]^-\\dw.", max_size=40))
def test_the_analysis_never_raises(pattern: str) -> None:
    assert backtracking_hazard(pattern, AnalysisBudget(5_000)) in (
        None,
        "nested or overlapping repetition: a backtracking engine takes exponential time on some inputs",
        "too complex to check for exponential backtracking",
    )


# --- the schema walk ---------------------------------------------------------------------------------------------


def test_every_pattern_of_a_schema_is_found_at_any_depth() -> None:
    schema = {
        "type": "object",
        "properties": {
            "code": {"type": "string", "pattern": "^c$"},
            "pattern": {"type": "string", "enum": ["x"], "default": "y"},  # a property named "pattern"
            "list": {"type": "array", "items": {"anyOf": [{"pattern": "^i$"}, {"$ref": "#/$defs/d"}]}},
            "tuple": {"prefixItems": [{"pattern": "^t$"}]},
        },
        "patternProperties": {"^x-": {"properties": {"n": {"pattern": "^n$"}}}},
        "$defs": {"d": {"not": {"pattern": "^d$"}}},
        "x-vendor": {"pattern": "^v$"},
        "enum": [{"pattern": "^data$"}],
        "default": {"pattern": "^data$"},
        "examples": [{"pattern": "^data$"}],
        "const": {"pattern": "^data$"},
    }
    patterns, complete = schema_patterns(schema, "/inputSchema")
    assert complete
    assert sorted(patterns) == sorted(
        [
            ("/inputSchema/properties/code/pattern", "^c$"),
            ("/inputSchema/properties/list/items/anyOf/0/pattern", "^i$"),
            ("/inputSchema/properties/tuple/prefixItems/0/pattern", "^t$"),
            ("/inputSchema/patternProperties/^x-", "^x-"),
            ("/inputSchema/patternProperties/^x-/properties/n/pattern", "^n$"),
            ("/inputSchema/$defs/d/not/pattern", "^d$"),
            ("/inputSchema/x-vendor/pattern", "^v$"),
        ]
    )


def test_the_walk_is_bounded() -> None:
    deep: dict[str, object] = {"pattern": "^deep$"}
    for _ in range(200):
        deep = {"items": deep}
    patterns, complete = schema_patterns(deep)
    assert patterns == [] and not complete
    wide = {"properties": {f"p{i}": {"pattern": "^p$"} for i in range(30_000)}}
    patterns, complete = schema_patterns(wide)
    assert not complete and len(patterns) < 30_000
