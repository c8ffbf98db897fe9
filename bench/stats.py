"""Small statistics helpers for the benchmarks (medians, ratios, formatting)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], q: int) -> float:
    """The ``q``-th percentile (1..99), interpolated between the closest ranks."""
    if len(values) == 1:
        return float(values[0])
    return float(statistics.quantiles(values, n=100, method="inclusive")[q - 1])


def ratio_line(label: str, subject: float, baseline: float, unit: str = "ms", target: float | None = None) -> str:
    ratio = subject / baseline if baseline else float("inf")
    verdict = ""
    if target is not None:
        verdict = f"  target <= {target:g}x: {'met' if ratio <= target else 'NOT met'}"
    return f"  {label:<58} {subject:9.3f} {unit} vs {baseline:9.3f} {unit}  = {ratio:5.2f}x{verdict}"
