"""The local function runner: Lambda's Invoke API over the functions a SAM template declares.

Run it as its own process::

    python -m mcp_steward.local.runner --template infra/template.yaml --host 127.0.0.1 --port 0 \\
        --ready-file PATH [--env KEY=VALUE ...] [--stack-name NAME] [--region R] [--parameter KEY=VALUE ...] \\
        [--max-workers-per-function 10] [--max-workers 40] [--queue-depth 100] [--idle-timeout 300] [--eager]

It serves ``POST /2015-03-31/functions/{FunctionName}/invocations`` (``RequestResponse``, ``Event``,
``DryRun``; a ``Qualifier`` selects a published version) and ``POST /2015-03-31/functions/{FunctionName}/versions``
(``PublishVersion``: :mod:`mcp_steward.local.versions`) with Lambda's status codes, headers and error bodies, so
boto3's ``lambda`` client works against it unchanged, and ``GET /_steward/health``.

Concurrency is Lambda's: each function runs in a pool of warm worker processes (:mod:`mcp_steward.local.worker`),
one invocation per worker at a time. An invocation takes an idle worker, else one is started while the function is
under its limit (``ReservedConcurrentExecutions`` when the template sets it, else ``--max-workers-per-function``)
and the plane under ``--max-workers``; else it waits in the function's queue (at most ``--queue-depth``
invocations) for a free worker until its timeout; else it is answered 429 ``TooManyRequestsException``. Workers
are replaced when their code changes, when they time out and when they crash; idle ones beyond one per function
retire after ``--idle-timeout`` seconds.

Nested calls: workers reach the runner at ``/_steward/nested/...`` (their ``AWS_ENDPOINT_URL_LAMBDA``), so the
runner knows an invocation comes from a function. Outer invocations may hold only the function's limit minus a
reserve (a fifth, at least one); the reserve is left to nested ones, and nested invocations never wait in the
queue. So a function whose every outer worker runs a call waiting on a nested call of the same function (through
nested governance) still has a worker for that nested call, and a nested call that finds every worker busy
(recursion deeper than the reserve) is throttled at once, as Lambda throttles, instead of waiting for a worker
its own caller holds.

The template is watched: when the file changes the runner reads it again; a new function is invokable, a removed
one is ``ResourceNotFoundException``, and a function whose settings changed (handler, environment, timeout,
memory, code or layer directory, reserved concurrency) gets a new pool, while invocations in flight finish on the
old workers. A template that does not parse is logged and the previous one kept.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from mcp_steward.local.moto_server import write_ready_file
from mcp_steward.local.template import FunctionSpec, LocalTemplate, TemplateError
from mcp_steward.local.versions import LATEST, PublishedVersion, VersionStore
from mcp_steward.local.worker import Capacity, FunctionPool, Worker, WorkerDiedError, log_line

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "FunctionRunner",
    "InvokeResult",
    "TemplateSource",
    "main",
    "make_server",
    "worker_environment",
]

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
#: Workers per function when the template sets no ReservedConcurrentExecutions.
DEFAULT_CONCURRENCY = 10
#: Workers across every function. A worker is a Python process of 60 to 90 MB resident (nested governance, which
#: imports boto3 and the metering stack, is the largest), so 40 stay under 4 GB.
DEFAULT_MAX_WORKERS = 40
#: Invocations of one function waiting for a worker before the next one is throttled at once.
DEFAULT_QUEUE_DEPTH = 100
#: An idle worker beyond the first of its function retires after this long.
DEFAULT_IDLE_TIMEOUT_S = 300.0
WARM_MINIMUM = 1
HOUSEKEEPING_INTERVAL_S = 5.0
#: The path prefix of invocations made by the runner's own workers (their AWS_ENDPOINT_URL_LAMBDA).
NESTED_PREFIX = "/_steward/nested"

# What a worker inherits from the runner's own environment; everything else comes from the template,
# --env, and the Lambda-like variables below.
INHERITED_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")
# Never inherited: a global endpoint would send every service to one place (moto's Lambda echoes payloads
# back with 200 for functions that do not exist), so only service-specific endpoints are passed on.
STRIPPED_VARIABLES = ("AWS_ENDPOINT_URL",)

_FUNCTION_PATH = re.compile(
    rf"(?P<nested>{re.escape(NESTED_PREFIX)})?/2015-03-31/functions/(?P<name>[^/]+)/(?P<action>invocations|versions)"
)

# --- environment ----------------------------------------------------------------------------------------


def worker_environment(
    spec: FunctionSpec,
    *,
    region: str,
    extra: Mapping[str, str] | None = None,
    parent: Mapping[str, str] | None = None,
    version: str = LATEST,
) -> dict[str, str]:
    """The environment of a worker of ``spec``, in increasing precedence:

    1. ``PATH``, ``HOME``, ``LANG``, ``LC_ALL``, ``LC_CTYPE``, ``TZ``, ``TMPDIR`` from ``parent``;
    2. defaults: ``AWS_REGION``/``AWS_DEFAULT_REGION`` (the template's region), dummy ``AWS_ACCESS_KEY_ID``/
       ``AWS_SECRET_ACCESS_KEY``, ``POWERTOOLS_TRACE_DISABLED=true``;
    3. the function's resolved template environment (Globals merged);
    4. ``extra`` (the runner's ``--env`` pairs);
    5. Lambda's own: ``AWS_LAMBDA_FUNCTION_NAME``, ``AWS_LAMBDA_FUNCTION_VERSION`` (``version``),
       ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``, ``AWS_LAMBDA_LOG_GROUP_NAME``, ``AWS_LAMBDA_LOG_STREAM_NAME``,
       ``AWS_LAMBDA_INITIALIZATION_TYPE=on-demand``, ``AWS_EXECUTION_ENV=AWS_Lambda_<runtime>``,
       ``LAMBDA_TASK_ROOT``, ``_HANDLER``; and ``STEWARD_LOCAL_PLANE=1``, ``PYTHONUNBUFFERED=1``,
       ``PYTHONDONTWRITEBYTECODE=1``.

    ``AWS_ENDPOINT_URL`` is removed whichever layer set it.
    """
    source = os.environ if parent is None else parent
    env = {key: source[key] for key in INHERITED_VARIABLES if key in source}
    env.update(
        {
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_ACCESS_KEY_ID": "steward-local",
            "AWS_SECRET_ACCESS_KEY": "steward-local",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
    )
    env.update(spec.environment)
    env.update(extra or {})
    today = datetime.now(UTC).strftime("%Y/%m/%d")
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{today}/[{version}]{uuid.uuid4().hex}",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "_HANDLER": spec.handler,
            "STEWARD_LOCAL_PLANE": "1",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    for key in STRIPPED_VARIABLES:
        env.pop(key, None)
    return env


# --- invocation -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvokeResult:
    """What the HTTP layer sends back for one ``RequestResponse`` invocation."""

    body: bytes
    function_error: str | None = None
    request_id: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TemplateSource:
    """Where the runner's template comes from, to read it again when the file changes."""

    path: Path
    stack_name: str = "steward-local"
    region: str = "us-east-1"
    parameter_overrides: Mapping[str, str] = field(default_factory=dict)

    def load(self) -> LocalTemplate:
        """Read and check the template (every function must resolve).

        Raises:
            TemplateError, OSError: the file cannot be read or is not a template the runner can run.
        """
        template = LocalTemplate.load(
            self.path,
            stack_name=self.stack_name,
            region=self.region,
            parameter_overrides=dict(self.parameter_overrides),
        )
        template.functions()
        return template

    def stamp(self) -> tuple[int, int, int] | None:
        """What changes when the file does: mtime, size, inode (an editor's rename); ``None`` if it is gone."""
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


class FunctionRunner:
    """Runs the template's functions, ``$LATEST`` and published versions alike, in warm worker pools."""

    def __init__(
        self,
        template: LocalTemplate,
        *,
        extra_env: Mapping[str, str] | None = None,
        max_workers_per_function: int = DEFAULT_CONCURRENCY,
        max_workers: int = DEFAULT_MAX_WORKERS,
        queue_depth: int = DEFAULT_QUEUE_DEPTH,
        idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
        versions: VersionStore | None = None,
        source: TemplateSource | None = None,
    ) -> None:
        self.template = template
        self.versions = versions or VersionStore()
        self._extra_env = dict(extra_env or {})
        self._concurrency = max_workers_per_function
        self._queue_depth = queue_depth
        self._idle_timeout_s = idle_timeout_s
        # cold starts at once: one per two cores (each is an import-heavy Python start)
        self.capacity = Capacity(max_workers, max(1, (os.cpu_count() or 2) // 2))
        self.capacity.reclaim = self._reclaim
        self._pools: dict[tuple[str, str], FunctionPool] = {}
        self._lock = threading.Lock()
        self._source = source
        self._stamp = source.stamp() if source is not None else None
        self._reload_lock = threading.Lock()
        #: The runner's own URL once it listens: workers call it for nested invocations.
        self.own_url: str | None = None
        self._stopped = threading.Event()
        self._housekeeper = threading.Thread(target=self._housekeeping, name="runner-housekeeping", daemon=True)
        self._housekeeper.start()

    # -- template

    def current_template(self) -> LocalTemplate:
        """The template, read again first if its file changed since it was last read."""
        if self._source is None or self._source.stamp() == self._stamp:
            return self.template
        with self._reload_lock:
            stamp = self._source.stamp()
            if stamp == self._stamp:
                return self.template
            self._stamp = stamp  # taken before reading: a write after it is seen on a later call
            try:
                template = self._source.load()
            except (OSError, TemplateError) as exc:
                log_line(f"[runner] {self._source.path} changed but cannot be used; keeping the previous one: {exc}")
                return self.template
            self._apply(template)
            return self.template

    def _apply(self, template: LocalTemplate) -> None:
        before, after = self.template.functions(), template.functions()
        retired: list[FunctionPool] = []
        with self._lock:
            self.template = template
            for key, pool in list(self._pools.items()):
                logical_id, version = key
                if version == LATEST and after.get(logical_id) != pool.spec:
                    retired.append(self._pools.pop(key))
        for pool in retired:
            pool.close()  # in-flight invocations finish on the old workers
        added = sorted(set(after) - set(before))
        removed = sorted(set(before) - set(after))
        changed = sorted(key for key in set(before) & set(after) if before[key] != after[key])
        log_line(
            f"[runner] template reloaded: added {added or '-'}, removed {removed or '-'}, changed {changed or '-'}"
        )

    # -- pools

    def limit_of(self, spec: FunctionSpec) -> int:
        """The function's concurrency: its ReservedConcurrentExecutions, else the runner's default; never more
        than the plane-wide cap."""
        limit = self._concurrency if spec.reserved_concurrency is None else spec.reserved_concurrency
        return min(limit, self.capacity.max_workers)

    def pool(self, spec: FunctionSpec, version: str = LATEST) -> FunctionPool:
        """The pool of ``spec`` (whose ``code_dir`` is a published version's snapshot unless ``$LATEST``; for
        ``$LATEST`` the current template's spec of the same function is used).

        Raises:
            FunctionGoneError: the current template no longer declares the function.
        """
        with self._lock:
            pool = self._pools.get((spec.logical_id, version))
            if pool is not None:
                return pool
            if version == LATEST:
                current = self.template.functions().get(spec.logical_id)
                if current is None:
                    raise FunctionGoneError(spec.function_name)
                spec = current
            env = worker_environment(spec, region=self.template.region, extra=self._extra_env, version=version)
            if self.own_url is not None and env.get("AWS_ENDPOINT_URL_LAMBDA", self.own_url) == self.own_url:
                env["AWS_ENDPOINT_URL_LAMBDA"] = self.own_url + NESTED_PREFIX
            pool = FunctionPool(spec, env, self.limit_of(spec), capacity=self.capacity, queue_limit=self._queue_depth)
            self._pools[spec.logical_id, version] = pool
            return pool

    def pools(self) -> list[FunctionPool]:
        with self._lock:
            return list(self._pools.values())

    def pools_by_version(self) -> list[tuple[str, FunctionPool]]:
        with self._lock:
            return [(version, pool) for (_, version), pool in self._pools.items()]

    def _reclaim(self, requester: FunctionPool) -> bool:
        """Retire the longest-idle worker of another pool (the plane-wide cap is reached)."""
        idle = [(p.idle_since(), index, p) for index, p in enumerate(self.pools()) if p is not requester]
        ordered = sorted(((since, index, p) for since, index, p in idle if since is not None), key=lambda i: i[:2])
        return any(pool.reclaim_idle() for _, _, pool in ordered)

    def _housekeeping(self) -> None:
        while not self._stopped.wait(HOUSEKEEPING_INTERVAL_S):
            try:
                self.current_template()
                for pool in self.pools():
                    pool.retire_idle(self._idle_timeout_s, WARM_MINIMUM)
            except Exception as exc:  # never let housekeeping die silently
                log_line(f"[runner] housekeeping failed: {type(exc).__name__}: {exc}")

    def publish(self, spec: FunctionSpec) -> PublishedVersion:
        """``PublishVersion``: a snapshot of the function's code now (the latest version when unchanged)."""
        return self.versions.publish(spec)

    def warm_up(self) -> None:
        """Start one worker per function now instead of on first invoke."""
        for spec in self.template.functions().values():
            pool = self.pool(spec)
            acquired = pool.acquire(wait_s=float(spec.timeout_s))
            if isinstance(acquired, Worker):
                pool.release(acquired, healthy=True)

    def invoke(self, spec: FunctionSpec, payload: str, version: str = LATEST, *, nested: bool = False) -> InvokeResult:
        """Run one invocation of ``spec`` (a published version's spec when ``version`` names one) to completion;
        errors come back as ``Unhandled`` bodies, like Lambda's. ``nested``: a worker of this runner asked.

        Raises:
            ThrottledError: no worker became free within the function's timeout, or its queue is full.
            FunctionGoneError: the template no longer declares the function (it changed while this call waited).
        """
        request_id = str(uuid.uuid4())
        deadline = time.monotonic() + spec.timeout_s
        while True:
            pool = self.pool(spec, version)
            spec = pool.spec
            acquired = pool.acquire(wait_s=max(0.0, deadline - time.monotonic()), nested=nested)
            if acquired is not None or not pool.closed or version != LATEST or self._stopped.is_set():
                break
            self.current_template()  # the template changed this function while the call waited: use the new pool
        if acquired is None:
            raise ThrottledError(spec.function_name, reserved=spec.reserved_concurrency is not None)
        if not isinstance(acquired, Worker):
            return _unhandled(request_id, acquired)
        worker = acquired
        request = {
            "request_id": request_id,
            "payload": payload,
            "deadline_ms": int(time.time() * 1000) + spec.timeout_s * 1000,
            "invoked_function_arn": spec.function_arn,
        }
        try:
            reply = worker.invoke(request, timeout_s=float(spec.timeout_s))
        except TimeoutError:
            pool.release(worker, healthy=False)
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            message = f"{stamp} {request_id} Task timed out after {spec.timeout_s:.2f} seconds"
            return _unhandled(request_id, {"errorMessage": message, "errorType": "Sandbox.Timedout"})
        except WorkerDiedError:
            pool.release(worker, healthy=False)
            message = f"RequestId: {request_id} Error: Runtime exited with error: {worker.exit_description()}"
            return _unhandled(request_id, {"errorMessage": message, "errorType": "Runtime.ExitError"})
        pool.release(worker, healthy=True)
        if reply.get("type") == "error":
            return _unhandled(request_id, reply["error"])
        body = str(reply.get("body", "null")).encode()
        if len(body) > MAX_PAYLOAD_BYTES:
            message = f"Response payload size exceeded maximum allowed payload size ({MAX_PAYLOAD_BYTES} bytes)."
            return _unhandled(request_id, {"errorMessage": message, "errorType": "Function.ResponseSizeTooLarge"})
        return InvokeResult(body=body, request_id=request_id)

    def close(self) -> None:
        """Kill every worker and drop the published versions' snapshots."""
        self._stopped.set()
        with self._lock:
            pools = list(self._pools.values())
        for pool in pools:
            pool.kill_all()
        self.versions.close()


class ThrottledError(Exception):
    """No worker of the function became free in time, or its queue is full."""

    def __init__(self, function_name: str, *, reserved: bool = False) -> None:
        super().__init__(function_name)
        self.reserved = reserved


class FunctionGoneError(Exception):
    """The template stopped declaring the function while an invocation waited for it."""


def _unhandled(request_id: str, error: Mapping[str, Any]) -> InvokeResult:
    body = {"errorMessage": "", "errorType": "Unknown", **error, "requestId": request_id}
    body.setdefault("stackTrace", [])
    # As Lambda's log shows a failed invocation: the type always; the message only when the runtime wrote it
    # (a handler's own message may carry anything).
    error_type = str(body["errorType"])
    own = error_type.startswith(("Sandbox.", "Runtime.", "Function."))
    log_line(f"[runner] {request_id} failed: {error_type}" + (f": {body['errorMessage']}"[:400] if own else ""))
    return InvokeResult(body=json.dumps(body).encode(), function_error="Unhandled", request_id=request_id)


# --- HTTP -----------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    runner: FunctionRunner
    verbose: bool = False


class _InvokeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm and the client's delayed ACK
    # hold the body back ~40 ms on every keep-alive invocation.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            log_line(f"[runner] {self.address_string()} {format % args}")

    def _send(self, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if body:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the caller gave up (its read timeout); nothing to tell it

    def _send_error(self, status: int, error_type: str, message: str, *, message_key: str = "message") -> None:
        body = json.dumps({"Type": "User", message_key: message}).encode()
        headers = {"x-amzn-ErrorType": error_type, "x-amzn-RequestId": str(uuid.uuid4())}
        if self.close_connection:  # say so, or the client may send its next request on a closing connection
            headers["Connection"] = "close"
        self._send(status, body, headers)

    def _drain(self, length: int) -> None:
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 16))
            if not chunk:
                break
            length -= len(chunk)

    def do_GET(self) -> None:
        if urlsplit(self.path).path != "/_steward/health":
            self._send_error(404, "ResourceNotFoundException", "Unknown route", message_key="Message")
            return
        runner = self.server.runner
        functions = {spec.logical_id: spec.function_name for spec in runner.current_template().functions().values()}
        pools = {f"{pool.spec.function_name}:{version}": pool.stats() for version, pool in runner.pools_by_version()}
        body = {"status": "ok", "functions": functions, "pools": pools, "workers": runner.capacity.used}
        self._send(200, json.dumps(body).encode())

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        url = urlsplit(self.path)
        match = _FUNCTION_PATH.fullmatch(url.path)
        if match is None:
            self._drain(length)
            self._send_error(404, "ResourceNotFoundException", "Unknown route", message_key="Message")
            return
        if length > MAX_PAYLOAD_BYTES:
            self._drain(length)
            self.close_connection = True
            message = f"Request must be smaller than {MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation"
            self._send_error(413, "RequestTooLargeException", message)
            return
        payload = self.rfile.read(length) if length else b""
        runner = self.server.runner
        name = unquote(match.group("name"))
        nested = match.group("nested") is not None
        spec = runner.current_template().function_by_name(name)
        qualifier = _qualifier(name, parse_qs(url.query).get("Qualifier", [""])[0])
        if spec is not None and qualifier != LATEST:
            published = runner.versions.get(spec, qualifier)
            spec = published.spec if published is not None else None
        if spec is None:
            self._function_not_found(name, qualifier)
            return
        if match.group("action") == "versions":
            self._send(201, json.dumps(runner.publish(spec).configuration()).encode())
            return
        text = payload.decode("utf-8", errors="replace") if payload.strip() else "{}"
        try:
            json.loads(text)
        except ValueError as exc:
            self._send_error(400, "InvalidRequestContentException", f"Could not parse request body into json: {exc}")
            return
        invocation_type = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        if invocation_type == "DryRun":
            self._send(204)
        elif invocation_type == "Event":
            threading.Thread(target=self._invoke_event, args=(spec, text, qualifier, nested), daemon=True).start()
            self._send(202, headers={"x-amzn-RequestId": str(uuid.uuid4())})
        elif invocation_type == "RequestResponse":
            self._invoke(spec, text, qualifier, nested)
        else:
            self._send_error(400, "InvalidParameterValueException", f"Unsupported InvocationType {invocation_type}")

    def _function_not_found(self, name: str, qualifier: str) -> None:
        template = self.server.runner.current_template()
        arn = (
            name
            if name.startswith("arn:")
            else f"arn:aws:lambda:{template.region}:{template.account_id}:function:{name}"
        )
        if qualifier != LATEST and not arn.endswith(f":{qualifier}"):
            arn = f"{arn}:{qualifier}"
        self._send_error(404, "ResourceNotFoundException", f"Function not found: {arn}", message_key="Message")

    def _invoke(self, spec: FunctionSpec, payload: str, version: str, nested: bool) -> None:
        try:
            result = self.server.runner.invoke(spec, payload, version, nested=nested)
        except FunctionGoneError:
            self._function_not_found(spec.function_name, version)
            return
        except ThrottledError as exc:
            # Lambda's body and header for a throttled synchronous invoke (botocore: TooManyRequestsException)
            reason = (
                "ReservedFunctionConcurrentInvocationLimitExceeded"
                if exc.reserved
                else "ConcurrentInvocationLimitExceeded"
            )
            body = json.dumps({"Reason": reason, "Type": "User", "message": "Rate Exceeded."})
            headers = {"x-amzn-ErrorType": "TooManyRequestsException", "x-amzn-RequestId": str(uuid.uuid4())}
            self._send(429, body.encode(), {**headers, "Retry-After": "1"})
            return
        headers = {"X-Amz-Executed-Version": version, "x-amzn-RequestId": result.request_id}
        if result.function_error:
            headers["X-Amz-Function-Error"] = result.function_error
        self._send(200, result.body, headers)

    def _invoke_event(self, spec: FunctionSpec, payload: str, version: str, nested: bool) -> None:
        try:
            result = self.server.runner.invoke(spec, payload, version, nested=nested)
        except (ThrottledError, FunctionGoneError):
            log_line(f"[runner] async invocation of {spec.function_name} throttled and dropped")
            return
        if result.function_error:
            log_line(
                f"[runner] async invocation of {spec.function_name} failed: {result.body.decode(errors='replace')}"
            )


def _qualifier(name: str, query: str) -> str:
    """The version an invocation names: the ``Qualifier`` parameter, else a ``NAME:QUALIFIER`` suffix."""
    if query:
        return query
    parts = name.split(":")
    if name.startswith("arn:"):
        suffix = parts[7] if len(parts) > 7 else ""
    elif len(parts) >= 3 and parts[1] == "function":  # the partial ARN ACCOUNT:function:NAME[:QUALIFIER]
        suffix = parts[3] if len(parts) > 3 else ""
    else:
        suffix = parts[1] if len(parts) == 2 else ""
    return suffix or LATEST


def make_server(runner: FunctionRunner, host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False) -> _Server:
    """Bind (not start) the runner's threaded HTTP server."""
    server = _Server((host, port), _InvokeHandler)
    server.runner = runner
    server.verbose = verbose
    return server


def _pairs(values: list[str], option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key:
            raise SystemExit(f"{option} expects KEY=VALUE, got {value!r}")
        pairs[key] = item
    return pairs


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m mcp_steward.local.runner``."""
    parser = argparse.ArgumentParser(prog="python -m mcp_steward.local.runner", description=__doc__)
    parser.add_argument("--template", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--ready-file", type=Path, help='written as {"url", "pid"} once listening')
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="added to every worker")
    parser.add_argument("--stack-name", default="steward-local")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE", help="template parameter")
    parser.add_argument(
        "--max-workers-per-function",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help="concurrency of a function without ReservedConcurrentExecutions",
    )
    parser.add_argument("--max-workers", type=int, default=DEFAULT_MAX_WORKERS, help="workers across all functions")
    parser.add_argument(
        "--queue-depth", type=int, default=DEFAULT_QUEUE_DEPTH, help="invocations of a function waiting for a worker"
    )
    parser.add_argument(
        "--idle-timeout", type=float, default=DEFAULT_IDLE_TIMEOUT_S, help="seconds before an idle worker retires"
    )
    parser.add_argument("--eager", action="store_true", help="start one worker per function at start")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    source = TemplateSource(
        args.template.resolve(),
        stack_name=args.stack_name,
        region=args.region,
        parameter_overrides=_pairs(args.parameter, "--parameter"),
    )
    template = source.load()  # a template the runner cannot run fails now, not on first invoke
    runner = FunctionRunner(
        template,
        extra_env=_pairs(args.env, "--env"),
        max_workers_per_function=args.max_workers_per_function,
        max_workers=args.max_workers,
        queue_depth=args.queue_depth,
        idle_timeout_s=args.idle_timeout,
        source=source,
    )
    server = make_server(runner, args.host, args.port, verbose=args.verbose)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever, name="runner-http", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    url = f"http://{host!s}:{port}"
    runner.own_url = url
    try:
        if args.eager:
            runner.warm_up()
        if args.ready_file is not None:
            write_ready_file(args.ready_file, {"url": url, "pid": os.getpid()})
        log_line(f"[runner] serving {len(template.functions())} functions on {url}")
        stop.wait()
    finally:
        server.shutdown()
        runner.close()
        server.server_close()
        thread.join()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
