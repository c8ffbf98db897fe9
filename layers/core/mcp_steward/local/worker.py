"""One warm Lambda-like worker: imports a handler once, then serves invocations from the runner.

Started by :mod:`mcp_steward.local.runner` as
``python -m mcp_steward.local.worker --code-dir DIR --handler app.handler [--layer-dir DIR ...]``.

Protocol: frames of a 4-byte big-endian length and UTF-8 JSON, requests on stdin and replies on the original
stdout. Before the handler is imported, stdout is pointed at stderr, so whatever the handler prints (Python or
native code) reaches the runner's log, never the protocol. Replies:

- ``{"type": "ready", "pid"}`` once the handler is imported, or ``{"type": "init_error", "error"}`` (then exit);
- ``{"type": "result", "body"}`` (the handler's result as JSON text) or ``{"type": "error", "error"}`` per
  request ``{"request_id", "payload", "deadline_ms", "invoked_function_arn"}``.

The second half of the module is the runner's side of the pipe: :class:`Worker` (one process) and
:class:`FunctionPool` (the warm workers of one function). Everything here is standard library, so a worker
starts fast.
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
from collections.abc import Iterable, Mapping
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


class FunctionPool:
    """The warm workers of one function: reuse an idle one, start another while under the cap."""

    def __init__(self, spec: FunctionSpec, env: Mapping[str, str], max_workers: int) -> None:
        self.spec = spec
        self._env = env
        self._max_workers = max_workers
        self._cond = threading.Condition()
        self._idle: list[Worker] = []
        self._busy: set[Worker] = set()
        self._starting = 0
        self._closed = False
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

    def acquire(self, wait_s: float) -> Worker | dict[str, Any] | None:
        """A ready worker, an ``init_error`` body (the new worker failed to start), or ``None`` (throttled)."""
        deadline = time.monotonic() + wait_s
        stale: list[Worker] = []
        try:
            with self._cond:
                self._check_code_locked()
                while True:
                    if self._closed:
                        return None
                    while self._idle:
                        worker = self._idle.pop()
                        if worker.generation == self.generation and worker.alive:
                            self._busy.add(worker)
                            return worker
                        stale.append(worker)
                    if len(self._busy) + self._starting < self._max_workers:
                        self._starting += 1
                        generation = self.generation
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return None
                    self._cond.wait(remaining)
        finally:
            for worker in stale:
                worker.kill()
        return self._start(generation)

    def _start(self, generation: int) -> Worker | dict[str, Any]:
        worker: Worker | None = None
        failure: dict[str, Any] | None = None
        try:
            worker = Worker(self.spec, self._env, generation)
            first = worker.wait_ready()
            if first.get("type") != "ready":
                failure = dict(first.get("error") or {"errorMessage": "worker failed to start"})
        except TimeoutError:
            failure = {"errorMessage": f"init did not finish in {INIT_TIMEOUT_S:.0f} s", "errorType": "Runtime.Init"}
        except WorkerDiedError:
            failure = {"errorMessage": "Runtime exited during init", "errorType": "Runtime.ExitError"}
        except OSError as exc:
            failure = {"errorMessage": f"cannot start worker: {exc}", "errorType": "Runtime.ExitError"}
        with self._cond:
            self._starting -= 1
            if failure is None and worker is not None and not self._closed:
                self._busy.add(worker)
                return worker
            self._cond.notify()
        if worker is not None:
            worker.kill()
        return failure or {"errorMessage": "runner is shutting down", "errorType": "Runtime.ExitError"}

    def release(self, worker: Worker, *, healthy: bool) -> None:
        """Return a worker after an invocation; unhealthy or out-of-date ones are killed."""
        with self._cond:
            self._busy.discard(worker)
            keep = healthy and not self._closed and worker.generation == self.generation and worker.alive
            if keep:
                self._idle.append(worker)
            self._cond.notify()
        if not keep:
            worker.kill()

    def workers(self) -> int:
        with self._cond:
            return len(self._idle) + len(self._busy)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            workers = [*self._idle, *self._busy]
            self._idle.clear()
            self._busy.clear()
            self._cond.notify_all()
        for worker in workers:
            worker.kill()


if __name__ == "__main__":
    raise SystemExit(main())
