"""A running plane keeps its state file's function list (what admin commands resolve ``--function`` with) in step
with the template the runner re-reads, and keeps it when the template no longer loads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from mcp_steward.local.plane import LocalPlane

FIXTURE = Path(__file__).resolve().parents[2] / "data" / "runner" / "template.yaml"
ADDED = """
  AddedFunction:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "${AWS::StackName}-tool-added"
      CodeUri: echo/
      Timeout: 7
"""


def _replace(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text)
    temp.replace(path)


def test_the_state_files_functions_follow_the_template(tmp_path: Path) -> None:
    template = tmp_path / "infra" / "template.yaml"
    template.parent.mkdir()
    shutil.copy(FIXTURE, template)
    (tmp_path / "infra" / "echo").mkdir()
    state_file = tmp_path / ".steward" / "local.json"
    plane = LocalPlane(template_path=template, state_file=state_file)
    plane._state = {"mcp_url": "http://127.0.0.1:1/mcp", "functions": {}}  # as start() leaves it
    plane.refresh_functions()  # a template not read yet by this plane: read now
    functions = json.loads(state_file.read_text())["functions"]
    assert set(functions) == {"EchoFunction", "SlowFunction", "BrokenFunction"}

    _replace(template, FIXTURE.read_text() + ADDED)
    plane.refresh_functions()
    state = json.loads(state_file.read_text())
    assert state["functions"]["AddedFunction"] == {
        "name": "steward-local-tool-added",
        "timeout_s": 7,
        "code_dir": str(tmp_path / "infra" / "echo"),
    }
    assert state["mcp_url"] == "http://127.0.0.1:1/mcp"  # the rest of the state is kept

    _replace(template, "Resources: [")  # does not parse: the list stays as it was
    plane.refresh_functions()
    assert "AddedFunction" in json.loads(state_file.read_text())["functions"]
