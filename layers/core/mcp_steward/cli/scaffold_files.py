"""The text of what ``steward new-server`` writes: a tool function, its unit test, its events, and the template
resources. Placeholders are ``__NAME__`` (the server name), ``__MODULE__`` (the directory and module name),
``__LOGICAL__`` (the logical ID prefix), ``__TITLE__`` and ``__DOCSTRING__``/``__DESCRIPTION_JSON__`` (the
description, already checked and quoted). Plain text replacement, not ``str.format``: the YAML holds ``${...}``.

The generated Python passes ``ruff check``, ``ruff format --check`` and ``mypy --strict`` as the repository
configures them (tests/integration/cli/test_new_server.py checks it on a copy of the repository).
"""

from __future__ import annotations

from typing import Final

APP: Final = '''"""__DOCSTRING__

Scaffolded by ``steward new-server``; docs/adding-a-tool.md walks through the rest: tools with the SDK (type
hints become JSON Schema), secrets read by reference, metered units, tests, the local plane, deploying,
registering, approving, pricing and granting.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from mcp_steward.sdk import ToolContext, ToolError, ToolServer

Name = Annotated[str, Field(min_length=1, max_length=64, description="Who to greet.", examples=["Ada"])]


class Greeting(BaseModel):
    """What ``hello`` answers: ``structuredContent`` is always an object, with a text copy beside it."""

    message: str = Field(description="The greeting.")
    name: str = Field(description="Who was greeted, as given.")


def build_server() -> ToolServer:
    """The ``__NAME__`` tool server.

    Take clients and settings as parameters (built once, at the bottom of this module) so that tests can pass
    fakes; a secret is read by reference with ``mcp_steward.sdk.secrets.get_secret_json("MY_SECRET_ARN")``.
    """
    server = ToolServer(name="__NAME__", version="0.1.0")

    @server.tool(title="Say hello", annotations={"readOnlyHint": True, "openWorldHint": False})
    def hello(ctx: ToolContext, name: Name) -> Greeting:
        """Greet someone by name. Replace this example with the server's first real tool."""
        if not name.strip():
            raise ToolError("name is blank")  # an isError result: its text reaches the model, keep it safe to show
        ctx.report_units(1)  # the result's _meta["steward/units"], charged with `steward prices set --unit-price`
        return Greeting(message=f"Hello, {name.strip()}!", name=name)

    return server


# Cold start, once per sandbox: build clients here (e.g. boto3.client("dynamodb")) and read settings with
# os.environ["NAME"], so that a missing one fails the init rather than a call. No network I/O at import.
server = build_server()
handler = server.handler
'''

TEST: Final = '''"""The ``__NAME__`` tool function through its module-level handler, called with invocation envelopes as
governance sends them (docs/design.md section 5). Scaffolded by ``steward new-server``: grow it with the tools."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.unit.functions.conftest import load_with_env


@pytest.fixture(scope="module")
def app() -> Iterator[ModuleType]:
    # Settings the module reads at import go here, e.g. load_with_env("__MODULE__", MY_TABLE="table").
    yield from load_with_env("__MODULE__")


def invoke(app: ModuleType, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Send one envelope to ``app.handler``; checks the JSON-RPC framing and returns the response."""
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": 7, "method": method}
    if params is not None:
        message["params"] = params
    envelope = {
        "steward": {
            "v": 1,
            "request_id": "req-test",
            "deadline_ms": 4_102_444_800_000,
            "principal": {"id": "alice", "team": "finance", "obo": None},
            "delegation": None,
        },
        "message": message,
    }
    response: dict[str, Any] = app.handler(envelope, None)
    assert response["jsonrpc"] == "2.0"
    assert response["id"] == 7
    return response


def test_tools_list_describes_hello_with_a_schema_that_refuses_unknown_properties(app: ModuleType) -> None:
    tools = {tool["name"]: tool for tool in invoke(app, "tools/list")["result"]["tools"]}
    schema = tools["hello"]["inputSchema"]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["name"]
    assert "examples" in schema["properties"]["name"]


def test_hello_answers_structured_content_with_a_text_copy_and_reports_one_unit(app: ModuleType) -> None:
    result = invoke(app, "tools/call", {"name": "hello", "arguments": {"name": "Ada"}})["result"]
    assert result["isError"] is False
    assert result["structuredContent"] == {"message": "Hello, Ada!", "name": "Ada"}
    assert json.loads(result["content"][0]["text"]) == result["structuredContent"]
    assert result["_meta"] == {"steward/units": 1}


def test_a_blank_name_is_a_tool_error_and_nothing_is_metered(app: ModuleType) -> None:
    result = invoke(app, "tools/call", {"name": "hello", "arguments": {"name": "   "}})["result"]
    assert result["isError"] is True
    assert "_meta" not in result


def test_unknown_properties_are_invalid_arguments_and_the_tool_does_not_run(app: ModuleType) -> None:
    result = invoke(app, "tools/call", {"name": "hello", "arguments": {"name": "Ada", "mood": "sunny"}})["result"]
    assert result["isError"] is True
    assert result["_meta"]["steward/reason"] == "invalid_arguments"
'''

FUNCTION_RESOURCE: Final = """  __LOGICAL__Function:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub ${AWS::StackName}-tool-__NAME__
      Description: __DESCRIPTION_JSON__
      CodeUri: ../functions/__MODULE__/
      Handler: app.handler
      Timeout: 10
      LoggingConfig:
        LogGroup: !Ref __LOGICAL__LogGroup
      Environment:
        Variables:
          POWERTOOLS_SERVICE_NAME: __MODULE__
      # Least privilege: add a Policies list granting this function its own data and secrets only (see
      # HrDirectoryFunction); the governance role already invokes ${AWS::StackName}-tool-*.

"""

LOG_GROUP_RESOURCE: Final = """  __LOGICAL__LogGroup:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Delete # operational logs; the audit trail lives in DynamoDB (Retain)
    UpdateReplacePolicy: Delete
    Properties:
      LogGroupName: !Sub /aws/lambda/${AWS::StackName}-tool-__NAME__
      RetentionInDays: !Ref LogRetentionDays

"""
