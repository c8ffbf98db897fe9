"""CLI start-up (issue 11, item 5): the wall time of ``steward --help``, ``steward grants add --help`` and
``steward --version``, each a fresh process, against a bare interpreter start (``python -c pass``) measured in the
same rounds. Each round runs every command once, in an order rotated from round to round, so that a change in the
machine's load falls on all of them alike; the figures are medians.

None of these imports an AWS SDK (tests/unit/cli/test_cli_main.py checks it); ``python -c "import boto3"`` is shown
for scale: what every command paid before."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Final

from bench.stats import median, ratio_line

ROOT: Final = Path(__file__).resolve().parents[1]
ROUNDS: Final = 15
#: ``steward --help`` against a bare interpreter start.
TARGET: Final = 4.0
BASELINE: Final = "python -c pass"
BOTO3: Final = 'python -c "import boto3"'


def _steward() -> list[str]:
    """The installed console script, as a user runs it; without one, the same entry point through ``-c``."""
    script = Path(sys.executable).parent / "steward"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from mcp_steward.cli.main import main; sys.exit(main())"]


def commands() -> dict[str, list[str]]:
    steward = _steward()
    return {
        BASELINE: [sys.executable, "-c", "pass"],
        "steward --help": [*steward, "--help"],
        "steward grants add --help": [*steward, "grants", "add", "--help"],
        "steward --version": [*steward, "--version"],
        BOTO3: [sys.executable, "-c", "import boto3"],
    }


def _wall_ms(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - started) * 1000


def run(rounds: int = ROUNDS) -> list[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0"}
    runs = commands()
    names = list(runs)
    for argv in runs.values():  # warm the file system cache and the bytecode
        _wall_ms(argv, env)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(rounds):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(_wall_ms(runs[name], env))
    baseline = median(times[BASELINE])
    lines = [f"CLI start-up (median wall time of {rounds} rounds of fresh processes, the order rotated each round)"]
    for name in names[1:]:
        target = TARGET if name == "steward --help" else None
        lines.append(ratio_line(f"{name} vs {BASELINE}", median(times[name]), baseline, target=target))
    return lines
