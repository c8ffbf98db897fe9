"""The egress hop's added latency per vendor call on loopback, against a direct MCP SDK client call (issue 5).

One vendor server for every side: ``tests.vendor_server`` (the official SDK's ``MCPServer``, stateless, JSON
answers) over HTTPS on 127.0.0.1 with a throwaway CA (``tests.tls``), requiring a bearer credential, started as
its own OS process. Every side calls its ``forecast`` tool with ``{"city": "Oslo"}`` and opens a NEW TLS
connection for each call (a new HTTP client per call); every answer is checked, and the vendor's request log
tells how many HTTP requests each call made (all of them carried the right credential, or the run fails).

- baseline: the official ``mcp`` SDK ``Client`` over ``streamable_http_client`` (default ``mode="auto"``): it
  negotiates 2026-07-28 (``server/discover``), sends ``tools/call``, then ``tools/list`` (to validate the
  result against the tool's ``outputSchema``), all on the one connection; the client holds the raw token.
- context: one bare ``tools/call`` POST (httpx, the same modern message and headers the egress sends): the wire
  floor of one request on a fresh TLS connection, no MCP client logic.
- subject 1, the egress handler: ``functions/egress/app.py``'s module-level ``handler`` imported in this process
  with the egress function's environment as the local runner gives it (template + local plane), called with the
  envelope governance sends (``EgressInvoker``'s payload) and a Lambda context.
- subject 2, governance -> runner -> egress: the same call as governance makes it (``EgressInvoker`` over
  ``LambdaInvoker``, boto3 ``lambda.invoke`` on a pooled keep-alive connection) to the local function runner
  (``python -m mcp_steward.local.runner``, as ``steward dev`` starts it), whose warm worker process runs the
  same handler.
- context, the Invoke alone: the same path with a ``ping`` the egress answers method-not-found before any check
  or vendor call. On this runner it is mostly a Nagle / delayed-ACK stall (its ``http.server`` sends the
  response headers and body in two writes without ``TCP_NODELAY``: ~44 ms here, ~1.3 ms with
  ``disable_nagle_algorithm``), a cost of the local stand-in, not of Lambda's Invoke.

What the egress does per call, in both subjects: parse the target, check the URL (https, allowed host, not
Steward) and the secret's name against the vendor prefix, read the credential through its cache (from moto's
Secrets Manager, a serialized moto server in a thread of this process: read once, then served from the cache
for its 300 s as in production), build a pinned httpx client for this call (its own pool: the address check,
TLS verified against the vendor CA with SNI and Host kept, ``trust_env=False``, no redirects), send one modern
``tools/call``, read the body under the 1 MB cap, drop the vendor's ``steward/*`` meta, redact the credential,
log the call. Logging is left as the handler configures it: its ``vendor call`` record goes through the function's
Powertools logger (JSON, at INFO) on every call, in the runner's worker to its stdout as in Lambda, and in process
to ``/dev/null`` instead of this report (the record is still built, formatted and written).

Not included: governance's own pipeline (identity, grants, reserve and settle, schema checks: ``warm_call``,
``plane_cpu``), API Gateway, a DNS lookup and the global-address check: the vendor is the IP literal 127.0.0.1,
an origin listed exactly for the local plane, whose match replaces ``is_global`` (loopback cannot pass it); no
side resolves a name.

Sides alternate in blocks, so machine noise hits all alike; the figures are per-call medians and 95th
percentiles over all measured calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import secrets
import socket
import ssl
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Final

import boto3
import httpx
import httpx2
from botocore.config import Config
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from bench.plane_cpu import ROOT, Processes
from bench.stats import median, percentile, ratio_line
from mcp_steward.adapters.egress_invoker import EgressInvoker, vendor_target
from mcp_steward.adapters.lambda_invoker import LambdaInvoker
from mcp_steward.cli.target import EGRESS_ID
from mcp_steward.contracts.vendor_target import with_target
from mcp_steward.domain.identity import Principal, PrincipalId, TeamName
from mcp_steward.domain.names import ServerName
from mcp_steward.domain.registry import ServerKind, ServerRecord
from mcp_steward.domain.vendor_secrets import credential_origin, stored_credential
from mcp_steward.egress.client import MODERN_VERSION
from mcp_steward.local.moto_server import serve_in_thread
from mcp_steward.local.plane import REGION, STACK_NAME, child_environment
from mcp_steward.local.runner import worker_environment
from mcp_steward.local.template import FunctionSpec, LocalTemplate
from mcp_steward.local.worker import LambdaContext
from mcp_steward.services.tools import envelope_for
from tests.tls import make_loopback_tls

CALLS: Final = 240
BLOCK: Final = 20
WARMUP: Final = 10
TOOL: Final = "forecast"
ARGUMENTS: Final = {"city": "Oslo"}
EXPECTED: Final = {"city": "Oslo", "summary": "sunny", "high_c": 21}
TEMPLATE: Final = ROOT / "infra" / "template.yaml"
STARTUP_TIMEOUT_S: Final = 120.0
CALL_TIMEOUT_S: Final = 30.0
LOCAL_CREDENTIALS: Final = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
ALICE: Final = Principal(id=PrincipalId("alice"), team=TeamName("finance"))

BASELINE: Final = "MCP SDK Client (discover, tools/call, tools/list)"
FLOOR: Final = "bare tools/call POST (httpx, no MCP client)"
HANDLER: Final = "egress handler (in process)"
RUNNER: Final = "governance -> runner -> egress (Lambda Invoke)"
INVOKE: Final = "governance -> runner -> egress, ping (no vendor)"


@dataclass(frozen=True)
class Vendor:
    url: str
    origin: str
    token: str
    ca_file: Path
    log: Path

    def requests(self) -> int:
        """The vendor's requests so far; every one must have carried the credential."""
        lines = self.log.read_text().splitlines()
        if any(line != "authorized" for line in lines):
            raise RuntimeError("the vendor refused a request: a side sent no credential or the wrong one")
        return len(lines)


