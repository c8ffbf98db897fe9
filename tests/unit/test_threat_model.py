"""docs/threat-model.md names, for every "cannot", the test that shows it: each named test file and test must
exist, so the page cannot drift from the suite."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import ROOT

PAGE = ROOT / "docs" / "threat-model.md"
#: `path/to/test_file.py` or `path/to/test_file.py::test_name`, in backquotes, relative to tests/
REFERENCE = re.compile(r"`((?:unit|integration|e2e|infra|bench)/[\w/]+\.py)(?:::(\w+))?`")


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    }


def test_every_test_the_threat_model_names_exists() -> None:
    references = REFERENCE.findall(PAGE.read_text(encoding="utf-8"))
    assert len(references) > 40
    missing = []
    for relative, name in references:
        path = ROOT / "tests" / relative
        if not path.is_file():
            missing.append(relative)
        elif name and name not in _tests_in(path):
            missing.append(f"{relative}::{name}")
    assert missing == []


def test_the_readme_links_the_threat_model() -> None:
    assert "docs/threat-model.md" in (ROOT / "README.md").read_text(encoding="utf-8")
