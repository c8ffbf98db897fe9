from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["boto3", "botocore", "jsonschema", "starlette", "mangum", "aws_lambda_powertools", "asyncio"]


def test_importing_the_sdk_does_not_pull_heavy_dependencies() -> None:
    code = (
        "import json, sys\n"
        "import mcp_steward.sdk, mcp_steward.sdk.secrets\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(completed.stdout) == []
