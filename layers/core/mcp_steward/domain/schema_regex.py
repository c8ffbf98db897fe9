"""JSON Schema regular expressions (ECMA-262) evaluated by RE2, a linear-time engine; and their backtracking hazard.

A schema's ``pattern`` and ``patternProperties`` keys are ECMA-262 regular expressions, matched unanchored (a
search), against attacker-controlled values. Python's ``re`` backtracks: a nested quantifier such as ``^(a+)+$``
takes time exponential in the length of the value, holding the GIL all along. Here a pattern is read by a small
linear-time tokenizer, spelled again in RE2 syntax with ECMA's meaning, and compiled by google-re2 (``import re2``,
imported on the first compile: cold start), whose matching time is linear in the text. Compiled patterns are cached
(:data:`CACHE_SIZE`, least recently used evicted), failures too.

ECMA-262 as read here (JSON Schema has no flags):

- ``\\d``, ``\\w`` and ``\\b`` are ASCII, as in ECMA (Python's ``re`` made them Unicode); ``\\s`` is ECMA's white
  space and line terminators (NBSP, U+FEFF, U+2028, ...) and ``.`` any character but ``\\n``, ``\\r``, U+2028 and
  U+2029, both spelled out as character ranges since RE2's differ; ``$`` is only the end of the text (Python's
  ``re`` also matched before a final newline);
- ``\\uXXXX`` (a surrogate pair combined), ``\\u{...}``, ``\\xHH``, ``\\cX``, ``\\0``, ``\\t``..., ``\\p{...}``
  and ``\\P{...}`` (``Script=`` and ``General_Category=`` dropped: RE2 knows the bare names), Annex B's literal
  ``{``, ``}`` and ``]``, ``[]`` (matches nothing) and ``[^]`` (anything); named groups match as plain groups;
- refused (:class:`RegexError`), so that a caller fails closed and never falls back to a backtracking engine:
  lookahead and lookbehind, backreferences, legacy octal escapes, an escaped letter ECMA gives no meaning
  (``\\A``, ``\\Z``, ``\\z``: identity escapes, almost always a PCRE habit), modifier groups ``(?i:...)``, lone
  surrogates, and whatever RE2 will not compile (a repetition count above 1000, a program over
  :data:`MAX_MEM` bytes).

:func:`backtracking_hazard` tells whether a backtracking engine could take exponential time on a pattern (the
scanner reports it even though RE2 is safe: such a schema is careless or hostile). It builds the pattern's Glushkov
automaton, keeping the two loops of ``(a+)+`` as two edges, and looks for a state with two different cycles on the
same word (exponential degree of ambiguity) in the automaton's product with itself; bounded work
(:data:`ANALYSIS_BUDGET`), and nothing here ever runs a backtracking regex on the pattern's text.

:func:`schema_patterns` lists every regular expression of a schema, at any depth.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

#: Compiled patterns kept per process (least recently used evicted first); google-re2's own cache is as big.
CACHE_SIZE: Final = 128
#: RE2's memory budget per compiled pattern (program and matching caches); a bigger program does not compile
#: (refused, fail closed). Half RE2's default: ``[\p{L}\p{N}]{1,200}`` fits, ``\p{L}{1,500}`` fits neither.
MAX_MEM: Final = 4 << 20
#: Units of work (edges built, pairs of states explored) the backtracking analysis may spend on one pattern.
ANALYSIS_BUDGET: Final = 100_000
#: Schema nodes :func:`schema_patterns` visits, and how deep it goes.
MAX_SCHEMA_NODES: Final = 20_000
MAX_SCHEMA_DEPTH: Final = 64

_MAX_CP: Final = 0x10FFFF
type Ranges = tuple[tuple[int, int], ...]

_DIGIT: Final[Ranges] = ((0x30, 0x39),)
_WORD: Final[Ranges] = ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A))
#: ECMA-262 WhiteSpace and LineTerminator.
_SPACE: Final[Ranges] = (
    (0x09, 0x0D),
    (0x20, 0x20),
    (0xA0, 0xA0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
    (0xFEFF, 0xFEFF),
)
_LINE_TERMINATORS: Final[Ranges] = ((0x0A, 0x0A), (0x0D, 0x0D), (0x2028, 0x2029))
_ANY: Final[Ranges] = ((0, _MAX_CP),)
_CONTROL_ESCAPES: Final = {"t": 0x09, "n": 0x0A, "v": 0x0B, "f": 0x0C, "r": 0x0D}
_PROPERTY_KEYS: Final = frozenset({"General_Category", "gc", "Script", "sc", "Script_Extensions", "scx"})
_HEX: Final = frozenset("0123456789abcdefABCDEF")


class RegexError(ValueError):
    """A pattern that cannot be evaluated with ECMA-262's meaning in linear time.

    ``invalid`` when it is not an ECMA-262 regular expression at all; otherwise it is one, using a feature a
    linear-time engine does not have (lookaround, backreferences) or RE2 refuses.
    """

    def __init__(self, reason: str, *, invalid: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.invalid = invalid


# --- character sets ----------------------------------------------------------------------------------------------


def _normalize(ranges: list[tuple[int, int]]) -> Ranges:
    ranges.sort()
    merged: list[tuple[int, int]] = []
    for lo, hi in ranges:
        if merged and lo <= merged[-1][1] + 1:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return tuple(merged)


def _complement(ranges: Ranges) -> Ranges:
    result: list[tuple[int, int]] = []
    start = 0
    for lo, hi in ranges:
        if lo > start:
            result.append((start, lo - 1))
        start = hi + 1
    if start <= _MAX_CP:
        result.append((start, _MAX_CP))
    return tuple(result)


def _overlap(a: Ranges, b: Ranges) -> bool:
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i][1] < b[j][0]:
            i += 1
        elif b[j][1] < a[i][0]:
            j += 1
        else:
            return True
    return False


def _char(cp: int) -> str:
    """One character in RE2 syntax: ASCII letters and digits as themselves, anything else as ``\\x{...}``."""
    ch = chr(cp)
    return ch if ch.isascii() and ch.isalnum() else f"\\x{{{cp:x}}}"


def _class(ranges: Ranges, extra: str = "", *, negate: bool = False) -> str:
    """A set of characters in RE2 syntax (a lone character as itself)."""
    if not extra and not negate and len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return _char(ranges[0][0])
    if not ranges and not extra:
        return "[\\x{0}-\\x{10ffff}]" if negate else "[^\\x{0}-\\x{10ffff}]"
    body = "".join(_char(lo) if lo == hi else f"{_char(lo)}-{_char(hi)}" for lo, hi in ranges)
    return f"[{'^' if negate else ''}{body}{extra}]"


# --- tokens ------------------------------------------------------------------------------------------------------

type _Kind = Literal["set", "assert", "open", "close", "alt", "quant", "empty"]


@dataclass(frozen=True, slots=True)
class _Token:
    """One token: its RE2 spelling, the characters a ``set`` may match (over-approximated for ``\\p``), a
    quantifier's bounds, and why RE2 cannot have it (``unsupported``; ``text`` is then a stand-in that parses)."""

    kind: _Kind
    text: str
    ranges: Ranges = ()
    low: int = 0
    high: int | None = None
    unsupported: str = ""
    zero_width: bool = False  # a lookaround group's opening


