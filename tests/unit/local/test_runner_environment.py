"""What a local worker's environment holds, and in which order the sources win."""

from __future__ import annotations

from pathlib import Path

from mcp_steward.local.runner import worker_environment
from mcp_steward.local.template import FunctionSpec

SPEC = FunctionSpec(
    logical_id="EchoFunction",
    function_name="steward-local-tool-echo",
    function_arn="arn:aws:lambda:us-east-1:000000000000:function:steward-local-tool-echo",
    code_dir=Path("/code/echo"),
    handler="app.handler",
    runtime="python3.13",
    timeout_s=10,
    memory_mb=256,
    environment={"TABLE": "t", "AWS_REGION": "from-template", "AWS_ENDPOINT_URL": "http://x", "SHARED": "template"},
)


def test_worker_inherits_only_basics_from_the_parent() -> None:
    parent = {"PATH": "/bin", "HOME": "/home/me", "AWS_PROFILE": "prod", "AWS_ENDPOINT_URL": "http://global"}
    env = worker_environment(SPEC, region="eu-west-1", parent=parent)
    assert (env["PATH"], env["HOME"]) == ("/bin", "/home/me")
    assert "AWS_PROFILE" not in env
    assert "AWS_ENDPOINT_URL" not in env


def test_cli_env_beats_template_env_which_beats_defaults() -> None:
    extra = {"SHARED": "cli", "AWS_ENDPOINT_URL": "http://global", "AWS_ENDPOINT_URL_LAMBDA": "http://runner"}
    env = worker_environment(SPEC, region="eu-west-1", extra=extra, parent={})
    assert env["SHARED"] == "cli"
    assert env["TABLE"] == "t"
    assert env["AWS_REGION"] == "from-template"
    assert env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["AWS_ENDPOINT_URL_LAMBDA"] == "http://runner"
    assert "AWS_ENDPOINT_URL" not in env


def test_lambda_identity_variables_are_always_set() -> None:
    env = worker_environment(SPEC, region="us-east-1", extra={"AWS_LAMBDA_FUNCTION_NAME": "spoofed"}, parent={})
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "steward-local-tool-echo"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.13"
    assert env["LAMBDA_TASK_ROOT"] == "/code/echo"
    assert env["_HANDLER"] == "app.handler"
    assert env["STEWARD_LOCAL_PLANE"] == "1"
