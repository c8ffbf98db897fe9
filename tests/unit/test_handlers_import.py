"""Every handler module imports in one process (no two modules named ``app`` collide), and no init makes a
network call (the authorizer's with an OIDC issuer configured: its JWKS is fetched on the first JWT): the
endpoints point at a closed port and every handler still builds."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

SCRIPT = """
import os, socket, sys
os.environ.update(
    AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x",
    AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:9", AWS_ENDPOINT_URL_LAMBDA="http://127.0.0.1:9",
    AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:9",
    IDENTITY_MODE="authorizer", KEYS_TABLE="k", REGISTRY_TABLE="r", GRANTS_TABLE="g", BUDGETS_TABLE="b",
    LEDGER_TABLE="l", AUDIT_TABLE="a",
    OIDC_ISSUER="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Examp1e0", OIDC_AUDIENCE="client",
    RATES_TABLE="rates", EVENT_BUS_NAME="default", DIRECTORY_TABLE="dir", DIRECTORY_SECRET_ARN="secret",
    POWERTOOLS_METRICS_NAMESPACE="t", VENDOR_SECRET_PREFIX="stack/vendor/",
    DELEGATION_KEY_SECRET_ID="stack/delegation-key",
)
def refuse(*args, **kwargs):
    raise AssertionError("network I/O at init")
socket.socket.connect = refuse
from tests.conftest import load_function
names = (
    "governance", "nested_governance", "authorizer", "currency", "hr_directory", "briefing",
    "sweeper", "aggregator", "sync", "egress",
)
modules = [load_function(name) for name in names]
assert len({m.__name__ for m in modules}) == len(names) and all(callable(m.handler) for m in modules)
print("ok")
"""


def test_all_handlers_import_together_without_network_io() -> None:
    finished = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, check=False)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert finished.stdout.strip() == "ok"