def _tokens(pattern: str) -> list[_Token]:
    """The tokens of an ECMA-262 pattern, in one pass.

    Raises:
        RegexError: not an ECMA-262 pattern (``invalid``), or a character RE2 cannot read (a lone surrogate).
    """
    tokens: list[_Token] = []
    n = len(pattern)
    i = 0
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            token, i = _escape(pattern, i + 1)
            tokens.append(token)
        elif ch == "[":
            token, i = _bracket(pattern, i + 1)
            tokens.append(token)
        elif ch == "(":
            token, i = _group(pattern, i)
            tokens.append(token)
        elif ch == ")":
            tokens.append(_Token("close", ")"))
            i += 1
        elif ch == "|":
            tokens.append(_Token("alt", "|"))
            i += 1
        elif ch in "*+?":
            low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[ch]
            lazy = pattern.startswith("?", i + 1)
            tokens.append(_Token("quant", ch + ("?" if lazy else ""), low=low, high=high))
            i += 2 if lazy else 1
        elif ch == "{":
            token, i = _braces(pattern, i)
            tokens.append(token)
        elif ch == ".":
            dot = _complement(_LINE_TERMINATORS)
            tokens.append(_Token("set", _class(dot), dot))
            i += 1
        elif ch in "^$":
            tokens.append(_Token("assert", ch))
            i += 1
        else:
            cp = _literal(ch)
            tokens.append(_Token("set", _char(cp), ((cp, cp),)))
            i += 1
    return tokens


