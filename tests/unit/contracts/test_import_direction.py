"""The arrows of docs/design.md section 12 hold: no wrong-way imports, and the contracts stay light enough for the
SDK (the standard library, ``domain/identity.py`` and each other)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "layers" / "core" / "mcp_steward"
STDLIB = sys.stdlib_module_names


def _imports(layer: str) -> list[tuple[str, str]]:
    """(file, imported module) for every import in the layer's modules, lazy ones included."""
    found = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((path.name, node.module))
            elif isinstance(node, ast.Import):
                found.extend((path.name, alias.name) for alias in node.names)
    return found


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [("services", "mcp_steward.http"), ("adapters", "mcp_steward.services"), ("local", "mcp_steward.cli")],
)
def test_no_wrong_way_imports(layer: str, forbidden: str) -> None:
    wrong = [(name, module) for name, module in _imports(layer) if module.startswith(forbidden)]
    assert wrong == []


def test_contracts_import_the_standard_library_and_identities_only() -> None:
    allowed = ("mcp_steward.contracts", "mcp_steward.domain.identity")
    heavy = [
        (name, module)
        for name, module in _imports("contracts")
        if module.split(".")[0] not in STDLIB and not module.startswith(allowed)
    ]
    assert heavy == []


def test_importing_every_contract_pulls_no_heavy_dependency() -> None:
    code = (
        "import json, sys\n"
        "import mcp_steward.contracts.envelope, mcp_steward.contracts.vendor_target\n"
        "import mcp_steward.contracts.authorizer_context, mcp_steward.contracts.result_meta\n"
        "import mcp_steward.contracts.nested_event, mcp_steward.contracts.template_ids\n"
        "import mcp_steward.contracts.state_file\n"
        "print(json.dumps(sorted(m for m in ('boto3', 'botocore', 'pydantic', 'jsonschema', 'starlette') "
        "if m in sys.modules)))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(completed.stdout) == []
