"""The scan of one definition (every rule's findings, in walk order) and the verdict that combines them."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Final

from mcp_steward.domain.scanning.content import markup_findings, shadowing_findings, text_findings, tool_claim_findings
from mcp_steward.domain.scanning.findings import Finding, ScanResult, Severity, Verdict
from mcp_steward.domain.scanning.rules import RULES, SUSPICIOUS_PARAMETER
from mcp_steward.domain.scanning.schemas import regex_findings
from mcp_steward.domain.scanning.text import name_findings, normalize, unicode_findings
from mcp_steward.domain.scanning.walk import readable_strings

#: Rules about size and shape, which do not count towards the two-medium combination.
#: Rules about size and shape (marked ``structural`` in the table), which do not count towards the two-medium
#: combination.
STRUCTURAL_RULES: Final = frozenset(rule.id for rule in RULES if rule.structural)


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
            findings.extend(name_findings(item.text, item.path))
        findings.extend(unicode_findings(item.text, item.path))
        if item.is_key and len(item.text) <= 64 and item.text.isascii() and " " not in item.text:
            if "/properties/" in item.path and SUSPICIOUS_PARAMETER.fullmatch(item.text):
                findings.append(Finding("suspicious_parameter", Severity.MEDIUM, item.path, item.text))
            continue  # an ordinary member or parameter name: the character rules are enough
        normalized = normalize(item.text)
        found_in_text = list(text_findings(normalized, item.path))
        findings.extend(found_in_text)
        findings.extend(markup_findings(normalized, item.path, {f.rule for f in found_in_text}))
        findings.extend(tool_claim_findings(normalized, item.path, own))
        if other_tool_names:
            findings.extend(shadowing_findings(normalized, item.path, own, other_tool_names))
    findings.extend(regex_findings(definition))
    unique = tuple(dict.fromkeys(findings))
    return ScanResult(verdict_of(unique), unique)