def _literal(ch: str) -> int:
    cp = ord(ch)
    if 0xD800 <= cp <= 0xDFFF:
        raise RegexError("a lone surrogate cannot be matched as UTF-8")
    return cp


def _group(pattern: str, i: int) -> tuple[_Token, int]:
    if not pattern.startswith("(?", i):
        return _Token("open", "("), i + 1
    rest = pattern[i + 2 : i + 4]
    if rest.startswith(":"):
        return _Token("open", "(?:"), i + 3
    if rest[:1] in ("=", "!"):
        return _Token("open", "(?:", unsupported="lookahead is not supported", zero_width=True), i + 3
    if rest in ("<=", "<!"):
        return _Token("open", "(?:", unsupported="lookbehind is not supported", zero_width=True), i + 4
    if rest[:1] == "<":
        end = pattern.find(">", i + 3)
        if end <= i + 3:
            raise RegexError("an unterminated group name", invalid=True)
        return _Token("open", "("), end + 1  # a name changes nothing that matches
    colon = pattern.find(":", i + 2)
    flags = pattern[i + 2 : colon] if colon > 0 else ""
    on, _, off = flags.partition("-")
    if flags and set(on + off) <= set("ims") and (on or off):
        return _Token("open", "(?:", unsupported="a modifier group (?flags:...) is not supported"), colon + 1
    raise RegexError("a group of the form (?...) other than (?:...), lookaround or (?<name>...)", invalid=True)


def _braces(pattern: str, i: int) -> tuple[_Token, int]:
    """A ``{n}``, ``{n,}`` or ``{n,m}`` quantifier, else (Annex B) a literal ``{``."""
    n = len(pattern)
    j = i + 1
    while j < n and pattern[j].isdigit() and pattern[j].isascii():
        j += 1
    if j == i + 1:
        return _Token("set", "\\{", ((0x7B, 0x7B),)), i + 1
    low = _count(pattern[i + 1 : j])
    high: int | None = low
    if j < n and pattern[j] == ",":
        k = j + 1
        while k < n and pattern[k].isdigit() and pattern[k].isascii():
            k += 1
        high = _count(pattern[j + 1 : k]) if k > j + 1 else None
        j = k
    if j >= n or pattern[j] != "}":
        return _Token("set", "\\{", ((0x7B, 0x7B),)), i + 1
    if high is not None and high < low:
        raise RegexError(f"numbers out of order in {pattern[i : j + 1]}", invalid=True)
    lazy = pattern.startswith("?", j + 1)
    text = f"{{{low}}}" if high == low else f"{{{low},{'' if high is None else high}}}"
    return _Token("quant", text + ("?" if lazy else ""), low=low, high=high), j + (2 if lazy else 1)


def _count(digits: str) -> int:
    """A repetition count, clamped (RE2 refuses above 1000 anyway; ``int`` refuses thousands of digits)."""
    return int(digits) if len(digits) <= 7 else 10_000_000


def _escape(pattern: str, i: int) -> tuple[_Token, int]:
    """The escape after a backslash at ``i - 1``, outside a character class."""
    if i >= len(pattern):
        raise RegexError("a trailing backslash", invalid=True)
    ch = pattern[i]
    if ch in "bB":
        return _Token("assert", "\\" + ch), i + 1
    if ch in "123456789":
        j = i
        while j < len(pattern) and pattern[j] in "0123456789":
            j += 1
        return _Token("empty", "(?:)", unsupported=f"the backreference \\{pattern[i:j]} is not supported"), j
    if ch == "k" and pattern.startswith("<", i + 1):
        end = pattern.find(">", i + 2)
        end = len(pattern) - 1 if end < 0 else end
        return _Token("empty", "(?:)", unsupported="a named backreference is not supported"), end + 1
    ranges, extra, j = _atom_escape(pattern, i, in_class=False)
    return _Token("set", _class(ranges, extra), _ANY if extra else ranges), j


