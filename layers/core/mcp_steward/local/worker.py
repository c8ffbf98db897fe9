"""One warm Lambda-like worker: imports a handler once, then serves invocations from the runner.

Started by :mod:`mcp_steward.local.runner` as
``python -m mcp_steward.local.worker --code-dir DIR --handler app.handler [--layer-dir DIR ...]``.

Protocol: frames of a 4-byte big-endian length and UTF-8 JSON, requests on stdin and replies on the original
stdout. Before the handler is imported, stdout is pointed at stderr, so whatever the handler prints (Python or
native code) reaches the runner's log, never the protocol. Replies:

- ``{"type": "ready", "pid"}`` once the handler is imported, or ``{"type": "init_error", "error"}`` (then exit);
- ``{"type": "result", "body"}`` (the handler's result as JSON text) or ``{"type": "error", "error"}`` per
  request ``{"request_id", "payload", "deadline_ms", "invoked_function_arn"}``.

The second half of the module is the runner's side of the pipe: :class:`Worker` (one process),
:class:`FunctionPool` (the warm workers of one function) and :class:`Capacity` (the bound across functions).
Everything here is standard library, so a worker starts fast.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import queue
import signal
import struct
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # the worker process itself never needs the template model (nor yaml)
    from mcp_steward.local.template import FunctionSpec

_HEADER = struct.Struct(">I")


def read_frame(stream: IO[bytes]) -> dict[str, Any] | None:
    """Read one frame; ``None`` at end of stream."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (length,) = _HEADER.unpack(header)
    data = stream.read(length)
    if len(data) < length:
        return None
    frame: dict[str, Any] = json.loads(data)
    return frame


def write_frame(stream: IO[bytes], frame: dict[str, Any]) -> None:
    """Write one frame and flush it."""
    data = json.dumps(frame).encode()
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


@dataclass
class LambdaContext:
    """The attributes of Lambda's Python context object that handlers and powertools read."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline_ms: int
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))


def error_body(exc: BaseException, *, error_type: str | None = None, skip_frames: int = 0) -> dict[str, Any]:
    """Lambda's shape for an unhandled error (``requestId`` is added by the runner)."""
    frames = traceback.extract_tb(exc.__traceback__)[skip_frames:]
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_list(frames),
    }


def _load_handler(code_dir: str, layer_dirs: list[str], handler: str) -> Any:
    module_name, _, attribute = handler.rpartition(".")
    if not module_name:
        raise ImportError(f"Bad handler '{handler}': not enough values to unpack (expected 2, got 1)")
    # Lambda's order: the function's code, then layers; the venv's site-packages stay after them.
    sys.path[:0] = [code_dir, *layer_dirs]
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError as exc:
        raise AttributeError(f"Handler '{attribute}' missing on module '{module_name}'") from exc


def _init_error(exc: Exception, handler: str) -> dict[str, Any]:
    module_name = handler.rpartition(".")[0]
    if isinstance(exc, (ImportError, SyntaxError)):
        error_type = "Runtime.UserCodeSyntaxError" if isinstance(exc, SyntaxError) else "Runtime.ImportModuleError"
        error = error_body(exc, error_type=error_type)
        error["errorMessage"] = f"Unable to import module '{module_name}': {exc}"
        return error
    return error_body(exc, error_type="Runtime.HandlerNotFound" if isinstance(exc, AttributeError) else None)


