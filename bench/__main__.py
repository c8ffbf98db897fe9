"""``make bench``: every benchmark, each reported as a ratio against a baseline measured in the same run."""

from __future__ import annotations

import platform
import time

from bench import cold_start, pipeline, plane_cpu, scanner_quality, warm_call


def main() -> None:
    print(f"MCP Steward benchmarks — Python {platform.python_version()} on {platform.machine()}, {time.ctime()}")
    print("(ratios are the figures to compare: absolute times depend on this machine and its load)\n")
    for module in (cold_start, warm_call, pipeline, plane_cpu, scanner_quality):
        started = time.perf_counter()
        for line in module.run():
            print(line, flush=True)
        print(f"  ({time.perf_counter() - started:.0f} s)\n", flush=True)


if __name__ == "__main__":
    main()
