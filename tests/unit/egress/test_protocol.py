"""The egress speaks the whole internal dialect to vendors of both eras (a modern-only vendor at ``/full``, a
legacy-only one with sessions at ``/full-legacy``): discovery, the four lists over every page, resources/read,
prompts/get, completion/complete and tools/call. What the vendor answers is untrusted: a result of the wrong shape
is malformed, its ``steward/*`` ``_meta`` keys go at every level, its own JSON-RPC errors pass through bounded, and
the credential it echoes is redacted."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import pytest

from mcp_steward.egress.service import MAX_LIST_PAGES, EgressService
from tests.tls import TlsFiles
from tests.unit.egress.fake_vendor import LEGACY_CAPABILITIES, VendorState
from tests.unit.egress.test_service import SECRET_ID, Secrets, service

ERAS = ["/full", "/full-legacy"]
#: What is left of a vendor's ``_meta`` (``VENDOR_META``) once its steward keys are dropped.
KEPT = {"vendor/x": 1}
LISTS = {
    "tools/list": ("tools", "name", ["tool0", "tool1"]),
    "resources/list": ("resources", "uri", ["vendor://r0", "vendor://r1"]),
    "resources/templates/list": ("resourceTemplates", "uriTemplate", ["vendor://t0/{x}", "vendor://t1/{x}"]),
    "prompts/list": ("prompts", "name", ["p0", "p1"]),
}
READ = {"uri": "vendor://r0"}
GET = {"name": "p0", "arguments": {"city": "Oslo"}}
COMPLETE = {"ref": {"type": "ref/prompt", "name": "p0"}, "argument": {"name": "city", "value": "Be"}}
CALL = {"name": "tool0", "arguments": {}}


def ask(svc: EgressService, url: str, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """One egress invocation of ``method`` to the vendor at ``url`` (with the credential ``Secrets`` stores)."""
    event = {
        "steward": {"v": 1, "request_id": "r1", "deadline_ms": int((time.time() + 5) * 1000)},
        "message": {"jsonrpc": "2.0", "id": 7, "method": method, "params": params or {}},
        "vendor": {
            "server": "full",
            "url": url,
            "allowed_hosts": ["127.0.0.1"],
            "secret_id": SECRET_ID,
            "auth_header": None,
        },
    }
    answer = asyncio.run(svc.handle(event))
    assert answer["jsonrpc"] == "2.0" and answer["id"] == 7
    return answer


def failure(answer: dict[str, Any]) -> dict[str, Any]:
    """The egress failure's reason and sent flag, from a JSON-RPC error or (tools/call) an isError result."""
    if "error" in answer:
        assert answer["error"]["code"] == -32603
        return {"reason": answer["error"]["data"]["reason"]}
    assert answer["result"]["isError"] is True
    return {"reason": answer["result"]["_meta"]["steward/reason"]}


@pytest.fixture
def svc(tls: TlsFiles, origin: str) -> EgressService:
    return service(tls, origin, Secrets("tok-full-secret", [origin]))


@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize("method", sorted(LISTS))
def test_a_list_is_followed_over_every_page_and_answered_whole(
    svc: EgressService, origin: str, state: VendorState, era: str, method: str
) -> None:
    key, field, expected = LISTS[method]
    answer = ask(svc, f"{origin}{era}", method)
    assert list(answer["result"]) == [key]  # the pages' cursors and _meta are not part of the answer
    items = answer["result"][key]
    assert [item[field] for item in items] == expected
    assert all(item["_meta"] == KEPT for item in items)
    assert [m for m, _ in state.requests if m == method] == [method, method]


@pytest.mark.parametrize("era", ERAS)
def test_a_list_of_exactly_the_most_pages_is_answered(
    svc: EgressService, origin: str, state: VendorState, era: str
) -> None:
    state.pages = MAX_LIST_PAGES
    assert len(ask(svc, f"{origin}{era}", "resources/list")["result"]["resources"]) == MAX_LIST_PAGES


@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize("method", sorted(LISTS))
def test_a_list_of_more_pages_than_the_most_is_malformed(
    svc: EgressService, origin: str, state: VendorState, era: str, method: str
) -> None:
    state.pages = MAX_LIST_PAGES + 1
    answer = ask(svc, f"{origin}{era}", method)
    assert failure(answer) == {"reason": "malformed_response"}
    assert len([m for m, _ in state.requests if m == method]) == MAX_LIST_PAGES


