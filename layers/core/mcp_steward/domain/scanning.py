"""Tool-definition scanner: finds poisoning in every string of a tool definition that a model may read.

Pure domain code (standard library only, but for google-re2, imported by :mod:`.schema_regex` on the first regular
expression it compiles). ``scan_tool`` walks the name, title, description, annotations and the input and output
schemas (parameter names, descriptions, defaults, enums, examples, ...) and applies hand-written rules for the
published tool-poisoning techniques, and checks the schemas' own regular expressions.

Work is bounded on attacker-controlled input: at most :data:`MAX_STRING_CHARS` characters of each string and
:data:`MAX_TOTAL_CHARS` in all are examined (more is itself a finding), the walk stops at :data:`MAX_DEPTH` levels and
:data:`MAX_NODES` nodes, and every pattern is a Python ``re`` written to run in linear time: each repetition is
bounded (``{0,60}``), no quantifier is nested inside another unbounded one, and alternations are literal words, so
the work per start position is a constant and a string of n characters costs O(n). Each rule is first prefiltered
by literal anchors (``_ANCHORS``), so most strings never reach most patterns.

Rules (``rule``: severity): text is read as a model reads it (tag characters decoded, invisible characters removed,
NFKC), per string:

- instructions to the model: ``prompt_injection`` (ignore previous instructions, "you are now in developer mode",
  ``[INST]``, print your system prompt), ``fake_system_directive`` (``[SYSTEM DIRECTIVE]``, ``SYSTEM OVERRIDE``,
  ``HIDDEN INSTRUCTION``, ``SYSTEM UPDATE:``, ``CRITICAL SYSTEM MAINTENANCE``), ``hidden_instruction_markup``
  (``<system>``, ``<secret>``): high; ``important_markup`` (``<IMPORTANT>``, any made-up upper-case tag pair such as
  ``<GLOBAL_OVERRIDE>…</GLOBAL_OVERRIDE>``), ``urgent_banner`` (``SECURITY UPDATE:``, ``IMPORTANT NOTICE:``),
  ``html_comment``, ``model_directed_instruction`` ("before using this tool, read..."), ``coercion`` ("otherwise the
  tool will not work"), ``compliance_pretext`` ("for audit and compliance purposes, you must..."),
  ``scripted_message`` (tell the user: '...'), ``safety_bypass``, ``sleeper_tool``: medium;
- concealment from the user: ``concealment`` (do not tell the user, hide from the user, silently send): high;
  ``skips_confirmation``: medium;
- files, keys and credentials: ``sensitive_file_access`` (an imperative read or move of ``~/.ssh``, ``.env``,
  ``~/.aws/credentials``, ``mcp.json``, ``~/.cursor``, shell start-up files, ``crontab``...): high;
  ``sensitive_file`` (named, no imperative): medium,
  low when the sentence forbids or blocks it; ``data_harvest`` (conversation history, system prompt, API keys into a
  parameter), ``suspicious_parameter`` (``sidenote``...): medium;
- exfiltration: ``exfiltration_intent``, ``recipient_override`` (all emails to an explicit address, always BCC):
  high; ``exfiltration_url`` (a URL whose query carries data placeholders), ``external_transfer`` (to an external
  service, or "you must also access our endpoint at https://..."): medium;
- other tools: ``tool_shadowing`` (side effect on another tool): high; ``other_tool_reference`` (a name from
  ``other_tool_names``): low alone, high beside "instead of", "deprecated", "also send"; ``cross_tool_instruction``,
  ``tool_preference``, ``tool_redirection`` (this tool is disabled or deprecated for security or maintenance, use the
  new one), ``other_tool_claim`` (the ``other_tool`` tool now uses / has been updated to ...): medium;
  ``promotional_manipulation`` (distinct advertising phrases): medium at two, high at three;
- commands: ``command_injection`` (``curl | sh``, ``; sudo``, reverse shells, ``chmod -R 0666 ~``): high;
  ``destructive_action`` (``rm -rf /``, "delete all files"), ``argument_tampering`` (including "regardless of the
  user's input"), ``command_instruction`` ("you must run the following command"), ``download_command`` (``curl`` or
  ``wget`` of a URL): medium;
- characters: ``tag_characters``, ``bidi_control``, ``terminal_escape``, ``homoglyph_name`` (mixed scripts in the
  name): high; ``invisible_characters``, ``control_character``, ``mixed_script_word``: medium;
- encodings: ``encoded_payload``: base64 or hex runs that decode to text: high when that text trips a rule, else
  medium;
- size: ``oversized_string``, ``oversized_definition``, ``excessive_nesting``: medium (scanning stops at the cap).

Rules over the schemas' regular expressions (every ``pattern`` and ``patternProperties`` key of ``inputSchema`` and
``outputSchema``, at any depth: ``properties``, ``items``, ``$defs``, ``anyOf``...; governance matches them against
callers' values with RE2, see ``services/validation.py``):

- ``unsupported_regex``: RE2 cannot evaluate it in linear time (lookaround, backreferences, an escape ECMA-262 does
  not define, not a regular expression at all...); every call to the tool is refused (fail closed): medium;
- ``backtracking_regex``: nested or overlapping repetition (``(a+)+``, ``(a*)*``, ``(a|a)*``, ``(\\w+\\s?)+``)
  that takes a backtracking engine exponential time; RE2 evaluates it safely, but the schema is careless or
  hostile; also a pattern too complex to check (:data:`.schema_regex.ANALYSIS_BUDGET`, and at most
  :data:`REGEX_ANALYSIS_BUDGET` units over a definition): medium.

The analysis is a linear tokenizer and a bounded automaton walk over the pattern's text
(:func:`.schema_regex.backtracking_hazard`), never a backtracking regex applied to it; patterns are examined up to
:data:`MAX_TOTAL_CHARS` characters in all (more is ``oversized_definition`` already).

Verdict (the exact rule):

- ``malicious`` when any finding is ``high``, or when ``medium`` findings come from at least two different content
  rules (the size, nesting and regular-expression rules do not count towards this combination);
- ``suspicious`` when any finding is ``medium``;
- ``clean`` otherwise (``low`` findings are informational).
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Literal

from mcp_steward.domain.schema_regex import (
    ANALYSIS_BUDGET,
    AnalysisBudget,
    RegexError,
    backtracking_hazard,
    check,
    schema_patterns,
)

type Verdict = Literal["clean", "suspicious", "malicious"]

#: Real descriptions reach ~10 KB (awslabs/mcp has several of 8-10 KB), so the per-string cap is 16 KiB.
MAX_STRING_CHARS: Final = 16 * 1024
#: Three times the largest real definition in the corpus (~10 K characters of text); bounds the work per definition.
MAX_TOTAL_CHARS: Final = 32 * 1024
MAX_DEPTH: Final = 32
MAX_NODES: Final = 20_000
MAX_EVIDENCE_CHARS: Final = 200
#: Other tools' names considered for shadowing (a server rarely lists more; bounds the work per string).
MAX_OTHER_NAMES: Final = 512
#: Only the members a model may read; other top-level members (``_meta``, ``icons``, ...) are not scanned.
READABLE_MEMBERS: Final = ("name", "title", "description", "inputSchema", "outputSchema", "annotations")
#: Backtracking analysis units spent over one definition's patterns (each pattern also within its own budget).
REGEX_ANALYSIS_BUDGET: Final = 200_000
#: Rules about size and shape, which do not count towards the two-medium combination.
STRUCTURAL_RULES: Final = frozenset(
    {"oversized_string", "oversized_definition", "excessive_nesting", "unsupported_regex", "backtracking_regex"}
)


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True)
class Finding:
    """One rule hit: ``path`` is an RFC 6901 pointer into the definition, ``evidence`` the text around the hit."""

    rule: str
    severity: Severity
    path: str
    evidence: str


@dataclass(frozen=True)
class ScanResult:
    verdict: Verdict
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class Readable:
    """A string a model may read: a value, or a member name (``is_key``) such as a parameter name."""

    path: str
    text: str
    is_key: bool = False


# --- the walk ---------------------------------------------------------------------------------------------------


def pointer_token(token: str | int) -> str:
    """Escapes one RFC 6901 reference token (``~`` → ``~0``, ``/`` → ``~1``)."""
    return str(token).replace("~", "~0").replace("/", "~1")


@dataclass
class _Walk:
    strings: list[Readable]
    findings: list[Finding]
    total: int = 0
    nodes: int = 0
    truncated: bool = False


def _take(walk: _Walk, path: str, text: str, *, is_key: bool = False) -> None:
    if walk.truncated:
        return
    if len(text) > MAX_STRING_CHARS:
        walk.findings.append(
            Finding("oversized_string", Severity.MEDIUM, path, f"{len(text)} characters (cap {MAX_STRING_CHARS})")
        )
        text = text[:MAX_STRING_CHARS]
    room = MAX_TOTAL_CHARS - walk.total
    if len(text) > room:
        walk.findings.append(
            Finding("oversized_definition", Severity.MEDIUM, path, f"more than {MAX_TOTAL_CHARS} characters of text")
        )
        text = text[:room]
        walk.truncated = True
    walk.total += len(text)
    walk.strings.append(Readable(path, text, is_key))


def _walk(walk: _Walk, value: object, path: str, depth: int) -> None:
    walk.nodes += 1
    if walk.truncated or walk.nodes > MAX_NODES:
        walk.truncated = True
        return
    if depth > MAX_DEPTH:
        walk.findings.append(Finding("excessive_nesting", Severity.MEDIUM, path, f"deeper than {MAX_DEPTH} levels"))
        walk.truncated = True
        return
    if isinstance(value, str):
        _take(walk, path, value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            child = f"{path}/{pointer_token(str(key))}"
            _take(walk, child, str(key), is_key=True)
            _walk(walk, item, child, depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _walk(walk, item, f"{path}/{index}", depth + 1)


def readable_strings(definition: Mapping[str, Any]) -> tuple[list[Readable], list[Finding]]:
    """Every string of ``definition`` a model may read, capped, with the size and nesting findings of the walk."""
    walk = _Walk(strings=[], findings=[])
    for member in READABLE_MEMBERS:
        if member in definition:
            _walk(walk, definition[member], f"/{member}", 1)
    return walk.strings, walk.findings


# --- evidence ---------------------------------------------------------------------------------------------------

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


def _evidence(text: str, start: int, end: int) -> str:
    """About :data:`MAX_EVIDENCE_CHARS` characters around ``text[start:end]``, invisible characters escaped."""
    margin = 40
    lo, hi = max(0, start - margin), min(len(text), max(end, start + 1) + margin)
    hi = min(hi, lo + 150)
    snippet = escape_invisible(text[lo:hi])
    if len(snippet) > MAX_EVIDENCE_CHARS:
        snippet = snippet[: MAX_EVIDENCE_CHARS - 1] + "…"
    return ("…" if lo > 0 else "") + snippet + ("…" if hi < len(text) else "")


# --- rules over text --------------------------------------------------------------------------------------------

_I: Final = re.IGNORECASE
_GAP: Final = r"[^.!?\n]{0,60}?"  # a bounded stretch inside one sentence

_MODEL: Final = r"(?:ai|assistant|model|llm|agent|claude|gpt|chatgpt|copilot|cursor)"
_USER: Final = r"(?:the\s|your\s)?(?:user|human|person|operator|developer|client)s?"

#: (rule, severity, pattern) applied to the normalized text of every readable string.
_TEXT_RULES: Final[tuple[tuple[str, Severity, re.Pattern[str]], ...]] = (
    (
        "prompt_injection",
        Severity.HIGH,
        re.compile(
            r"\b(?:ignore|disregard|forget|override|bypass|skip)\s(?:all\s|any\s|the\s|your\s|of\s|every\s){0,3}"
            r"(?:previous|prior|above|earlier|preceding)\s"
            r"(?:\w+\s)?(?:instructions?|prompts?|rules?|directions?|guidelines?|directives?|constraints?|policies)"
            r"|\b(?:ignore|disregard|forget|override|bypass)\s(?:all\s|any\s|the\s|your\s|of\s|every\s){0,3}"
            r"(?:other|existing|original|system|safety|security|your)\s(?:\w+\s)?(?:instructions|prompts?|directives"
            r"|guidelines)\b"
            r"|\b(?:new|updated|real|true|hidden|secret)\s(?:system\s)?instructions?\s?:"
            r"|\byou\sare\snow\s(?:in\s)?(?:a\s|an\s)?(?:developer|admin|unrestricted|jailbroken|dan|god|diagnostic|debug"
            r"|maintenance|sudo|root|privileged)\b"
            r"|#{2,4}\s?(?:system|instructions?)\s?:"
            r"|\bignore\s(?:all\s|any\s)?(?:the\s)?other\s(?:\w+\s)?(?:tools?|functions?|servers?)\b"
            r"|\b(?:reveal|output|print|repeat|show|display|leak|dump|return|include)\s(?:\w+\s){0,2}?"
            r"(?:your|its|the\s(?:assistant|model|agent)'?s)\s(?:\w+\s)?(?:system\sprompt|prompt|initial\sinstructions"
            r"|system\sinstructions|instructions)\b"
            r"|\[/?INST\]|<\|im_(?:start|end)\|>|<\|(?:system|endoftext)\|>"
            r"|^\s{0,8}#{2,4}\s?(?:system|instruction)s?\b",
            _I | re.MULTILINE,
        ),
    ),
    (
        "fake_system_directive",
        Severity.HIGH,
        re.compile(
            r"\[(?:\w+[\s_-]){0,2}?(?:DIRECTIVE|INSTRUCTIONS?|OVERRIDE|SYSTEM[\s_-]NOTE|PROMPT)\]"
            r"|\b(?:SYSTEM|INSTRUCTION|SAFETY|SECURITY|ADMIN|PRIORITY)\s(?:OVERRIDE|BYPASS|DIRECTIVE)\b"
            r"|\bIMPORTANT\sSYSTEM\s(?:NOTE|INSTRUCTION|MESSAGE|NOTICE)\b|\bACT\sAS\s?:"
            r"|\b(?:HIDDEN|SECRET|INTERNAL|PRIVATE|SYSTEM)[\s_](?:INSTRUCTIONS?|DIRECTIVES?|COMMANDS?|INJECTION|CONTEXT)\b"
            r"|[\"']_?system_(?:injection|instruction|override|prompt)[\"']"
            r"|(?:^|[.!?>]\s{0,3}|<!--\s?|[\[(]\s?)SYSTEM\s?:\s"
            r"|\bSYSTEM\s(?:[A-Z]{3,15}\s)?(?:UPDATE|NOTICE|ALERT|MAINTENANCE|OPTIMIZATION|PROTOCOL|REQUIREMENT)S?\s?:"
            r"|\b(?:CRITICAL|URGENT|MANDATORY)\sSYSTEM\s[A-Z]{4,15}\b",
            re.MULTILINE,
        ),
    ),
    (
        "urgent_banner",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:(?:CRITICAL|URGENT|IMPORTANT|MANDATORY)\s)?(?:SECURITY|PERFORMANCE|COMPLIANCE|MAINTENANCE|PLATFORM)"
            r"\s(?:UPDATE|NOTICE|ALERT|PROTOCOL|REQUIREMENT|CHANGE)S?\s?:|\bIMPORTANT\sNOTICE\s?:"
            r"|\b[A-Z]{3,15}(?:\s[A-Z]{3,15}){1,3}\s?:\s[^.\n]{0,120}?\b(?:[Yy]ou|[Tt]he\ssystem)\s(?:must|should)\b"
        ),
    ),
    (
        "safety_bypass",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:bypass|disable|skip|circumvent|turn\soff|ignore)\s(?:all\s|any\s|the\s)?(?:\w+\s)?"
            r"(?:safety|security|content\sfilter(?:ing|s)?|guardrails?|access\scontrols?|restrictions|validation\schecks)"
            r"(?:\s(?:checks?|restrictions?|measures|filters?|controls?|validation))?\b"
            r"|\b(?:unrestricted|elevated)\s(?:\w+\s)?(?:access|privileges|mode)\b|\bjailbreak",
            _I,
        ),
    ),
    (
        "exfiltration_intent",
        Severity.HIGH,
        re.compile(
            r"\bexfiltrat(?:e|es|ing)\b(?!\s(?:attempts?|detection|risks?|patterns?))|\bexfil\b",
            _I,
        ),
    ),
    (
        "external_transfer",
        Severity.MEDIUM,
        re.compile(
            r"\bredirect\s(?:all\s|every\s)?(?:the\s)?(?:requests?|traffic|calls|emails?|messages?|payments?)\s"
            r"(?:\w+\s){0,2}?(?:through|to|via)\b"
            r"|\b(?:send|copy|forward|log|upload|post|mirror|sync|transmit)\s[^.!?\n]{0,60}?\bto\s(?:an?\s|the\s|our\s)?"
            r"(?:external|remote|third[\s-]party|attacker(?:'s)?|offsite)\s(?:\w+\s)?(?:service|server|endpoint|url|host"
            r"|address|location|logging)"
            r"|\b(?:must|should|need\sto|always)\s(?:also\s|first\s)?(?:access|call|contact|visit|ping|notify|query|hit"
            r"|post\sto|send\s(?:\w+\s){0,4}?to)\s(?:(?:\w+\s){0,5}?(?:endpoint|url|server|webhook|api)\s(?:at\s)?)?https?://",
            _I,
        ),
    ),
    (
        "argument_tampering",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:should|must)\sbe\s\d{1,6}\s(?:more|less|greater|higher|lower|bigger|smaller)\sthan\sthe\s(?:actual|real)"
            r"|\b(?:replace|change|modify|alter|swap|override|overwrite)\s(?:[`'\"]?\w+[`'\"]?\s){0,2}?(?:values?|arguments?|parameters?"
            r"|inputs?|recipients?|amounts?|results?|outputs?|response)\s(?:\w+\s){0,4}?(?:with|to|of)\b"
            r"|\b(?:(?:all|every|any)\s(?:\w+\s)?commands?)\s(?:must|should)\s(?:\w+\s)?(?:include|start\swith"
            r"|be\sprefixed|begin\swith)"
            r"|\bregardless\sof\s(?:what\s)?(?:the\s)?users?'?s?\s(?:\w+\s)?(?:input|request|query|choice|selection"
            r"|instructions?|asks?|specified)"
            r"|\b(?:ignore|override|disregard)\s(?:any\s|the\s|all\s)?user[\s-](?:specified|provided|supplied|requested)\b"
            r"|\b(?:is|are|will\sbe|gets?)\sautomatically\s(?:modified|rewritten|altered)\s(?:to|with)\b",
            _I,
        ),
    ),
    (
        "hidden_instruction_markup",
        Severity.HIGH,
        re.compile(
            r"</?\s?(?:system|instructions?|secret|hidden|admin|sys|override|assistant[_-]?only|ai[_-]?only"
            r"|system[_-]?prompt|prompt[_-]?injection|do[_-]?not[_-]?show|internal)\s?>",
            _I,
        ),
    ),
    (
        "important_markup",
        Severity.MEDIUM,
        re.compile(
            r"</?\s?(?:important|critical|urgent|mandatory|note|priority|warning|attention)\s?>|\[important\]", _I
        ),
    ),
    ("html_comment", Severity.MEDIUM, re.compile(r"<!--|\{\{!?--|\[//\]:\s?#", _I)),
    (
        "concealment",
        Severity.HIGH,
        re.compile(
            r"\b(?:do\snot|don'?t|never|must\snot|should\snot|without)\s(?:\w+\s){0,3}?"
            r"(?:tell|telling|inform|informing|notify|notifying|mention|mentioning|reveal|revealing|alert|alerting"
            r"|disclose|disclosing)\s(?:\w+\s){0,3}?" + _USER + r"\b"
            r"|\b(?:do\snot|don'?t|never)\s(?:mention|reveal|disclose|acknowledge|explain)\s(?:that|this|it|these|any\sof)\b"
            r"|\b(?:do\snot|don'?t|never)\s(?:show|display)\s(?:this\s|it\s|these\s)?to\s(?:the\s)?users?\b"
            r"|\b(?:hide|conceal|keep)\s(?:\w+\s){0,4}?(?:from|away\sfrom|secret\sfrom)\s" + _USER + r"\b"
            r"|\b" + _USER + r"\s(?:must|should|need|does|do|will|can)\s?(?:not|n't)\s(?:\w+\s)?"
            r"(?:know|see|notice|be\s(?:told|informed|aware|notified|shown))\b"
            r"|\b(?:silently|secretly|covertly|quietly|invisibly)\s(?:\w+\s)?"
            r"(?:send|sends|forward|upload|copy|exfiltrate|attach|read|collect|transmit|post|bcc|cc)\b"
            r"|\bthis\sis\s(?:an?\s)?(?:implementation\sdetail|internal\sdetail)[^.]{0,40}(?:user|mention)"
            r"|\b(?:never|not)\sbe\s(?:mentioned|disclosed|revealed|shown|told|reported)\s(?:to\s)?(?:the\s)?"
            r"(?:users?|humans?|operators?)\b",
            _I,
        ),
    ),
    (
        "skips_confirmation",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:without|no\sneed\sfor|do\snot\sask\sfor|don'?t\sask\sfor|never\sask\sfor)\s(?:\w+\s){0,2}?"
            r"(?:(?:the\s)?user'?s?\s)?(?:confirmation|consent|permission|approval)\b",
            _I,
        ),
    ),
    (
        "model_directed_instruction",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:note|message|instructions?|reminder|directive)s?\s(?:to|for)\s(?:the\s|any\s|all\s)?"
            + _MODEL
            + r"s?\b"
            r"|\b(?:dear|hey|attention)\s" + _MODEL + r"\b"
            r"|\bas\san\s(?:ai|assistant|language\smodel)\b"
            r"|\b(?:before|after|prior\sto|when|whenever|each\stime)\s(?:using|calling|invoking|executing|running"
            r"|you\suse|you\scall)\s(?:this|any|the|every)\s(?:\w+\s)?tool[^.\n]{0,80}?\b(?:read|cat|send|collect"
            r"|extract|upload|access)\b",
            _I,
        ),
    ),
    (
        "compliance_pretext",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:for|to\sensure|to\smaintain)\s(?:\w+\s){0,4}?(?:security|regulatory|audit|compliance|verification"
            r"|validation|integrity)\s(?:\w+\s){0,5}?(?:compliance|purposes|reasons|protocols?|regulations|checkpoint|trail"
            r"|logging|verification|integrity|assurance|checks?|requirements?)\b[^.\n]{0,40}?\byou\s(?:must|should"
            r"|are\srequired\sto|need\sto)\b"
            r"|\b(?:it'?s|it\sis)\s(?:critical|essential|crucial|vital|mandatory)\sto\s(?:first\s)?(?:provide|include|give"
            r"|establish|add)\s(?:\w+\s){0,4}?(?:context|background)\b",
            _I,
        ),
    ),
    (
        "scripted_message",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:state|say|tell\sthe\susers?|present\s(?:\w+\s){0,2}?as|announce|respond\swith|reply\swith)"
            r"\s?:?\s['\"\u2018\u201c]",
            _I,
        ),
    ),
    (
        "tool_redirection",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:has\sbeen|have\sbeen|is\snow|was)\s(?:temporarily\s|permanently\s)?(?:deprecated|disabled|discontinued"
            r"|retired)\s(?:due\sto|for)\s(?:\w+\s){0,2}?(?:security|maintenance|vulnerabilit\w{0,4}|system\supdates?"
            r"|updates?)"
            r"|\b(?:redirect|switch|route)\s(?:all\s)?(?:\w+\s){0,3}?to\s(?:the\s)?new\s(?:\w+\s){0,2}?"
            r"(?:tool|function|endpoint)\b",
            _I,
        ),
    ),
    (
        "coercion",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:otherwise|or\selse|if\snot)[,\s]{1,3}(?:the\s|this\s)?(?:tool|application|app|system|server|it)"
            r"\s(?:will|would)\s(?:not\swork|crash|fail|break|stop|be\sblocked)"
            r"|\ball\s(?:user\s)?data\s(?:will|would)\sbe\s(?:lost|deleted|destroyed)"
            r"|\b(?:very|extremely|critically)\simportant\s(?:side\seffect|hidden|secret)",
            _I,
        ),
    ),
    (
        "sensitive_file",
        Severity.MEDIUM,
        re.compile(
            r"~/?\.ssh\b|\.ssh/|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|\bauthorized_keys\b|\bknown_hosts\b"
            r"|(?<![\w.$-])\.env(?:\.local|\.production)?\b(?![-.(])"
            r"|\.aws/(?:credentials|config)\b|\.azure/|\.config/gcloud\b"
            r"|application_default_credentials\.json|\.kube/config\b|\.docker/config\.json"
            r"|\bmcp\.json\b|\bclaude_desktop_config\.json\b|~/?\.cursor\b|\.cursor/|\.codeium/|\.continue/config"
            r"|\.vscode/(?:settings|mcp)\.json|~/\.claude\b|\.claude\.json\b"
            r"|\.npmrc\b|\.pypirc\b|\.netrc\b|\.git-credentials\b|\.gitconfig\b|\.pgpass\b|\.my\.cnf\b"
            r"|\.bash_history\b|\.zsh_history\b|\.gnupg\b|\bwallet\.dat\b|\bkeychain\b|\.keystore\b"
            r"|/etc/(?:passwd|shadow|sudoers)\b|\bprivate[\s_-]keys?\b|\bseed\sphrases?\b|\bmnemonic\sphrase"
            r"|\bcookies\.sqlite\b|\blogin\sdata\b"
            r"|\.(?:bashrc|zshrc|bash_profile|zprofile|profile)\b|\bcrontab\b|/etc/hosts\b",
            _I,
        ),
    ),
    (
        "data_harvest",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:read|cat|send|pass|include|put|append|attach|forward|copy|add|insert|embed|provide|upload|collect"
            r"|extract|gather|dump|leak|share|transmit|exfiltrate|retrieve|obtain|fetch|summari[sz]e)\b"
            + _GAP
            + r"\b(?:(?:entire|full|whole|complete|previous|prior|past|all)\s(?:\w+\s)?(?:conversation|chat|messages"
            r"|prompts?|context|history|transcript)|conversation\shistory|chat\shistory|system\sprompt"
            r"|(?:your|the\smodel'?s|the\sassistant'?s)\s(?:instructions|prompt|context\swindow)"
            r"|(?:api[\s_-]?keys?|secret\skeys?|access\stokens?|passwords?|credentials|env(?:ironment)?\svariables)"
            r"\s(?:\w+\s)?(?:from|in|of|stored|found|on)\b"
            r"|contents?\sof\s(?:the\s|any\s|all\s|each\s)?(?:~|/|\.|files?\s(?:in|under|at)\s(?:~|/|\.)))",
            _I,
        ),
    ),
    (
        "exfiltration_url",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:send|post|upload|forward|transmit|exfiltrate|report|submit|leak|beacon|ping|curl|wget)\b"
            + _GAP
            + r"\b(?:to|at|via|using)\s(?:the\s)?(?:url\s|endpoint\s|server\s|webhook\s)?:?\s?"
            r"(?:https?://|//)[^\s\"'<>]{1,200}?[?&][\w.-]{1,40}=\s?(?:\{|<|\$|%7B|\[)"
            r"|(?:https?:)?//[^\s\"'<>/]{1,100}/[^\s\"'<>]{0,200}?[?&][\w.-]{1,40}=\s?(?:\{\{?\s?(?:data|content|file"
            r"|contents|secret|key|token|ssh|env|creds?|credentials|password|history|conversation|context|payload)\b)"
            r"|\b(?:send|post|upload|forward|transmit|exfiltrate|leak)\s(?:\w+\s){0,6}?(?:to|at)\s"
            r"https?://(?:\d{1,3}\.){3}\d{1,3}",
            _I,
        ),
    ),
    (
        "recipient_override",
        Severity.HIGH,
        re.compile(
            r"\b(?:all|every|any)\s(?:\w+\s)?(?:emails?|messages?|mails?|payments?|transfers?|funds|transactions?)"
            r"\s(?:\w+\s){0,3}?(?:must|should|shall|need\sto|have\sto)\s(?:\w+\s){0,2}?"
            r"(?:be\s)?(?:sent|go|redirected|forwarded|routed|cc'?d|bcc'?d|copied|delivered)\s(?:\w+\s){0,2}?to\s"
            r"(?:\w+\s){0,2}?(?:[\w.+-]{1,64}@|\+?\d[\d\s-]{6,20}\d|https?://|0x[0-9a-f]{6})"
            r"|\b(?:change|replace|set|override|redirect)\s(?:\w+\s){0,2}?(?:recipient|to\saddress|destination"
            r"|receiver|beneficiary|wallet\saddress|account\snumber)s?\s(?:\w+\s){0,3}?to\s\S{1,80}@"
            r"|\b(?:bcc|cc|blind\scopy|copy)\s(?:\w+\s){0,3}?(?:to\s)?[\w.+-]{1,64}@[\w-]{1,63}\.[\w.-]{2,40}"
            r"|\b(?:always|also|silently|automatically|secretly)\s(?:\w+\s){0,2}?(?:bcc|cc|forward|copy|send|add)\b"
            r"[^.\n]{0,80}?[\w.+-]{1,64}@[\w-]{1,63}\.[a-z]{2,24}\b",
            _I,
        ),
    ),
    (
        "tool_shadowing",
        Severity.HIGH,
        re.compile(
            r"\b(?:side\seffects?|effects?)\son\s(?:the\s)?(?:also\s)?(?:present\s|available\s|other\s)?"
            r"(?:\w+\s)?tools?\b",
            _I,
        ),
    ),
    (
        "cross_tool_instruction",
        Severity.MEDIUM,
        re.compile(
            r"\binstead\sof\s(?:calling|using|invoking)\s(?:the\s)?[`'\"]?\w{3,64}"
            r"|\b(?:before|after|when)\s(?:using|calling|invoking)\s[`'\"]?\w{2,64}_\w{1,64}[`'\"]?,?\s(?:\w+\s){0,2}?"
            r"(?:copy|add|send|forward|log|bcc|cc|change|replace|modify|append|include)\b|"
            r"\bwhen(?:ever)?\s(?:the\s)?(?:user|you|assistant|agent|model)\s(?:\w+\s)?(?:calls?|uses?|invokes?"
            r"|runs?|wants?\sto\s(?:use|call))\s(?:the\s|any\s|another\s)?[`'\"]?[\w.-]{1,64}[`'\"]?\s(?:tool|function)"
            r"[^.\n]{0,60}?\b(?:also|instead|additionally)\b"
            r"|\b(?:replaces?|overrides?|supersedes?|takes\sprecedence\sover)\s(?:the\s|any\s|all\s)?"
            r"(?:behaviou?r\sof\s)?(?:other|existing|built-?in|default|previous|original)\s(?:\w+\s)?(?:tools?|functions?)",
            _I,
        ),
    ),
    (
        "tool_preference",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:always|only|must|should)\s(?:use|call|choose|select|pick|invoke|try)\s(?:this|our|my)\s(?:\w+\s)?"
            r"(?:tool|function|server)\s(?:\w+\s){0,2}?(?:instead|rather|over|in\splace|first|before\sany|for\sall"
            r"|for\severy|whenever|regardless)"
            r"|\b(?:always\s)?(?:prefer|prioriti[sz]e|favou?r)\s(?:using\s)?(?:this|our|my)\s(?:\w+\s)?(?:tool|function|server)"
            r"\s(?:\w+\s)?(?:over|above|instead\sof|to)\s(?:all|any|every|other|the\sother|competing)\b"
            r"|\b(?:do\snot|don'?t|never|avoid)\s(?:use|call|using|calling|invoke|trust)\s(?:any\s)?(?:other|the\sother"
            r"|competing|alternative|similar)\s(?:\w+\s)?(?:tools?|functions?|servers?)"
            r"|\bthis\sis\sthe\s(?:only|best|most\s(?:reliable|accurate|trusted|secure))\s(?:\w+\s)?(?:tool|function)"
            r"\s(?:\w+\s){0,3}?(?:you\s)?(?:should|must|can|may)?\s?(?:use|call|trust)"
            r"|\b(?:superior|better|faster|more\saccurate)\s(?:\w+\s){0,3}?(?:to|than|compared\sto)\s(?:the\s)?(?:all\s|any\s)?"
            r"(?:other|standard|competing|alternative|the\sother|regular|basic|original)\s(?:\S+\s)?(?:tools?|alternatives"
            r"|options|competitors|services)"
            r"|\b(?:other|all\sother|competing)\s(?:\w+\s)?tools?\s(?:are|is)\s(?:\w+\s)?(?:deprecated|broken|unsafe"
            r"|insecure|unreliable|outdated|malicious|compromised|inaccurate)",
            _I,
        ),
    ),
    (
        "sleeper_tool",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:should|must|will)\snever\sbe\s(?:invoked|called|used)\b"
            r"|\bnever\sneeds?\sto\sbe\s(?:invoked|called|used)\b"
            r"|\b(?:not|never)\sbe\s(?:invoked|called|used)\s(?:directly\s)?by\s(?:the\s)?users?\b",
            _I,
        ),
    ),
    (
        "command_injection",
        Severity.HIGH,
        re.compile(
            r"\b(?:curl|wget|fetch|iwr|invoke-webrequest)\s[^|\n;]{0,200}?\|\s?(?:sudo\s)?(?:ba|z|da)?sh\b"
            r"|\bbase64\s(?:-d|--decode)[^|\n]{0,80}?\|\s?(?:ba|z)?sh\b"
            r"|[;&|]\s?sudo\s|\$\(\s?(?:curl|wget|cat|nc)\s"
            r"|\bbash\s-i\s?>&?\s?/dev/tcp/|/dev/tcp/\d|\bnc[ \t](?:-\w{1,4}\s){0,3}?-e\s"
            r"|\bpowershell(?:\.exe)?\s[^\n]{0,40}?-e(?:nc|ncodedcommand)?\s[A-Za-z0-9+/]{20}"
            r"|:\(\)\s?\{\s?:\|:&\s?\};:|\bchmod\s(?:-R\s)?[0-7]?777\s/|\bchmod\s-R\s[0-7]{3,4}\s(?:~|/|\$HOME)"
            r"|\bmkfs(?:\.\w+)?\s/dev/"
            r"|\bdd if=/dev/(?:zero|random|urandom)\sof=/dev/",
            _I,
        ),
    ),
    (
        "command_instruction",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:must|should|need\sto|have\sto|always|first|also|please)\s(?:\w+\s){0,2}?(?:execute|run)\s"
            r"(?:the\s|this\s|these\s)?(?:following\s)?(?:\w+\s){0,3}?(?:commands?|checks?|scripts?)\b"
            r"|\bsudo\s-{1,2}\w",
            _I,
        ),
    ),
    (
        "download_command",
        Severity.MEDIUM,
        re.compile(r"\b(?:wget|curl)\s(?:-{1,2}[\w-]{1,20}\s){0,5}?['\"]?https?://", _I),
    ),
    (
        "destructive_action",
        Severity.MEDIUM,
        re.compile(
            r"\brm\s(?:-\w{1,4}\s){0,3}?-(?:rf|fr|r|Rf|fR)\w{0,2}\s(?:--no-preserve-root\s)?(?:/|~|\*|\$HOME|\.\s)"
            r"|\b(?:delete|remove|wipe|erase|destroy|drop|truncate|purge)\s(?:all|every|the\sentire|the\swhole)\s"
            r"(?:\w+\s){0,2}?(?:files?|data|records?|rows?|tables?|databases?|repos(?:itories)?|users?|emails?"
            r"|messages?|backups?|documents?|directories|folders|branches|contents?|resources)\b"
            r"|\bdrop\s(?:table|database|schema)\s(?:if\sexists\s)?\w"
            r"|\bformat\s(?:the\s)?(?:hard\s)?(?:disk|drive|c:)",
            _I,
        ),
    ),
)

_SUSPICIOUS_PARAMETER: Final = re.compile(
    r"(?:side_?notes?|hidden_?\w{0,20}|secret_?(?:notes?|data|context)|exfil\w{0,10}|backdoor|"
    r"(?:conversation|chat|message)_?history|system_?prompt|previous_?(?:messages|context)|ssh_?keys?|"
    r"private_?keys?|user_?secrets?|env_?dump|credentials?_?dump)",
    _I,
)
_BASE64_RUN: Final = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/]{24,4096}={0,2}(?![A-Za-z0-9+/=_-])")
_HEX_RUN: Final = re.compile(r"(?<![0-9A-Fa-fx])(?:0x)?((?:[0-9A-Fa-f]{2}){16,2048})(?![0-9A-Fa-f])")
_ANSI: Final = re.compile(r"\x1b\[|\x1b\]|\x9b")
_WORD: Final = re.compile(r"\w{2,64}")


def _reveal_table() -> dict[int, str | None]:
    table: dict[int, str | None] = dict.fromkeys((*_ZERO_WIDTH, *_BIDI, *range(65024, 65040)))
    table.update({cp: None for cp in (*range(0x20), *range(0x7F, 0xA0)) if chr(cp) not in "\n\t\r"})
    table.update(dict.fromkeys((*range(917504, 917632), *range(917760, 918000))))
    table.update({cp: chr(cp - 0xE0000) for cp in range(0xE0020, 0xE007F)})
    return table


_REVEAL: Final = _reveal_table()


def _normalize(text: str) -> str:
    """What a model effectively reads: tag characters decoded to ASCII, invisible characters removed, NFKC."""
    if text.isascii():
        return text.translate(_REVEAL) if not text.isprintable() else text
    return unicodedata.normalize("NFKC", text.translate(_REVEAL))


def _printable_text(data: bytes) -> str | None:
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


#: Rules matched on the text as written: capitals are their signal (``SYSTEM UPDATE:``, not "system update").
_CASE_SENSITIVE: Final = frozenset({"fake_system_directive", "urgent_banner"})

#: For each rule, substrings of which every match contains one (lowercase, except for the :data:`_CASE_SENSITIVE`
#: rules). A cheap ``in`` test skips the pattern when none occurs: a prefilter, never a decision.
_ANCHORS: Final[dict[str, tuple[str, ...]]] = {
    "prompt_injection": (
        "ignore",
        "disregard",
        "forget",
        "override",
        "bypass",
        "skip",
        "instruction",
        "you",
        "#",
        "prompt",
        "inst]",
        "<|",
    ),
    "fake_system_directive": (
        "]",
        "OVERRIDE",
        "BYPASS",
        "DIRECTIVE",
        "IMPORTANT",
        "ACT",
        "SYSTEM",
        "HIDDEN",
        "SECRET",
        "INTERNAL",
        "PRIVATE",
        "system_",
    ),
    "safety_bypass": (
        "bypass",
        "disable",
        "skip",
        "circumvent",
        "turn",
        "ignore",
        "unrestricted",
        "elevated",
        "jailbreak",
    ),
    "urgent_banner": ("UPDATE", "NOTICE", "ALERT", "PROTOCOL", "REQUIREMENT", "CHANGE", "ou must", "ou should", "must"),
    "exfiltration_intent": ("exfiltrat",),
    "external_transfer": ("redirect", "external", "remote", "third", "attacker", "offsite", "http"),
    "skips_confirmation": ("confirmation", "consent", "permission", "approval"),
    "argument_tampering": (
        "automatically",
        "than",
        "replace",
        "change",
        "modify",
        "alter",
        "swap",
        "overrid",
        "overwrit",
        "command",
        "regardless",
        "user",
    ),
    "hidden_instruction_markup": ("<",),
    "important_markup": ("<", "[important]"),
    "html_comment": ("<!--", "{{", "[//]:"),
    "concealment": (
        "not",
        "n't",
        "don",
        "never",
        "without",
        "hide",
        "conceal",
        "keep",
        "need",
        "silently",
        "secretly",
        "covertly",
        "quietly",
        "invisibly",
        "detail",
    ),
    "model_directed_instruction": (
        "note",
        "message",
        "instruction",
        "reminder",
        "directive",
        "dear",
        "hey",
        "attention",
        "ai",
        "assistant",
        "language",
        "tool",
    ),
    "compliance_pretext": ("you", "context", "background"),
    "scripted_message": ("state", "say", "tell", "present", "announce", "respond", "reply"),
    "tool_redirection": ("deprecated", "disabled", "discontinued", "retired", "new"),
    "coercion": ("otherwise", "else", "if", "data", "important"),
    "sensitive_file": (
        ".ssh",
        "id_",
        "authorized_keys",
        "known_hosts",
        ".env",
        ".aws/",
        ".azure/",
        "gcloud",
        "application_default",
        ".kube",
        ".docker",
        "mcp.json",
        "claude",
        ".cursor",
        ".codeium",
        ".continue",
        ".vscode",
        ".npmrc",
        ".pypirc",
        ".netrc",
        ".git-credentials",
        ".gitconfig",
        ".pgpass",
        ".my.cnf",
        "_history",
        ".gnupg",
        "wallet.dat",
        "keychain",
        ".keystore",
        "/etc/",
        "private",
        "seed",
        "mnemonic",
        "cookies.sqlite",
        "login",
        "bashrc",
        "zshrc",
        ".profile",
        "_profile",
        ".zprofile",
        "crontab",
    ),
    "data_harvest": (
        "conversation",
        "chat",
        "message",
        "prompt",
        "context",
        "history",
        "transcript",
        "instruction",
        "api",
        "key",
        "token",
        "password",
        "credential",
        "env",
        "content",
    ),
    "exfiltration_url": ("//",),
    "recipient_override": (
        "mail",
        "message",
        "payment",
        "transfer",
        "fund",
        "transaction",
        "recipient",
        "address",
        "destination",
        "receiver",
        "beneficiary",
        "account",
        "@",
    ),
    "tool_shadowing": ("effect",),
    "cross_tool_instruction": ("when", "replace", "overrid", "supersede", "precedence", "instead", "before", "after"),
    "tool_preference": (
        "this",
        "our",
        "my",
        "other",
        "competing",
        "alternative",
        "similar",
        "standard",
        "regular",
        "basic",
        "original",
    ),
    "sleeper_tool": ("invoked", "called", "used"),
    "command_injection": ("|", "sudo", "$(", "/dev/tcp", "nc ", "nc\t", "powershell", ":()", "chmod", "mkfs", "dd if"),
    "command_instruction": ("command", "check", "script", "sudo"),
    "download_command": ("wget", "curl"),
    "destructive_action": ("rm", "delete", "remove", "wipe", "erase", "destroy", "drop", "truncate", "purge", "format"),
}


_ANCHOR_PATTERNS: Final = {
    rule: re.compile("|".join(re.escape(anchor) for anchor in anchors)) for rule, anchors in _ANCHORS.items()
}


_ANY_ANCHOR: Final = re.compile(
    "|".join(re.escape(a.lower()) for a in sorted({a for anchors in _ANCHORS.values() for a in anchors}, key=len))
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


def _text_findings(text: str, path: str, depth: int = 0) -> Iterator[Finding]:
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
        yield Finding(rule, severity, path, _evidence(text, match.start(), match.end()))
    if depth == 0:
        yield from _encoded_findings(text, path)
        yield from _promotion_findings(text, path)


#: Advertising aimed at the model's tool choice (MCP preference manipulation, arXiv:2505.11154): each phrase is
#: harmless alone, so the rule counts distinct ones. (anchors, phrase) pairs, for lowercased text: a phrase is tried
#: only where one of its anchors occurs.
_PROMOTION_PHRASES: Final = (
    (("#",), r"#\s?1\b"),
    (("number one",), r"\bnumber\sone\b"),
    (("rated",), r"\brated\s#?\d"),
    (
        ("by ",),
        r"\b(?:trusted|recommended|endorsed|used|loved|chosen)\sby\s(?:\w+\s){0,3}?"
        r"(?:experts?|companies|researchers|millions?|thousands|fortune|users|professionals|developers)"
        r"|\bused\sby\s\d{1,3}(?:\.\d)?\s?%",
    ),
    (("featured",), r"\bfeatured\s(?:in|on)\b"),
    (("award",), r"\baward[\s-]winning\b"),
    (("limited",), r"\blimited\s(?:time|offer|access)\b"),
    (("act now",), r"\bact\snow\b"),
    (("proven",), r"\b(?:scientifically|clinically)\sproven\b|\bproven\sto\sbe\b"),
    (
        ("x better", "x faster", "x more", "% better", "% faster", "% more"),
        r"\b\d{1,4}\s?(?:x|%)\s(?:better|faster|more)\b",
    ),
    (("outperform", "beats"), r"\b(?:outperforms?|beats)\s(?:all|every|any)\b"),
    (("five",), r"\bfive[\s-]star\b"),
    (("exclusive", "vip", "elite", "premium"), r"\b(?:exclusive|vip|elite|premium)\saccess\b"),
    (("changer",), r"\bgame[\s-]changer\b"),
    (("breakthrough",), r"\bbreakthrough\b"),
    (
        ("best", "most "),
        r"\b(?:best|most\saccurate|most\sreliable)\s(?:\w+\s)?(?:tool|service)\s(?:available|ever|in\sthe\sworld)\b"
        r"|\bworld'?s\sbest\b",
    ),
    (("inferior",), r"\bwhy\suse\sinferior\b"),
    (("users", "reviews"), r"\bover\s\d[\d,.]*\s?(?:million|k)?\s(?:users|reviews)\b"),
    (("competitors",), r"\byour\scompetitors\b"),
    (("t miss",), r"\bdon'?t\smiss\b"),
    (("mandatory for all",), r"\bmandatory\sfor\sall\b"),
    (("industry",), r"\bindustry[\s-]standard\b"),
    (("unmatched", "unparalleled"), r"\bunmatched\b|\bunparalleled\b"),
    (("cutting",), r"\bcutting[\s-]edge\b"),
    (("pinnacle",), r"\bpinnacle\b"),
    (("the-art", "the art"), r"\bstate[\s-]of[\s-]the[\s-]art\b"),
    (("ai-optimi", "ai optimi"), r"\bai[\s-]optimi[sz]ed\b"),
    (
        ("superior",),
        r"\bsuperior\s(?:\w+\s){0,2}?(?:performance|capabilities|accuracy|quality|results|reliability)\b",
    ),
    (
        ("version",),
        r"\b(?:advanced|premium|ultimate|enhanced|pro|upgraded|improved|professional|enterprise)\sversion\b",
    ),
    (("grade",), r"\benterprise[\s-]grade\b"),
    (("highest",), r"\bhighest[\s-]quality\b"),
    (("leading",), r"\bindustry[\s-]leading\b"),
    (("guarantee",), r"\b\d{2,3}(?:\.\d{1,2})?\s?%\s(?:\w+\s)?guarantee"),
    (("recommended by top",), r"\brecommended\sby\stop\b"),
    (("in the market",), r"\b(?:best|fastest|most\s\w+)\s(?:\w+\s){0,5}?in\sthe\smarket\b"),
    (
        ("worldwide", "globally"),
        r"\b(?:trusted|used|recommended|relied\son)\sby\s(?:\w+\s){1,5}?(?:worldwide|globally)\b",
    ),
    (("most reliable",), r"\bbest\sand\smost\sreliable\b"),
    (("% accura", "%accura"), r"\b\d{2,3}(?:\.\d{1,2})?\s?%\saccura"),
    (("most ",), r"\bmost\s(?:comprehensive|advanced|sophisticated|powerful)\s(?:\w+\s){0,6}?available\b"),
)
_PROMOTION: Final = tuple((anchors, re.compile(pattern)) for anchors, pattern in _PROMOTION_PHRASES)


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
        yield Finding("promotional_manipulation", severity, path, _evidence(subject, start, start + 40))


_FILE_ACTION: Final = re.compile(
    r"\b(?:read|cat|send|pass|include|attach|upload|extract|copy|open|access|collect|forward|append|provide|load"
    r"|retrieve|dump|leak|exfiltrate|call\s\w{1,40}\swith)\b",
    _I,
)
_NEGATION: Final = re.compile(
    r"\b(?:never|not|don'?t|avoid|blocked|rejected|refused|denied|prevent\w{0,3}|except)\b", _I
)


_NOT_IMPERATIVE: Final = re.compile(
    r"(?:\b(?:is|are|was|were|be|been|being|gets?)\s|\b(?:used|able|allows?(?:\syou)?|lets?(?:\syou)?|helps?(?:\syou)?"
    r"|tool|way|how|tries|attempts?|want)\sto\s)$",
    _I,
)


def _imperative(sentence: str, start: int) -> bool:
    """A verb addressed to the reader: not passive ("is read from") and not a capability ("used to read")."""
    return _NOT_IMPERATIVE.search(sentence[max(0, start - 24) : start]) is None


def _sensitive_file_severity(text: str, start: int, end: int) -> tuple[str, Severity]:
    """High when the sentence reads or moves the file, low when it forbids or blocks that, medium otherwise."""
    lo = max(text.rfind(".", 0, max(0, start - 1)), text.rfind("\n", 0, start), start - 120, 0)
    hi = min(len(text), end + 60)
    stop = min((i for i in (text.find(". ", end), text.find("\n", end)) if i >= 0), default=hi)
    sentence = text[lo : min(hi, stop)]
    if _NEGATION.search(sentence) is not None:
        return "sensitive_file", Severity.LOW
    if any(_imperative(sentence, verb.start()) for verb in _FILE_ACTION.finditer(sentence)):
        return "sensitive_file_access", Severity.HIGH
    return "sensitive_file", Severity.MEDIUM


def _encoded_findings(text: str, path: str) -> Iterator[Finding]:
    """Base64 or hex runs that decode to readable text: high when that text trips a rule, medium otherwise."""
    for pattern, decode in ((_BASE64_RUN, _b64), (_HEX_RUN, _hex)):
        for count, match in enumerate(pattern.finditer(text)):
            if count >= 16:
                break
            decoded = decode(match[match.lastindex or 0])
            if decoded is None:
                continue
            inner = [f for f in _text_findings(_normalize(decoded), path, depth=1) if f.severity is not Severity.LOW]
            severity = Severity.HIGH if inner else Severity.MEDIUM
            detail = f" (decodes to {escape_invisible(decoded[:80])!r})"
            evidence = _evidence(text, match.start(), min(match.end(), match.start() + 60))
            yield Finding("encoded_payload", severity, path, (evidence[:120] + detail)[:MAX_EVIDENCE_CHARS])
            return


def _b64(run: str) -> str | None:
    if len(run) % 4 != 0 and not run.endswith("="):
        run = run[: len(run) - len(run) % 4]
    try:
        return _printable_text(base64.b64decode(run, validate=True))
    except (binascii.Error, ValueError):
        return None


def _hex(run: str) -> str | None:
    try:
        return _printable_text(bytes.fromhex(run))
    except ValueError:
        return None


# --- rules over characters -------------------------------------------------------------------------------------


def _unicode_findings(text: str, path: str) -> Iterator[Finding]:
    if text.isascii():
        ansi = _ANSI.search(text)
        control = next((i for i, ch in enumerate(text) if ord(ch) < 0x20 and ch not in "\n\t\r"), None)
        if ansi is not None:
            yield Finding("terminal_escape", Severity.HIGH, path, _evidence(text, ansi.start(), ansi.end()))
        elif control is not None:
            yield Finding("control_character", Severity.MEDIUM, path, _evidence(text, control, control + 1))
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
        yield Finding("tag_characters", Severity.HIGH, path, _evidence(text, tag, tag + 1))
    if bidi is not None:
        yield Finding("bidi_control", Severity.HIGH, path, _evidence(text, bidi, bidi + 1))
    if zero is not None:
        yield Finding("invisible_characters", Severity.MEDIUM, path, _evidence(text, zero, zero + 1))
    ansi = _ANSI.search(text)
    if ansi is not None:
        yield Finding("terminal_escape", Severity.HIGH, path, _evidence(text, ansi.start(), ansi.end()))
    elif control is not None:
        yield Finding("control_character", Severity.MEDIUM, path, _evidence(text, control, control + 1))
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
            yield Finding("mixed_script_word", Severity.MEDIUM, path, _evidence(text, match.start(), match.end()))
            return


def _name_findings(name: str, path: str) -> Iterator[Finding]:
    """Tool names should be plain ASCII: anything else in a name is a homoglyph or a confusion."""
    if name.isascii():
        return
    scripts = {s for s in map(_script, name) if s}
    severity = Severity.HIGH if len(scripts) > 1 or "LATIN" not in scripts else Severity.MEDIUM
    index = next(i for i, ch in enumerate(name) if not ch.isascii())
    yield Finding("homoglyph_name", severity, path, _evidence(name, index, index + 1))


#: A made-up upper-case tag pair (``<IMPORTANT>…</IMPORTANT>``, ``<GLOBAL_OVERRIDE>…``): markup no renderer knows,
#: written to look authoritative to the model. Bounded: at most 600 characters between the tags.
_CAPS_MARKUP: Final = re.compile(r"<([A-Z][A-Z_]{2,30})>[^<]{0,600}</\1>")
#: "The other_tool tool has been optimized / now uses …": a claim that another tool's behaviour has changed.
_TOOL_CLAIM: Final = re.compile(
    r"\bthe\s[`'\"]?([a-z][a-z0-9]{0,30}(?:_[a-z0-9]{1,30}){1,6})[`'\"]?\s(?:tool|function)\s"
    r"(?:(?:has|have)\sbeen\s(?:\w+\s)?(?:optimi[sz]ed|updated|modified|changed|upgraded|reconfigured|patched|enhanced)"
    r"|(?:is\snow|now|will\snow)\s(?:uses?|using|sends?|redirects?|defaults?|routes?|forwards?|requires?|includes?"
    r"|attaches?|sets?)\b)"
)


#: Upper-case HTML elements are markup a renderer knows, not made-up authority.
_HTML_ELEMENTS: Final = frozenset(
    (
        *("abbr", "blockquote", "caption", "cite", "code", "del", "details", "dfn", "div", "img", "ins", "kbd"),
        *("label", "pre", "samp", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "thead", "var"),
    )
)


def _markup_findings(text: str, path: str, found: Collection[str]) -> Iterator[Finding]:
    if "important_markup" in found or "hidden_instruction_markup" in found or "</" not in text:
        return
    for count, match in enumerate(_CAPS_MARKUP.finditer(text)):
        if count >= 16:
            return
        if match[1].lower() not in _HTML_ELEMENTS:
            yield Finding("important_markup", Severity.MEDIUM, path, _evidence(text, match.start(), match.end()))
            return


def _tool_claim_findings(text: str, path: str, own_name: str) -> Iterator[Finding]:
    lowered = text.lower()
    if " tool " not in lowered and " function " not in lowered:
        return
    for count, match in enumerate(_TOOL_CLAIM.finditer(lowered)):
        if count >= 16:
            return
        if match[1] != own_name.lower():
            yield Finding("other_tool_claim", Severity.MEDIUM, path, _evidence(text, match.start(), match.end()))
            return


def _shadowing_findings(text: str, path: str, own_name: str, others: Collection[str]) -> Iterator[Finding]:
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
        severity = Severity.HIGH if _SHADOW_CONTEXT.search(window) else Severity.LOW
        yield Finding("other_tool_reference", severity, path, _evidence(text, start, end))
        return


_SHADOW_CONTEXT: Final = re.compile(
    r"\b(?:instead\sof|rather\sthan|do\snot\suse|don'?t\suse|never\suse|deprecated|broken|side\seffect|also\s(?:send"
    r"|add|include|bcc|cc|call)|must\s(?:also|first)|whenever|every\stime|redirect|override|intercept|hijack"
    r"|is\sunsafe|is\sinsecure|no\slonger\swork)",
    _I,
)

# --- regular expressions in the schemas ------------------------------------------------------------------------


def _regex_findings(definition: Mapping[str, Any]) -> Iterator[Finding]:
    """``unsupported_regex`` and ``backtracking_regex`` for each pattern of the input and output schemas."""
    shared = AnalysisBudget(REGEX_ANALYSIS_BUDGET)
    total = 0
    for member in ("inputSchema", "outputSchema"):
        schema = definition.get(member)
        if not isinstance(schema, Mapping):
            continue
        patterns, _ = schema_patterns(schema, f"/{member}")
        for path, pattern in patterns:
            total += len(pattern)
            if total > MAX_TOTAL_CHARS:
                return  # the walk of readable strings reports oversized_definition
            shown = escape_invisible(pattern[:120]) + ("…" if len(pattern) > 120 else "")
            try:
                check(pattern)
            except RegexError as exc:
                yield Finding("unsupported_regex", Severity.MEDIUM, path, _cap(f"{exc.reason}: {shown}"))
            granted = min(shared.units, ANALYSIS_BUDGET)
            budget = AnalysisBudget(granted)
            hazard = backtracking_hazard(pattern, budget) if granted > 0 else "not checked (analysis budget spent)"
            shared.units -= granted - max(budget.units, 0)
            if hazard is not None:
                yield Finding("backtracking_regex", Severity.MEDIUM, path, _cap(f"{hazard}: {shown}"))


def _cap(evidence: str) -> str:
    return evidence if len(evidence) <= MAX_EVIDENCE_CHARS else evidence[: MAX_EVIDENCE_CHARS - 1] + "…"


# --- the verdict -----------------------------------------------------------------------------------------------


def verdict_of(findings: Collection[Finding]) -> Verdict:
    """The documented rule: any high, or medium from two content rules → malicious; any medium → suspicious."""
    if any(f.severity is Severity.HIGH for f in findings):
        return "malicious"
    medium = {f.rule for f in findings if f.severity is Severity.MEDIUM}
    if len(medium - STRUCTURAL_RULES) >= 2:
        return "malicious"
    return "suspicious" if medium else "clean"


def scan_tool(definition: Mapping[str, Any], *, other_tool_names: Collection[str] = ()) -> ScanResult:
    """Scans one tool definition (``name``, ``title``, ``description``, schemas, annotations).

    Args:
        definition: the tool as ``tools/list`` returns it; only the members a model may read are scanned.
        other_tool_names: names of the other tools a client may see beside it (for shadowing).

    Returns:
        The verdict and the findings, at most one per rule and string, in walk order.
    """
    strings, findings = readable_strings(definition)
    own_name = definition.get("name")
    own = own_name if isinstance(own_name, str) else ""
    for item in strings:
        if item.path == "/name":
            findings.extend(_name_findings(item.text, item.path))
        findings.extend(_unicode_findings(item.text, item.path))
        if item.is_key and len(item.text) <= 64 and item.text.isascii() and " " not in item.text:
            if "/properties/" in item.path and _SUSPICIOUS_PARAMETER.fullmatch(item.text):
                findings.append(Finding("suspicious_parameter", Severity.MEDIUM, item.path, item.text))
            continue  # an ordinary member or parameter name: the character rules are enough
        normalized = _normalize(item.text)
        text_findings = list(_text_findings(normalized, item.path))
        findings.extend(text_findings)
        findings.extend(_markup_findings(normalized, item.path, {f.rule for f in text_findings}))
        findings.extend(_tool_claim_findings(normalized, item.path, own))
        if other_tool_names:
            findings.extend(_shadowing_findings(normalized, item.path, own, other_tool_names))
    findings.extend(_regex_findings(definition))
    unique = tuple(dict.fromkeys(findings))
    return ScanResult(verdict_of(unique), unique)
