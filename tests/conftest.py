"""Shared fixtures. Handler modules live in functions/<name>/app.py (SAM's convention); they are loaded by
file path under a unique module name so that every handler can be imported in one test process."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load_function(name: str) -> ModuleType:
    """Import ``functions/<name>/app.py`` as module ``steward_fn_<name>`` (once per process)."""
    module_name = f"steward_fn_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    path = ROOT / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
