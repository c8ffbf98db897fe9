"""The official MCP conformance suite (@modelcontextprotocol/conformance 0.2.0-alpha.12): every server scenario of
each era, through the local plane started with ``--conformance-fixtures``.

The fixture server (functions/conformance) is exposed unprefixed to the principal ``conformance``, so the suite
calls the names it knows (``test_simple_text``, ``test://static-text``). The suite cannot send headers, so it talks
to the plane through a loopback proxy that adds that principal's bearer token, as API Gateway's authorizer stands
in front of the function in AWS. Node 22 and the suite come from the npm registry (``make conformance-tools``, run
by ``make test``).

``--suite all --spec-version V`` runs every server scenario the suite lists for V (``list --server --spec-version
V``): the default ``active`` suite leaves out the pending ones (server-stateless, caching, the HTTP header and
SEP-2322 scenarios among them). The extension scenarios (``tasks-*``, ``sep-2640-*``) belong to no dated version
and are not run. What cannot pass is in conformance-expected-failures.yaml, each with its reason; a listed check
that passes fails the run (the suite reports it as stale).
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.e2e.auth_proxy import auth_proxy
from tests.e2e.conftest import token

pytestmark = [pytest.mark.plane, pytest.mark.conformance]

TOOLS = ROOT / ".tools" / "conformance" / "node_modules"
SUITE = TOOLS / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
EXPECTED_FAILURES = Path(__file__).with_name("conformance-expected-failures.yaml")
#: The summary lines of the last run, one file per era (the closing note of an issue quotes them).
SUMMARIES = ROOT / ".steward" / "conformance"
ERAS = ("2026-07-28", "2025-11-25")
#: Per scenario (the suite's own timeout, not a synchronization): generous for a 2-core machine.
SCENARIO_TIMEOUT_MS = 90_000
_LISTED = re.compile(r"^\s+- ([a-z0-9-]+) \[")
_TOTAL = re.compile(r"^Total: (\d+) passed, (\d+) failed", re.MULTILINE)


def node() -> Path:
    arch = {"x86_64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), platform.machine())
    path = TOOLS / f"node-linux-{arch}" / "bin" / "node"
    if not path.exists() or not SUITE.exists():
        pytest.fail("the conformance suite is not installed: run 'make conformance-tools' (make test does)")
    return path


def listed_scenarios(spec_version: str, env: dict[str, str]) -> set[str]:
    command = [str(node()), str(SUITE), "list", "--server", "--spec-version", spec_version]
    listed = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, check=True)
    return {m.group(1) for line in listed.stdout.splitlines() if (m := _LISTED.match(line))}


def ran_scenarios(output_dir: Path, listed: set[str]) -> set[str]:
    """The scenarios whose results the suite saved (``server-<scenario>-<timestamp>`` directories)."""
    names = [p.name.removeprefix("server-") for p in output_dir.iterdir() if (p / "checks.json").is_file()]
    return {scenario for scenario in listed if any(name.startswith(f"{scenario}-20") for name in names)}


def failed_checks(output_dir: Path) -> list[str]:
    """``scenario:check STATUS: message`` of every check that neither passed nor was skipped, from the saved results."""
    failed = []
    for checks in sorted(output_dir.glob("server-*/checks.json")):
        scenario = re.sub(r"-\d{4}-\d\d-\d\dT.*$", "", checks.parent.name.removeprefix("server-"))
        for check in json.loads(checks.read_text(encoding="utf-8")):
            if check.get("status") not in ("SUCCESS", "INFO", "SKIPPED"):
                message = str(check.get("errorMessage") or check.get("description") or "")[:300]
                failed.append(f"{scenario}:{check.get('id')} {check.get('status')}: {message}")
    return failed


@pytest.mark.parametrize("spec_version", ERAS)
def test_every_server_scenario_passes_but_the_expected_failures(
    conformance_plane: dict[str, Any], tmp_path: Path, spec_version: str
) -> None:
    env = {**os.environ, "NO_COLOR": "1", "HOME": str(tmp_path)}
    listed = listed_scenarios(spec_version, env)
    assert "server-stateless" in listed or "server-initialize" in listed  # the listing was parsed
    output = tmp_path / "results"
    base = conformance_plane["mcp_url"].removesuffix("/mcp")
    with auth_proxy(base, token(conformance_plane, "conformance")) as proxied:
        command = [str(node()), str(SUITE), "server", "--url", f"{proxied}/mcp", "--suite", "all"]
        command += ["--spec-version", spec_version, "--expected-failures", str(EXPECTED_FAILURES)]
        command += ["--output-dir", str(output), "--timeout", str(SCENARIO_TIMEOUT_MS)]
        finished = subprocess.run(command, capture_output=True, text=True, timeout=1800, env=env, check=False)
    total = _TOTAL.search(finished.stdout)
    summary = f"conformance {spec_version}: " + (
        f"{len(listed)} scenarios, {total.group(1)} checks passed, {total.group(2)} failed (all listed as expected)"
        if total and finished.returncode == 0
        else (total.group(0) if total else "no summary")
    )
    SUMMARIES.mkdir(parents=True, exist_ok=True)
    (SUMMARIES / f"summary-{spec_version}.txt").write_text(summary + "\n", encoding="utf-8")
    print(summary)
    report = "\n".join([summary, "Checks that did not pass (listed or not):", *failed_checks(output)])
    assert finished.returncode == 0, report + "\n" + finished.stdout[-6000:] + finished.stderr[-2000:]
    assert ran_scenarios(output, listed) == listed, summary
