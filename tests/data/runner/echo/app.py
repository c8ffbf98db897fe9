"""Fixture function for the local runner's tests: echoes its event and reports where it ran."""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from runner_fixture_layer import LAYER_MARK  # type: ignore[import-not-found]  # on sys.path via the layer

CODE_VERSION = "v1"
_ENV_KEYS = ("STAGE", "SHARED", "OVERRIDDEN", "TABLE_NAME", "TABLE_ARN", "SECRET_ID", "MODE", "EXTRA")


def _block(directory: Path, context: Any) -> None:
    """Say this invocation started (a file named after the worker's pid), then hold the worker until the test
    creates ``release`` (or the invocation's time is nearly up)."""
    (directory / f"started-{os.getpid()}-{uuid.uuid4().hex}").touch()
    while not (directory / "release").exists() and context.get_remaining_time_in_millis() > 200:
        time.sleep(0.01)


def _invoke(name: str, inner: Any) -> dict[str, Any]:
    """A nested invocation through the runner (the worker's AWS_ENDPOINT_URL_LAMBDA), as tools call nested
    governance."""
    import boto3

    client = boto3.client("lambda")
    try:
        answer = client.invoke(FunctionName=name, Payload=json.dumps(inner).encode())
    except client.exceptions.TooManyRequestsException:
        return {"throttled": True}
    return {"throttled": False, "body": json.loads(answer["Payload"].read())}


def handler(event: dict[str, Any], context: Any) -> Any:
    if event.get("block"):
        _block(Path(event["block"]), context)
    if event.get("invoke"):
        return {"pid": os.getpid(), "nested": _invoke(str(event["invoke"]), event.get("inner", {}))}
    if event.get("sleep"):
        time.sleep(float(event["sleep"]))
    if event.get("raise"):
        raise ValueError(str(event["raise"]))
    if event.get("exit"):
        os._exit(int(event["exit"]))
    if event.get("print"):
        print(event["print"])  # goes to the runner's stderr, never into the protocol
        print(event["print"], file=sys.stderr)
    if event.get("big"):
        return "x" * int(event["big"])
    return {
        "event": event,
        "pid": os.getpid(),
        "code_version": CODE_VERSION,
        "layer": LAYER_MARK,
        "env": {key: os.environ.get(key) for key in _ENV_KEYS},
        "lambda_env": {key: value for key, value in os.environ.items() if key.startswith("AWS_")},
        "local_plane": os.environ.get("STEWARD_LOCAL_PLANE"),
        "context": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
    }
