"""The CLI start-up benchmark's code path with two rounds: every command runs and the report is well formed. No
figure is judged: timings belong to ``make bench``."""

from __future__ import annotations

import os
import re
import subprocess

from bench import cli_startup
from bench.__main__ import BENCHMARKS
from tests.conftest import ROOT

LINE = re.compile(r"^  (?P<name>.+?) vs python -c pass +\d+\.\d{3} ms vs +\d+\.\d{3} ms  = +\d+\.\d{2}x")


def test_each_command_is_compared_with_a_bare_interpreter() -> None:
    lines = cli_startup.run(rounds=2)

    assert lines[0].startswith("CLI start-up (median wall time of 2 rounds")
    names = [m["name"] for line in lines[1:] if (m := LINE.match(line))]
    assert names == ["steward --help", "steward grants add --help", "steward --version", 'python -c "import boto3"']
    assert "target <= " in lines[1]


def test_make_bench_runs_all_or_the_one_named() -> None:
    assert cli_startup in BENCHMARKS

    # Under `make test` this runs inside make: without its variables, the dry run prints no "Entering directory".
    environment = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}

    def command(*extra: str) -> str:
        done = subprocess.run(
            ["make", "--no-print-directory", "-n", "bench", *extra],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip().splitlines()[-1]

    assert command().endswith("/python -m bench")
    assert command("BENCH=cli_startup").endswith("/python -m bench cli_startup")
