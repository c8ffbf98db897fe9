"""The local plane, started once per test session exactly as ``make dev`` starts it (``steward dev``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import ROOT

STARTUP_TIMEOUT_S = 120


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_plane(state_file: Path, *options: str) -> Iterator[dict[str, Any]]:
    """``steward dev`` started as ``make dev`` starts it (with ``options``), until the block ends; its state
    file (docs/design.md section 10) with ``_state_file`` and ``_log`` added. It must stop cleanly on SIGTERM."""
    log = state_file.with_name("steward-dev.log")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    command = [sys.executable, "-m", "mcp_steward.cli.main", "dev", "--port", str(_free_port())]
    command += ["--state-file", str(state_file), *options]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not state_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"steward dev did not start (exit {process.poll()}):\n{log.read_text()[-4000:]}")
            time.sleep(0.1)
        state: dict[str, Any] = json.loads(state_file.read_text())
        state["_state_file"] = str(state_file)
        state["_log"] = str(log)
        yield state
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail("steward dev did not stop within 15 s of SIGTERM")
    # It stops cleanly: exit status 0 and the state file of a plane that no longer runs is gone.
    assert code == 0, log.read_text()[-4000:]
    assert not state_file.exists()


@pytest.fixture(scope="session")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The local plane, started once per test session exactly as ``make dev`` starts it."""
    with running_plane(tmp_path_factory.mktemp("plane") / "local.json") as state:
        yield state


@pytest.fixture(scope="session")
def conformance_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The local plane started with ``--conformance-fixtures``: the MCP conformance suite's fixture server exposed
    unprefixed to the principal ``conformance`` (tests/e2e/test_conformance.py)."""
    with running_plane(tmp_path_factory.mktemp("conformance-plane") / "local.json", "--conformance-fixtures") as state:
        yield state


def token(plane: dict[str, Any], who: str) -> str:
    return str(plane["principals"][who]["token"])


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


def with_sdk_client[T](mcp_url: str, bearer: str, mode: str, body: Callable[[Client], Awaitable[T]]) -> T:
    """Run ``body`` with the official MCP SDK client connected to ``mcp_url`` as the holder of ``bearer``."""

    async def main() -> T:
        headers = {"Authorization": f"Bearer {bearer}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http,
            Client(streamable_http_client(mcp_url, http_client=http), mode=mode) as client,
        ):
            return await body(client)

    return asyncio.run(main())
