"""Run every ``events/<function>/*.json`` through that function's real module-level handler, in a child
interpreter configured like Lambda configures the function (its environment only), as ``sam local invoke``
would. Returns each file's answer, or the exception it raised."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mcp_steward.local.template import LocalTemplate, load_template_document
from tests.conftest import ROOT

TEMPLATE = ROOT / "infra" / "template.yaml"
TOOL_PREFIX = "${AWS::StackName}-tool-"

RUNNER = """
import json, sys, time, uuid
from pathlib import Path
from tests.conftest import load_function

class Context:
    function_name = "steward-local-" + sys.argv[1]
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:" + function_name
    memory_limit_in_mb = 1024
    log_group_name = "/aws/lambda/" + function_name
    log_stream_name = "local"
    def __init__(self):
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + 28
    def get_remaining_time_in_millis(self):
        return int((self._deadline - time.monotonic()) * 1000)

name, only = sys.argv[1], set(sys.argv[2:])
app = load_function(name)
answers = {}
for path in sorted(Path("events", name).glob("*.json")):
    if only and path.name not in only:
        continue
    try:
        answers[path.name] = {"ok": app.handler(json.loads(path.read_text()), Context())}
    except Exception as exc:
        answers[path.name] = {"raised": type(exc).__name__, "message": str(exc)}
print(json.dumps(answers))
"""


def run_event_files(function: str, environment: dict[str, str], only: Iterable[str] = ()) -> dict[str, Any]:
    """The answers of ``functions/<function>`` to each of its event files (stdout's last line), or to the files
    named in ``only``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local", POWERTOOLS_METRICS_NAMESPACE="MCPSteward")
    env.update(environment)
    finished = subprocess.run(
        [sys.executable, "-c", RUNNER, function, *only], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    return dict(json.loads(finished.stdout.strip().splitlines()[-1]))


def tool_function_dirs() -> dict[str, str]:
    """The template's internal tool functions (FunctionName ``${AWS::StackName}-tool-*``): code directory name
    (= ``events/`` directory name) → logical ID. Read from the template, so a function ``steward new-server``
    adds has its events run without a test edit."""
    resources = load_template_document(TEMPLATE.read_text(encoding="utf-8"))["Resources"]
    found: dict[str, str] = {}
    for logical_id, resource in resources.items():
        properties = resource.get("Properties") or {}
        name = properties.get("FunctionName")
        named = name.get("Fn::Sub") if isinstance(name, dict) else name
        if resource.get("Type") == "AWS::Serverless::Function" and str(named).startswith(TOOL_PREFIX):
            found[Path(str(properties["CodeUri"])).name] = logical_id
    return found


def template_environment(logical_id: str) -> dict[str, str]:
    """A function's environment as the local plane resolves it from the template (Globals merged); the
    conformance fixture function exists only with ConformanceFixtures=true (steward dev --conformance-fixtures)."""
    template = LocalTemplate.load(TEMPLATE, parameter_overrides={"ConformanceFixtures": "true"})
    return dict(template.functions()[logical_id].environment)
