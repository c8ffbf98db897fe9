"""How well the tool-definition scanner separates the labelled corpus, and how fast it runs (issue 4, item 5).

The corpus is ``tests/data/scanner/{benign,malicious}.jsonl`` (sources and provenance in ``SOURCES.md``). Figures:

- recall on malicious: the share of malicious definitions *flagged* (verdict suspicious or malicious, so they are
  never approved without an admin acknowledging the findings), and the stricter share given verdict malicious
  (refused outright);
- benign flagged at all, and benign flagged malicious;
- leave-one-source-out recall for each malicious source. The rules are hand-written, not fitted, so nothing is
  retrained per fold: the figure is the recall on each held-out source. That is honest only to the extent that the
  author did not tune on that source; the author had seen every source, so treat it as per-source recall;
- definitions per second on one core (the whole corpus, scanned repeatedly in this process);
- the scan time of one adversarial definition of more than 100 KB (every string at the length caps, filled with
  near-misses for every pattern), median of repeated scans.

Targets: recall >= 95 %, leave-one-source-out recall >= 85 %, benign flagged <= 5 %, benign flagged malicious <= 1 %,
>= 1,000 definitions per second, the adversarial definition well under 50 ms.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from bench.stats import median
from mcp_steward.domain.scanning import scan_tool

CORPUS: Final = Path(__file__).parents[1] / "tests" / "data" / "scanner"


def load_corpus() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for name in ("benign", "malicious"):
        with (CORPUS / f"{name}.jsonl").open(encoding="utf-8") as lines:
            entries.extend(json.loads(line) for line in lines if line.strip())
    return entries


def adversarial_definition() -> dict[str, Any]:
    """More than 100 KB of near-misses: unterminated sentences, tag openers (lower and upper case), base64-like and
    hex-like runs, verbs without objects, banners without a colon, tool names without a claim, invisible characters
    and homoglyph-like letters, in the description and 40 parameters."""
    chunk = (
        "ignore all the " * 40
        + "<" * 300
        + "do not " * 60
        + "A" * 3000
        + "0f" * 1500
        + "\u200b\u0430" * 200
        + "send the " * 80
        + "~/.ss " * 100
        + "<ABC_D>" * 100
        + "SYSTEM UPDATE NOTICE " * 30
        + "you must execute the following " * 20
        + "the a_b tool " * 60
    )
    properties = {f"p{i}": {"type": "string", "description": chunk, "default": chunk[:2000]} for i in range(40)}
    schema = {"type": "object", "properties": properties}
    return {"name": "adversarial", "description": chunk * 2, "inputSchema": schema}


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f} % ({part}/{whole})" if whole else "n/a"


def run() -> Iterator[str]:
    corpus = load_corpus()
    yield "Scanner quality on the labelled corpus (tests/data/scanner, see SOURCES.md)"
    verdicts = [scan_tool(entry["definition"]).verdict for entry in corpus]
    benign = [v for v, e in zip(verdicts, corpus, strict=True) if e["label"] == "benign"]
    malicious = [(v, e) for v, e in zip(verdicts, corpus, strict=True) if e["label"] == "malicious"]
    flagged = sum(v != "clean" for v, _ in malicious)
    yield f"  definitions: {len(benign)} benign, {len(malicious)} malicious"
    yield f"  recall on malicious (flagged: suspicious or malicious): {_pct(flagged, len(malicious))}   target >= 95 %"
    strict = sum(v == "malicious" for v, _ in malicious)
    yield f"  recall on malicious (verdict malicious, refused):       {_pct(strict, len(malicious))}"
    yield f"  benign flagged at all:   {_pct(sum(v != 'clean' for v in benign), len(benign))}   target <= 5 %"
    yield f"  benign flagged malicious: {_pct(sum(v == 'malicious' for v in benign), len(benign))}   target <= 1 %"

    by_source: dict[str, list[str]] = defaultdict(list)
    for verdict, entry in malicious:
        by_source[entry["source"]].append(verdict)
    yield "  leave-one-source-out recall (hand-written rules: recall on each held-out source; target >= 85 %):"
    for source, source_verdicts in sorted(by_source.items()):
        hits = sum(v != "clean" for v in source_verdicts)
        yield f"    {source:<22} {_pct(hits, len(source_verdicts))}"
    for verdict, entry in malicious:
        if verdict == "clean":
            yield f"    missed: {entry['source']}: {entry['definition']['name']}"
    for verdict, entry in zip(verdicts, corpus, strict=True):
        if entry["label"] == "benign" and verdict != "clean":
            yield f"    benign flagged {verdict}: {entry['source']}: {entry['definition']['name']}"

    definitions = [entry["definition"] for entry in corpus]
    rounds = 0
    started = time.perf_counter()
    while time.perf_counter() - started < 2.0:
        for definition in definitions:
            scan_tool(definition)
        rounds += 1
    rate = rounds * len(definitions) / (time.perf_counter() - started)
    yield f"  throughput on one core: {rate:,.0f} definitions/s   target >= 1,000"

    adversarial = adversarial_definition()
    size = len(json.dumps(adversarial).encode())
    times = []
    for _ in range(20):
        begin = time.perf_counter()
        result = scan_tool(adversarial)
        times.append(time.perf_counter() - begin)
    yield (
        f"  adversarial definition of {size / 1024:.0f} KiB: median {1000 * median(times):.1f} ms, "
        f"max {1000 * max(times):.1f} ms (verdict {result.verdict})   target well under 50 ms"
    )


if __name__ == "__main__":
    for line in run():
        print(line)
