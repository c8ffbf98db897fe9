"""The benchmark's pass-through proxy: it forwards what its allow-list admits, refuses the rest without touching
the upstream, and does not pass the client's token on. In process against a recording upstream, then as the
benchmark runs it: two OS processes, the proxy in front of the official MCP SDK server."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from bench.passthrough_proxy import create_app
from tests.conftest import ROOT

UPSTREAM = "http://upstream.test/mcp"
HEADERS = {
    "Authorization": "Bearer secret-token",
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2025-11-25",
}
ARGUMENTS = {"amount": "100", "from_currency": "USD", "to_currency": "EUR"}


def call(name: str, call_id: int = 1) -> bytes:
    message = {
        "jsonrpc": "2.0",
        "id": call_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": ARGUMENTS},
    }
    return json.dumps(message).encode()


@pytest.fixture
def recorded() -> Iterator[tuple[TestClient, list[httpx.Request]]]:
    seen: list[httpx.Request] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": 1, "result": {"content": [], "isError": False}})

    app = create_app(UPSTREAM, ["currency__convert"], transport=httpx.MockTransport(upstream))
    with TestClient(app) as client:
        yield client, seen


def test_forwards_an_allowed_tool_call_unchanged_without_the_token(
    recorded: tuple[TestClient, list[httpx.Request]],
) -> None:
    client, seen = recorded
    body = call("currency__convert")
    answer = client.post("/mcp", content=body, headers=HEADERS)
    assert answer.status_code == 200
    assert answer.json()["result"] == {"content": [], "isError": False}
    [forwarded] = seen
    assert str(forwarded.url) == UPSTREAM
    assert forwarded.content == body
    assert forwarded.headers["mcp-protocol-version"] == "2025-11-25"
    assert "authorization" not in forwarded.headers


def test_refuses_a_tool_outside_the_allow_list_without_forwarding(
    recorded: tuple[TestClient, list[httpx.Request]],
) -> None:
    client, seen = recorded
    answer = client.post("/mcp", content=call("hr__lookup", 7), headers=HEADERS)
    assert answer.status_code == 200
    assert answer.json() == {
        "jsonrpc": "2.0",
        "id": 7,
        "error": {"code": -32602, "message": "Unknown tool: hr__lookup"},
    }
    assert seen == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, -32700),
        (b"[]", 400, -32600),
        (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "resources/read", "params": {}}).encode(), 200, -32601),
    ],
)
def test_refuses_what_it_cannot_or_may_not_forward(
    recorded: tuple[TestClient, list[httpx.Request]], body: bytes, status: int, code: int
) -> None:
    client, seen = recorded
    answer = client.post("/mcp", content=body, headers=HEADERS)
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code
    assert seen == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _await_port(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, f"exited with {process.returncode}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"nothing listened on {port}")


@pytest.fixture
def proxy_url() -> Iterator[str]:
    sdk_port, proxy_port = _free_port(), _free_port()
    commands = [
        ["bench.sdk_server", "--port", str(sdk_port)],
        ["bench.passthrough_proxy", "--port", str(proxy_port), "--upstream", f"http://127.0.0.1:{sdk_port}/mcp"],
    ]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for command, port in zip(commands, (sdk_port, proxy_port), strict=True):
            processes.append(subprocess.Popen([sys.executable, "-m", *command], cwd=ROOT))
            _await_port(processes[-1], port)
        yield f"http://127.0.0.1:{proxy_port}/mcp"
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_the_proxy_in_front_of_the_sdk_server_answers_the_tool_and_refuses_others(proxy_url: str) -> None:
    with httpx.Client(timeout=30, trust_env=False) as client:
        answer = client.post(proxy_url, content=call("currency__convert"), headers=HEADERS)
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()["result"]
        assert not result["isError"]
        assert result["structuredContent"]["converted_amount"] == "92.00"
        refused = client.post(proxy_url, content=call("currency__rates", 2), headers=HEADERS)
        assert refused.json()["error"]["code"] == -32602