def _serve(handler: Any, requests: IO[bytes], replies: IO[bytes]) -> None:
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
    while (request := read_frame(requests)) is not None:
        context = LambdaContext(
            function_name=function_name,
            function_version=os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            invoked_function_arn=request["invoked_function_arn"],
            memory_limit_in_mb=int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")),
            aws_request_id=request["request_id"],
            log_group_name=os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", f"/aws/lambda/{function_name}"),
            log_stream_name=os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", ""),
            deadline_ms=int(request["deadline_ms"]),
        )
        try:
            result = handler(json.loads(request["payload"]), context)
        except Exception as exc:
            write_frame(replies, {"type": "error", "error": error_body(exc, skip_frames=1)})
            continue
        try:
            body = json.dumps(result)
        except (TypeError, ValueError) as exc:
            error = error_body(exc, error_type="Runtime.MarshalError")
            error["errorMessage"] = f"Unable to marshal response: {exc}"
            write_frame(replies, {"type": "error", "error": error})
            continue
        write_frame(replies, {"type": "result", "body": body})


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m mcp_steward.local.worker``."""
    parser = argparse.ArgumentParser(prog="python -m mcp_steward.local.worker")
    parser.add_argument("--code-dir", required=True)
    parser.add_argument("--handler", required=True)
    parser.add_argument("--layer-dir", action="append", default=[])
    args = parser.parse_args(argv)

    # Keep private copies of the protocol pipes, then point fd 0 at /dev/null and fd 1 at stderr.
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)

    try:
        handler = _load_handler(args.code_dir, args.layer_dir, args.handler)
    except Exception as exc:
        write_frame(replies, {"type": "init_error", "error": _init_error(exc, args.handler)})
        return 1
    write_frame(replies, {"type": "ready", "pid": os.getpid()})
    _serve(handler, requests, replies)
    return 0


# --- the runner's side: worker processes and per-function pools ------------------------------------------

INIT_TIMEOUT_S = 30.0  # importing a handler locally can be slow on a cold disk; Lambda allows 10 s
FINGERPRINT_INTERVAL_S = 1.0
#: A pool whose workers are all busy starts another one only once none has finished for this long.
SCALE_PATIENCE_S = 0.5

_stderr_lock = threading.Lock()


def log_line(line: str) -> None:
    """Write one line to stderr without interleaving it with other threads' lines."""
    with _stderr_lock:
        sys.stderr.write(line if line.endswith("\n") else line + "\n")
        sys.stderr.flush()


class WorkerDiedError(Exception):
    """The worker process exited (or closed its pipe) before replying."""