@pytest.mark.parametrize("era", ERAS)
def test_resources_read_answers_the_contents_without_steward_meta_or_the_credential(
    svc: EgressService, origin: str, state: VendorState, era: str
) -> None:
    result = ask(svc, f"{origin}{era}", "resources/read", READ)["result"]
    assert result == {
        "contents": [
            {"uri": "vendor://r0", "mimeType": "text/plain", "text": "read with Bearer [redacted]", "_meta": KEPT},
            {"uri": "vendor://r0", "mimeType": "application/octet-stream", "blob": "AAEC", "_meta": KEPT},
        ],
        "_meta": KEPT,
    }  # no resultType, ttlMs or cacheScope from a modern vendor
    assert ("resources/read", "vendor://r0" if era == "/full" else None) in state.requests


@pytest.mark.parametrize("era", ERAS)
def test_prompts_get_answers_the_messages_without_steward_meta_or_the_credential(
    svc: EgressService, origin: str, state: VendorState, era: str
) -> None:
    result = ask(svc, f"{origin}{era}", "prompts/get", GET)["result"]
    embedded = {"uri": "vendor://r0", "mimeType": "text/plain", "text": "r0", "_meta": KEPT}
    assert result == {
        "description": "a prompt",
        "messages": [
            {
                "role": "user",
                "content": {"type": "text", "text": "prompt with Bearer [redacted]", "_meta": KEPT},
                "_meta": KEPT,
            },
            {"role": "assistant", "content": {"type": "resource", "resource": embedded, "_meta": KEPT}},
        ],
        "_meta": KEPT,
    }
    assert ("prompts/get", "p0" if era == "/full" else None) in state.requests


@pytest.mark.parametrize("era", ERAS)
def test_completion_complete_answers_the_values(svc: EgressService, origin: str, era: str) -> None:
    result = ask(svc, f"{origin}{era}", "completion/complete", COMPLETE)["result"]
    assert result == {"completion": {"values": ["Bergen", "Berlin"], "total": 2, "hasMore": False}, "_meta": KEPT}


@pytest.mark.parametrize("era", ERAS)
def test_tools_call_passes_every_content_type_without_steward_meta(svc: EgressService, origin: str, era: str) -> None:
    result = ask(svc, f"{origin}{era}", "tools/call", CALL)["result"]
    assert result == {
        "content": [
            {"type": "image", "data": "AAEC", "mimeType": "image/png", "_meta": KEPT},
            {"type": "resource_link", "uri": "vendor://r1", "name": "r1", "_meta": KEPT},
            {
                "type": "resource",
                "resource": {"uri": "vendor://r0", "blob": "AAEC", "_meta": KEPT},
                "annotations": {"priority": 1},
                "_meta": KEPT,
            },
        ],
        "isError": False,
        "_meta": KEPT,
    }


def test_server_discover_answers_a_modern_vendors_capabilities_and_server_info(svc: EgressService, origin: str) -> None:
    result = ask(svc, f"{origin}/full", "server/discover")["result"]
    assert result == {
        "capabilities": {"tools": {}, "resources": {}, "completions": {}},
        "serverInfo": {"name": "full", "version": "9"},
    }


def test_server_discover_answers_a_legacy_vendors_initialize_capabilities_kept_for_its_url(
    svc: EgressService, origin: str, state: VendorState
) -> None:
    expected = {"capabilities": LEGACY_CAPABILITIES, "serverInfo": {"name": "full-legacy", "version": "2"}}
    assert ask(svc, f"{origin}/full-legacy", "server/discover")["result"] == expected
    sent = len(state.requests)
    assert ask(svc, f"{origin}/full-legacy", "server/discover")["result"] == expected
    assert len(state.requests) == sent  # answered from the session: nothing sent
    assert state.initializes == 1
    assert ask(svc, f"{origin}/full-legacy", "resources/list")["result"]["resources"]
    assert state.initializes == 1  # the same session serves the other methods


def test_server_discover_after_another_method_uses_the_kept_legacy_session(
    svc: EgressService, origin: str, state: VendorState
) -> None:
    ask(svc, f"{origin}/full-legacy", "tools/call", CALL)
    assert ask(svc, f"{origin}/full-legacy", "server/discover")["result"]["capabilities"] == LEGACY_CAPABILITIES
    assert state.initializes == 1


@pytest.mark.parametrize(
    ("result", "server_info"),
    [
        ({"capabilities": {"tools": {}}}, {"name": "full", "version": ""}),  # none: the registered server's name
        ({"capabilities": {}, "serverInfo": {"name": 3, "version": 4}}, {"name": "full", "version": ""}),
        ({"capabilities": {}, "serverInfo": {"name": "v", "version": "1", "icons": []}}, {"name": "v", "version": "1"}),
    ],
)
def test_server_discover_answers_a_server_info_of_strings(
    svc: EgressService, origin: str, state: VendorState, result: dict[str, Any], server_info: dict[str, Any]
) -> None:
    state.results["server/discover"] = result
    assert ask(svc, f"{origin}/full", "server/discover")["result"]["serverInfo"] == server_info


