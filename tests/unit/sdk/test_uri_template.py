"""RFC 6570 level 1 templates: what is accepted, how a URI matches, and that hostile URIs cost linear time."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_steward.sdk.uri_template import MAX_URI_CHARS, UriTemplate, UriTemplateError


def test_simple_variables_match_one_or_more_characters_other_than_slash() -> None:
    template = UriTemplate.parse("files://{owner}/docs/{name}.md")
    assert template.variables == ("owner", "name")
    assert template.match("files://ada/docs/notes.v2.md") == {"owner": "ada", "name": "notes.v2"}
    assert template.match("files://ada%20b/docs/a?b#c.md") == {"owner": "ada%20b", "name": "a?b#c"}
    for uri in ("files:///docs/x.md", "files://ada/docs/.md", "files://a/b/docs/x.md", "files://ada/docs/x.txt"):
        assert template.match(uri) is None


def test_several_variables_in_one_segment_split_at_the_first_literal() -> None:
    template = UriTemplate.parse("cal://{year}-{month}-{day}")
    assert template.match("cal://2025-01-31") == {"year": "2025", "month": "01", "day": "31"}
    assert template.match("cal://2025-01-31-x") == {"year": "2025", "month": "01", "day": "31-x"}
    assert template.match("cal://2025--31") is None
    assert template.match("cal://2025-01") is None


def test_a_template_without_variables_in_a_segment_needs_the_segment_exactly() -> None:
    template = UriTemplate.parse("file:///srv/{name}")
    assert template.match("file:///srv/a") == {"name": "a"}
    assert template.match("file://x/srv/a") is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no-scheme/{a}",
        "{a}://x",
        "x://static",
        "x://{+path}",
        "x://{#frag}",
        "x://{?q}",
        "x://{a,b}",
        "x://{a*}",
        "x://{a:3}",
        "x://{}",
        "x://{a",
        "x://a}",
        "x://{a}{b}",
        "x://{a}/{a}",
        "x://{1a}",
        "x://{a b}",
        "x:// {a}",
        "x://{a}\n",
        "x://" + "a" * MAX_URI_CHARS + "{a}",
    ],
)
def test_templates_beyond_level_1_or_ambiguous_are_refused(text: str) -> None:
    with pytest.raises(UriTemplateError):
        UriTemplate.parse(text)


def test_a_uri_longer_than_the_bound_never_matches() -> None:
    template = UriTemplate.parse("x://{a}")
    assert template.match("x://" + "a" * (MAX_URI_CHARS - 4)) is not None
    assert template.match("x://" + "a" * (MAX_URI_CHARS - 3)) is None


def test_a_uri_built_to_make_a_backtracking_matcher_quadratic_is_answered_in_one_pass() -> None:
    # With the regex x://([^/]+)-([^/]+)-([^/]+)\.json a backtracking engine tries every pair of dashes.
    template = UriTemplate.parse("x://{a}-{b}-{c}.json")
    hostile = "x://" + "-" * (MAX_URI_CHARS - 10) + ".jsonX"
    assert len(hostile) <= MAX_URI_CHARS
    assert template.match(hostile) is None
    assert template.match("x://" + "-a" * 1000 + ".json") == {"a": "-a", "b": "a", "c": "a" + "-a" * 997}


def test_expand_refuses_values_that_could_not_match() -> None:
    template = UriTemplate.parse("x://{a}/{b}")
    assert template.expand({"a": "1", "b": "2"}) == "x://1/2"
    for values in ({"a": "1"}, {"a": "", "b": "2"}, {"a": "1/2", "b": "3"}):
        with pytest.raises(ValueError, match="non-empty"):
            template.expand(values)


# Literals and values are drawn from disjoint alphabets, so the split is unambiguous and must be the given one.
_LITERAL = st.text(alphabet="-._~:;=", min_size=1, max_size=3)
_VALUE = st.text(alphabet="abcXYZ019%@!$&'()*+,", min_size=1, max_size=12)
_NAME = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)


@st.composite
def _templates(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    names = draw(st.lists(_NAME, min_size=1, max_size=5, unique=True))
    parts = [draw(st.sampled_from(["x://", "files:///", "db:"]))]
    for index, name in enumerate(names):
        if index:
            parts.append(draw(st.one_of(st.just("/"), _LITERAL, _LITERAL.map(lambda s: s + "/"))))
        parts.append("{" + name + "}")
    parts.append(draw(st.one_of(st.just(""), _LITERAL, st.just(".json"))))
    values = {name: draw(_VALUE) for name in names}
    return "".join(parts), values


@settings(derandomize=True, max_examples=200)
@given(_templates())
def test_expanding_then_matching_gives_back_the_variables(case: tuple[str, dict[str, str]]) -> None:
    text, values = case
    template = UriTemplate.parse(text)
    assert template.match(template.expand(values)) == values


@settings(derandomize=True, max_examples=200)
@given(_templates(), st.text(alphabet="ab-./:{}x%", max_size=40))
def test_whatever_a_uri_matches_expands_back_to_that_uri(case: tuple[str, dict[str, str]], tail: str) -> None:
    """Soundness on any text (ambiguous splits included): a match is a real decomposition of the URI."""
    template = UriTemplate.parse(case[0])
    for uri in (tail, "x://" + tail, template.expand(case[1]) + tail, "db:" + tail):
        found = template.match(uri)
        if found is not None:
            assert set(found) == set(template.variables)
            assert template.expand(found) == uri