def _atom_escape(pattern: str, i: int, *, in_class: bool) -> tuple[Ranges, str, int]:
    """A character or class escape at ``i`` (after the backslash): its characters, or an RE2 ``\\p{...}`` that
    stands for them (``extra``), and the index after it."""
    n = len(pattern)
    ch = pattern[i]
    if ch == "d":
        return _DIGIT, "", i + 1
    if ch == "D":
        return _complement(_DIGIT), "", i + 1
    if ch == "w":
        return _WORD, "", i + 1
    if ch == "W":
        return _complement(_WORD), "", i + 1
    if ch == "s":
        return _SPACE, "", i + 1
    if ch == "S":
        return _complement(_SPACE), "", i + 1
    if ch in _CONTROL_ESCAPES:
        cp = _CONTROL_ESCAPES[ch]
        return ((cp, cp),), "", i + 1
    if ch == "b" and in_class:
        return ((0x08, 0x08),), "", i + 1
    if ch == "0":
        if i + 1 < n and pattern[i + 1] in "0123456789":
            raise RegexError("a legacy octal escape is not supported")
        return ((0, 0),), "", i + 1
    if ch in "123456789":
        raise RegexError("a legacy octal escape in a character class is not supported")
    if ch == "c":
        if i + 1 < n and pattern[i + 1].isascii() and pattern[i + 1].isalpha():
            cp = ord(pattern[i + 1]) % 32
            return ((cp, cp),), "", i + 2
        raise RegexError("\\c must be followed by a letter", invalid=True)
    if ch == "x":
        if all(c in _HEX for c in pattern[i + 1 : i + 3]) and i + 3 <= n:
            cp = int(pattern[i + 1 : i + 3], 16)
            return ((cp, cp),), "", i + 3
        return ((0x78, 0x78),), "", i + 1  # Annex B: a literal x
    if ch == "u":
        cp, j = _unicode_escape(pattern, i)
        return ((cp, cp),), "", j
    if ch in "pP" and pattern.startswith("{", i + 1):
        end = pattern.find("}", i + 2)
        if end < 0:
            raise RegexError("an unterminated \\p{...}", invalid=True)
        name = pattern[i + 2 : end]
        key, _, value = name.partition("=")
        if value:
            if key not in _PROPERTY_KEYS:
                raise RegexError(f"the Unicode property \\{ch}{{{name}}} is not supported")
            name = value
        if not name or not all(c.isascii() and (c.isalnum() or c == "_") for c in name):
            raise RegexError(f"the Unicode property \\{ch}{{{name}}} is not supported")
        return (), f"\\{ch}{{{name}}}", end + 1
    if ch.isascii() and ch.isalpha():
        raise RegexError(f"\\{ch} has no meaning in ECMA-262 (a PCRE or Python escape?)")
    return ((_literal(ch), _literal(ch)),), "", i + 1


def _unicode_escape(pattern: str, i: int) -> tuple[int, int]:
    """``\\uXXXX`` (a surrogate pair combined), ``\\u{...}``, or (Annex B) a literal ``u``."""
    if pattern.startswith("{", i + 1):
        end = pattern.find("}", i + 2)
        digits = pattern[i + 2 : end] if end > 0 else ""
        if not digits or len(digits) > 8 or not all(c in _HEX for c in digits) or int(digits, 16) > _MAX_CP:
            raise RegexError("a malformed \\u{...}", invalid=True)
        cp = int(digits, 16)
        if 0xD800 <= cp <= 0xDFFF:
            raise RegexError("a lone surrogate cannot be matched as UTF-8")
        return cp, end + 1
    digits = pattern[i + 1 : i + 5]
    if len(digits) < 4 or not all(c in _HEX for c in digits):
        return 0x75, i + 1
    cp = int(digits, 16)
    j = i + 5
    if 0xD800 <= cp <= 0xDBFF and pattern.startswith("\\u", j):
        low = pattern[j + 2 : j + 6]
        if len(low) == 4 and all(c in _HEX for c in low) and 0xDC00 <= int(low, 16) <= 0xDFFF:
            return 0x10000 + ((cp - 0xD800) << 10) + (int(low, 16) - 0xDC00), j + 6
    if 0xD800 <= cp <= 0xDFFF:
        raise RegexError("a lone surrogate cannot be matched as UTF-8")
    return cp, j