@pytest.mark.parametrize("era", ERAS)
def test_a_vendors_own_error_passes_through_with_its_code_a_bounded_message_and_only_the_uri(
    svc: EgressService, origin: str, state: VendorState, era: str
) -> None:
    error = ask(svc, f"{origin}{era}", "resources/read", {"uri": "vendor://missing"})["error"]
    assert error["code"] == -32602
    assert error["message"] == ("Resource not found: " + "x" * 1000)[:500]
    assert error["data"] == {"uri": "vendor://missing"}
    assert ask(svc, f"{origin}{era}", "prompts/get", {"name": "missing"})["error"] == {
        "code": -32602,
        "message": "Unknown prompt: missing",
    }
    # A modern vendor's -32602 comes over HTTP 400: it is its answer, not a reason to try the legacy era.
    assert state.initializes == (0 if era == "/full" else 1)


@pytest.mark.parametrize(
    "data",
    [{"uri": "vendor://" + "u" * 2048}, {"uri": 5}, "vendor://missing", ["vendor://missing"]],
)
def test_an_errors_data_is_dropped_unless_it_is_a_short_string_uri(
    svc: EgressService, origin: str, state: VendorState, data: object
) -> None:
    state.errors["resources/read"] = {"code": -32602, "message": "no", "data": data}
    assert ask(svc, f"{origin}/full", "resources/read", READ)["error"] == {"code": -32602, "message": "no"}


@pytest.mark.parametrize("error", [{"code": "x", "message": "m"}, {"code": True}, {"message": "m"}, "boom", None])
@pytest.mark.parametrize("method", ["resources/read", "tools/list", "tools/call"])
def test_a_malformed_error_is_a_malformed_response(
    svc: EgressService, origin: str, state: VendorState, error: object, method: str
) -> None:
    state.errors[method] = error
    assert failure(ask(svc, f"{origin}/full-legacy", method, READ | CALL)) == {"reason": "malformed_response"}


def test_a_secret_in_an_error_message_is_redacted(svc: EgressService, origin: str, state: VendorState) -> None:
    state.errors["prompts/get"] = {"code": -32602, "message": "bad token tok-full-secret"}
    assert ask(svc, f"{origin}/full", "prompts/get", GET)["error"]["message"] == "bad token [redacted]"


MALFORMED = [
    ("resources/read", {"contents": "x"}),
    ("resources/read", {"contents": [{"uri": 1, "text": "a"}]}),
    ("resources/read", {"contents": [{"uri": "a"}]}),
    ("resources/read", {"contents": [{"uri": "a", "blob": 3}]}),
    ("resources/read", {"contents": ["a"]}),
    ("resources/read", {}),
    ("prompts/get", {"messages": {}}),
    ("prompts/get", {"messages": [{"role": "system", "content": {"type": "text", "text": "t"}}]}),
    ("prompts/get", {"messages": [{"role": "user", "content": "t"}]}),
    ("prompts/get", {"messages": [{"role": "user"}]}),
    ("prompts/get", {"messages": ["m"]}),
    ("completion/complete", {"completion": []}),
    ("completion/complete", {"completion": {"values": "Bergen"}}),
    ("completion/complete", {"completion": {"values": [1]}}),
    ("completion/complete", {"completion": {"values": ["v"] * 101}}),
    ("completion/complete", {}),
    ("server/discover", {"capabilities": []}),
    ("server/discover", {"serverInfo": {"name": "v", "version": "1"}}),
    ("resources/list", {"resources": {}}),
    ("resources/list", {"resources": ["vendor://r0"]}),
    ("resources/templates/list", {"templates": []}),
    ("prompts/list", {"prompts": [1]}),
    ("tools/list", {"tools": [None]}),
    ("tools/call", {"content": [1]}),
    ("tools/call", {"content": {}}),
]


@pytest.mark.parametrize(("method", "result"), MALFORMED)
def test_a_result_not_of_its_methods_shape_is_malformed(
    svc: EgressService, origin: str, state: VendorState, method: str, result: dict[str, Any]
) -> None:
    state.results[method] = result
    by_method: dict[str, dict[str, Any]] = {"resources/read": READ, "prompts/get": GET, "completion/complete": COMPLETE}
    params = by_method.get(method, CALL)
    assert failure(ask(svc, f"{origin}/full", method, params)) == {"reason": "malformed_response"}


