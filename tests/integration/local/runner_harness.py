"""Starting and stopping the local function runner for tests, against the fixture template in tests/data/runner."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from mypy_boto3_lambda import LambdaClient

FIXTURE_DIR = Path(__file__).resolve().parents[2] / "data" / "runner"
ECHO = "steward-local-tool-echo"


def sam_template(*functions: tuple[str, str, str]) -> str:
    """A SAM template of Python functions, each ``(logical ID, FunctionName after the stack's name, code dir)``,
    with handler ``app.handler`` and a 10 s timeout: what the runner tests write beside their code."""
    resources = "".join(
        f"""  {logical_id}:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "${{AWS::StackName}}-{name}"
      CodeUri: {code_dir}/
      Handler: app.handler
      Runtime: python3.13
      Timeout: 10
"""
        for logical_id, name, code_dir in functions
    )
    return f"""AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
{resources}"""


@dataclass
class RunningRunner:
    url: str
    process: subprocess.Popen[bytes]
    client: LambdaClient

    def invoke(self, function: str, event: Any, **kwargs: Any) -> tuple[dict[str, Any], Any]:
        response = self.client.invoke(FunctionName=function, Payload=json.dumps(event).encode(), **kwargs)
        return dict(response), json.loads(response["Payload"].read() or b"null")


def start_runner(template: Path, tmp_path: Path, *extra: str) -> RunningRunner:
    ready = tmp_path / "runner-ready.json"
    env = {**os.environ, "AWS_ENDPOINT_URL": "http://must-not-reach-workers.invalid"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mcp_steward.local.runner",
            "--template",
            str(template),
            "--port",
            "0",
            "--ready-file",
            str(ready),
            "--env",
            "EXTRA=from-cli",
            *extra,
        ],
        env=env,
    )
    deadline = time.monotonic() + 30
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError("runner did not become ready")
        time.sleep(0.05)
    data = json.loads(ready.read_text())
    assert data["pid"] == process.pid
    client = boto3.client(
        "lambda",
        endpoint_url=data["url"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}, max_pool_connections=20, read_timeout=30),
    )
    return RunningRunner(url=data["url"], process=process, client=client)


def stop_runner(runner: RunningRunner) -> int:
    if runner.process.poll() is None:
        runner.process.send_signal(signal.SIGTERM)
        try:
            return runner.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            runner.process.kill()
            runner.process.wait()
    return runner.process.returncode
