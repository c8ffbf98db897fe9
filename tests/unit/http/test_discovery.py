"""MCP authorization discovery: the protected resource metadata (RFC 9728) and the 401 challenge naming it."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from mcp.client.auth.utils import (
    build_protected_resource_metadata_discovery_urls,
    extract_resource_metadata_from_www_auth,
    extract_scope_from_www_auth,
)
from mcp.shared.auth import ProtectedResourceMetadata
from mcp.shared.auth_utils import check_resource_allowed
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from mcp_steward.bootstrap import build_endpoint
from mcp_steward.http.app import create_app
from mcp_steward.http.discovery import metadata_url, public_base_url, resource_url
from mcp_steward.protocol.errors import HttpRefusalError
from mcp_steward.settings import Settings, SettingsError
from tests.unit.fakes import TOKENS, Plane, settings

LOCAL = "http://127.0.0.1:8787"
EXECUTE_API = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"
PRM_PATHS = ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource")
JSON_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
PING = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"})


def local_scope(path: str = "/mcp", host: str = "127.0.0.1:8787", scheme: str = "http") -> dict[str, Any]:
    return {"type": "http", "path": path, "scheme": scheme, "root_path": "", "headers": [(b"host", host.encode())]}


def lambda_scope(
    path: str, *, domain: str = EXECUTE_API, external_path: str | None = None, stage: str = "v1"
) -> dict[str, Any]:
    """The ASGI scope Mangum builds from an API Gateway REST event (``aws.event`` is the event itself)."""
    context: dict[str, Any] = {"domainName": domain, "stage": stage}
    if external_path is not None:
        context["path"] = external_path
    event = {"path": path, "requestContext": context}
    return {**local_scope(path, host=domain, scheme="https"), "aws.event": event}


def client_for(config: Settings, base_url: str = LOCAL, event: dict[str, Any] | None = None) -> TestClient:
    app: Starlette = create_app(build_endpoint(config, Plane().ports()))
    if event is None:
        return TestClient(app, base_url=base_url)

    async def as_lambda(scope: Scope, receive: Receive, send: Send) -> None:
        # What Mangum adds to the scope: the API Gateway event (request context included).
        await app({**scope, "aws.event": {**event, "path": scope["path"]}}, receive, send)

    return TestClient(as_lambda, base_url=base_url)


# --- where the resource is: computed from the request ----------------------------------------------------------


def test_the_default_execute_api_url_carries_the_stage() -> None:
    scope = lambda_scope("/mcp", external_path="/v1/mcp")
    assert public_base_url(scope) == f"https://{EXECUTE_API}/v1"
    assert resource_url(scope) == f"https://{EXECUTE_API}/v1/mcp"
    assert metadata_url(scope) == f"https://{EXECUTE_API}/v1/.well-known/oauth-protected-resource/mcp"


def test_the_stage_is_the_fallback_on_execute_api_when_the_context_has_no_path() -> None:
    assert public_base_url(lambda_scope("/mcp", stage="prod")) == f"https://{EXECUTE_API}/prod"


def test_a_custom_domain_mapped_at_its_root_has_no_stage_in_its_urls() -> None:
    scope = lambda_scope("/mcp", domain="mcp.example.com", external_path="/mcp")
    assert resource_url(scope) == "https://mcp.example.com/mcp"
    assert metadata_url(scope) == "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"


def test_a_custom_domain_without_a_context_path_is_taken_as_mapped_at_its_root() -> None:
    assert public_base_url(lambda_scope("/mcp", domain="mcp.example.com")) == "https://mcp.example.com"


def test_a_custom_domain_base_path_is_kept() -> None:
    scope = lambda_scope("/mcp", domain="api.example.com", external_path="/tools/mcp")
    assert resource_url(scope) == "https://api.example.com/tools/mcp"


def test_the_local_plane_url_comes_from_the_scheme_and_host_of_the_request() -> None:
    assert resource_url(local_scope()) == f"{LOCAL}/mcp"
    assert public_base_url(local_scope(host="LOCALHOST:9000")) == "http://localhost:9000"
    assert public_base_url(local_scope(host="[::1]:8787", scheme="https")) == "https://[::1]:8787"


@pytest.mark.parametrize("host", ['127.0.0.1:8787"x', "127.0.0.1 x", "", "a/b"])
def test_a_host_that_is_not_a_plain_host_is_never_written_into_a_url(host: str) -> None:
    with pytest.raises(HttpRefusalError) as excinfo:
        public_base_url(local_scope(host=host))
    assert excinfo.value.status == 403


# --- the metadata document ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PRM_PATHS)
def test_the_metadata_is_served_without_a_token_at_both_well_known_urls(path: str) -> None:
    response = client_for(settings()).get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "max-age" in response.headers["cache-control"]
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.json() == {
        "resource": f"{LOCAL}/mcp",
        "authorization_servers": [],
        "bearer_methods_supported": ["header"],
        "resource_name": "MCP Steward",
    }


def test_the_metadata_names_the_configured_issuer_and_scope() -> None:
    document = client_for(settings(oidc_issuer=ISSUER, oidc_scope="mcp/tools")).get(PRM_PATHS[0]).json()
    assert document["authorization_servers"] == [ISSUER]
    assert document["scopes_supported"] == ["mcp/tools"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_the_metadata_is_served_to_get_only(method: str) -> None:
    response = client_for(settings()).request(method, PRM_PATHS[0])
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"


def test_the_metadata_refuses_a_foreign_host() -> None:
    response = client_for(settings()).get(PRM_PATHS[0], headers={"host": "evil.example"})
    assert response.status_code == 403


def test_the_metadata_behind_api_gateway_names_the_stage_url() -> None:
    event = {"requestContext": {"domainName": EXECUTE_API, "stage": "v1", "path": "/v1" + PRM_PATHS[0]}}
    client = client_for(settings(identity_mode="authorizer", local_plane=False), f"https://{EXECUTE_API}", event)
    assert client.get(PRM_PATHS[0]).json()["resource"] == f"https://{EXECUTE_API}/v1/mcp"


# --- the 401 challenge -------------------------------------------------------------------------------------


def test_a_401_names_the_metadata_url_and_keeps_the_realm() -> None:
    response = client_for(settings()).post("/mcp", content=PING, headers=JSON_HEADERS)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        f'Bearer realm="mcp-steward", resource_metadata="{LOCAL}/.well-known/oauth-protected-resource/mcp"'
    )


def test_a_401_for_an_unknown_token_names_the_metadata_url_too() -> None:
    headers = {**JSON_HEADERS, "authorization": "Bearer stw_nope"}
    response = client_for(settings()).post("/mcp", content=PING, headers=headers)
    assert response.status_code == 401
    assert (
        f'resource_metadata="{LOCAL}/.well-known/oauth-protected-resource/mcp"' in response.headers["www-authenticate"]
    )


def test_a_401_behind_api_gateway_names_the_stage_url() -> None:
    # GIVEN a request that reached the function without an authorizer context
    event = {"requestContext": {"domainName": EXECUTE_API, "stage": "v1", "path": "/v1/mcp"}}
    client = client_for(settings(identity_mode="authorizer", local_plane=False), f"https://{EXECUTE_API}", event)
    response = client.post("/mcp", content=PING, headers=JSON_HEADERS)
    assert response.status_code == 401
    expected = f"https://{EXECUTE_API}/v1/.well-known/oauth-protected-resource/mcp"
    assert f'resource_metadata="{expected}"' in response.headers["www-authenticate"]


def test_an_authenticated_call_is_not_challenged() -> None:
    headers = {**JSON_HEADERS, "authorization": f"Bearer {TOKENS['alice']}"}
    response = client_for(settings()).post("/mcp", content=PING, headers=headers)
    assert response.status_code == 200
    assert "www-authenticate" not in response.headers


# --- what the official MCP SDK client makes of it ----------------------------------------------------------


def test_the_sdk_client_finds_validates_and_accepts_the_metadata() -> None:
    client = client_for(settings(oidc_issuer=ISSUER, oidc_scope="mcp/tools"))
    challenged = client.post("/mcp", content=PING, headers=JSON_HEADERS)
    response = httpx2.Response(challenged.status_code, headers=dict(challenged.headers))
    # The challenge's URL comes first, then the RFC 9728 well-known URLs: this app serves every one of them.
    urls = build_protected_resource_metadata_discovery_urls(
        extract_resource_metadata_from_www_auth(response), f"{LOCAL}/mcp"
    )
    assert urls[0] == f"{LOCAL}/.well-known/oauth-protected-resource/mcp"
    assert extract_scope_from_www_auth(response) == "mcp/tools"
    for url in urls:
        metadata = ProtectedResourceMetadata.model_validate_json(client.get(url).content)
        assert [str(server) for server in metadata.authorization_servers] == [ISSUER]
        assert check_resource_allowed(f"{LOCAL}/mcp", str(metadata.resource))


# --- configuration ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "issuer",
    ["http://issuer.example", "ftp://issuer.example", "https://", "https://issuer.example/?x=1", "http://[::1"],
)
def test_an_issuer_that_is_not_an_https_url_fails_the_init(issuer: str) -> None:
    with pytest.raises(SettingsError, match="OIDC_ISSUER"):
        settings(oidc_issuer=issuer)


def test_a_loopback_issuer_may_use_http() -> None:
    assert settings(oidc_issuer="http://127.0.0.1:9000/realm").oidc_issuer == "http://127.0.0.1:9000/realm"


def test_a_scope_with_a_space_or_quote_fails_the_init() -> None:
    for scope in ("a b", 'a"b'):
        with pytest.raises(SettingsError, match="OIDC_REQUIRED_SCOPE"):
            settings(oidc_scope=scope)


def test_the_issuer_and_scope_are_read_from_the_environment() -> None:
    env = {
        "IDENTITY_MODE": "bearer",
        **{f"{t}_TABLE": t.lower() for t in ("KEYS", "REGISTRY", "GRANTS", "BUDGETS", "LEDGER", "AUDIT")},
        "OIDC_ISSUER": f" {ISSUER} ",
        "OIDC_REQUIRED_SCOPE": "mcp/tools",
    }
    loaded = Settings.from_env(env)
    assert (loaded.oidc_issuer, loaded.oidc_scope) == (ISSUER, "mcp/tools")
