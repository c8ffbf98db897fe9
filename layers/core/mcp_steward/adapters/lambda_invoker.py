"""Invoking internal tool functions through Lambda's Invoke API: one attempt, never retried.

botocore retries read timeouts by default, which would run a tool twice; every client here is built with
``total_max_attempts=1``. The read timeout is the tool function's own timeout plus a margin, capped by the
request's deadline; clients are cached per whole second of read timeout (botocore has no per-call timeout).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, NoReturn

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError

from mcp_steward.domain.ports import InvocationError
from mcp_steward.domain.registry import ServerRecord
from mcp_steward.protocol.jsonrpc import JsonTextError, loads_unicode

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
else:
    LambdaClient = Any

MAX_RESPONSE_BYTES: Final = 1_048_576
TIMEOUT_MARGIN_S: Final = 2.0
MIN_USEFUL_S: Final = 0.25

_CLIENT_ERRORS: Final = {
    "ResourceNotFoundException": ("function_not_found", "The tool function does not exist."),
    "TooManyRequestsException": ("throttled", "The tool function is throttled; try again later."),
    "RequestTooLargeException": ("request_too_large", "The tool call's arguments are too large."),
    "AccessDeniedException": ("function_forbidden", "Steward may not invoke this tool function."),
}


class LambdaInvoker:
    """The real :class:`~mcp_steward.domain.ports.ToolInvoker`: boto3 ``lambda.invoke``."""

    def __init__(
        self,
        client_factory: Callable[[Config], LambdaClient],
        *,
        function_prefix: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._factory = client_factory
        self._prefix = function_prefix
        self._clock = clock
        self._clients: dict[int, LambdaClient] = {}
        self._lock = threading.Lock()

    def client_for(self, read_timeout_s: int) -> LambdaClient:
        with self._lock:
            client = self._clients.get(read_timeout_s)
            if client is None:
                config = Config(
                    retries={"total_max_attempts": 1, "mode": "standard"},
                    read_timeout=read_timeout_s,
                    connect_timeout=min(read_timeout_s, 3),
                    max_pool_connections=64,
                    tcp_keepalive=True,
                )
                client = self._clients[read_timeout_s] = self._factory(config)
            return client

    def close(self) -> None:
        """Close every client's connections (the plane's processes and tests end cleanly)."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def invoke(
        self, server: ServerRecord, envelope: dict[str, Any], *, deadline_ms: int, version: str | None = None
    ) -> dict[str, Any]:
        if self._prefix is not None and not server.function_name.startswith(self._prefix):
            # Defense in depth: the role only allows the prefix anyway.
            raise InvocationError("function_forbidden", f"The tool function of {server.name} is outside the plane.")
        remaining_s = deadline_ms / 1000 - self._clock()
        if remaining_s < MIN_USEFUL_S:
            raise InvocationError("deadline_exceeded", "The request's deadline passed before the tool was called.")
        read_timeout = max(1, math.ceil(min(server.function_timeout_s + TIMEOUT_MARGIN_S, remaining_s)))
        client = self.client_for(read_timeout)
        try:
            payload_bytes = json.dumps(envelope, separators=(",", ":")).encode()
            if version is None:
                answer = client.invoke(
                    FunctionName=server.function_name, InvocationType="RequestResponse", Payload=payload_bytes
                )
            else:
                answer = client.invoke(
                    FunctionName=server.function_name,
                    InvocationType="RequestResponse",
                    Payload=payload_bytes,
                    Qualifier=version,
                )
            stream = answer["Payload"]
            try:
                payload = stream.read(MAX_RESPONSE_BYTES + 1)
            finally:
                stream.close()  # an oversized answer is not read to the end: drop its connection now
        except ReadTimeoutError as exc:
            raise InvocationError("timeout", f"The tool {server.name} did not answer in time.") from exc
        except ConnectTimeoutError as exc:
            raise InvocationError("transport_error", "Could not reach the tool function.") from exc
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            reason, message = _CLIENT_ERRORS.get(code, ("invoke_failed", "The tool function could not be invoked."))
            raise InvocationError(reason, message) from exc
        except BotoCoreError as exc:
            raise InvocationError("transport_error", "Could not reach the tool function.") from exc
        if len(payload) > MAX_RESPONSE_BYTES:
            raise InvocationError("response_too_large", f"The tool {server.name} answered more than 1 MB.")
        if answer.get("FunctionError"):
            _function_error(server, payload)
        try:
            decoded = loads_unicode(payload)
        except (UnicodeDecodeError, JsonTextError) as exc:
            message = f"The tool {server.name} answered JSON that is not Unicode text."
            raise InvocationError("malformed_response", message) from exc
        except ValueError as exc:
            raise InvocationError("malformed_response", f"The tool {server.name} answered invalid JSON.") from exc
        request_id = envelope["message"]["id"]
        if not isinstance(decoded, dict) or decoded.get("jsonrpc") != "2.0" or decoded.get("id") != request_id:
            raise InvocationError("malformed_response", f"The tool {server.name} answered a malformed response.")
        return decoded


def _function_error(server: ServerRecord, payload: bytes) -> NoReturn:
    try:
        error_type = loads_unicode(payload).get("errorType", "")
    except (ValueError, AttributeError):
        error_type = ""
    if error_type == "Sandbox.Timedout":
        raise InvocationError("timeout", f"The tool {server.name} timed out.")
    raise InvocationError("function_error", f"The tool function of {server.name} failed.")
