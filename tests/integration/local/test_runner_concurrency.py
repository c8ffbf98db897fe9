"""The local runner is as concurrent as Lambda: a pool of warm workers per function up to its limit, a bounded
queue, then TooManyRequestsException; crashed workers are replaced; nested calls have workers outer calls cannot
take; and template changes reach the running runner. Invocations are held in flight by the fixture's ``block``
mode (a file the test creates releases them), never by sleeps."""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from mcp_steward.local.runner import worker_environment
from mcp_steward.local.template import LocalTemplate
from mcp_steward.local.worker import Capacity, FunctionPool, Worker
from tests.integration.local.runner_harness import ECHO, FIXTURE_DIR, RunningRunner, start_runner, stop_runner

WAIT_S = 30  # how long a test waits for something the runner must do (never reached when it works)


def _health(runner: RunningRunner) -> dict[str, Any]:
    with urllib.request.urlopen(f"{runner.url}/_steward/health", timeout=10) as response:
        return dict(json.loads(response.read()))


def _until(what: str, check: Callable[[], bool]) -> None:
    """Wait for an event the runner or a worker announces (a file, a counter), with a generous bound."""
    deadline = time.monotonic() + WAIT_S
    while not check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


def _started(directory: Path) -> list[int]:
    return [int(path.name.split("-")[1]) for path in directory.glob("started-*")]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def gate(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "gate"
    directory.mkdir()
    try:
        yield directory
    finally:
        (directory / "release").touch()  # never leave a worker blocked


def test_concurrent_invocations_run_on_distinct_workers_up_to_the_limit(tmp_path: Path, gate: Path) -> None:
    # limit 5: outer invocations may hold 4 workers (one is kept for nested calls)
    running = start_runner(FIXTURE_DIR / "template.yaml", tmp_path, "--max-workers-per-function", "5")
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            calls = [pool.submit(running.invoke, ECHO, {"block": str(gate), "i": i}) for i in range(4)]
            _until("4 invocations in flight at once", lambda: len(_started(gate)) == 4)
            assert len(set(_started(gate))) == 4  # four workers, one invocation each
            (gate / "release").touch()
            results = [call.result() for call in calls]
        assert sorted(body["event"]["i"] for _, body in results) == [0, 1, 2, 3]
        assert {body["pid"] for _, body in results} == set(_started(gate))
    finally:
        stop_runner(running)


def test_beyond_the_limit_and_the_queue_an_invocation_is_throttled(tmp_path: Path, gate: Path) -> None:
    # limit 2 (one for outer calls), queue 1: one in flight, one waiting, the third is throttled at once
    options = ("--max-workers-per-function", "2", "--queue-depth", "1")
    running = start_runner(FIXTURE_DIR / "template.yaml", tmp_path, *options)
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            first = pool.submit(running.invoke, ECHO, {"block": str(gate), "n": 1})
            _until("the first invocation holds the worker", lambda: len(_started(gate)) == 1)
            second = pool.submit(running.invoke, ECHO, {"n": 2})
            _until("the second invocation waits", lambda: _health(running)["pools"][f"{ECHO}:$LATEST"]["waiting"] == 1)
            with pytest.raises(running.client.exceptions.TooManyRequestsException) as throttled:
                running.invoke(ECHO, {"n": 3})
            error: dict[str, Any] = dict(throttled.value.response)
            assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
            assert error["Reason"] == "ConcurrentInvocationLimitExceeded"
            (gate / "release").touch()
            assert first.result()[1]["event"]["n"] == 1
            assert second.result()[1]["event"]["n"] == 2  # the queued call ran once a worker was free
        assert running.invoke(ECHO, {"n": 4})[1]["event"] == {"n": 4}
    finally:
        stop_runner(running)


def test_a_crashed_worker_is_replaced_never_reused(tmp_path: Path) -> None:
    running = start_runner(FIXTURE_DIR / "template.yaml", tmp_path)
    try:
        before = running.invoke(ECHO, {})[1]["pid"]
        response, body = running.invoke(ECHO, {"exit": 3})
        assert (response["FunctionError"], body["errorType"]) == ("Unhandled", "Runtime.ExitError")
        assert not _pid_alive(before)
        after = running.invoke(ECHO, {"again": True})[1]
        assert after["event"] == {"again": True}
        assert after["pid"] != before
    finally:
        stop_runner(running)


def test_a_nested_invocation_gets_a_worker_outer_invocations_cannot_take(tmp_path: Path) -> None:
    # limit 2: the outer call holds the one worker outer calls may use; its nested call of the same function
    # still runs (on the reserved worker) instead of waiting for the worker its own caller holds
    running = start_runner(FIXTURE_DIR / "template.yaml", tmp_path, "--max-workers-per-function", "2")
    try:
        _, body = running.invoke(ECHO, {"invoke": ECHO, "inner": {"from": "nested"}})
        nested = body["nested"]
        assert nested["throttled"] is False
        assert nested["body"]["event"] == {"from": "nested"}
        assert nested["body"]["pid"] != body["pid"]
        assert nested["body"]["lambda_env"]["AWS_ENDPOINT_URL_LAMBDA"] == f"{running.url}/_steward/nested"
        # a nested call of the nested call finds both workers busy: throttled as Lambda would, not a deadlock
        deeper = {"invoke": ECHO, "inner": {"invoke": ECHO, "inner": {}}}
        _, body = running.invoke(ECHO, deeper)
        assert body["nested"]["body"]["nested"] == {"throttled": True}
    finally:
        stop_runner(running)


def _pool(limit: int, capacity: Capacity | None = None, queue_limit: int = 100) -> FunctionPool:
    spec = LocalTemplate.load(FIXTURE_DIR / "template.yaml").functions()["EchoFunction"]
    env = worker_environment(spec, region="us-east-1")
    return FunctionPool(spec, env, limit, capacity=capacity, queue_limit=queue_limit)


def test_outer_invocations_leave_the_reserve_to_nested_ones() -> None:
    pool = _pool(limit=5)
    assert pool.outer_limit == 4
    held: list[Worker] = []
    try:
        for _ in range(4):
            worker = pool.acquire(WAIT_S)
            assert isinstance(worker, Worker)
            held.append(worker)
        assert pool.acquire(0) is None  # a fifth outer call waits (here: not at all) for one of the four
        nested = pool.acquire(WAIT_S, nested=True)
        assert isinstance(nested, Worker)
        held.append(nested)
        assert pool.acquire(0, nested=True) is None  # the limit is the limit
        assert len({worker.pid for worker in held}) == 5
    finally:
        for worker in held:
            pool.release(worker, healthy=True)
        pool.kill_all()


def test_the_plane_wide_cap_retires_an_idle_worker_of_another_function() -> None:
    capacity = Capacity(max_workers=1, max_starting=1)
    first, second = _pool(limit=3, capacity=capacity), _pool(limit=3, capacity=capacity)
    pools = [first, second]
    capacity.reclaim = lambda requester: any(p.reclaim_idle() for p in pools if p is not requester)
    try:
        worker = first.acquire(WAIT_S)
        assert isinstance(worker, Worker)
        first.release(worker, healthy=True)  # idle in the first pool, holding the plane's only unit
        other = second.acquire(WAIT_S)
        assert isinstance(other, Worker)  # the first pool's idle worker was retired for it
        assert first.workers() == 0
        assert not _pid_alive(worker.pid)
        assert capacity.used == 1
        second.release(other, healthy=False)  # an unhealthy worker is killed and gives its unit back
        assert capacity.used == 0
    finally:
        first.kill_all()
        second.kill_all()


def test_idle_workers_beyond_the_warm_minimum_retire() -> None:
    pool = _pool(limit=3)
    try:
        workers = [pool.acquire(WAIT_S), pool.acquire(WAIT_S)]
        for worker in workers:
            assert isinstance(worker, Worker)
            pool.release(worker, healthy=True)
        assert pool.retire_idle(idle_s=0, warm_minimum=1) == 1
        assert pool.workers() == 1
    finally:
        pool.kill_all()


# --- template changes --------------------------------------------------------------------------------------


def _write(path: Path, text: str) -> None:
    """Replace the file as an editor does (a new inode), so the runner's next request sees the change."""
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text)
    temp.replace(path)