class Worker:
    """One warm worker process for one function."""

    def __init__(self, spec: FunctionSpec, env: Mapping[str, str], generation: int) -> None:
        self.spec = spec
        self.generation = generation
        command = [sys.executable, "-m", "mcp_steward.local.worker", "--code-dir", str(spec.code_dir)]
        command += ["--handler", spec.handler]
        for layer_dir in spec.layer_dirs:
            command += ["--layer-dir", str(layer_dir)]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=spec.code_dir,
            start_new_session=True,  # a terminal's Ctrl-C reaches the runner, which then kills its workers
        )
        self.pid = self.process.pid
        self._replies: queue.Queue[dict[str, Any] | None] = queue.Queue()
        assert self.process.stdout is not None and self.process.stderr is not None
        threading.Thread(target=self._read_replies, args=(self.process.stdout,), daemon=True).start()
        threading.Thread(target=self._forward_logs, args=(self.process.stderr,), daemon=True).start()

    def _read_replies(self, stream: IO[bytes]) -> None:
        try:
            while (frame := read_frame(stream)) is not None:
                self._replies.put(frame)
        except (OSError, ValueError):
            pass
        finally:
            self._replies.put(None)

    def _forward_logs(self, stream: IO[bytes]) -> None:
        prefix = f"[{self.spec.function_name} {self.pid}] "
        for line in iter(stream.readline, b""):
            log_line(prefix + line.decode(errors="replace").rstrip("\n"))

    def _reply(self, timeout_s: float) -> dict[str, Any]:
        try:
            frame = self._replies.get(timeout=timeout_s)
        except queue.Empty:
            raise TimeoutError from None
        if frame is None:
            raise WorkerDiedError
        return frame

    def wait_ready(self, timeout_s: float = INIT_TIMEOUT_S) -> dict[str, Any]:
        """The worker's first frame (``ready`` or ``init_error``).

        Raises:
            TimeoutError: no frame in time.
            WorkerDiedError: the worker exited first.
        """
        return self._reply(timeout_s)

    def invoke(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Send one request and wait for its reply.

        Raises:
            TimeoutError: no reply in ``timeout_s`` (the worker is still running; kill it).
            WorkerDiedError: the worker exited first.
        """
        assert self.process.stdin is not None
        try:
            write_frame(self.process.stdin, request)
        except OSError as exc:
            raise WorkerDiedError from exc
        return self._reply(timeout_s)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def exit_description(self) -> str:
        code = self.process.wait(timeout=5)
        if code < 0:
            return f"signal: {signal.Signals(-code).name.removeprefix('SIG').lower()}"
        return f"exit status {code}"

    def kill(self) -> None:
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


def _fingerprint(dirs: Iterable[Path]) -> int:
    """A hash of every file's path, mtime and size under ``dirs`` (caches and dot-directories skipped)."""
    entries: list[tuple[str, int, int]] = []
    for root_dir in dirs:
        for root, subdirs, files in os.walk(root_dir):
            subdirs[:] = [name for name in subdirs if not name.startswith(".") and name != "__pycache__"]
            for name in files:
                path = os.path.join(root, name)  # noqa: PTH118 - os.walk hands out strings; this loop is hot
                try:
                    stat = os.stat(path)  # noqa: PTH116
                except FileNotFoundError:
                    continue
                entries.append((path, stat.st_mtime_ns, stat.st_size))
    return hash(tuple(sorted(entries)))


class Capacity:
    """The plane-wide bound on worker processes: at most ``max_workers`` alive (or starting) across every
    function, and at most ``max_starting`` starting at once (a cold start is a Python import: on a 2-core machine,
    starting ten at once only makes each slower while the warm ones could have served the queue).

    At the bound, a pool that needs a worker retires the longest-idle worker of another pool (``reclaim``)."""

    def __init__(self, max_workers: int, max_starting: int) -> None:
        if max_workers < 1 or max_starting < 1:
            raise ValueError("max_workers and max_starting must be at least 1")
        self.max_workers = max_workers
        self._used = 0
        self._cond = threading.Condition()
        self.starting = threading.BoundedSemaphore(max_starting)
        #: Kills one idle worker of a pool other than the one given; True when it freed a unit.
        self.reclaim: Callable[[FunctionPool], bool] = lambda pool: False

    def reserve(self, pool: FunctionPool, wait_s: float) -> bool:
        """One unit for a new worker of ``pool``: free, reclaimed from an idle worker elsewhere, or freed within
        ``wait_s``; False otherwise. Never called with a pool's lock held (reclaiming takes another pool's)."""
        deadline = time.monotonic() + wait_s
        while True:
            with self._cond:
                if self._used < self.max_workers:
                    self._used += 1
                    return True
            if self.reclaim(pool):
                continue
            with self._cond:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not pool.wants_worker():
                    return False
                # Woken by a release; the bounded wait also notices idle workers that appeared elsewhere.
                self._cond.wait(min(remaining, 0.5))

    def release(self) -> None:
        with self._cond:
            self._used = max(0, self._used - 1)
            self._cond.notify()

    @property
    def used(self) -> int:
        with self._cond:
            return self._used


class FunctionPool:
    """The warm workers of one function (one version), as Lambda's execution environments:

    - an invocation takes an idle worker; else, while the pool is under its ``limit`` (and the plane under its
      :class:`Capacity`), a new worker is started in the background (one at a time, and only once the busy ones
      stop turning over: :data:`SCALE_PATIENCE_S`), and the invocation waits in the queue for whichever worker is
      free first (a warm one finishing usually beats a cold start);
    - at most ``queue_limit`` invocations wait; one more, or one that waited its ``wait_s``, is throttled
      (``None``: the runner answers 429 ``TooManyRequestsException``, as Lambda does); nested invocations
      (see :meth:`acquire`) do not queue;
    - a worker that crashed, timed out or runs old code is killed, never reused; idle workers beyond
      ``warm_minimum`` are retired by :meth:`retire_idle`;
    - :meth:`close` (runner stops, or the template changed the function) kills idle workers at once and busy ones
      when their invocation ends; invocations still waiting get ``None`` and the runner retries them on the
      function's new pool.
    """

    def __init__(
        self,
        spec: FunctionSpec,
        env: Mapping[str, str],
        limit: int,
        *,
        capacity: Capacity | None = None,
        queue_limit: int = 100,
    ) -> None:
        self.spec = spec
        self._env = env
        self.limit = max(0, limit)
        self.queue_limit = max(0, queue_limit)
        self._capacity = capacity or Capacity(max(1, self.limit), 2)
        self._cond = threading.Condition()
        self._idle: list[tuple[Worker, float]] = []  # (worker, idle since), the most recently used last
        self._busy: dict[Worker, bool] = {}  # worker → serving a nested invocation
        self._busy_outer = 0
        self._starting = 0
        self._waiting_outer = 0
        self._waiting_nested = 0
        self._last_release = 0.0  # when a worker last finished an invocation (monotonic)
        self._failures: list[dict[str, Any]] = []  # init errors, each handed to one waiting invocation
        self.closed = False
        self.generation = 0
        self._watched = [spec.code_dir, *spec.layer_dirs]
        self._fingerprint = _fingerprint(self._watched)
        self._checked_at = time.monotonic()

    def _check_code_locked(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < FINGERPRINT_INTERVAL_S:
            return
        self._checked_at = now
        fingerprint = _fingerprint(self._watched)
        if fingerprint != self._fingerprint:
            self._fingerprint = fingerprint
            self.generation += 1
            log_line(f"[runner] code of {self.spec.function_name} changed; restarting its workers")

    @property
    def outer_limit(self) -> int:
        """How many workers invocations from outside the plane's functions may hold: the limit minus a reserve
        (a fifth, at least one when the limit is 2 or more) that only nested invocations use, so outer calls that
        all wait on a nested call of their own function cannot take every worker it could run on."""
        return self.limit - (max(1, self.limit // 5) if self.limit >= 2 else 0)

    def _demand_locked(self) -> int:
        """How many waiting invocations could take a worker now if one were idle."""
        outer_room = max(0, self.outer_limit - self._busy_outer)
        return self._waiting_nested + min(self._waiting_outer, outer_room)

    def wants_worker(self) -> bool:
        """Whether a starting worker would still serve someone (a starter asks before taking capacity)."""
        with self._cond:
            return not self.closed and self._demand_locked() > len(self._idle)

    def acquire(self, wait_s: float, *, nested: bool = False) -> Worker | dict[str, Any] | None:
        """A ready worker, an ``init_error`` body (a worker started for this invocation failed), or ``None``:
        throttled (the pool is at its limit and the queue is full, or ``wait_s`` passed) or closed.

        ``nested``: the invocation comes from one of the runner's own workers (a tool's nested call, through
        nested governance); it may use the workers outer invocations may not (:attr:`outer_limit`), and it never
        waits in the queue (at the limit it is throttled at once, as Lambda throttles): its caller, or its
        caller's caller, may hold the very worker it would wait for."""
        deadline = time.monotonic() + wait_s
        stale: list[Worker] = []
        try:
            with self._cond:
                self._check_code_locked()
                if nested:
                    self._waiting_nested += 1
                else:
                    self._waiting_outer += 1
                try:
                    while True:
                        if self.closed or self.limit == 0:
                            return None
                        may_take = nested or self._busy_outer < self.outer_limit
                        while self._idle and may_take:
                            worker, _ = self._idle.pop()
                            if worker.generation == self.generation and worker.alive:
                                self._busy[worker] = nested
                                if not nested:
                                    self._busy_outer += 1
                                return worker
                            stale.append(worker)
                        if self._failures:
                            return self._failures.pop(0)
                        live = len(self._busy) + len(self._idle) + self._starting
                        # Scale out as Lambda does, at a bounded rate: one cold start at a time per function, and
                        # only while the warm workers are not turning over (none freed for SCALE_PATIENCE_S: so a
                        # pool whose workers all wait on a nested call of their own function still grows). A start
                        # costs a second or more of CPU; on a small machine, warm workers that keep finishing
                        # serve a queue sooner than new ones would.
                        scale = live < self.limit and self._starting == 0 and len(self._idle) < self._demand_locked()
                        stalled = not self._busy or time.monotonic() - self._last_release >= SCALE_PATIENCE_S
                        if scale and stalled:
                            self._starting += 1
                            threading.Thread(
                                target=self._start, args=(self.generation,), name="worker-start", daemon=True
                            ).start()
                        waiting = self._waiting_nested if nested else self._waiting_outer
                        full = live >= self.limit or not may_take
                        # A nested invocation never queues: its caller may hold the worker it would wait for.
                        if full and (nested or waiting > self.queue_limit):
                            return None
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            return None
                        self._cond.wait(min(remaining, SCALE_PATIENCE_S) if scale else remaining)
                finally:
                    if nested:
                        self._waiting_nested -= 1
                    else:
                        self._waiting_outer -= 1
                    if self._waiting_nested + self._waiting_outer == 0:
                        self._failures.clear()  # nobody is left to report them to
        finally:
            for worker in stale:
                self._discard(worker)

    def _start(self, generation: int) -> None:
        """Start one worker (in its own thread) and hand it, or its init error, to the queue."""
        if not self._capacity.reserve(self, wait_s=float(self.spec.timeout_s)):
            with self._cond:
                self._starting -= 1
                self._cond.notify_all()
            return
        worker: Worker | None = None
        failure: dict[str, Any] | None = None
        with self._capacity.starting:
            try:
                worker = Worker(self.spec, self._env, generation)
                first = worker.wait_ready()
                if first.get("type") != "ready":
                    failure = dict(first.get("error") or {"errorMessage": "worker failed to start"})
            except TimeoutError:
                failure = {
                    "errorMessage": f"init did not finish in {INIT_TIMEOUT_S:.0f} s",
                    "errorType": "Runtime.Init",
                }
            except WorkerDiedError:
                failure = {"errorMessage": "Runtime exited during init", "errorType": "Runtime.ExitError"}
            except OSError as exc:
                failure = {"errorMessage": f"cannot start worker: {exc}", "errorType": "Runtime.ExitError"}
        with self._cond:
            self._starting -= 1
            keep = failure is None and worker is not None and not self.closed
            if keep and worker is not None:
                self._idle.append((worker, time.monotonic()))
            elif failure is not None and self._waiting_outer + self._waiting_nested:
                self._failures.append(failure)
            self._cond.notify_all()
        if not keep:
            if worker is not None:
                worker.kill()
            self._capacity.release()

    def _discard(self, worker: Worker) -> None:
        worker.kill()
        self._capacity.release()

    def release(self, worker: Worker, *, healthy: bool) -> None:
        """Return a worker after an invocation; unhealthy, out-of-date ones and those of a closed pool are killed."""
        with self._cond:
            if worker not in self._busy:
                return  # already killed (the runner stopped)
            if not self._busy.pop(worker):
                self._busy_outer -= 1
            keep = healthy and not self.closed and worker.generation == self.generation and worker.alive
            self._last_release = time.monotonic()
            if keep:
                self._idle.append((worker, self._last_release))
            self._cond.notify_all()
        if not keep:
            self._discard(worker)

    def retire_idle(self, idle_s: float, warm_minimum: int) -> int:
        """Kill workers idle for ``idle_s`` or more, keeping ``warm_minimum`` workers; how many were killed."""
        now = time.monotonic()
        with self._cond:
            keep_idle = max(0, warm_minimum - len(self._busy))
            # the most recently used stay warm; the rest go once idle long enough
            candidates = self._idle[: max(0, len(self._idle) - keep_idle)]
            retired = [worker for worker, since in candidates if now - since >= idle_s]
            self._idle = [(worker, since) for worker, since in self._idle if worker not in retired]
        for worker in retired:
            self._discard(worker)
        return len(retired)

    def reclaim_idle(self) -> bool:
        """Kill the longest-idle worker (another pool needs the plane-wide capacity); False if none is idle."""
        with self._cond:
            if not self._idle:
                return False
            worker, _ = self._idle.pop(0)
        self._discard(worker)
        return True

    def idle_since(self) -> float | None:
        """When the longest-idle worker became idle (``None``: no idle worker)."""
        with self._cond:
            return self._idle[0][1] if self._idle else None

    def workers(self) -> int:
        with self._cond:
            return len(self._idle) + len(self._busy)

    def stats(self) -> dict[str, int]:
        """Workers idle, busy and starting, invocations waiting (the runner's health endpoint shows them)."""
        with self._cond:
            return {
                "idle": len(self._idle),
                "busy": len(self._busy),
                "starting": self._starting,
                "waiting": self._waiting_outer + self._waiting_nested,
                "limit": self.limit,
            }

    def close(self) -> None:
        """No new invocations; idle workers die now, busy ones when their invocation ends."""
        with self._cond:
            self.closed = True
            idle = [worker for worker, _ in self._idle]
            self._idle.clear()
            self._failures.clear()
            self._cond.notify_all()
        for worker in idle:
            self._discard(worker)

    def kill_all(self) -> None:
        """:meth:`close`, and kill the busy workers too (the runner is stopping)."""
        self.close()
        with self._cond:
            busy = list(self._busy)
            self._busy.clear()
            self._busy_outer = 0
        for worker in busy:
            self._discard(worker)


if __name__ == "__main__":
    raise SystemExit(main())
