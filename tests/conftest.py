"""Shared fixtures. Handler modules live in functions/<name>/app.py (SAM's convention); they are loaded by
file path under a unique module name so that every handler can be imported in one test process."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

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


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """The local plane's serialized moto server, in a thread of this process, for the whole session."""
    from mcp_steward.local.moto_server import serve_in_thread

    with serve_in_thread() as url:
        yield url


def aws_client(service: str, endpoint_url: str, **kwargs: Any) -> Any:
    """A boto3 client for a loopback endpoint, with test credentials and no profile lookups."""
    import boto3

    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        **kwargs,
    )
