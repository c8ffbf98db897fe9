"""LambdaInvoker rules that need no function at all: the name prefix, the deadline, one attempt."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.config import Config

from mcp_steward.adapters.lambda_invoker import LambdaInvoker
from mcp_steward.domain.names import ServerName
from mcp_steward.domain.ports import InvocationError
from mcp_steward.domain.registry import ServerKind, ServerRecord

NOW = 1_800_000_000.0


class RecordingFactory:
    def __init__(self) -> None:
        self.configs: list[Config] = []

    def __call__(self, config: Config) -> Any:
        self.configs.append(config)
        return object()


def record(name: str = "steward-tool-echo") -> ServerRecord:
    return ServerRecord(ServerName("echo"), ServerKind.INTERNAL, name, 10)


def test_a_function_outside_the_prefix_is_refused_without_a_call() -> None:
    factory = RecordingFactory()
    invoker = LambdaInvoker(factory, function_prefix="steward-tool-", clock=lambda: NOW)
    with pytest.raises(InvocationError) as excinfo:
        invoker.invoke(record("other-stack-fn"), {}, deadline_ms=int((NOW + 20) * 1000))
    assert excinfo.value.reason == "function_forbidden"
    assert factory.configs == []


def test_a_passed_deadline_refuses_the_call() -> None:
    invoker = LambdaInvoker(RecordingFactory(), clock=lambda: NOW)
    with pytest.raises(InvocationError) as excinfo:
        invoker.invoke(record(), {}, deadline_ms=int((NOW + 0.1) * 1000))
    assert excinfo.value.reason == "deadline_exceeded"


def test_clients_make_one_attempt_and_are_cached_per_read_timeout() -> None:
    factory = RecordingFactory()
    invoker = LambdaInvoker(factory)
    assert invoker.client_for(12) is invoker.client_for(12)
    invoker.client_for(5)
    assert [getattr(c, "retries") for c in factory.configs] == [{"total_max_attempts": 1, "mode": "standard"}] * 2  # noqa: B009
    assert [getattr(c, "read_timeout") for c in factory.configs] == [12, 5]  # noqa: B009


# --- only Unicode text: a payload with a lone surrogate is the tool's malformed answer ---------------------


class Stream:
    def __init__(self, payload: bytes) -> None:
        self._payload = payload

    def read(self, size: int) -> bytes:
        return self._payload[:size]

    def close(self) -> None:
        pass


class AnsweringClient:
    """A Lambda client whose function answers ``payload`` (bytes as the Invoke API returns them)."""

    def __init__(self, payload: bytes, function_error: str | None = None) -> None:
        self._answer: dict[str, Any] = {"Payload": Stream(payload)}
        if function_error is not None:
            self._answer["FunctionError"] = function_error

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        return self._answer


ENVELOPE = {"message": {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {}}}


def answered(payload: bytes, function_error: str | None = None) -> dict[str, Any]:
    def factory(config: Config) -> Any:
        return AnsweringClient(payload, function_error)

    invoker = LambdaInvoker(factory, clock=lambda: NOW)
    return invoker.invoke(record(), ENVELOPE, deadline_ms=int((NOW + 20) * 1000))


@pytest.mark.parametrize(
    "result",
    [
        b'{"content":[{"type":"text","text":"bad \\udc80"}]}',
        b'{"content":[],"structuredContent":{"v":["\\udc80"]}}',
        b'{"content":[],"_meta":{"steward/units":1,"note":"\\ud800"}}',
        b'{"content":[],"structuredContent":{"\\udbff":1}}',
        b'{"content":[{"type":"text","text":"\xed\xb2\x80"}]}',  # the same surrogate as bytes (CESU-8)
        b'{"content":[{"type":"text","text":"\xff"}]}',
        b'{"content":[],"structuredContent":{"v":NaN}}',
        b"[" * 100_000,  # nested past what json can parse: a RecursionError before
    ],
)
def test_a_payload_that_is_not_unicode_json_is_a_malformed_response(result: bytes) -> None:
    payload = b'{"jsonrpc":"2.0","id":1,"result":' + result + b"}"
    with pytest.raises(InvocationError) as excinfo:
        answered(payload)
    assert excinfo.value.reason == "malformed_response"


def test_a_surrogate_pair_in_a_payload_is_text() -> None:
    payload = b'{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"\\ud83d\\ude00"}]}}'
    assert answered(payload)["result"]["content"][0]["text"] == "\U0001f600"


@pytest.mark.parametrize("payload", [b"[" * 100_000, b'{"errorType":"\\ud800"}'])
def test_a_function_error_with_an_unreadable_payload_is_a_function_error(payload: bytes) -> None:
    with pytest.raises(InvocationError) as excinfo:
        answered(payload, function_error="Unhandled")
    assert excinfo.value.reason == "function_error"
