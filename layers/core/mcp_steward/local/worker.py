"""One warm Lambda-like worker: imports a handler once, then serves invocations from the runner.

Started by :mod:`mcp_steward.local.runner` as
``python -m mcp_steward.local.worker --code-dir DIR --handler app.handler [--layer-dir DIR ...]``.

Protocol: frames of a 4-byte big-endian length and UTF-8 JSON, requests on stdin and replies on the original
stdout. Before the handler is imported, stdout is pointed at stderr, so whatever the handler prints (Python or
native code) reaches the runner's log, never the protocol. Replies:

- ``{"type": "ready", "pid"}`` once the handler is imported, or ``{"type": "init_error", "error"}`` (then exit);
- ``{"type": "result", "body"}`` (the handler's result as JSON text) or ``{"type": "error", "error"}`` per
  request ``{"request_id", "payload", "deadline_ms", "invoked_function_arn"}``.

Kept to the standard library so a worker starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import struct
import sys
import time
import traceback
from dataclasses import dataclass
from typing import IO, Any

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


if __name__ == "__main__":
    raise SystemExit(main())