NEW_FUNCTION = """
  AddedFunction:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "${AWS::StackName}-tool-added"
      CodeUri: echo/
"""


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    directory = tmp_path / "runner"
    shutil.copytree(FIXTURE_DIR, directory, ignore=shutil.ignore_patterns("__pycache__"))
    return directory


def test_a_template_edit_is_seen_by_the_next_invocation_without_a_restart(
    copy: Path, tmp_path: Path, gate: Path
) -> None:
    template = copy / "template.yaml"
    running = start_runner(template, tmp_path)
    try:
        with pytest.raises(running.client.exceptions.ResourceNotFoundException):
            running.invoke("steward-local-tool-added", {})
        assert running.invoke(ECHO, {})[1]["env"]["OVERRIDDEN"] == "from-function"
        with ThreadPoolExecutor(max_workers=1) as pool:
            in_flight: Future[tuple[dict[str, Any], Any]] = pool.submit(running.invoke, ECHO, {"block": str(gate)})
            _until("an invocation is in flight", lambda: len(_started(gate)) == 1)

            text = template.read_text().replace("OVERRIDDEN: from-function", "OVERRIDDEN: from-the-edit")
            text = text.replace("  BrokenFunction:", NEW_FUNCTION + "\n  BrokenFunction:")
            text = text.replace("      Timeout: 1\n", "      Timeout: 7\n")
            _write(template, text)

            _, body = running.invoke(ECHO, {})
            assert body["env"]["OVERRIDDEN"] == "from-the-edit"
            assert body["pid"] not in _started(gate)  # a new worker: the old one still runs the held call
            _, added = running.invoke("steward-local-tool-added", {"new": True})
            assert added["event"] == {"new": True}
            assert added["context"]["function_name"] == "steward-local-tool-added"
            assert 1_000 < running.invoke("SlowFunction", {})[1]["context"]["remaining_ms"] <= 7_000

            (gate / "release").touch()
            old = in_flight.result()[1]
            assert old["env"]["OVERRIDDEN"] == "from-function"  # it finished on the old worker, as it started
        assert not _pid_alive(old["pid"])  # and that worker is gone

        _write(template, text.replace(NEW_FUNCTION, "\n"))
        with pytest.raises(running.client.exceptions.ResourceNotFoundException):
            running.invoke("steward-local-tool-added", {})
    finally:
        stop_runner(running)