def _bracket(pattern: str, i: int) -> tuple[_Token, int]:
    """A character class whose ``[`` is at ``i - 1``."""
    n = len(pattern)
    negate = pattern.startswith("^", i)
    if negate:
        i += 1
    items: list[tuple[int, int]] = []
    extras: list[str] = []
    while True:
        if i >= n:
            raise RegexError("an unterminated character class", invalid=True)
        if pattern[i] == "]":
            i += 1
            break
        first, extra, i = _class_atom(pattern, i)
        if pattern.startswith("-", i) and i + 1 < n and pattern[i + 1] != "]":
            second, second_extra, j = _class_atom(pattern, i + 1)
            single = len(first) == 1 and first[0][0] == first[0][1] and not extra
            if single and len(second) == 1 and second[0][0] == second[0][1] and not second_extra:
                if first[0][0] > second[0][0]:
                    raise RegexError("a character class range out of order", invalid=True)
                items.append((first[0][0], second[0][0]))
            else:  # Annex B: a class escape beside '-' makes the '-' literal
                items.extend((*first, (0x2D, 0x2D), *second))
                extras.extend(e for e in (extra, second_extra) if e)
            i = j
            continue
        items.extend(first)
        if extra:
            extras.append(extra)
    ranges = _normalize(items)
    extra_text = "".join(extras)
    if extra_text:
        return _Token("set", _class(ranges, extra_text, negate=negate), _ANY), i
    matched = _complement(ranges) if negate else ranges
    return _Token("set", _class(matched), matched), i


def _class_atom(pattern: str, i: int) -> tuple[Ranges, str, int]:
    ch = pattern[i]
    if ch != "\\":
        cp = _literal(ch)
        return ((cp, cp),), "", i + 1
    if i + 1 >= len(pattern):
        raise RegexError("a trailing backslash", invalid=True)
    if pattern[i + 1] == "-":
        return ((0x2D, 0x2D),), "", i + 2
    if pattern[i + 1] == "B":
        raise RegexError("\\B in a character class", invalid=True)
    return _atom_escape(pattern, i + 1, in_class=True)


# --- structure ---------------------------------------------------------------------------------------------------

#: A parsed pattern: ("pos", index) a character position, ("eps",) an assertion or anything matching the empty
#: string, ("cat", children), ("alt", children), ("rep", child, low, high).
type _Node = tuple[Any, ...]
_EPS: Final[_Node] = ("eps",)


@dataclass
class _Frame:
    branches: list[list[_Node]]
    items: list[_Node]
    zero_width: bool = False
    quantifiable: bool = False


def _parse(tokens: list[_Token]) -> tuple[_Node, list[Ranges]]:
    """The tree of a pattern and the characters of each position, without recursion.

    Raises:
        RegexError: unbalanced parentheses, or a quantifier with nothing (or another quantifier) to repeat.
    """
    positions: list[Ranges] = []
    stack = [_Frame([], [])]
    for token in tokens:
        frame = stack[-1]
        if token.kind == "set":
            frame.items.append(("pos", len(positions)))
            positions.append(token.ranges)
            frame.quantifiable = True
        elif token.kind in ("assert", "empty"):
            frame.items.append(_EPS)
            frame.quantifiable = token.kind == "empty"
        elif token.kind == "open":
            stack.append(_Frame([], [], zero_width=token.zero_width))
        elif token.kind == "close":
            if len(stack) == 1:
                raise RegexError("an unmatched )", invalid=True)
            stack.pop()
            node = _alternation(frame)
            stack[-1].items.append(_EPS if frame.zero_width else node)
            stack[-1].quantifiable = True
        elif token.kind == "alt":
            frame.branches.append(frame.items)
            frame.items = []
            frame.quantifiable = False
        else:  # quant
            if not frame.quantifiable:
                raise RegexError("nothing to repeat", invalid=True)
            frame.items[-1] = ("rep", frame.items[-1], token.low, token.high)
            frame.quantifiable = False
    if len(stack) > 1:
        raise RegexError("a missing )", invalid=True)
    return _alternation(stack[0]), positions


