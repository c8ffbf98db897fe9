"""``steward scan PATH|-``: scans tool definitions without a plane (docs/design.md section 10).

Input: a JSON array of tools, an object ``{"tools": [...]}`` (a ``tools/list`` result), or JSON Lines (one tool a
line). An entry needs only a string ``name``. Output: a JSON array, in input order, of ``{"name", "verdict",
"findings": [{"rule", "severity", "path", "evidence"}]}``. Exit 0; 1 when ``--fail-on`` is hit; 2 on malformed input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final, TextIO

from mcp_steward.domain.scanning import ScanResult, scan_tool

_RANK: Final = {"clean": 0, "suspicious": 1, "malicious": 2}


class ScanInputError(ValueError):
    """Input that is not a list of tool definitions; the message names the offending entry."""


def parse_tools(text: str) -> list[Mapping[str, Any]]:
    """The tool definitions in ``text``, in order.

    Raises:
        ScanInputError: the text is neither JSON nor JSON Lines of objects with a string ``name``.
    """
    stripped = text.strip()
    if not stripped:
        raise ScanInputError('no input: expected a JSON array, {"tools": [...]}, or JSON Lines')
    try:
        document: Any = json.loads(stripped)
    except RecursionError as exc:
        raise ScanInputError("input nested too deeply") from exc
    except json.JSONDecodeError as whole_error:
        if "\n" not in stripped:
            raise ScanInputError(f"invalid JSON: {whole_error}") from whole_error
        return _json_lines(text)
    if isinstance(document, Mapping):
        if "tools" in document:
            tools = document["tools"]
            if not isinstance(tools, list):
                raise ScanInputError('"tools" must be an array')
            return _checked(tools, "tools[{}]")
        return _checked([document], "line {}", start=1)  # a single JSON Lines entry
    if isinstance(document, list):
        return _checked(document, "entry {}")
    raise ScanInputError('expected a JSON array, an object with "tools", or JSON Lines')


def _json_lines(text: str) -> list[Mapping[str, Any]]:
    entries: list[Any] = []
    numbers: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except RecursionError as exc:
            raise ScanInputError(f"line {number}: nested too deeply") from exc
        except json.JSONDecodeError as exc:
            raise ScanInputError(f"line {number}: invalid JSON: {exc.msg} (column {exc.colno})") from exc
        numbers.append(number)
    for entry, number in zip(entries, numbers, strict=True):
        _check(entry, f"line {number}")
    return entries


def _checked(entries: Sequence[Any], label: str, start: int = 0) -> list[Mapping[str, Any]]:
    for index, entry in enumerate(entries, start=start):
        _check(entry, label.format(index))
    return list(entries)


def _check(entry: Any, where: str) -> None:
    if not isinstance(entry, Mapping):
        raise ScanInputError(f"{where}: a tool must be a JSON object, got {type(entry).__name__}")
    if not isinstance(entry.get("name"), str):
        raise ScanInputError(f'{where}: a tool needs a string "name"')


def report(tools: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[ScanResult]]:
    """Scans each tool against the names of the others (for shadowing); the JSON rows and the results, in order."""
    names = [str(tool["name"]) for tool in tools]
    rows: list[dict[str, Any]] = []
    results: list[ScanResult] = []
    for index, tool in enumerate(tools):
        others = names[:index] + names[index + 1 :]
        result = scan_tool(tool, other_tool_names=others)
        results.append(result)
        rows.append(
            {
                "name": names[index],
                "verdict": result.verdict,
                "findings": [
                    {"rule": f.rule, "severity": f.severity.value, "path": f.path, "evidence": f.evidence}
                    for f in result.findings
                ],
            }
        )
    return rows, results


def run(args: argparse.Namespace, *, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Runs ``steward scan``; returns the exit code (0, 1 on ``--fail-on``, 2 on malformed input)."""
    out = stdout or sys.stdout
    try:
        source = stdin or sys.stdin
        text = source.read() if args.source == "-" else Path(args.source).read_text(encoding="utf-8")
        tools = parse_tools(text)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"steward: error: cannot read {args.source}: {exc}", file=sys.stderr)
        return 2
    except ScanInputError as exc:
        print(f"steward: error: {args.source}: {exc}", file=sys.stderr)
        return 2
    rows, results = report(tools)
    json.dump(rows, out, indent=2, ensure_ascii=False)
    out.write("\n")
    if args.fail_on is not None and any(_RANK[r.verdict] >= _RANK[args.fail_on] for r in results):
        return 1
    return 0