def test_a_template_that_does_not_parse_keeps_the_previous_one(copy: Path, tmp_path: Path) -> None:
    template = copy / "template.yaml"
    running = start_runner(template, tmp_path)
    try:
        original = template.read_text()
        pid = running.invoke(ECHO, {})[1]["pid"]
        _write(template, original.replace("Resources:", "Resources: [", 1))
        _, body = running.invoke(ECHO, {})
        assert (body["env"]["OVERRIDDEN"], body["pid"]) == ("from-function", pid)  # same template, same worker
        # YAML, but not a template the runner can run (no Runtime for any function)
        _write(template, original.replace("    Runtime: python3.13\n", "", 1))
        assert running.invoke(ECHO, {})[1]["pid"] == pid
        _write(template, original.replace("OVERRIDDEN: from-function", "OVERRIDDEN: fixed"))
        assert running.invoke(ECHO, {})[1]["env"]["OVERRIDDEN"] == "fixed"
    finally:
        stop_runner(running)


def test_reserved_concurrency_from_the_template_limits_the_function(copy: Path, tmp_path: Path) -> None:
    template = copy / "template.yaml"
    running = start_runner(template, tmp_path)
    try:
        assert running.invoke("SlowFunction", {})[0]["StatusCode"] == 200
        _write(
            template,
            template.read_text().replace(
                "      Timeout: 1\n", "      Timeout: 1\n      ReservedConcurrentExecutions: 0\n"
            ),
        )
        with pytest.raises(running.client.exceptions.TooManyRequestsException) as throttled:
            running.invoke("SlowFunction", {})  # Lambda: a function reserved 0 is throttled on every invoke
        error: dict[str, Any] = dict(throttled.value.response)
        assert error["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
        assert running.invoke(ECHO, {})[0]["StatusCode"] == 200  # the other functions are untouched
    finally:
        stop_runner(running)
