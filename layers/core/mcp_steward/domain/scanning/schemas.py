"""Rules over the schemas' own regular expressions: ``unsupported_regex`` and ``backtracking_regex``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from mcp_steward.domain.scanning.findings import MAX_TOTAL_CHARS, REGEX_ANALYSIS_BUDGET, Finding, Severity
from mcp_steward.domain.scanning.text import cap_evidence, escape_invisible
from mcp_steward.domain.schema_regex import (
    ANALYSIS_BUDGET,
    AnalysisBudget,
    RegexError,
    backtracking_hazard,
    check,
    schema_patterns,
)


def regex_findings(definition: Mapping[str, Any]) -> Iterator[Finding]:
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
                yield Finding("unsupported_regex", Severity.MEDIUM, path, cap_evidence(f"{exc.reason}: {shown}"))
            granted = min(shared.units, ANALYSIS_BUDGET)
            budget = AnalysisBudget(granted)
            hazard = backtracking_hazard(pattern, budget) if granted > 0 else "not checked (analysis budget spent)"
            shared.units -= granted - max(budget.units, 0)
            if hazard is not None:
                yield Finding("backtracking_regex", Severity.MEDIUM, path, cap_evidence(f"{hazard}: {shown}"))
