"""The content rules applied to one normalized string: the text rules (prefiltered by their anchors), encoded
payloads, promotional phrases, made-up markup, claims about and references to other tools."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Collection, Iterator
from typing import Final

from mcp_steward.domain.scanning.findings import MAX_EVIDENCE_CHARS, MAX_OTHER_NAMES, Finding, Severity
from mcp_steward.domain.scanning.rules import (
    BASE64_RUN,
    CAPS_MARKUP,
    FILE_ACTION,
    HEX_RUN,
    HTML_ELEMENTS,
    NEGATION,
    NOT_IMPERATIVE,
    PROMOTION_PHRASES,
    RULES,
    SHADOW_CONTEXT,
    TOOL_CLAIM,
)
from mcp_steward.domain.scanning.text import escape_invisible, evidence_of, normalize, printable_text

#: The text rules of the table, compiled, as (rule, severity, pattern) in table order: the order of the findings.
_TEXT_RULES: Final = tuple(
    (rule.id, rule.severity, re.compile(rule.pattern, rule.flags)) for rule in RULES if rule.pattern is not None
)
#: Rules matched on the text as written: capitals are their signal (``SYSTEM UPDATE:``, not "system update").
_CASE_SENSITIVE: Final = frozenset(rule.id for rule in RULES if rule.case_sensitive)
#: Each text rule's anchors as one alternation, searched in the lowercased text (the text as written for a
#: case-sensitive rule); a cheap prefilter, never a decision.
_ANCHOR_PATTERNS: Final = {
    rule.id: re.compile("|".join(re.escape(anchor) for anchor in rule.anchors))
    for rule in RULES
    if rule.pattern is not None and rule.anchors
}
_ANY_ANCHOR: Final = re.compile(
    "|".join(
        re.escape(a.lower())
        for a in sorted({a for rule in RULES if rule.pattern is not None for a in rule.anchors}, key=len)
    )
)


def _lowercase_pattern(pattern: str) -> str:
    """The pattern for already lowercased text: literal letters lowered, escapes (``\\b``, ``\\S``) kept."""
    out: list[str] = []
    escaped = False
    for ch in pattern:
        out.append(ch if escaped else ch.lower())
        escaped = not escaped and ch == "\\"
    return "".join(out)


#: The same rules compiled for lowercased text without IGNORECASE, which ``re`` matches about twice as fast; the
#: case-sensitive rule keeps its own pattern.
_LOWERCASE_RULES: Final = tuple(
    (
        rule,
        severity,
        pattern
        if rule in _CASE_SENSITIVE
        else re.compile(_lowercase_pattern(pattern.pattern), pattern.flags & ~re.IGNORECASE),
    )
    for rule, severity, pattern in _TEXT_RULES
)


def text_findings(text: str, path: str, depth: int = 0) -> Iterator[Finding]:
    lowered = text.lower()
    same_length = len(lowered) == len(text)  # lower() changes the length of a few characters (U+0130)
    rules = _LOWERCASE_RULES if same_length else _TEXT_RULES
    if _ANY_ANCHOR.search(lowered) is None:  # most short schema strings ("string", "object", names)
        if depth == 0 and len(text) >= 24:
            yield from _encoded_findings(text, path)
            yield from _promotion_findings(text, path)
        return
    for rule, severity, pattern in rules:
        case_sensitive = rule in _CASE_SENSITIVE
        subject = text if case_sensitive or not same_length else lowered
        anchors = _ANCHOR_PATTERNS.get(rule)
        if anchors is not None and anchors.search(text if case_sensitive else lowered) is None:
            continue
        match = pattern.search(subject)
        if match is None:
            continue
        if rule == "sensitive_file":
            rule, severity = _sensitive_file_severity(text, match.start(), match.end())
        yield Finding(rule, severity, path, evidence_of(text, match.start(), match.end()))
    if depth == 0:
        yield from _encoded_findings(text, path)
        yield from _promotion_findings(text, path)


_PROMOTION: Final = tuple((anchors, re.compile(pattern)) for anchors, pattern in PROMOTION_PHRASES)


def _promotion_findings(text: str, path: str) -> Iterator[Finding]:
    """Distinct advertising phrases: each is harmless alone, so the rule counts them (two: medium, three: high)."""
    lowered = text.lower()
    subject = text if len(lowered) == len(text) else lowered  # evidence positions must index the text searched
    phrases: dict[str, int] = {}
    for anchors, pattern in _PROMOTION:
        if not any(anchor in lowered for anchor in anchors):
            continue
        for count, match in enumerate(pattern.finditer(lowered)):
            if count >= 8:
                break
            phrases.setdefault(match[0], match.start())
    if len(phrases) >= 2:
        severity = Severity.HIGH if len(phrases) >= 3 else Severity.MEDIUM
        start = min(phrases.values())
        yield Finding("promotional_manipulation", severity, path, evidence_of(subject, start, start + 40))


def _imperative(sentence: str, start: int) -> bool:
    """A verb addressed to the reader: not passive ("is read from") and not a capability ("used to read")."""
    return NOT_IMPERATIVE.search(sentence[max(0, start - 24) : start]) is None


def _sensitive_file_severity(text: str, start: int, end: int) -> tuple[str, Severity]:
    """High when the sentence reads or moves the file, low when it forbids or blocks that, medium otherwise."""
    lo = max(text.rfind(".", 0, max(0, start - 1)), text.rfind("\n", 0, start), start - 120, 0)
    hi = min(len(text), end + 60)
    stop = min((i for i in (text.find(". ", end), text.find("\n", end)) if i >= 0), default=hi)
    sentence = text[lo : min(hi, stop)]
    if NEGATION.search(sentence) is not None:
        return "sensitive_file", Severity.LOW
    if any(_imperative(sentence, verb.start()) for verb in FILE_ACTION.finditer(sentence)):
        return "sensitive_file_access", Severity.HIGH
    return "sensitive_file", Severity.MEDIUM


def _encoded_findings(text: str, path: str) -> Iterator[Finding]:
    """Base64 or hex runs that decode to readable text: high when that text trips a rule, medium otherwise."""
    for pattern, decode in ((BASE64_RUN, _b64), (HEX_RUN, _hex)):
        for count, match in enumerate(pattern.finditer(text)):
            if count >= 16:
                break
            decoded = decode(match[match.lastindex or 0])
            if decoded is None:
                continue
            inner = [f for f in text_findings(normalize(decoded), path, depth=1) if f.severity is not Severity.LOW]
            severity = Severity.HIGH if inner else Severity.MEDIUM
            detail = f" (decodes to {escape_invisible(decoded[:80])!r})"
            evidence = evidence_of(text, match.start(), min(match.end(), match.start() + 60))
            yield Finding("encoded_payload", severity, path, (evidence[:120] + detail)[:MAX_EVIDENCE_CHARS])
            return


def _b64(run: str) -> str | None:
    if len(run) % 4 != 0 and not run.endswith("="):
        run = run[: len(run) - len(run) % 4]
    try:
        return printable_text(base64.b64decode(run, validate=True))
    except (binascii.Error, ValueError):
        return None


def _hex(run: str) -> str | None:
    try:
        return printable_text(bytes.fromhex(run))
    except ValueError:
        return None


def markup_findings(text: str, path: str, found: Collection[str]) -> Iterator[Finding]:
    if "important_markup" in found or "hidden_instruction_markup" in found or "</" not in text:
        return
    for count, match in enumerate(CAPS_MARKUP.finditer(text)):
        if count >= 16:
            return
        if match[1].lower() not in HTML_ELEMENTS:
            yield Finding("important_markup", Severity.MEDIUM, path, evidence_of(text, match.start(), match.end()))
            return


def tool_claim_findings(text: str, path: str, own_name: str) -> Iterator[Finding]:
    lowered = text.lower()
    if " tool " not in lowered and " function " not in lowered:
        return
    for count, match in enumerate(TOOL_CLAIM.finditer(lowered)):
        if count >= 16:
            return
        if match[1] != own_name.lower():
            yield Finding("other_tool_claim", Severity.MEDIUM, path, evidence_of(text, match.start(), match.end()))
            return


def shadowing_findings(text: str, path: str, own_name: str, others: Collection[str]) -> Iterator[Finding]:
    """Another tool named in this tool's text: low alone, high next to words that redirect or extend its use."""
    lowered = text.lower()
    for index, other in enumerate(others):
        if index >= MAX_OTHER_NAMES:
            return
        if not other or other == own_name or len(other) < 3:
            continue
        start = lowered.find(other.lower())
        if start < 0:
            continue
        end = start + len(other)
        if (start > 0 and (lowered[start - 1].isalnum() or lowered[start - 1] == "_")) or (
            end < len(lowered) and (lowered[end].isalnum() or lowered[end] == "_")
        ):
            continue
        window = lowered[max(0, start - 120) : end + 120]
        severity = Severity.HIGH if SHADOW_CONTEXT.search(window) else Severity.LOW
        yield Finding("other_tool_reference", severity, path, evidence_of(text, start, end))
        return
