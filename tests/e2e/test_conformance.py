"""The official MCP conformance suite against the running local plane, both eras.

Node 22 and the suite come from the npm registry (``make conformance-tools``, run by ``make test``). The
suite cannot send headers, so it talks to the plane through a loopback proxy that adds a bearer token, as
API Gateway's authorizer stands in front of the function in AWS.
"""

from __future__ import annotations

import os
import platform
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
SCENARIOS = [
    ("server-stateless", None),
    ("http-header-validation", None),
    ("caching", None),
    ("dns-rebinding-protection", None),
    ("tools-list", None),
    ("sep-2164-resource-not-found", None),
    ("server-initialize", "2025-11-25"),
    ("ping", "2025-11-25"),
    ("tools-list", "2025-11-25"),
]


def node() -> Path:
    arch = {"x86_64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), platform.machine())
    path = TOOLS / f"node-linux-{arch}" / "bin" / "node"
    if not path.exists() or not SUITE.exists():
        pytest.fail("the conformance suite is not installed: run 'make conformance-tools' (make test does)")
    return path


@pytest.mark.parametrize(("scenario", "spec_version"), SCENARIOS, ids=lambda v: v or "modern")
def test_conformance_scenario_passes(
    plane: dict[str, Any], tmp_path: Path, scenario: str, spec_version: str | None
) -> None:
    base = plane["mcp_url"].removesuffix("/mcp")
    with auth_proxy(base, token(plane, "alice")) as proxied:
        command = [str(node()), str(SUITE), "server", "--url", f"{proxied}/mcp", "--scenario", scenario]
        command += ["--expected-failures", str(EXPECTED_FAILURES), "--output-dir", str(tmp_path)]
        if spec_version:
            command += ["--spec-version", spec_version]
        env = {**os.environ, "NO_COLOR": "1", "HOME": str(tmp_path)}
        finished = subprocess.run(command, capture_output=True, text=True, timeout=180, env=env, check=False)
    assert finished.returncode == 0, finished.stdout[-6000:] + finished.stderr[-2000:]
