"""MCP authorization discovery end to end: the governance handler as API Gateway invokes it for the metadata
route (its events/ file), and the local plane's governance app under uvicorn, read the way the MCP SDK client does."""

from __future__ import annotations

import json
from typing import Any

import httpx
import httpx2
import pytest
from mcp.client.auth.utils import (
    build_protected_resource_metadata_discovery_urls,
    extract_resource_metadata_from_www_auth,
)

from tests.lambda_harness import run_event_files

EVENT = "protected_resource_metadata.json"
ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Examp1e0"
PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
JSON_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


def test_the_metadata_event_answers_through_the_handler_with_no_authorizer_context() -> None:
    # The metadata route needs no store: the handler is configured as in AWS, with nothing behind the tables.
    tables = {f"{name}_TABLE": name.lower() for name in ("KEYS", "REGISTRY", "GRANTS", "BUDGETS", "LEDGER", "AUDIT")}
    environment = {
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "IDENTITY_MODE": "authorizer",
        "TOOL_FUNCTION_PREFIX": "steward-local-tool-",
        "POWERTOOLS_SERVICE_NAME": "governance",
        "OIDC_ISSUER": ISSUER,
        **tables,
    }
    answer = run_event_files("governance", environment, only=[EVENT])[EVENT]["ok"]
    assert answer["statusCode"] == 200
    assert answer["headers"]["content-type"] == "application/json"
    assert json.loads(answer["body"]) == {
        "resource": "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/v1/mcp",
        "authorization_servers": [ISSUER],
        "bearer_methods_supported": ["header"],
        "resource_name": "MCP Steward",
    }


@pytest.mark.plane
def test_the_local_plane_challenges_with_the_metadata_url_and_serves_every_discovery_url(
    plane: dict[str, Any],
) -> None:
    mcp_url = str(plane["mcp_url"])
    challenged = httpx.post(mcp_url, content=json.dumps(PING), headers=JSON_HEADERS)
    assert challenged.status_code == 401
    named = extract_resource_metadata_from_www_auth(httpx2.Response(401, headers=dict(challenged.headers)))
    assert named == mcp_url.removesuffix("/mcp") + "/.well-known/oauth-protected-resource/mcp"
    # The challenge's URL, then RFC 9728's path-based and root well-known URLs, in the SDK client's order.
    for url in build_protected_resource_metadata_discovery_urls(named, mcp_url):
        response = httpx.get(url)
        assert response.status_code == 200, url
        assert response.json()["resource"] == mcp_url
        assert response.json()["bearer_methods_supported"] == ["header"]
