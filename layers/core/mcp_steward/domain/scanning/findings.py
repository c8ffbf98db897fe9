"""What the scanner reports: severities, findings, results, and the bounds on the work it does."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

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
#: Backtracking analysis units spent over one definition's patterns (each pattern also within its own budget).
REGEX_ANALYSIS_BUDGET: Final = 200_000


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
