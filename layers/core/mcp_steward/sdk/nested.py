"""Nested calls from a tool: ``ctx.call_tool(name, arguments)`` (docs/design.md section 5).

The call goes to the nested-governance function (its name in ``STEWARD_NESTED_FUNCTION``) with the
delegation token governance gave this invocation; Steward authorizes it for this server, charges the
person's team and records the chain. The tool never sees a vendor credential or another tool's secrets.
boto3 is imported on the first nested call only, so importing the SDK stays cheap.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from mcp_steward.contracts.nested_event import NestedCall, NestedEventError, NestedRefusal, decode_answer
from mcp_steward.sdk.context import ToolError

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

NESTED_FUNCTION_ENV: Final = "STEWARD_NESTED_FUNCTION"

#: Sends one nested call (the event) and returns nested governance's answer, within ``timeout_ms``.
type NestedTransport = Callable[[dict[str, Any], int], dict[str, Any]]


class NestedCallError(ToolError):
    """A nested call Steward refused or could not make. ``reason`` is ``data.reason`` of a governance
    denial (``delegation_invalid``, ``budget_exceeded``, ...), or ``unknown_tool``, ``invalid_params``,
    ``unavailable``. Raised from a tool unhandled, it fails the tool's call with the message."""

    def __init__(self, message: str, reason: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.data = data or {}


_lock = threading.Lock()
_clients: dict[int, LambdaClient] = {}


def _client(read_timeout_s: int) -> LambdaClient:
    with _lock:
        client = _clients.get(read_timeout_s)
        if client is None:
            import boto3  # noqa: TID251 - imported lazily so `import mcp_steward.sdk` does not pay for boto3
            from botocore.config import Config  # noqa: TID251 - as boto3, lazily

            config = Config(read_timeout=read_timeout_s, connect_timeout=2, retries={"total_max_attempts": 1})
            client = _clients[read_timeout_s] = boto3.client("lambda", config=config)
        return client


def lambda_transport(event: dict[str, Any], timeout_ms: int) -> dict[str, Any]:
    """Invoke the nested-governance function once (no retry: a nested call may cost credit)."""
    function = os.environ.get(NESTED_FUNCTION_ENV, "").strip()
    if not function:
        raise NestedCallError(f"nested calls are not configured ({NESTED_FUNCTION_ENV} is not set)", "unavailable")
    client = _client(max(1, math.ceil(timeout_ms / 1000)))
    try:
        answer = client.invoke(FunctionName=function, Payload=json.dumps(event, separators=(",", ":")).encode())
        payload = answer["Payload"].read()
    except Exception as exc:  # botocore's ClientError, timeouts and connection errors alike
        raise NestedCallError(f"nested call failed: {type(exc).__name__}", "unavailable") from exc
    if answer.get("FunctionError"):
        raise NestedCallError("nested call failed: nested governance errored", "unavailable")
    try:
        decoded = json.loads(payload)
    except ValueError:
        raise NestedCallError("nested call failed: a malformed answer", "unavailable") from None
    if not isinstance(decoded, dict):
        raise NestedCallError("nested call failed: a malformed answer", "unavailable")
    return decoded


def call_tool(
    transport: NestedTransport, token: str | None, name: str, arguments: dict[str, Any] | None, timeout_ms: int
) -> dict[str, Any]:
    """One nested call; the tool's ``CallToolResult`` (which may itself be an ``isError`` result).

    Raises:
        NestedCallError: no token (this server may not make nested calls), no time left, or Steward refused.
    """
    if not token:
        raise NestedCallError("this tool's server may not call other tools", "delegation_invalid", {"why": "target"})
    if timeout_ms <= 0:
        raise NestedCallError("no time left for a nested call", "deadline_exceeded")
    answer = transport(NestedCall(token, name, arguments or {}).encode(), timeout_ms)
    try:
        decoded = decode_answer(answer)
    except NestedEventError as malformed:
        raise NestedCallError(str(malformed), "unavailable") from None
    if isinstance(decoded, NestedRefusal):
        by_code = _REASONS.get(decoded.code, "error") if decoded.code is not None else "error"
        reason = decoded.data.get("reason") or by_code
        raise NestedCallError(decoded.message, str(reason), decoded.data)
    return decoded


_REASONS: Final = {-32602: "invalid_params", -32603: "unavailable"}
