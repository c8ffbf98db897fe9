"""Cold start: a fresh interpreter importing the governance handler module and building its services (no
network), against a fresh interpreter importing boto3 and creating the DynamoDB, Lambda and Secrets Manager
clients. Alternated pairs; each child reports its own import-and-build time (interpreter start-up, the same for
both, is excluded), and a third kind of child reports the governance path phase by phase."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.stats import median, ratio_line

ROOT = Path(__file__).resolve().parents[1]
PAIRS = 9
TARGET = 1.4

BASELINE = """
import time
t = time.perf_counter()
import boto3
session = boto3.session.Session()
clients = [session.client(name) for name in ("dynamodb", "lambda", "secretsmanager")]
print((time.perf_counter() - t) * 1000)
"""

GOVERNANCE = """
import time
t = time.perf_counter()
import importlib.util
spec = importlib.util.spec_from_file_location("governance_app", "functions/governance/app.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
assert callable(module.handler)
print((time.perf_counter() - t) * 1000)
"""

PHASES = """
import json, time
marks = [("start", time.perf_counter())]
import boto3, botocore.config
marks.append(("boto3", time.perf_counter()))
import starlette.applications, starlette.requests, starlette.responses, mangum, asyncio, anyio.to_thread
marks.append(("starlette + mangum + asyncio", time.perf_counter()))
import aws_lambda_powertools
marks.append(("powertools", time.perf_counter()))
import mcp_steward.bootstrap, mcp_steward.http.lambda_entry
marks.append(("mcp_steward modules", time.perf_counter()))
import importlib.util
spec = importlib.util.spec_from_file_location("governance_app", "functions/governance/app.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
marks.append(("clients + app (handler module)", time.perf_counter()))
print(json.dumps({b[0]: (b[1] - a[1]) * 1000 for a, b in zip(marks, marks[1:])}))
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        IDENTITY_MODE="authorizer",
        KEYS_TABLE="keys",
        REGISTRY_TABLE="registry",
        GRANTS_TABLE="grants",
        BUDGETS_TABLE="budgets",
        LEDGER_TABLE="ledger",
        AUDIT_TABLE="audit",
        TOOL_FUNCTION_PREFIX="steward-tool-",
        POWERTOOLS_SERVICE_NAME="governance",
        POWERTOOLS_METRICS_NAMESPACE="MCPSteward",
        PYTHONDONTWRITEBYTECODE="0",
    )
    return env


def _run(script: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=_env(), capture_output=True, text=True, check=True
    )
    return done.stdout.strip().splitlines()[-1]


def run() -> list[str]:
    _run(GOVERNANCE)  # warm the file system cache and bytecode for both
    _run(BASELINE)
    governance, baseline = [], []
    for _ in range(PAIRS):
        governance.append(float(_run(GOVERNANCE)))
        baseline.append(float(_run(BASELINE)))
    phases = [json.loads(_run(PHASES)) for _ in range(5)]
    lines = [
        f"cold start (median of {PAIRS} alternated pairs of fresh processes)",
        ratio_line(
            "governance handler import + build vs boto3 + 3 clients",
            median(governance),
            median(baseline),
            target=TARGET,
        ),
        "  where the governance cold start goes (median of 5 processes, phases in import order):",
    ]
    for phase in phases[0]:
        lines.append(f"    {phase:<40} {median([p[phase] for p in phases]):8.1f} ms")
    return lines
