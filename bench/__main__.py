"""``make bench``: every benchmark, each reported as a ratio against a baseline measured in the same run.

``python -m bench NAME [NAME ...]`` runs only the named ones (``egress_hop``, ``warm_call``, ...)."""

from __future__ import annotations

import platform
import sys
import time

from bench import cli_startup, cold_start, egress_hop, pipeline, plane_cpu, scanner_quality, warm_call

BENCHMARKS = (cold_start, cli_startup, warm_call, pipeline, plane_cpu, egress_hop, scanner_quality)


def main(argv: list[str] | None = None) -> None:
    names = sys.argv[1:] if argv is None else argv
    known = {module.__name__.removeprefix("bench."): module for module in BENCHMARKS}
    unknown = [name for name in names if name not in known]
    if unknown:
        sys.exit(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(known)}")
    print(f"MCP Steward benchmarks — Python {platform.python_version()} on {platform.machine()}, {time.ctime()}")
    print("(ratios are the figures to compare: absolute times depend on this machine and its load)\n")
    for module in [known[name] for name in names] or BENCHMARKS:
        started = time.perf_counter()
        for line in module.run():
            print(line, flush=True)
        print(f"  ({time.perf_counter() - started:.0f} s)\n", flush=True)


if __name__ == "__main__":
    main()
