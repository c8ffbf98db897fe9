"""Text as a model reads it (normalization) and the rules over its characters: invisible, bidirectional, tag and
control characters, terminal escapes, mixed scripts and homoglyph names; and the evidence quoted for a finding."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Final

from mcp_steward.domain.scanning.findings import MAX_EVIDENCE_CHARS, Finding, Severity

_ZERO_WIDTH: Final = frozenset(
    (
        *(0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0x3164, 0xFEFF, 0xFFA0),
        *range(0x200B, 0x2010),
        *range(0x2060, 0x2065),
    )
)
_BIDI: Final = frozenset((*range(0x202A, 0x202F), *range(0x2066, 0x206A)))


def _is_tag(cp: int) -> bool:
    return 0xE0000 <= cp <= 0xE007F


def _is_hidden(ch: str) -> bool:
    cp = ord(ch)
    return (
        cp in _ZERO_WIDTH
        or cp in _BIDI
        or _is_tag(cp)
        or 0xFE00 <= cp <= 0xFE0F
        or 0xE0100 <= cp <= 0xE01EF
        or (cp < 0x20 and ch not in "\n\t\r")
        or 0x7F <= cp <= 0x9F
    )


def escape_invisible(text: str) -> str:
    """Text with every invisible, bidirectional, tag or control character written as ``\\uXXXX``/``\\U000XXXXX``."""
    if text.isascii() and text.isprintable():
        return text
    out: list[str] = []
    for ch in text:
        if ch in "\n\t\r":
            out.append(ch.encode("unicode_escape").decode("ascii"))
        elif _is_hidden(ch) or unicodedata.category(ch) in {"Cf", "Cc", "Co", "Cn", "Zl", "Zp"}:
            cp = ord(ch)
            out.append(f"\\u{cp:04x}" if cp <= 0xFFFF else f"\\U{cp:08x}")
        else:
            out.append(ch)
    return "".join(out)


def evidence_of(text: str, start: int, end: int) -> str:
    """About :data:`MAX_EVIDENCE_CHARS` characters around ``text[start:end]``, invisible characters escaped."""
    margin = 40
    lo, hi = max(0, start - margin), min(len(text), max(end, start + 1) + margin)
    hi = min(hi, lo + 150)
    snippet = escape_invisible(text[lo:hi])
    if len(snippet) > MAX_EVIDENCE_CHARS:
        snippet = snippet[: MAX_EVIDENCE_CHARS - 1] + "…"
    return ("…" if lo > 0 else "") + snippet + ("…" if hi < len(text) else "")


def cap_evidence(evidence: str) -> str:
    return evidence if len(evidence) <= MAX_EVIDENCE_CHARS else evidence[: MAX_EVIDENCE_CHARS - 1] + "…"


_ANSI: Final = re.compile(r"\x1b\[|\x1b\]|\x9b")
_WORD: Final = re.compile(r"\w{2,64}")


def _reveal_table() -> dict[int, str | None]:
    table: dict[int, str | None] = dict.fromkeys((*_ZERO_WIDTH, *_BIDI, *range(65024, 65040)))
    table.update({cp: None for cp in (*range(0x20), *range(0x7F, 0xA0)) if chr(cp) not in "\n\t\r"})
    table.update(dict.fromkeys((*range(917504, 917632), *range(917760, 918000))))
    table.update({cp: chr(cp - 0xE0000) for cp in range(0xE0020, 0xE007F)})
    return table


_REVEAL: Final = _reveal_table()


def normalize(text: str) -> str:
    """What a model effectively reads: tag characters decoded to ASCII, invisible characters removed, NFKC."""
    if text.isascii():
        return text.translate(_REVEAL) if not text.isprintable() else text
    return unicodedata.normalize("NFKC", text.translate(_REVEAL))


def printable_text(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(text) < 12:
        return None
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\n\t\r")
    letters = sum(1 for ch in text if ch.isalpha())
    if printable < 0.95 * len(text) or letters < 0.5 * len(text) or " " not in text:
        return None
    return text


# --- rules over characters -------------------------------------------------------------------------------------


def unicode_findings(text: str, path: str) -> Iterator[Finding]:
    if text.isascii():
        ansi = _ANSI.search(text)
        control = next((i for i, ch in enumerate(text) if ord(ch) < 0x20 and ch not in "\n\t\r"), None)
        if ansi is not None:
            yield Finding("terminal_escape", Severity.HIGH, path, evidence_of(text, ansi.start(), ansi.end()))
        elif control is not None:
            yield Finding("control_character", Severity.MEDIUM, path, evidence_of(text, control, control + 1))
        return
    tag = _first(_TAG_CHARS, text)
    bidi = _first(_BIDI_CHARS, text)
    control = _first(_CONTROL_CHARS, text)
    zero = None
    for count, match in enumerate(_ZERO_WIDTH_CHARS.finditer(text)):
        index, cp = match.start(), ord(match[0])
        if count >= 64:
            zero = index  # bounded: a long run of joiners is itself suspicious
            break
        if cp in {0x200D, 0xFE0F, 0xFE0E} and _beside_symbol(text, index):
            continue  # joiners and variation selectors inside emoji sequences
        if cp == 0xFEFF and index == 0:
            continue  # a byte-order mark at the start
        zero = index
        break
    if tag is not None:
        yield Finding("tag_characters", Severity.HIGH, path, evidence_of(text, tag, tag + 1))
    if bidi is not None:
        yield Finding("bidi_control", Severity.HIGH, path, evidence_of(text, bidi, bidi + 1))
    if zero is not None:
        yield Finding("invisible_characters", Severity.MEDIUM, path, evidence_of(text, zero, zero + 1))
    ansi = _ANSI.search(text)
    if ansi is not None:
        yield Finding("terminal_escape", Severity.HIGH, path, evidence_of(text, ansi.start(), ansi.end()))
    elif control is not None:
        yield Finding("control_character", Severity.MEDIUM, path, evidence_of(text, control, control + 1))
    yield from _mixed_script_words(text, path)


_TAG_CHARS: Final = re.compile("[\U000e0000-\U000e007f\U000e0100-\U000e01ef]")
_BIDI_CHARS: Final = re.compile("[\u202a-\u202e\u2066-\u2069]")
_CONTROL_CHARS: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_ZERO_WIDTH_CHARS: Final = re.compile(
    "[" + "".join(chr(cp) for cp in sorted(_ZERO_WIDTH) if cp != 0x034F) + "\u034f\ufe00-\ufe0f]"
)


def _first(pattern: re.Pattern[str], text: str) -> int | None:
    match = pattern.search(text)
    return None if match is None else match.start()


def _beside_symbol(text: str, index: int) -> bool:
    before = text[index - 1] if index > 0 else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    return any(ch and (unicodedata.category(ch) == "So" or ord(ch) >= 0x1F000) for ch in (before, after))


def _script(ch: str) -> str:
    if ch.isascii():
        return "LATIN" if ch.isalpha() else ""
    if not ch.isalpha():
        return ""
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else ""


def _mixed_script_words(text: str, path: str) -> Iterator[Finding]:
    for match in _WORD.finditer(text):
        word = match[0]
        if word.isascii():
            continue
        scripts = {s for s in map(_script, word) if s and s not in {"DIGIT"}}
        if len(scripts) > 1 and "LATIN" in scripts and scripts & {"CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE"}:
            yield Finding("mixed_script_word", Severity.MEDIUM, path, evidence_of(text, match.start(), match.end()))
            return


def name_findings(name: str, path: str) -> Iterator[Finding]:
    """Tool names should be plain ASCII: anything else in a name is a homoglyph or a confusion."""
    if name.isascii():
        return
    scripts = {s for s in map(_script, name) if s}
    severity = Severity.HIGH if len(scripts) > 1 or "LATIN" not in scripts else Severity.MEDIUM
    index = next(i for i, ch in enumerate(name) if not ch.isascii())
    yield Finding("homoglyph_name", severity, path, evidence_of(name, index, index + 1))