def _alternation(frame: _Frame) -> _Node:
    branches = [*frame.branches, frame.items]
    nodes = [("cat", tuple(items)) for items in branches]
    return nodes[0] if len(nodes) == 1 else ("alt", tuple(nodes))


# --- RE2 ---------------------------------------------------------------------------------------------------------


class _OverBudgetError(Exception):
    """The analysis ran out of work units."""


def translate(pattern: str) -> str:
    """The pattern in RE2 syntax, with its ECMA-262 meaning.

    Raises:
        RegexError: not ECMA-262, or a feature RE2 does not have (lookaround, backreferences...).
    """
    tokens = _tokens(pattern)
    _parse(tokens)
    for token in tokens:
        if token.unsupported:
            raise RegexError(token.unsupported)
    return "".join(token.text for token in tokens)


def is_ecma_regex(text: str) -> bool:
    """Whether ``text`` is an ECMA-262 regular expression (JSON Schema's ``format: "regex"``), in linear time.

    Lookaround and backreferences are valid here (the value is a regular expression, not one this engine runs).
    """
    try:
        _parse(_tokens(text))
    except RegexError as exc:
        return not exc.invalid
    return True


@functools.cache
def _options() -> Any:
    import re2  # type: ignore[import-untyped]  # lazily: cold start

    options = re2.Options()
    options.max_mem = MAX_MEM
    options.log_errors = False  # RE2 would write every refused pattern to stderr
    options.never_capture = True  # only whether it matches is needed
    return options


@functools.lru_cache(maxsize=CACHE_SIZE)
def _compiled(pattern: str) -> Any:
    """The compiled pattern, or the :class:`RegexError` that refuses it (cached as well)."""
    import re2

    try:
        spelled = translate(pattern)
    except RegexError as exc:
        return exc
    try:
        return re2.compile(spelled, _options())
    except re2.error as exc:
        detail = exc.args[0] if exc.args else ""
        reason = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
        return RegexError(f"RE2 refuses it: {reason}")


def check(pattern: str) -> None:
    """Compiles the pattern (cached) to see that it can be evaluated.

    Raises:
        RegexError: it cannot; a call that needs it must be refused.
    """
    compiled = _compiled(pattern)
    if isinstance(compiled, RegexError):
        raise compiled


def search(pattern: str, text: str) -> bool:
    """Whether the pattern matches anywhere in ``text`` (ECMA-262 semantics, linear time).

    A lone surrogate in ``text`` (JSON allows ``"\\ud800"``; UTF-8 cannot carry it) is read as U+FFFD.

    Raises:
        RegexError: the pattern cannot be evaluated.
    """
    compiled = _compiled(pattern)
    if isinstance(compiled, RegexError):
        raise compiled
    try:
        return compiled.search(text) is not None
    except UnicodeEncodeError:
        cleaned = "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)
        return compiled.search(cleaned) is not None


# --- backtracking ------------------------------------------------------------------------------------------------


@dataclass
class AnalysisBudget:
    """Units of work the backtracking analysis may still spend; one budget may be shared by several patterns."""

    units: int = ANALYSIS_BUDGET


def backtracking_hazard(pattern: str, budget: AnalysisBudget | None = None) -> str | None:
    """Why a backtracking engine (Python's ``re``, PCRE, JavaScript's) could take exponential time on ``pattern``,
    or ``None``. Not ECMA-262 at all: ``None`` (a compile check reports that).

    The pattern is exponentially ambiguous: some state of its automaton has two different cycles on the same word,
    so a failing match tries 2^n ways (``(a+)+``, ``(a*)*``, ``(a|a)*``, ``(\\w+\\s?)+``, ``(\\d+\\.\\d+)+``...),
    whereas ``(\\.[a-z]+)*`` or ``([a-z0-9]+-)*`` are not. A bounded repetition counts as a loop
    (``(a{1,3}){1,5}`` is reported too); lookaround contents are not read; polynomial blow-ups (``\\d+\\d+``) are
    not reported. Work is bounded by ``budget`` (:data:`ANALYSIS_BUDGET` units when none is given; what is spent
    is taken from it); past it the pattern is reported as too complex to check.
    """
    try:
        tokens = _tokens(pattern)
        tree, positions = _parse(tokens)
    except RegexError:
        return None
    if not any(token.kind == "quant" and (token.high is None or token.high >= 2) for token in tokens):
        return None  # no loop, no cycle
    units = budget if budget is not None else AnalysisBudget()
    try:
        follow = _follow(tree, len(positions), units)
        if _ambiguous(follow, positions, _loops(tree, len(positions), units), units):
            return "nested or overlapping repetition: a backtracking engine takes exponential time on some inputs"
    except _OverBudgetError:
        return "too complex to check for exponential backtracking"
    return None


