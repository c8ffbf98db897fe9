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
