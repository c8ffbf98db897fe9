"""Where a warm priced ``tools/call`` spends the governance handler's time, stage by stage, in process.

The handler is ``bench.warm_call.governance_handler()`` (Mangum, authorizer identity, in-memory stores, a priced
tool with a team budget, the tool function in process with a JSON round trip, logging and EMF metrics on). The
stages are the real functions the pipeline calls (``services/calls.py``, ``services/tools.py``), timed in place
by wrapping them for the instrumented blocks only:

- (a) argument validation: ``validate_arguments`` with the cached compiled validator, and the validator cache key
  the pipeline derives per call (``_schema_key``: SHA-256 of the tool's canonical definition);
- (b) the decision: ``ToolService.resolve`` (cached registry and grants), ``CallTool._reserve`` (the reserve on
  ``InMemoryBudgetLedger``) and ``CallTool._settle`` (ledger entry, audit record, the settle), metrics excluded;
- (c) serialization: JSON encoding of the response (``http.responses._dump``).

For context also the request's JSON parse, output validation, the in-process invoke and the EMF metrics. Each
figure is the median over calls of the time spent in that stage per call (nested stages counted once, in the
innermost), shown as a share of the un-instrumented handler's median per-call time, measured in blocks
interleaved with the instrumented ones.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, Final

import mcp_steward.http.app as http_app
import mcp_steward.http.responses as http_responses
import mcp_steward.services.calls as calls
from bench.stats import median
from bench.warm_call import Context, check, event, governance_handler
from mcp_steward.adapters.memory import InProcessInvoker
from mcp_steward.observability import MetricsObserver
from mcp_steward.services.tools import ToolService

CALLS: Final = 1_000
BLOCK: Final = 50
WARMUP: Final = 50

VALIDATION = "(a) argument validation: validate_arguments (cached validator)"
SCHEMA_KEY = "(a) argument validation: validator cache key (_schema_key)"
RESOLVE = "(b) decision: resolve tool + grants (cached)"
RESERVE = "(b) decision: reserve (InMemoryBudgetLedger)"
SETTLE = "(b) decision: settle (ledger entry, audit record, settle)"
SERIALIZE = "(c) serialization: JSON encoding of the response"
PARSE = "    request JSON parse (parse_body)"
OUTPUT = "    output validation (validate_output)"
INVOKE = "    invoke (in-process tool, JSON round trip)"
METRICS = "    EMF metrics (MetricsObserver.allowed)"

#: (owner, attribute, stage): where the pipeline looks each function up at call time.
TARGETS: Final[tuple[tuple[type | ModuleType, str, str], ...]] = (
    (http_app, "parse_body", PARSE),
    (calls, "_schema_key", SCHEMA_KEY),
    (calls, "validate_arguments", VALIDATION),
    (calls, "validate_output", OUTPUT),
    (ToolService, "resolve", RESOLVE),
    (calls.CallTool, "_reserve", RESERVE),
    (calls.CallTool, "_settle", SETTLE),
    (MetricsObserver, "allowed", METRICS),
    (InProcessInvoker, "invoke", INVOKE),
    (http_responses, "_dump", SERIALIZE),
)
GROUPS: Final = (
    ("(a) argument validation", (VALIDATION, SCHEMA_KEY)),
    ("(b) decision (resolve + reserve + settle)", (RESOLVE, RESERVE, SETTLE)),
    ("(c) serialization (response JSON)", (SERIALIZE,)),
)


class Stages:
    """Exclusive time per stage for the current call: a nested stage's time is not counted in its parent."""

    def __init__(self) -> None:
        self.current: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._stack: list[float] = [0.0]

    def reset(self) -> None:
        self.current = dict.fromkeys(self.current, 0.0)
        self._stack = [0.0]

    def wrap(self, original: Callable[..., Any], stage: str) -> Callable[..., Any]:
        self.current.setdefault(stage, 0.0)
        self.calls.setdefault(stage, 0)

        def timed(*args: Any, **kwargs: Any) -> Any:
            self._stack.append(0.0)
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                children = self._stack.pop()
                self.current[stage] += elapsed - children
                self.calls[stage] += 1
                self._stack[-1] += elapsed

        return timed

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        originals = [(owner, name, owner.__dict__[name]) for owner, name, _ in TARGETS]
        try:
            for (owner, name, stage), (_, _, original) in zip(TARGETS, originals, strict=True):
                setattr(owner, name, self.wrap(original, stage))
            yield
        finally:
            for owner, name, original in originals:
                setattr(owner, name, original)


def run() -> list[str]:
    devnull = Path(os.devnull).open("w")  # noqa: SIM115 - lives as long as the benchmark
    logging.basicConfig(stream=devnull, level=logging.WARNING, force=True)
    handler, evt = governance_handler(), event("calc__add", authorizer=True)
    stages = Stages()
    plain: list[float] = []
    instrumented: list[float] = []
    per_stage: dict[str, list[float]] = {stage: [] for _, _, stage in TARGETS}
    # EMF metrics are printed per call, as on Lambda: written to /dev/null, not shown.
    with warnings.catch_warnings(), contextlib.redirect_stdout(devnull):
        warnings.simplefilter("ignore")  # powertools warns once that no application metric was added
        for _ in range(WARMUP):
            check("governance", handler(copy.copy(evt), Context()))
        for _ in range(CALLS // BLOCK):
            logging.root.setLevel(logging.WARNING)
            for _ in range(BLOCK):
                request, context = copy.copy(evt), Context()
                started = time.perf_counter()
                response = handler(request, context)
                plain.append((time.perf_counter() - started) * 1000)
                check("governance", response)
            with stages.installed():
                for _ in range(BLOCK):
                    request, context = copy.copy(evt), Context()
                    stages.reset()
                    started = time.perf_counter()
                    response = handler(request, context)
                    instrumented.append((time.perf_counter() - started) * 1000)
                    check("governance", response)
                    for stage, seconds in stages.current.items():
                        per_stage[stage].append(seconds * 1000)
    handler_ms = median(plain)
    calls_per_request = {stage: count / CALLS for stage, count in stages.calls.items()}
    lines = [
        f"pipeline stages of a warm priced tools/call, in process (median of {CALLS} calls, blocks of {BLOCK})",
        f"  governance handler per call (not instrumented)                {handler_ms:8.3f} ms   100.0 %",
        f"  governance handler per call (instrumented, for comparison)    {median(instrumented):8.3f} ms",
        "  stage (median time per call, calls per request, share of the handler's per-call time):",
    ]
    accounted = 0.0
    for _, _, stage in TARGETS:
        value = median(per_stage[stage])
        accounted += value
        times = f"{calls_per_request[stage]:.0f}x"
        lines.append(f"    {stage:<62} {value * 1000:7.1f} us  {times:>3} {100 * value / handler_ms:5.1f} %")
    lines.append("  the three stages asked about:")
    for label, members in GROUPS:
        value = sum(median(per_stage[stage]) for stage in members)
        lines.append(f"    {label:<62} {value * 1000:7.1f} us      {100 * value / handler_ms:5.1f} %")
    rest = handler_ms - accounted
    lines.append(
        f"    {'the rest (Mangum, Starlette, HTTP checks, identity, logging)':<62} "
        f"{rest * 1000:7.1f} us      {100 * rest / handler_ms:5.1f} %"
    )
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
