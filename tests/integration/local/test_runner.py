"""The local function runner over HTTP, driven by boto3's own lambda client as the plane drives it."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.integration.local.runner_harness import ECHO, FIXTURE_DIR, RunningRunner, start_runner, stop_runner


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRunner]:
    running = start_runner(FIXTURE_DIR / "template.yaml", tmp_path_factory.mktemp("runner"))
    try:
        yield running
    finally:
        stop_runner(running)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_payload_round_trips_with_a_lambda_like_context(runner: RunningRunner) -> None:
    response, body = runner.invoke(ECHO, {"hello": "world", "n": [1, 2.5, None]})
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    assert body["event"] == {"hello": "world", "n": [1, 2.5, None]}
    context = body["context"]
    assert context["function_name"] == ECHO
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{ECHO}"
    assert context["memory_limit_in_mb"] == 256
    assert context["log_group_name"] == f"/aws/lambda/{ECHO}"
    assert context["aws_request_id"] == response["ResponseMetadata"]["RequestId"]
    assert 0 < context["remaining_ms"] <= 10_000


def test_environment_comes_from_the_template_globals_and_cli_only(runner: RunningRunner) -> None:
    _, body = runner.invoke(ECHO, {})
    assert body["env"] == {
        "STAGE": "dev",
        "SHARED": "from-globals",
        "OVERRIDDEN": "from-function",
        "TABLE_NAME": "steward-local-LedgerTable",
        "TABLE_ARN": "arn:aws:dynamodb:us-east-1:000000000000:table/steward-local-LedgerTable",
        "SECRET_ID": "steward-local/vendor",
        "MODE": "development",
        "EXTRA": "from-cli",
    }
    assert body["layer"] == "layer-v1"
    assert body["local_plane"] == "1"
    lambda_env = body["lambda_env"]
    assert "AWS_ENDPOINT_URL" not in lambda_env  # neither from the parent nor from the template
    assert lambda_env["AWS_LAMBDA_FUNCTION_NAME"] == ECHO
    assert lambda_env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"


def test_function_is_invocable_by_logical_id_and_qualified_arn(runner: RunningRunner) -> None:
    arn = f"arn:aws:lambda:us-east-1:000000000000:function:{ECHO}:$LATEST"
    for name in ("EchoFunction", arn):
        response, body = runner.invoke(name, {"via": name})
        assert response["StatusCode"] == 200
        assert body["event"] == {"via": name}


def test_handler_exception_is_an_unhandled_function_error(runner: RunningRunner) -> None:
    response, body = runner.invoke(ECHO, {"raise": "boom"})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "boom"
    assert body["requestId"] == response["ResponseMetadata"]["RequestId"]
    assert any("app.py" in frame for frame in body["stackTrace"])


def test_timeout_kills_the_worker_and_the_next_call_works(runner: RunningRunner) -> None:
    _, before = runner.invoke("SlowFunction", {})
    response, body = runner.invoke("SlowFunction", {"sleep": 30})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]
    assert not _pid_alive(before["pid"])
    _, after = runner.invoke("SlowFunction", {})
    assert after["event"] == {}
    assert after["pid"] != before["pid"]


def test_worker_crash_is_a_runtime_exit_error_and_the_next_call_works(runner: RunningRunner) -> None:
    response, body = runner.invoke(ECHO, {"exit": 3})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in body["errorMessage"]
    assert runner.invoke(ECHO, {"again": True})[1]["event"] == {"again": True}


def test_handler_prints_never_corrupt_the_protocol(runner: RunningRunner) -> None:
    _, body = runner.invoke(ECHO, {"print": "\x00\x00\x00\x10not a frame"})
    assert body["event"] == {"print": "\x00\x00\x00\x10not a frame"}


def test_undeclared_function_is_resource_not_found(runner: RunningRunner) -> None:
    with pytest.raises(runner.client.exceptions.ResourceNotFoundException) as excinfo:
        runner.invoke("steward-local-tool-undeclared", {})
    assert excinfo.value.response["Error"]["Message"].endswith(":function:steward-local-tool-undeclared")


def test_oversized_request_is_refused(runner: RunningRunner) -> None:
    with pytest.raises(runner.client.exceptions.RequestTooLargeException):
        runner.invoke(ECHO, {"pad": "x" * (6 * 1024 * 1024)})


def test_invalid_json_payload_is_refused(runner: RunningRunner) -> None:
    with pytest.raises(runner.client.exceptions.InvalidRequestContentException):
        runner.client.invoke(FunctionName=ECHO, Payload=b"{not json")


def test_oversized_response_is_a_function_error(runner: RunningRunner) -> None:
    response, body = runner.invoke(ECHO, {"big": 6 * 1024 * 1024 + 1})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Function.ResponseSizeTooLarge"


def test_event_and_dry_run_invocation_types(runner: RunningRunner) -> None:
    event = runner.client.invoke(FunctionName=ECHO, InvocationType="Event", Payload=b"{}")
    assert event["StatusCode"] == 202
    dry_run = runner.client.invoke(FunctionName=ECHO, InvocationType="DryRun", Payload=b"{}")
    assert dry_run["StatusCode"] == 204


def test_concurrent_invocations_scale_out_to_several_workers(runner: RunningRunner) -> None:
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda i: runner.invoke(ECHO, {"sleep": 0.5, "i": i}), range(10)))
    assert sorted(body["event"]["i"] for _, body in results) == list(range(10))
    assert len({body["pid"] for _, body in results}) > 1


def test_code_change_is_seen_by_the_next_invocations(tmp_path: Path) -> None:
    copy = tmp_path / "runner"
    shutil.copytree(FIXTURE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    running = start_runner(copy / "template.yaml", tmp_path)
    try:
        assert running.invoke(ECHO, {})[1]["code_version"] == "v1"
        app = copy / "echo" / "app.py"
        app.write_text(app.read_text().replace('CODE_VERSION = "v1"', 'CODE_VERSION = "v2-changed"'))
        deadline = time.monotonic() + 15
        while running.invoke(ECHO, {})[1]["code_version"] != "v2-changed":
            assert time.monotonic() < deadline, "the new code was never served"
            time.sleep(0.2)
        layer = copy / "layer" / "runner_fixture_layer.py"
        layer.write_text(layer.read_text().replace('"layer-v1"', '"layer-v2-changed"'))
        while running.invoke(ECHO, {})[1]["layer"] != "layer-v2-changed":
            assert time.monotonic() < deadline, "the new layer code was never served"
            time.sleep(0.2)
    finally:
        stop_runner(running)


def test_a_published_version_keeps_running_its_code_after_the_working_tree_changes(tmp_path: Path) -> None:
    copy = tmp_path / "runner"
    shutil.copytree(FIXTURE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    running = start_runner(copy / "template.yaml", tmp_path)
    try:
        first = running.client.publish_version(FunctionName=ECHO)
        assert (first["Version"], first["FunctionArn"].rsplit(":", 1)[-1]) == ("1", "1")
        again = running.client.publish_version(FunctionName="EchoFunction")
        assert (again["Version"], again["CodeSha256"]) == ("1", first["CodeSha256"])  # unchanged code: same version

        app = copy / "echo" / "app.py"
        app.write_text(app.read_text().replace('CODE_VERSION = "v1"', 'CODE_VERSION = "v2-changed"'))
        deadline = time.monotonic() + 15
        while running.invoke(ECHO, {})[1]["code_version"] != "v2-changed":
            assert time.monotonic() < deadline, "the new code was never served as $LATEST"
            time.sleep(0.2)
        response, body = running.invoke(ECHO, {}, Qualifier="1")
        assert (body["code_version"], response["ExecutedVersion"]) == ("v1", "1")  # the snapshot, not the tree
        assert body["lambda_env"]["AWS_LAMBDA_FUNCTION_VERSION"] == "1"
        assert running.invoke(f"{ECHO}:1", {})[1]["code_version"] == "v1"

        second = running.client.publish_version(FunctionName=ECHO)
        assert second["Version"] == "2"
        assert second["CodeSha256"] != first["CodeSha256"]
        assert running.invoke(ECHO, {}, Qualifier="2")[1]["code_version"] == "v2-changed"

        for unknown in ("3", "0", "live"):
            with pytest.raises(running.client.exceptions.ResourceNotFoundException, match=f"{ECHO}:{unknown}"):
                running.invoke(ECHO, {}, Qualifier=unknown)
    finally:
        stop_runner(running)


def test_sigterm_stops_the_runner_and_its_workers(tmp_path: Path) -> None:
    running = start_runner(FIXTURE_DIR / "template.yaml", tmp_path, "--eager")
    pid = running.invoke(ECHO, {})[1]["pid"]
    assert stop_runner(running) == 0
    deadline = time.monotonic() + 10
    while _pid_alive(pid):
        assert time.monotonic() < deadline, "worker outlived the runner"
        time.sleep(0.05)


def test_handler_that_cannot_be_imported_is_an_init_error_every_time(runner: RunningRunner) -> None:
    for _ in range(2):
        response, body = runner.invoke("BrokenFunction", {})
        assert response["FunctionError"] == "Unhandled"
        assert body["errorType"] == "Runtime.ImportModuleError"
        assert "no_such_module" in body["errorMessage"]


def test_workers_per_function_never_exceed_the_cap(tmp_path: Path) -> None:
    running = start_runner(FIXTURE_DIR / "template.yaml", tmp_path, "--max-workers-per-function", "2")
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            results = list(pool.map(lambda i: running.invoke(ECHO, {"sleep": 0.2, "i": i}), range(6)))
        assert sorted(body["event"]["i"] for _, body in results) == list(range(6))
        assert 1 <= len({body["pid"] for _, body in results}) <= 2
    finally:
        stop_runner(running)