def test_a_completion_of_the_most_values_with_odd_extras_keeps_only_the_dialects_fields(
    svc: EgressService, origin: str, state: VendorState
) -> None:
    values = [f"v{i}" for i in range(100)]
    state.results["completion/complete"] = {"completion": {"values": values, "total": "9", "hasMore": 1, "x": 2}}
    assert ask(svc, f"{origin}/full", "completion/complete", COMPLETE)["result"] == {"completion": {"values": values}}


METHODS = ["server/discover", *sorted(LISTS), "resources/read", "prompts/get", "completion/complete", "tools/call"]


@pytest.mark.parametrize("path", ["/input", "/sse-elicit"])
@pytest.mark.parametrize("method", METHODS)
def test_a_vendor_that_needs_the_user_is_refused_for_every_method(
    svc: EgressService, origin: str, path: str, method: str
) -> None:
    params = READ | GET | COMPLETE  # every method finds what it needs
    assert failure(ask(svc, f"{origin}{path}", method, params)) == {"reason": "interactive"}


@pytest.mark.parametrize("how", ["elicitation", "input_required"])
@pytest.mark.parametrize("method", [m for m in METHODS if m != "server/discover"])  # a legacy one's is initialize
def test_a_legacy_vendor_that_needs_the_user_is_refused_for_every_method(
    svc: EgressService, origin: str, state: VendorState, how: str, method: str
) -> None:
    if how == "elicitation":
        state.elicit = True
    else:
        state.results[method] = {"resultType": "input_required", "inputRequests": {}}
    assert failure(ask(svc, f"{origin}/full-legacy", method, READ | GET | COMPLETE)) == {"reason": "interactive"}


@pytest.mark.parametrize(
    "method", ["resources/subscribe", "logging/setLevel", "sampling/createMessage", "initialize", "ping", None]
)
def test_other_methods_are_not_found_and_never_sent(
    svc: EgressService, origin: str, state: VendorState, method: str | None
) -> None:
    answer = ask(svc, f"{origin}/full", method, READ)  # type: ignore[arg-type]
    assert answer["error"]["code"] == -32601
    assert state.requests == []


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("resources/read", {}),
        ("resources/read", {"uri": 3}),
        ("prompts/get", {"arguments": {}}),
        ("completion/complete", {"ref": {"type": "ref/prompt", "name": "p0"}}),
        ("completion/complete", {"ref": "p0", "argument": {"name": "city", "value": ""}}),
    ],
)
def test_a_request_without_what_its_method_names_is_invalid_and_never_sent(
    svc: EgressService, origin: str, state: VendorState, method: str, params: dict[str, Any]
) -> None:
    assert ask(svc, f"{origin}/full", method, params)["error"]["code"] == -32602
    assert state.requests == []


def test_mcp_name_carries_a_uri_that_is_not_plain_ascii_base64_encoded(
    svc: EgressService, origin: str, state: VendorState
) -> None:
    uri = "vendor://r/Tromsø straße "
    contents = ask(svc, f"{origin}/full", "resources/read", {"uri": uri})["result"]["contents"]
    assert contents[0]["uri"] == uri
    encoded = base64.b64encode(uri.encode()).decode()
    assert state.requests == [("resources/read", f"=?base64?{encoded}?=")]


@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize(
    ("method", "params", "forwarded"),
    [
        ("resources/read", {**READ, "name": "x"}, READ),
        ("prompts/get", {**GET, "uri": "x"}, GET),
        ("prompts/get", {"name": "p0"}, {"name": "p0"}),
        (
            "completion/complete",
            {**COMPLETE, "context": {"arguments": {"a": "b"}}, "name": "x"},
            {**COMPLETE, "context": {"arguments": {"a": "b"}}},
        ),
        ("tools/call", {**CALL, "uri": "x"}, CALL),
    ],
)
def test_only_the_methods_params_are_forwarded_never_the_callers_meta(
    svc: EgressService,
    origin: str,
    state: VendorState,
    era: str,
    method: str,
    params: dict[str, Any],
    forwarded: dict[str, Any],
) -> None:
    ask(svc, f"{origin}{era}", method, {**params, "_meta": {"steward/idempotencyKey": "k", "progressToken": 1}})
    sent = state.params[-1]
    meta = sent.pop("_meta", {})
    assert sent == forwarded
    assert all(key.startswith("io.modelcontextprotocol/") for key in meta)