def start_vendor(processes: Processes, directory: Path) -> Vendor:
    tls = make_loopback_tls(directory / "tls")
    token = f"vendor-{secrets.token_urlsafe(24)}"
    token_file, log = directory / "token", directory / "requests.log"
    token_file.write_text(token)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    args = ["tests.vendor_server", "--port", str(port), "--cert", str(tls.cert_file), "--key", str(tls.key_file)]
    process = processes.start("vendor", [*args, "--token-file", str(token_file), "--log-file", str(log)])
    origin = f"https://127.0.0.1:{port}"
    trust = ssl.create_default_context(cafile=str(tls.ca_file))
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        try:
            httpx.get(f"{origin}/", verify=trust, timeout=1, trust_env=False)
            break
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the vendor did not start:\n{processes.log_tail('vendor')}") from None
            time.sleep(0.1)
    log.write_text("")  # the readiness probe carried no credential
    return Vendor(f"{origin}/mcp", origin, token, tls.ca_file, log)


def check(side: str, structured: object) -> None:
    if structured != EXPECTED:
        raise RuntimeError(f"{side} did not answer the call correctly: {structured!r}")


def check_rpc(side: str, answer: dict[str, Any]) -> None:
    result = answer.get("result")
    if not isinstance(result, dict) or result.get("isError"):
        raise RuntimeError(f"{side} did not answer the call correctly: {json.dumps(answer)[:500]}")
    check(side, result.get("structuredContent"))


# -- the direct sides ----------------------------------------------------------------------------------------


async def sdk_call(vendor: Vendor, trust: ssl.SSLContext) -> str:
    """One call with the official SDK client on a new HTTP client (so a new connection); returns the era."""
    headers = {"Authorization": f"Bearer {vendor.token}"}
    async with (
        httpx2.AsyncClient(verify=trust, headers=headers, timeout=CALL_TIMEOUT_S, trust_env=False) as http,
        Client(streamable_http_client(vendor.url, http_client=http)) as client,
    ):
        result = await client.call_tool(TOOL, dict(ARGUMENTS))
        if result.is_error:
            raise RuntimeError(f"the SDK client's call failed: {result}")
        check("the SDK client", result.structured_content)
        return client.protocol_version


