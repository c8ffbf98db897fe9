"""The real LambdaInvoker through boto3 against the local function runner: one attempt, clear errors."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, ClassVar

import boto3
import pytest
from botocore.config import Config

from mcp_steward.adapters.lambda_invoker import LambdaInvoker
from mcp_steward.domain.names import ServerName
from mcp_steward.domain.ports import InvocationError
from mcp_steward.domain.registry import ServerKind, ServerRecord
from tests.integration.local.runner_harness import ECHO, FIXTURE_DIR, RunningRunner, start_runner, stop_runner


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRunner]:
    running = start_runner(FIXTURE_DIR / "template.yaml", tmp_path_factory.mktemp("invoker"))
    try:
        yield running
    finally:
        stop_runner(running)


class CountingInvoker:
    """A LambdaInvoker whose clients count the HTTP attempts botocore makes."""

    made: ClassVar[list[CountingInvoker]] = []

    def __init__(self, url: str) -> None:
        CountingInvoker.made.append(self)
        self.attempts = 0
        session = boto3.session.Session(
            region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )

        def factory(config: Config) -> Any:
            client = session.client("lambda", endpoint_url=url, config=config)
            client.meta.events.register("before-send.lambda.Invoke", self._count)
            return client

        self.invoker = LambdaInvoker(factory)

    def _count(self, **_: Any) -> None:
        self.attempts += 1


def server(function_name: str = ECHO, timeout_s: int = 10) -> ServerRecord:
    return ServerRecord(ServerName("echo"), ServerKind.INTERNAL, function_name, timeout_s)


def envelope(**event: Any) -> dict[str, Any]:
    return {"steward": {"v": 1}, "message": {"jsonrpc": "2.0", "id": 7, "method": "tools/call"}, **event}


def deadline(seconds: float = 20) -> int:
    return int((time.time() + seconds) * 1000)


@pytest.fixture(autouse=True)
def close_clients() -> Iterator[None]:
    """Every invoker a test makes is closed after it, so no connection outlives its test."""
    yield
    for invoker in CountingInvoker.made:
        invoker.invoker.close()
    CountingInvoker.made.clear()


def reason_of(invoker: LambdaInvoker, record: ServerRecord, payload: dict[str, Any], until: int) -> str:
    with pytest.raises(InvocationError) as excinfo:
        invoker.invoke(record, payload, deadline_ms=until)
    return excinfo.value.reason


def test_a_handler_exception_is_a_function_error(runner: RunningRunner) -> None:
    counting = CountingInvoker(runner.url)
    assert reason_of(counting.invoker, server(), envelope(**{"raise": "boom"}), deadline()) == "function_error"
    assert counting.attempts == 1


def test_an_answer_that_is_not_a_json_rpc_response_is_malformed(runner: RunningRunner) -> None:
    invoker = CountingInvoker(runner.url).invoker
    assert reason_of(invoker, server(), envelope(), deadline()) == "malformed_response"


def test_an_answer_over_one_megabyte_is_refused(runner: RunningRunner) -> None:
    invoker = CountingInvoker(runner.url).invoker
    assert reason_of(invoker, server(), envelope(big=1_200_000), deadline()) == "response_too_large"


def test_a_function_that_times_out_is_reported_as_a_timeout(runner: RunningRunner) -> None:
    invoker = CountingInvoker(runner.url).invoker
    slow = server("steward-local-tool-slow", timeout_s=1)
    assert reason_of(invoker, slow, envelope(sleep=3), deadline()) == "timeout"


def test_a_read_timeout_is_a_timeout_and_is_never_retried(runner: RunningRunner) -> None:
    counting = CountingInvoker(runner.url)
    # the request's deadline (1.5 s) is shorter than the function's own timeout: the read times out first
    assert reason_of(counting.invoker, server(), envelope(sleep=4), deadline(1.5)) == "timeout"
    assert counting.attempts == 1


def test_an_undeclared_function_is_function_not_found(runner: RunningRunner) -> None:
    invoker = CountingInvoker(runner.url).invoker
    missing = server("steward-local-tool-missing")
    assert reason_of(invoker, missing, envelope(), deadline()) == "function_not_found"


def test_an_unreachable_endpoint_is_a_transport_error() -> None:
    invoker = CountingInvoker("http://127.0.0.1:9").invoker
    assert reason_of(invoker, server(), envelope(), deadline()) == "transport_error"
