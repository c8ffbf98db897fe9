"""Tool-definition scanner: finds poisoning in every string of a tool definition that a model may read.

Pure domain code (standard library only, but for google-re2, imported by :mod:`mcp_steward.domain.schema_regex` on
the first regular expression it compiles). ``scan_tool`` walks the name, title, description, annotations and the
input and output schemas (parameter names, descriptions, defaults, enums, examples, ...), and for prompts, resources
and resource templates their arguments (names, titles, descriptions), URI or URI template and MIME type (one scanner
for every primitive a model reads), and applies hand-written rules for the published tool-poisoning techniques, and
checks the schemas' own regular expressions.

The package is split by concept; this module re-exports its public names:

- :mod:`.findings`: severities, findings, results and the bounds on the work;
- :mod:`.walk`: the strings of a definition a model may read (and the size and nesting findings);
- :mod:`.text`: normalization (as a model reads), the rules over characters, and the evidence quoted;
- :mod:`.rules`: the rules as data, one record per rule (name, severity, scope, explanation and, for a text rule, its
  pattern and anchors) in one table, and the patterns of the rules checked in code;
- :mod:`.content`: the content rules applied to one normalized string;
- :mod:`.schemas`: the rules over the schemas' regular expressions;
- :mod:`.verdict`: ``scan_tool`` (every rule, in walk order) and the verdict that combines the findings.

Work is bounded on attacker-controlled input: at most :data:`MAX_STRING_CHARS` characters of each string and
:data:`MAX_TOTAL_CHARS` in all are examined (more is itself a finding), the walk stops at :data:`MAX_DEPTH` levels and
:data:`MAX_NODES` nodes, and every pattern is a Python ``re`` written to run in linear time: each repetition is
bounded (``{0,60}``), no quantifier is nested inside another unbounded one, and alternations are literal words, so
the work per start position is a constant and a string of n characters costs O(n). Each rule is first prefiltered
by its literal anchors (``anchors`` of its record in :data:`.rules.RULES`), so most strings never reach most patterns.

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
  hostile; also a pattern too complex to check (:data:`..schema_regex.ANALYSIS_BUDGET`, and at most
  :data:`REGEX_ANALYSIS_BUDGET` units over a definition): medium.

The analysis is a linear tokenizer and a bounded automaton walk over the pattern's text
(:func:`..schema_regex.backtracking_hazard`), never a backtracking regex applied to it; patterns are examined up to
:data:`MAX_TOTAL_CHARS` characters in all (more is ``oversized_definition`` already).

Verdict (the exact rule):

- ``malicious`` when any finding is ``high``, or when ``medium`` findings come from at least two different content
  rules (the size, nesting and regular-expression rules do not count towards this combination);
- ``suspicious`` when any finding is ``medium``;
- ``clean`` otherwise (``low`` findings are informational).
"""

from mcp_steward.domain.scanning.findings import (
    MAX_DEPTH,
    MAX_EVIDENCE_CHARS,
    MAX_NODES,
    MAX_OTHER_NAMES,
    MAX_STRING_CHARS,
    MAX_TOTAL_CHARS,
    REGEX_ANALYSIS_BUDGET,
    Finding,
    ScanResult,
    Severity,
    Verdict,
)
from mcp_steward.domain.scanning.text import escape_invisible
from mcp_steward.domain.scanning.verdict import STRUCTURAL_RULES, scan_tool, verdict_of
from mcp_steward.domain.scanning.walk import Readable, pointer_token, readable_strings

__all__ = [
    "MAX_DEPTH",
    "MAX_EVIDENCE_CHARS",
    "MAX_NODES",
    "MAX_OTHER_NAMES",
    "MAX_STRING_CHARS",
    "MAX_TOTAL_CHARS",
    "REGEX_ANALYSIS_BUDGET",
    "STRUCTURAL_RULES",
    "Finding",
    "Readable",
    "ScanResult",
    "Severity",
    "Verdict",
    "escape_invisible",
    "pointer_token",
    "readable_strings",
    "scan_tool",
    "verdict_of",
]