def floor_body() -> bytes:
    """The modern ``tools/call`` the egress sends (mcp_steward.egress.client.VendorClient._modern)."""
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
        "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": TOOL, "arguments": ARGUMENTS}}
    message["params"] = {**message["params"], "_meta": meta}  # type: ignore[dict-item]
    return json.dumps(message, separators=(",", ":")).encode()


async def floor_call(vendor: Vendor, trust: ssl.SSLContext, body: bytes) -> None:
    headers = {
        "Authorization": f"Bearer {vendor.token}",
        "MCP-Protocol-Version": MODERN_VERSION,
        "Mcp-Method": "tools/call",
        "Mcp-Name": TOOL,
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
    }
    async with httpx.AsyncClient(verify=trust, timeout=CALL_TIMEOUT_S, trust_env=False) as http:
        response = await http.post(vendor.url, content=body, headers=headers)
    if response.status_code != 200:
        raise RuntimeError(f"the bare POST failed: {response.status_code} {response.text[:500]}")
    check_rpc("the bare POST", response.json())


# -- the egress sides ----------------------------------------------------------------------------------------


def egress_spec() -> FunctionSpec:
    return LocalTemplate.load(TEMPLATE, stack_name=STACK_NAME, region=REGION).functions()[EGRESS_ID]


def egress_extra_env(vendor: Vendor, moto_url: str) -> dict[str, str]:
    """What ``steward dev --vendor-origin ... --vendor-ca-file ...`` adds to the egress function's environment."""
    return {
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_url,
        **LOCAL_CREDENTIALS,
        "AWS_REGION": REGION,
        "STEWARD_LOCAL_VENDOR_ORIGINS": vendor.origin,
        "STEWARD_VENDOR_CA_FILE": str(vendor.ca_file),
    }


@contextlib.contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    """``os.environ`` replaced by ``env`` (the module reads its settings at import), restored after."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def import_egress(spec: FunctionSpec, env: dict[str, str]) -> ModuleType:
    """``functions/egress/app.py`` imported as a worker imports it, with the worker's environment."""
    name = f"bench_egress_app_{uuid.uuid4().hex}"
    module_spec = importlib.util.spec_from_file_location(name, spec.code_dir / "app.py")
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load {spec.code_dir / 'app.py'}")
    module = importlib.util.module_from_spec(module_spec)
    with environment(env):
        module_spec.loader.exec_module(module)
    sink = Path(os.devnull).open("w")  # noqa: SIM115 - closed by close_egress
    module.logger.registered_handler.setStream(sink)  # written as in Lambda, not onto this report
    setattr(module, "bench_log_sink", sink)  # noqa: B010 - a module attribute mypy cannot know
    return module


def close_egress(app: ModuleType) -> None:
    """What a sandbox's end releases: the module's event loop and its Secrets Manager client."""
    app._loop.close()
    app._secrets.close()
    app.bench_log_sink.close()


def vendor_server(vendor: Vendor, secret_id: str) -> ServerRecord:
    """The registry's record of the vendor, as ``steward servers add weather --url ... --secret ...`` writes it."""
    return ServerRecord(
        name=ServerName("weather"),
        kind=ServerKind.VENDOR,
        function_name="",
        function_timeout_s=0,
        url=vendor.url,
        allowed_hosts=("127.0.0.1",),
        secret_id=secret_id,
    )


def envelope(timeout_s: int) -> tuple[dict[str, Any], int]:
    """Governance's envelope for one call (a new request id each time) and its deadline."""
    deadline_ms = int(time.time() * 1000) + timeout_s * 1000
    request_id = str(uuid.uuid4())
    return envelope_for(request_id, deadline_ms, ALICE, request_id, TOOL, dict(ARGUMENTS)), deadline_ms


def start_runner(processes: Processes, directory: Path, extra: dict[str, str]) -> str:
    ready = directory / "runner.json"
    args = ["mcp_steward.local.runner", "--template", str(TEMPLATE), "--port", "0", "--ready-file", str(ready)]
    args += ["--stack-name", STACK_NAME, "--region", REGION]
    for key, value in extra.items():
        args += ["--env", f"{key}={value}"]
    process = processes.start("runner", args, child_environment())
    processes.adopt([process.pid])
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the runner did not start:\n{processes.log_tail('runner')}")
        time.sleep(0.05)
    return str(json.loads(ready.read_text())["url"])


