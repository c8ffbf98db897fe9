"""Governance CPU per warm ``tools/call`` on the local plane vs a minimal pass-through proxy (issue 3).

The plane is started as ``make dev`` starts it (``steward dev``); the process listening on ``mcp_url`` is the
governance app under uvicorn, and its CPU time (``/proc/<pid>/stat``: utime + stime) is read before and after each
batch of calls. The baseline is ``bench.passthrough_proxy`` (JSON parse, allow-list on method and tool name, a
pooled keep-alive forward) in front of ``bench.sdk_server`` (the official MCP SDK's ``MCPServer`` answering the
same tool name), each its own OS process under uvicorn; the PROXY's CPU is measured the same way. The tool's own
process is excluded on both sides: the SDK server for the proxy, the function runner and its worker (and moto) for
the plane, whose CPU per call is printed for context.

The call: alice's bearer token, ``currency__convert`` with ``{"amount": "100", "from_currency": "USD",
"to_currency": "EUR"}``, legacy era (``MCP-Protocol-Version: 2025-11-25``; stateless, no ``initialize``
needed), the same bytes to both, from one pooled ``httpx.Client``, sequentially; every answer is checked.
Batches alternate (plane, then proxy) so machine noise hits both alike; the figures are medians over rounds.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import boto3
import httpx
from botocore.config import Config

from bench.stats import median, ratio_line
from mcp_steward.domain.identity import Principal, PrincipalId, TeamName
from mcp_steward.services.tools import envelope_for

ROOT: Final = Path(__file__).resolve().parents[1]
ROUNDS: Final = 6
CLIENT_SAMPLES: Final = 40
BATCH: Final = 100
WARMUP: Final = 50
TARGET: Final = 2.0
TOOL: Final = "currency__convert"
ARGUMENTS: Final = {"amount": "100", "from_currency": "USD", "to_currency": "EUR"}
VERSION: Final = "2025-11-25"
STARTUP_TIMEOUT_S: Final = 120.0
BATCH_TIMEOUT_S: Final = 120.0
STOP_TIMEOUT_S: Final = 15.0
TICKS_PER_S: Final = os.sysconf("SC_CLK_TCK")
#: moto deep-copies every table a transaction touches, so its cost grows with the ledger (DynamoDB's does not).
MOTO: Final = "moto (copies each table a transaction touches)"

PER_CALL_WORK: Final = (
    "what the governance process does per call that the proxy does not:",
    "  identity: bearer token -> SHA-256 digest -> principal (cached; refreshed from DynamoDB every 5 s)",
    "  registry and grants resolution, call configuration (budgets, caps, rate limits): TTL caches (5 s)",
    "  argument validation against the tool's inputSchema (compiled validator, cached per definition hash)",
    "  reserve: one DynamoDB TransactWriteItems to moto over HTTP (grant and tool re-checked, reservation put)",
    "  invoke: one Lambda Invoke to the function runner over HTTP (envelope, deadline), in a worker thread",
    "  output validation against the outputSchema; settle: one TransactWriteItems (reservation closed,",
    "    ledger entry and audit record written as DynamoDB JSON)",
    "  i.e. 3 boto3 requests per call: botocore serialization, SigV4 signing, urllib3, response parsing",
    "the proxy: JSON parse, two set look-ups, one pooled httpx forward of the original bytes.",
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stat_fields(pid: int) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the command name (field 3, the state, is index 0)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def cpu_ticks(pid: int) -> int:
    """User + system CPU time of a process (all its threads), in clock ticks."""
    fields = _stat_fields(pid)
    return int(fields[11]) + int(fields[12])


def _start_time(pid: int) -> int | None:
    try:
        return int(_stat_fields(pid)[19])
    except (OSError, ValueError, IndexError):
        return None


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (from ``/proc/*/stat``'s parent pid)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                parents[int(entry.name)] = int(_stat_fields(int(entry.name))[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


@dataclass
class Processes:
    """The OS processes this benchmark starts, stopped on exit whatever happened (SIGTERM, then SIGKILL)."""

    logs: Path
    started: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    #: Processes started on our behalf (the plane's pieces): pid -> its start time, to kill only those.
    adopted: dict[int, int] = field(default_factory=dict)

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self.started.append((name, process))
        return process

    def adopt(self, pids: list[int]) -> None:
        for pid in pids:
            started = _start_time(pid)
            if started is not None:
                self.adopted[pid] = started

    def log_tail(self, name: str) -> str:
        with contextlib.suppress(OSError):
            return (self.logs / f"{name}.log").read_text(errors="replace")[-2000:]
        return ""

    def stop(self) -> None:
        # Pieces the plane started after we looked (the runner's workers start on demand) are adopted too.
        live = [pid for pid, started in self.adopted.items() if _start_time(pid) == started]
        self.adopt([child for pid in live for child in descendants(pid)])
        for _, process in reversed(self.started):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for _, process in reversed(self.started):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT_S)
        # The plane stops its own pieces on SIGTERM; any left behind (same pid AND start time) are killed.
        for pid, started in self.adopted.items():
            if _start_time(pid) == started:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def _await_port(processes: Processes, name: str, process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{processes.log_tail(name)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not listen on 127.0.0.1:{port} within {STARTUP_TIMEOUT_S:.0f} s")


def start_plane(processes: Processes, state_file: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    args = ["mcp_steward.cli.main", "dev", "--port", str(_free_port()), "--state-file", str(state_file)]
    process = processes.start("steward-dev", args, env)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not state_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(
                f"steward dev did not start (exit {process.poll()}):\n{processes.log_tail('steward-dev')}"
            )
        time.sleep(0.1)
    state: dict[str, Any] = json.loads(state_file.read_text())
    pids = [int(pid) for pid in state["pids"].values()]
    processes.adopt(pids + [d for pid in pids for d in descendants(pid)])
    return state


def _body(call_id: int) -> bytes:
    message = {
        "jsonrpc": "2.0",
        "id": call_id,
        "method": "tools/call",
        "params": {"name": TOOL, "arguments": ARGUMENTS},
    }
    return json.dumps(message).encode()


def _check(name: str, response: httpx.Response) -> None:
    try:
        result = response.json()["result"]
        structured = result["structuredContent"]
        ok = (
            response.status_code == 200
            and not result.get("isError")
            and structured["to_currency"] == "EUR"
            and Decimal(structured["converted_amount"]) > 0
        )
    except (ValueError, KeyError, TypeError, ArithmeticError):
        ok = False
    if not ok:
        raise RuntimeError(f"{name} did not answer the call correctly: {response.status_code} {response.text[:500]}")


@dataclass
class Subject:
    name: str
    url: str
    measured: int
    #: Processes shown for context: label -> the pids whose CPU is summed.
    context: dict[str, list[int]]
    cpu_ms: list[float] = field(default_factory=list)
    context_ms: dict[str, list[float]] = field(default_factory=dict)
    wall_ms: list[float] = field(default_factory=list)
    calls: int = 0

    def batch(self, client: httpx.Client, headers: dict[str, str], size: int, *, record: bool = True) -> None:
        deadline = time.monotonic() + BATCH_TIMEOUT_S
        before = cpu_ticks(self.measured)
        context_before = {label: sum(cpu_ticks(pid) for pid in pids) for label, pids in self.context.items()}
        walls = []
        for _ in range(size):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: a batch of {size} calls took over {BATCH_TIMEOUT_S:.0f} s")
            self.calls += 1
            started = time.perf_counter()
            response = client.post(self.url, content=_body(self.calls), headers=headers)
            walls.append((time.perf_counter() - started) * 1000)
            _check(self.name, response)
        if not record:
            return
        self.cpu_ms.append((cpu_ticks(self.measured) - before) * 1000 / TICKS_PER_S / size)
        for label, pids in self.context.items():
            spent = sum(cpu_ticks(pid) for pid in pids) - context_before[label]
            self.context_ms.setdefault(label, []).append(spent * 1000 / TICKS_PER_S / size)
        self.wall_ms += walls


def measure(plane: Subject, proxy: Subject, token: str) -> None:
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": VERSION,
    }
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=60)
    with httpx.Client(limits=limits, timeout=30.0, trust_env=False) as client:
        for subject in (plane, proxy):
            subject.batch(client, headers, WARMUP, record=False)
        # The runner starts workers on demand: find them once warm.
        plane.context["function runner + workers"] += descendants(plane.context["function runner + workers"][0])
        for _ in range(ROUNDS):
            plane.batch(client, headers, BATCH)
            proxy.batch(client, headers, BATCH)


def boto3_client_cpu(state: dict[str, Any]) -> dict[str, float]:
    """CPU per request that boto3 itself spends (serialize, sign, send, parse) in THIS process, against the
    plane's own moto and runner: a lower bound of what the governance process pays per DynamoDB transaction
    and per Lambda Invoke. The transaction is two ConditionChecks (reserve and settle carry more items)."""
    session = boto3.session.Session(
        region_name=state["region"], aws_access_key_id="local", aws_secret_access_key="local"
    )
    retries = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=30)
    dynamodb = session.client("dynamodb", endpoint_url=state["aws_endpoint_url"], config=retries)
    functions = session.client("lambda", endpoint_url=state["lambda_endpoint_url"], config=retries)
    checks: Any = [
        {
            "ConditionCheck": {
                "TableName": state["tables"]["grants"],
                "Key": {"pk": {"S": "principal#alice"}, "sk": {"S": "GRANT#currency__*"}},
                "ConditionExpression": "attribute_exists(pk)",
            }
        },
        {
            "ConditionCheck": {
                "TableName": state["tables"]["registry"],
                "Key": {"pk": {"S": f"SERVER#{TOOL.split('__')[0]}"}, "sk": {"S": f"TOOL#{TOOL}"}},
                "ConditionExpression": "attribute_exists(pk)",
            }
        },
    ]
    alice = Principal(id=PrincipalId("alice"), team=TeamName("finance"))
    function = state["functions"]["CurrencyFunction"]["name"]

    def invoke(call_id: int) -> None:
        deadline = int(time.time() * 1000) + 20_000
        envelope = envelope_for(f"bench-{call_id}", deadline, alice, call_id, "convert", dict(ARGUMENTS))
        answer = functions.invoke(FunctionName=function, Payload=json.dumps(envelope).encode())
        if answer.get("FunctionError") or "result" not in json.loads(answer["Payload"].read()):
            raise RuntimeError(f"the currency function did not answer: {answer}")

    requests = {
        "DynamoDB TransactWriteItems (2 ConditionChecks)": lambda _: dynamodb.transact_write_items(
            TransactItems=checks
        ),
        "Lambda Invoke (the currency function)": invoke,
    }
    spent: dict[str, float] = {}
    deadline = time.monotonic() + BATCH_TIMEOUT_S
    for label, request in requests.items():
        for call_id in range(5):  # warm: connections, endpoint resolution, models
            request(call_id)
        started = time.process_time()
        for call_id in range(CLIENT_SAMPLES):
            if time.monotonic() > deadline:
                raise RuntimeError("the boto3 client-side measurement took too long")
            request(call_id)
        spent[label] = (time.process_time() - started) * 1000 / CLIENT_SAMPLES
    return spent


def run() -> list[str]:
    with tempfile.TemporaryDirectory(prefix="bench-plane-cpu-") as tmp:
        processes = Processes(Path(tmp))
        try:
            state = start_plane(processes, Path(tmp) / "local.json")
            sdk_port, proxy_port = _free_port(), _free_port()
            sdk = processes.start("sdk-server", ["bench.sdk_server", "--port", str(sdk_port)])
            _await_port(processes, "sdk-server", sdk, sdk_port)
            upstream = f"http://127.0.0.1:{sdk_port}/mcp"
            args = ["bench.passthrough_proxy", "--port", str(proxy_port), "--upstream", upstream]
            proxy_process = processes.start("proxy", args)
            _await_port(processes, "proxy", proxy_process, proxy_port)
            pids = state["pids"]
            plane = Subject(
                "governance (local plane)",
                state["mcp_url"],
                int(pids["governance"]),
                {MOTO: [int(pids["moto"])], "function runner + workers": [int(pids["runner"])]},
            )
            proxy = Subject(
                "pass-through proxy",
                f"http://127.0.0.1:{proxy_port}/mcp",
                proxy_process.pid,
                {"MCP SDK server (upstream)": [sdk.pid]},
            )
            measure(plane, proxy, state["principals"]["alice"]["token"])
            client_cpu = boto3_client_cpu(state)
        finally:
            processes.stop()
    return report(plane, proxy, client_cpu)


def report(plane: Subject, proxy: Subject, client_cpu: dict[str, float]) -> list[str]:
    governance_cpu, proxy_cpu = median(plane.cpu_ms), median(proxy.cpu_ms)
    pooled = sum(plane.cpu_ms) / sum(proxy.cpu_ms) if sum(proxy.cpu_ms) else float("inf")
    tick_ms = 1000 / TICKS_PER_S
    lines = [
        f"CPU per warm tools/call, local plane vs pass-through proxy ({ROUNDS} alternated rounds of {BATCH} calls "
        f"each, after {WARMUP} warm-up calls; legacy era {VERSION}; /proc stat ticks of {tick_ms:g} ms)",
        ratio_line(
            "governance process vs proxy process, CPU per call (median)", governance_cpu, proxy_cpu, target=TARGET
        ),
        f"  {'the same, all rounds pooled':<58} {pooled:5.2f}x",
        f"  {'per round, governance CPU ms/call':<58} " + " ".join(f"{v:6.3f}" for v in plane.cpu_ms),
        f"  {'per round, proxy CPU ms/call':<58} " + " ".join(f"{v:6.3f}" for v in proxy.cpu_ms),
        ratio_line("wall clock per call, plane vs proxy (median)", median(plane.wall_ms), median(proxy.wall_ms)),
        "  for context, CPU per call of the processes not measured (median of rounds):",
    ]
    for subject in (plane, proxy):
        for label, values in subject.context_ms.items():
            lines.append(f"    {label:<56} {median(values):9.3f} ms")
    lines += [f"  {line}" for line in PER_CALL_WORK]
    lines.append(
        f"  boto3's own CPU per request, measured in the bench process ({CLIENT_SAMPLES} each, same moto/runner):"
    )
    for label, value in client_cpu.items():
        lines.append(f"    {label:<56} {value:9.3f} ms")
    transact, invoke = client_cpu.values()
    floor = 2 * transact + invoke
    lines.append(
        f"    {'2 transactions + 1 invoke (a lower bound)':<56} {floor:9.3f} ms"
        f"  = {100 * floor / governance_cpu:.0f} % of the governance CPU per call, {floor / proxy_cpu:.1f}x the proxy's"
    )
    verdict = "met" if governance_cpu <= TARGET * proxy_cpu else "NOT met"
    lines.append(
        f"  target (governance <= {TARGET:g}x the proxy's CPU) {verdict}: per call the plane makes three boto3 "
        "requests (2 DynamoDB transactions, 1 Lambda Invoke) where the proxy makes one httpx request"
    )
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