def _loops(tree: _Node, size: int, budget: AnalysisBudget) -> list[int]:
    """For each position, the outermost loop around it (a number), or -1: a cycle never leaves its outermost
    loop, so the search for cycles looks no further."""
    loop_of = [-1] * size
    loops = 0
    stack: list[tuple[_Node, int]] = [(tree, -1)]
    while stack:
        node, loop = stack.pop()
        _spend(budget, 1)
        kind = node[0]
        if kind == "pos":
            loop_of[node[1]] = loop
        elif kind in ("cat", "alt"):
            stack.extend((child, loop) for child in node[1])
        elif kind == "rep":
            if loop < 0 and (node[3] is None or node[3] >= 2):
                loop, loops = loops, loops + 1
            stack.append((node[1], loop))
    return loop_of


def _spend(budget: AnalysisBudget, units: int) -> None:
    budget.units -= units
    if budget.units < 0:
        raise _OverBudgetError


def _follow(tree: _Node, size: int, budget: AnalysisBudget) -> list[dict[int, int]]:
    """The Glushkov follow relation, each edge counted (up to 2): ``(a+)+`` gives ``a`` two edges back to itself,
    one per loop, which is what a backtracking engine tries twice. Post-order, without recursion."""
    follow: list[dict[int, int]] = [{} for _ in range(size)]
    info: dict[int, tuple[bool, frozenset[int], frozenset[int]]] = {}
    stack: list[tuple[_Node, bool]] = [(tree, False)]
    while stack:
        node, done = stack.pop()
        kind = node[0]
        if not done and kind in ("cat", "alt", "rep"):
            stack.append((node, True))
            children = (node[1],) if kind == "rep" else node[1]
            stack.extend((child, False) for child in children)
            continue
        _spend(budget, 1)
        if kind == "pos":
            one = frozenset((node[1],))
            info[id(node)] = (False, one, one)
        elif kind == "eps":
            info[id(node)] = (True, frozenset(), frozenset())
        elif kind == "alt":
            parts = [info[id(child)] for child in node[1]]
            info[id(node)] = (
                any(p[0] for p in parts),
                frozenset().union(*(p[1] for p in parts)),
                frozenset().union(*(p[2] for p in parts)),
            )
        elif kind == "cat":
            nullable, first, last = True, frozenset[int](), frozenset[int]()
            for child in node[1]:
                c_nullable, c_first, c_last = info[id(child)]
                _link(follow, last, c_first, budget)
                first = first | c_first if nullable else first
                last = c_last | last if c_nullable else c_last
                nullable = nullable and c_nullable
            info[id(node)] = (nullable, first, last)
        else:  # rep
            c_nullable, c_first, c_last = info[id(node[1])]
            high = node[3]
            if high is None or high >= 2:
                _link(follow, c_last, c_first, budget)
            info[id(node)] = (c_nullable or node[2] == 0, c_first, c_last)
    return follow


def _link(
    follow: list[dict[int, int]], sources: frozenset[int], targets: frozenset[int], budget: AnalysisBudget
) -> None:
    if not sources or not targets:
        return
    _spend(budget, len(sources) * len(targets))
    for source in sources:
        edges = follow[source]
        for target in targets:
            edges[target] = min(edges.get(target, 0) + 1, 2)