# -- measuring -----------------------------------------------------------------------------------------------


@dataclass
class Side:
    name: str
    #: One call: prepares what is not timed, returns the timed part (which checks its answer).
    call: Callable[[], float]
    ms: list[float] = field(default_factory=list)
    requests: int = 0

    @property
    def median(self) -> float:
        return median(self.ms)

    @property
    def p95(self) -> float:
        return percentile(self.ms, 95)

    def block(self, vendor: Vendor, size: int, *, record: bool = True) -> None:
        before = vendor.requests()
        samples = [self.call() for _ in range(size)]
        if record:
            self.ms += samples
            self.requests += vendor.requests() - before


def timed(action: Callable[[], Any], after: Callable[[Any], None]) -> float:
    started = time.perf_counter()
    answer = action()
    elapsed = (time.perf_counter() - started) * 1000
    after(answer)
    return elapsed


@dataclass
class Sides:
    """Every side, wired to one vendor, one moto and one runner."""

    vendor: Vendor
    loop: asyncio.AbstractEventLoop
    handler: Callable[[dict[str, Any], Any], dict[str, Any]]
    spec: FunctionSpec
    invoker: EgressInvoker
    server: ServerRecord
    trust: ssl.SSLContext = field(init=False)
    body: bytes = field(init=False)
    eras: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.trust = ssl.create_default_context(cafile=str(self.vendor.ca_file))
        self.body = floor_body()

    def sdk(self) -> float:
        return timed(lambda: self.loop.run_until_complete(sdk_call(self.vendor, self.trust)), self.eras.add)

    def floor(self) -> float:
        return timed(lambda: self.loop.run_until_complete(floor_call(self.vendor, self.trust, self.body)), _none)

    def egress_handler(self) -> float:
        event, deadline_ms = envelope(self.spec.timeout_s)
        event = with_target(event, vendor_target(self.server))
        context = LambdaContext(
            function_name=self.spec.function_name,
            function_version="$LATEST",
            invoked_function_arn=self.spec.function_arn,
            memory_limit_in_mb=self.spec.memory_mb,
            aws_request_id=str(uuid.uuid4()),
            log_group_name=f"/aws/lambda/{self.spec.function_name}",
            log_stream_name="bench",
            deadline_ms=deadline_ms,
        )
        return timed(lambda: self.handler(event, context), lambda answer: check_rpc(HANDLER, answer))

    def runner_hop(self) -> float:
        event, deadline_ms = envelope(self.spec.timeout_s)
        return timed(
            lambda: self.invoker.invoke(self.server, event, deadline_ms=deadline_ms),
            lambda answer: check_rpc(RUNNER, answer),
        )

    def runner_ping(self) -> float:
        """The Invoke hop alone: the egress answers ``ping`` with method-not-found before any check or vendor."""
        event, deadline_ms = envelope(self.spec.timeout_s)
        event = {**event, "message": {"jsonrpc": "2.0", "id": event["message"]["id"], "method": "ping"}}

        def after(answer: dict[str, Any]) -> None:
            if answer.get("error", {}).get("code") != -32601:
                raise RuntimeError(f"{INVOKE}: unexpected answer {json.dumps(answer)[:500]}")

        return timed(lambda: self.invoker.invoke(self.server, event, deadline_ms=deadline_ms), after)


def _none(_: object) -> None:
    return None


def _compare(label: str, side: Side, baseline: Side, *, p95: bool = True) -> list[str]:
    figures = [("median", side.median, baseline.median)]
    if p95:
        figures.append(("p95", side.p95, baseline.p95))
    return [
        f"{ratio_line(f'{label}, {figure}', mine, theirs)}  added {mine - theirs:+.3f} ms"
        for figure, mine, theirs in figures
    ]


