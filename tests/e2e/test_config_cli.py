"""``steward export`` of the running local plane (its demo seed: teams, two servers approved and pinned, prices,
grants, budgets) read back by ``steward apply --dry-run --prune``: no change, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mcp_steward.domain.config_file import load_config
from tests.conftest import ROOT

pytestmark = pytest.mark.plane


def steward(plane: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mcp_steward.cli.main", *args, "--state-file", plane["_state_file"]]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=120)


def test_the_demo_planes_export_applies_with_no_change(plane: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "steward.yaml"
    exported = steward(plane, "export", "-o", str(path))
    assert exported.returncode == 0, exported.stderr
    config = load_config(yaml.safe_load(path.read_text()))
    assert {"currency", "hr"} <= set(config.servers)
    assert any(tool.hash for tool in config.servers["currency"].tools.values())
    assert config.teams["finance"].principals and config.budgets and config.grants

    planned = steward(plane, "apply", "--dry-run", "--prune", "-f", str(path))

    assert planned.returncode == 0, planned.stderr
    assert planned.stdout.splitlines()[-1] == "No changes."
    again = steward(plane, "export")
    assert again.returncode == 0, again.stderr
    assert load_config(yaml.safe_load(again.stdout)) == config
