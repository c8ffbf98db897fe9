"""The MCP endpoint over HTTP (in process): both eras, every bad-input rule, the governed tool path."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from starlette.testclient import TestClient

from mcp_steward.bootstrap import build_endpoint
from mcp_steward.http.app import create_app
from tests.unit.fakes import TOKENS, Plane, settings

MODERN = "2026-07-28"
JSON_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


@pytest.fixture
def plane() -> Plane:
    return Plane()


@pytest.fixture
def client(plane: Plane) -> TestClient:
    return TestClient(create_app(build_endpoint(settings(), plane.ports())), base_url="http://127.0.0.1:8787")


def auth(who: str = "alice") -> dict[str, str]:
    return {"authorization": f"Bearer {TOKENS[who]}"}


def legacy(client: TestClient, method: str, params: dict[str, Any] | None = None, who: str = "alice", **kw: Any) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}
    headers = {**JSON_HEADERS, **auth(who), "mcp-protocol-version": "2025-11-25", **kw.pop("headers", {})}
    return client.post("/mcp", content=json.dumps(body), headers=headers, **kw)


def modern_meta() -> dict[str, Any]:
    return {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
    }


def modern(
    client: TestClient, method: str, params: dict[str, Any] | None = None, who: str = "alice", **headers: str
) -> Any:
    params = {**(params or {}), "_meta": modern_meta()}
    body = {"jsonrpc": "2.0", "id": "r1", "method": method, "params": params}
    base = {**JSON_HEADERS, **auth(who), "mcp-protocol-version": MODERN, "mcp-method": method}
    if method == "tools/call":
        base["mcp-name"] = params["name"]
    return client.post("/mcp", content=json.dumps(body), headers={**base, **headers})


# --- HTTP checks -------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "DELETE", "PUT"])
def test_methods_other_than_post_get_405_with_allow(client: TestClient, method: str) -> None:
    response = client.request(method, "/mcp", headers=auth())
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_a_foreign_host_is_refused_before_authentication(client: TestClient) -> None:
    response = legacy(client, "ping", who="alice", headers={"host": "evil.example", "authorization": ""})
    assert response.status_code == 403


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "file://x"])
def test_a_foreign_origin_is_refused(client: TestClient, origin: str) -> None:
    assert legacy(client, "ping", headers={"origin": origin}).status_code == 403


def test_a_loopback_origin_on_any_port_is_allowed(client: TestClient) -> None:
    assert legacy(client, "ping", headers={"origin": "http://localhost:6274"}).status_code == 200


def test_accept_without_json_gets_406(client: TestClient) -> None:
    assert legacy(client, "ping", headers={"accept": "text/event-stream"}).status_code == 406


def test_a_body_that_is_not_json_by_type_gets_415(client: TestClient) -> None:
    assert legacy(client, "ping", headers={"content-type": "text/plain"}).status_code == 415


def test_a_body_over_one_megabyte_gets_413(client: TestClient) -> None:
    big = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"x": "a" * 1_100_000}})
    response = client.post("/mcp", content=big, headers={**JSON_HEADERS, **auth()})
    assert response.status_code == 413


def test_invalid_json_gets_parse_error_with_null_id(client: TestClient) -> None:
    response = client.post("/mcp", content=b"{not json", headers={**JSON_HEADERS, **auth()})
    assert response.status_code == 400
    assert response.json() == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32700, "message": response.json()["error"]["message"]},
    }


def test_too_deep_json_gets_parse_error(client: TestClient) -> None:
    deep = '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":' + "[" * 100 + "]" * 100 + "}}"
    response = client.post("/mcp", content=deep, headers={**JSON_HEADERS, **auth()})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32700


def test_a_batch_is_refused_as_invalid_request(client: TestClient) -> None:
    batch = json.dumps([{"jsonrpc": "2.0", "id": 1, "method": "ping"}])
    response = client.post("/mcp", content=batch, headers={**JSON_HEADERS, **auth()})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32600


def test_a_null_id_is_an_invalid_request(client: TestClient) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": None, "method": "ping"})
    response = client.post("/mcp", content=body, headers={**JSON_HEADERS, **auth()})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32600


def test_no_token_gets_401_with_a_bearer_challenge(client: TestClient) -> None:
    response = legacy(client, "ping", headers={"authorization": ""})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_an_unknown_token_gets_401(client: TestClient) -> None:
    response = legacy(client, "ping", headers={"authorization": "Bearer stw_nope"})
    assert response.status_code == 401


# --- legacy era --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "answered"),
    [("2025-06-18", "2025-06-18"), ("2024-11-05", "2024-11-05"), ("1999-01-01", "2025-11-25"), (None, "2025-11-25")],
)
def test_initialize_echoes_a_supported_version_or_offers_the_newest(
    client: TestClient, requested: str | None, answered: str
) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": requested}}
    response = client.post("/mcp", content=json.dumps(body), headers={**JSON_HEADERS, **auth()})
    assert response.status_code == 200
    assert response.json()["result"]["protocolVersion"] == answered
    assert "mcp-session-id" not in response.headers


def test_notifications_and_posted_responses_get_202_without_body(client: TestClient) -> None:
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    posted = {"jsonrpc": "2.0", "id": 5, "result": {}}
    for body in (note, posted):
        response = client.post("/mcp", content=json.dumps(body), headers={**JSON_HEADERS, **auth()})
        assert response.status_code == 202
        assert response.content == b""


def test_ping_answers_an_empty_result(client: TestClient) -> None:
    assert legacy(client, "ping").json() == {"jsonrpc": "2.0", "id": 1, "result": {}}


def test_an_unknown_method_is_200_with_method_not_found_in_legacy(client: TestClient) -> None:
    response = legacy(client, "vendor/undefined")
    assert (response.status_code, response.json()["error"]["code"]) == (200, -32601)


def test_an_unsupported_version_header_gets_400(client: TestClient) -> None:
    response = legacy(client, "ping", headers={"mcp-protocol-version": "2099-01-01"})
    assert (response.status_code, response.json()["error"]["code"]) == (400, -32022)


# --- modern era --------------------------------------------------------------------------------------


def test_server_discover_lists_versions_capabilities_and_server_info(client: TestClient) -> None:
    result = modern(client, "server/discover").json()["result"]
    assert result["resultType"] == "complete"
    assert "2026-07-28" in result["supportedVersions"] and "2025-11-25" in result["supportedVersions"]
    assert result["capabilities"]["tools"] == {"listChanged": False}
    assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "mcp-steward"
    # private: the capabilities follow the caller's grants (completions)
    assert result["cacheScope"] == "private" and result["ttlMs"] > 0


def test_initialize_in_the_modern_era_is_404_method_not_found(client: TestClient) -> None:
    response = modern(client, "initialize")
    assert (response.status_code, response.json()["error"]["code"]) == (404, -32601)


@pytest.mark.parametrize("method", ["ping", "subscriptions/listen", "logging/setLevel", "vendor/undefined"])
def test_unknown_modern_methods_are_404(client: TestClient, method: str) -> None:
    response = modern(client, method)
    assert (response.status_code, response.json()["error"]["code"]) == (404, -32601)


@pytest.mark.parametrize(
    "headers",
    [{"mcp-method": "tools/list"}, {"mcp-name": "demo__boom"}, {"mcp-protocol-version": "2026-01-01"}],
)
def test_headers_that_disagree_with_the_body_get_32020(client: TestClient, headers: dict[str, str]) -> None:
    response = modern(client, "tools/call", {"name": "demo__echo", "arguments": {"message": "x"}}, **headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32020


def test_meta_without_the_version_header_gets_32020(client: TestClient) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": modern_meta()}}
    response = client.post("/mcp", content=json.dumps(body), headers={**JSON_HEADERS, **auth()})
    assert (response.status_code, response.json()["error"]["code"]) == (400, -32020)


def test_missing_meta_keys_get_32602_with_400(client: TestClient) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {**JSON_HEADERS, **auth(), "mcp-protocol-version": MODERN, "mcp-method": "tools/list"}
    response = client.post("/mcp", content=json.dumps(body), headers=headers)
    assert (response.status_code, response.json()["error"]["code"]) == (400, -32602)


def test_an_unsupported_modern_version_gets_32022_with_the_supported_list(client: TestClient) -> None:
    meta = {**modern_meta(), "io.modelcontextprotocol/protocolVersion": "2099-01-01"}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta}}
    headers = {**JSON_HEADERS, **auth(), "mcp-protocol-version": "2099-01-01", "mcp-method": "tools/list"}
    response = client.post("/mcp", content=json.dumps(body), headers=headers)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == -32022
    assert error["data"]["requested"] == "2099-01-01" and MODERN in error["data"]["supported"]


def test_a_base64_encoded_name_header_is_decoded(client: TestClient) -> None:
    response = modern(
        client,
        "tools/call",
        {"name": "demo__echo", "arguments": {"message": "x"}},
        **{"mcp-name": "=?base64?ZGVtb19fZWNobw==?="},
    )
    assert response.status_code == 200
    assert response.json()["result"]["structuredContent"]["message"] == "x"


# --- tools ------------------------------------------------------------------------------------------


def test_tools_list_shows_only_granted_approved_tools_with_exposed_names(client: TestClient) -> None:
    alice = [t["name"] for t in legacy(client, "tools/list").json()["result"]["tools"]]
    bob = [t["name"] for t in legacy(client, "tools/list", who="bob").json()["result"]["tools"]]
    assert alice == ["demo__boom", "demo__echo"]
    assert bob == []


def test_modern_tools_list_is_private_and_carries_a_ttl(client: TestClient) -> None:
    result = modern(client, "tools/list").json()["result"]
    assert result["cacheScope"] == "private" and result["ttlMs"] > 0 and result["resultType"] == "complete"


def test_tools_list_paginates_with_an_opaque_cursor(plane: Plane) -> None:
    from mcp_steward.services.tools import ToolService

    service = ToolService(plane.registry, plane.grants, page_size=1)
    alice = plane.keys.resolve(TOKENS["alice"])
    assert alice is not None
    first = service.list_tools(alice)
    second = service.list_tools(alice, first["nextCursor"])
    assert [t["name"] for t in first["tools"] + second["tools"]] == ["demo__boom", "demo__echo"]
    assert "nextCursor" not in second


def test_a_bad_cursor_is_invalid_params(client: TestClient) -> None:
    response = legacy(client, "tools/list", {"cursor": "!!!"})
    assert response.json()["error"]["code"] == -32602


def test_tools_call_reaches_the_internal_server_with_the_envelope(client: TestClient) -> None:
    response = legacy(client, "tools/call", {"name": "demo__echo", "arguments": {"message": "hello"}})
    result = response.json()["result"]
    assert result["structuredContent"] == {"message": "hello", "caller": "alice"}
    assert not result.get("isError")


def test_an_ungranted_tool_answers_exactly_like_an_unknown_one(client: TestClient) -> None:
    ungranted = legacy(client, "tools/call", {"name": "demo__echo", "arguments": {}}, who="bob").json()
    unknown = legacy(client, "tools/call", {"name": "demo__nope", "arguments": {}}, who="bob").json()
    assert ungranted["error"]["code"] == unknown["error"]["code"] == -32602
    assert ungranted["error"]["message"].replace("echo", "") == unknown["error"]["message"].replace("nope", "")


def test_an_agent_for_a_user_gets_the_intersection_of_grants(client: TestClient, plane: Plane) -> None:
    # the agent's team (finance) may call demo__echo, but bob (for whom it acts) has no grant
    response = legacy(client, "tools/call", {"name": "demo__echo", "arguments": {"message": "x"}}, who="agent")
    assert response.json()["error"]["code"] == -32602


def test_a_failing_tool_becomes_an_is_error_result_without_its_details(client: TestClient) -> None:
    result = legacy(client, "tools/call", {"name": "demo__boom", "arguments": {}}).json()["result"]
    assert result["isError"] is True
    assert result["_meta"]["steward/reason"] == "function_error"
    assert "secret-ish" not in json.dumps(result)


def test_arguments_that_are_not_an_object_are_a_tool_error_the_model_can_correct(client: TestClient) -> None:
    result = legacy(client, "tools/call", {"name": "demo__echo", "arguments": [1]}).json()["result"]
    assert result["isError"] is True
    assert result["_meta"]["steward/reason"] == "invalid_arguments"


def test_a_notification_without_a_token_is_not_accepted(client: TestClient) -> None:
    note = json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert client.post("/mcp", content=note, headers=JSON_HEADERS).status_code == 401


def test_a_store_that_cannot_answer_refuses_the_request_with_503(plane: Plane) -> None:
    from mcp_steward.domain.ports import StoreUnavailableError

    class DownRegistry:
        def catalog(self) -> Any:
            raise StoreUnavailableError("injected")

        def put_server(self, *args: Any) -> None: ...

        def set_status(self, *args: Any) -> None: ...

        def set_delegation(self, *args: Any) -> None: ...

        def set_price(self, *args: Any) -> None: ...

        def put_tool(self, *args: Any) -> None: ...

        def tools_of(self, *args: Any) -> list[Any]:
            raise StoreUnavailableError("injected")

    ports = replace(plane.ports(), registry=DownRegistry())
    down = TestClient(create_app(build_endpoint(settings(), ports)), base_url="http://127.0.0.1:8787")
    for method in ("tools/list", "tools/call"):
        response = legacy(down, method, {"name": "demo__echo", "arguments": {}})
        assert response.status_code == 503
        assert response.json()["error"]["code"] == -32603