def _ambiguous(
    follow: list[dict[int, int]], positions: list[Ranges], loop_of: list[int], budget: AnalysisBudget
) -> bool:
    """Whether some strongly connected component of the automaton squared holds a pair ``(q, q)`` and either a
    pair ``(p, p')`` with ``p != p'`` or two different edges between diagonal pairs: two different cycles on one
    word. Tarjan's algorithm, iterative, from every diagonal pair."""
    overlaps: dict[tuple[int, int], bool] = {}

    def successors(node: tuple[int, int]) -> Iterator[tuple[tuple[int, int], bool]]:
        p, q = node
        loop = loop_of[p]
        for p2, count in follow[p].items():
            if loop_of[p2] != loop:
                continue
            for q2, other in follow[q].items():
                _spend(budget, 1)
                if loop_of[q2] != loop:
                    continue
                key = (p2, q2) if p2 <= q2 else (q2, p2)
                hit = overlaps.get(key)
                if hit is None:
                    hit = overlaps[key] = _overlap(positions[p2], positions[q2])
                if hit:
                    yield (p2, q2), p == q and p2 == q2 and (count >= 2 or other >= 2)

    index: dict[tuple[int, int], int] = {}
    low: dict[tuple[int, int], int] = {}
    component: dict[tuple[int, int], int] = {}
    on_stack: list[tuple[int, int]] = []
    divergent: list[tuple[tuple[int, int], tuple[int, int]]] = []
    for root in ((p, p) for p in range(len(follow)) if positions[p] and loop_of[p] >= 0):
        if root in index:
            continue
        index[root] = low[root] = len(index)
        on_stack.append(root)
        work = [(root, successors(root))]
        while work:
            node, edges = work[-1]
            for target, split in edges:
                if split:
                    divergent.append((node, target))
                if target not in index:
                    index[target] = low[target] = len(index)
                    on_stack.append(target)
                    work.append((target, successors(target)))
                    break
                if target not in component:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    members = []
                    while True:
                        member = on_stack.pop()
                        component[member] = index[node]
                        members.append(member)
                        if member == node:
                            break
                    diagonal = any(p == q for p, q in members)
                    if diagonal and any(p != q for p, q in members):
                        return True
    return any(component[source] == component[target] for source, target in divergent)


# --- schemas -----------------------------------------------------------------------------------------------------

#: Keywords whose value is an object of schemas keyed by names (a name there is not a keyword).
_SCHEMA_MAPS: Final = frozenset({"properties", "$defs", "definitions", "dependentSchemas", "dependencies"})
#: Keywords whose value is data, never a schema.
_DATA: Final = frozenset({"enum", "const", "default", "examples", "required", "type"})


def schema_patterns(schema: object, pointer: str = "") -> tuple[list[tuple[str, str]], bool]:
    """Every regular expression of a JSON Schema, as ``(pointer, pattern)``: each string ``pattern`` and each
    ``patternProperties`` key, at any depth (``properties``, ``items``, ``$defs``, ``anyOf``..., and unknown
    keywords too, since a ``$ref`` may point into them), never inside ``enum``, ``const``, ``default`` or
    ``examples`` (data). Also whether the walk saw everything (:data:`MAX_SCHEMA_NODES`,
    :data:`MAX_SCHEMA_DEPTH`)."""
    found: list[tuple[str, str]] = []
    stack: list[tuple[object, str, int]] = [(schema, pointer, 0)]
    nodes = 0
    while stack:
        value, path, depth = stack.pop()
        nodes += 1
        if nodes > MAX_SCHEMA_NODES or depth > MAX_SCHEMA_DEPTH:
            return found, False
        if isinstance(value, list):
            stack.extend((item, f"{path}/{index}", depth + 1) for index, item in reversed(list(enumerate(value))))
            continue
        if not isinstance(value, Mapping):
            continue
        children: list[tuple[object, str, int]] = []
        for key, item in value.items():
            if not isinstance(key, str) or key in _DATA:
                continue
            child = f"{path}/{_token(key)}"
            if key == "pattern" and isinstance(item, str):
                found.append((child, item))
            elif key == "patternProperties" and isinstance(item, Mapping):
                for name, sub in item.items():
                    if isinstance(name, str):
                        found.append((f"{child}/{_token(name)}", name))
                    children.append((sub, f"{child}/{_token(str(name))}", depth + 2))
            elif key in _SCHEMA_MAPS and isinstance(item, Mapping):
                children.extend((sub, f"{child}/{_token(str(name))}", depth + 2) for name, sub in item.items())
            elif isinstance(item, (Mapping, list)):
                children.append((item, child, depth + 1))
        stack.extend(reversed(children))
    return found, True


def _token(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")