def report(sides: dict[str, Side], calls: int, block: int, eras: set[str], egress_eras: set[str]) -> list[str]:
    sdk, floor, handler, runner, ping = (sides[name] for name in (BASELINE, FLOOR, HANDLER, RUNNER, INVOKE))
    lines = [
        f"egress hop on loopback: {TOOL} on the SDK vendor server (HTTPS, bearer token), a new TLS connection per "
        f"vendor call, {calls} calls per side interleaved in blocks of {block}",
        f"  the SDK client negotiated {', '.join(sorted(eras))}; the egress spoke {', '.join(sorted(egress_eras))}",
        f"  {'per call':<58} {'median':>12} {'p95':>12}  vendor requests/call",
    ]
    for side in sides.values():
        per_call = side.requests / len(side.ms)
        lines.append(f"  {side.name:<58} {side.median:9.3f} ms {side.p95:9.3f} ms  {per_call:.0f}")
    lines += [
        "  subject vs baseline (the SDK Client): ratio, and added = subject - baseline",
        *_compare("egress handler vs SDK Client", handler, sdk),
        *_compare("governance -> runner -> egress vs SDK Client", runner, sdk),
        *_compare("bare POST vs SDK Client", floor, sdk),
        "  context: what the egress adds to one bare request, and what the local runner's Invoke costs",
        *_compare("egress handler vs bare POST", handler, floor, p95=False),
        *_compare("governance -> runner -> egress vs bare POST", runner, floor, p95=False),
        *_compare("governance -> runner -> egress vs its Invoke alone", runner, ping, p95=False),
    ]
    return lines


def run(calls: int = CALLS, block: int = BLOCK, warmup: int = WARMUP, moto_url: str | None = None) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="bench-egress-hop-") as tmp, contextlib.ExitStack() as stack:
        processes = Processes(Path(tmp))
        stack.callback(processes.stop)
        if moto_url is None:
            moto_url = stack.enter_context(serve_in_thread())
        vendor = start_vendor(processes, Path(tmp))
        spec = egress_spec()
        secret_id = f"{spec.environment['VENDOR_SECRET_PREFIX']}weather-{secrets.token_hex(4)}"
        session = boto3.session.Session(region_name=REGION, aws_access_key_id="local", aws_secret_access_key="local")
        secretsmanager = session.client("secretsmanager", endpoint_url=moto_url)
        stack.callback(secretsmanager.close)
        # as ``steward secrets put-vendor --origin`` stores it: the credential with the one origin it may go to
        stored = stored_credential(vendor.token, [credential_origin(vendor.origin)])
        secretsmanager.create_secret(Name=secret_id, SecretString=stored)
        extra = egress_extra_env(vendor, moto_url)
        runner_url = start_runner(processes, Path(tmp), extra)
        app = import_egress(spec, worker_environment(spec, region=REGION, extra=extra, parent=os.environ))
        stack.callback(close_egress, app)

        def lambda_client(config: Config) -> Any:
            return session.client("lambda", endpoint_url=runner_url, config=config)

        functions = LambdaInvoker(lambda_client, function_prefix=spec.function_name)
        stack.callback(functions.close)
        invoker = EgressInvoker(functions, spec.function_name, spec.timeout_s)
        loop = asyncio.new_event_loop()
        stack.callback(loop.close)
        wired = Sides(vendor, loop, app.handler, spec, invoker, vendor_server(vendor, secret_id))
        calls_of = {
            BASELINE: wired.sdk,
            FLOOR: wired.floor,
            HANDLER: wired.egress_handler,
            RUNNER: wired.runner_hop,
            INVOKE: wired.runner_ping,
        }
        sides = {name: Side(name, call) for name, call in calls_of.items()}
        for side in sides.values():
            side.block(vendor, warmup, record=False)
        for _ in range(max(1, calls // block)):
            for side in sides.values():
                side.block(vendor, block)
        # What the in-process egress learnt of the vendor (era and version), kept for its sandbox's life.
        egress_eras = {f"{learnt.version} ({learnt.era})" for learnt in app._service._sessions.values()}
        return report(sides, len(sides[BASELINE].ms), block, wired.eras, egress_eras)


if __name__ == "__main__":
    print("\n".join(run()))
