"""Benchmarks: ``make bench`` (``python -m bench``). Figures are ratios against a baseline of the same run."""
