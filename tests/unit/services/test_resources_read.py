"""resources/read through the call pipeline: routed to its owner by exact URI or by one of its own templates, one
answer for every URI the caller may not read, URIs in the contents exposed, failures charged and replayed."""

from __future__ import annotations

from typing import Any

import pytest

from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.ports import InvocationError
from mcp_steward.domain.records import Decision, Outcome
from mcp_steward.domain.registry import Primitive
from mcp_steward.protocol.errors import GovernanceDeniedError, ResourceNotFoundError, UpstreamFailedError
from mcp_steward.protocol.versions import Era
from tests.unit.services.governance_plane import AGENT, ALICE, BOB, build, template


def test_a_listed_resource_is_read_from_its_server_by_its_own_uri_and_exposed_back() -> None:
    plane = build()
    result = plane.read("steward://docs/file:///a.md")
    assert result == {
        "contents": [{"uri": "steward://docs/file:///a.md", "mimeType": "text/markdown", "text": "# notes"}]
    }
    [call] = plane.server.calls
    assert call["message"]["method"] == "resources/read"
    assert call["message"]["params"] == {"uri": "file:///a.md"}
    assert (call["server"], call["version"]) == ("docs", "7")
    entry = plane.budgets.ledger[-1]
    assert (entry.tool, entry.outcome, entry.cost_micros) == ("resource:steward://docs/file:///a.md", Outcome.OK, 0)


def test_a_uri_matching_a_template_is_read_through_it_and_the_server_receives_its_own_uri() -> None:
    plane = build()
    result = plane.read("steward://docs/file:///notes/42.md")
    assert plane.server.calls[-1]["message"]["params"] == {"uri": "file:///notes/42.md"}
    assert result["contents"][0]["uri"] == "steward://docs/file:///notes/42.md"
    assert plane.budgets.audit[-1].tool == "template:steward://docs/file:///notes/{id}.md"


def test_an_unprefixed_servers_uris_are_read_and_answered_as_they_are() -> None:
    plane = build()
    assert plane.read("test://static-text")["contents"][0]["uri"] == "test://static-text"
    assert plane.read("test://template/123/data")["contents"][0]["uri"] == "test://template/123/data"
    assert [c["message"]["params"]["uri"] for c in plane.server.calls] == [
        "test://static-text",
        "test://template/123/data",
    ]


NOT_READABLE = [
    (ALICE, "steward://docs/file:///missing.md"),  # unknown, no template matches
    (ALICE, "steward://docs/file:///notes/a/b.md"),  # {id} never spans a slash
    (ALICE, "steward://docs/file:///off.md"),  # disabled
    (ALICE, "steward://docs/file:///nope.md"),  # rejected
    (ALICE, "steward://other/file:///b.md"),  # another server's, not granted
    (ALICE, "steward://other/file:///notes/1.md"),  # another server's template, not granted
    (ALICE, "steward://nosuch/file:///a.md"),  # no such server
    (ALICE, "file:///a.md"),  # the server's own URI is not what a client names
    (ALICE, "steward://docs/"),
    (ALICE, ""),
    (BOB, "steward://docs/file:///a.md"),  # a tool grant opens no resource
    (BOB, "steward://docs/file:///pending.md"),  # quarantined, but bob holds no grant for it
    (AGENT, "steward://docs/file:///a.md"),  # the agent's team may, its user may not
]


@pytest.mark.parametrize(("who", "uri"), NOT_READABLE)
def test_every_unreadable_uri_answers_alike_with_the_uri_the_client_sent(who: Any, uri: str) -> None:
    plane = build()
    with pytest.raises(ResourceNotFoundError) as raised:
        plane.read(uri, who=who)
    error = raised.value
    assert (error.message, error.data) == ("Resource not found", {"uri": uri} if uri else {"uri": ""})
    assert (error.code_in(Era.MODERN), error.code_in(Era.LEGACY)) == (-32602, -32002)
    assert plane.server.calls == [] and plane.budgets.ledger == []
    assert plane.budgets.audit[-1].decision is Decision.DENIED


def test_a_quarantined_resource_is_a_governance_denial_for_a_grant_holder() -> None:
    plane = build()
    with pytest.raises(GovernanceDeniedError) as raised:
        plane.read("steward://docs/file:///pending.md")
    assert raised.value.code == -31000
    assert raised.value.data == {"reason": "quarantined", "tool": "resource:steward://docs/file:///pending.md"}
    assert plane.server.calls == []


def test_a_namespaced_template_never_matches_another_servers_uri() -> None:
    # other's {+path} template matches anything under it; docs' URIs never reach it, granted or not
    plane = build()
    plane.grants.add(Grant(SubjectKind.PRINCIPAL, "alice", "resource:other__*"))
    with pytest.raises(ResourceNotFoundError):
        plane.read("steward://docs/file:///any/x")
    plane.read("steward://other/file:///any/x/y")
    assert [c["server"] for c in plane.server.calls] == ["other"]
    assert plane.server.calls[-1]["message"]["params"] == {"uri": "file:///any/x/y"}


@pytest.mark.parametrize(
    "uri",
    [
        "steward://docs/file:///missing.md",
        "steward://Docs/file:///a.md",  # not a server name
        "steward://docs",  # no path
        "steward:///x",
        "STEWARD://docs/file:///missing.md",
    ],
)
def test_an_unprefixed_servers_template_never_matches_a_steward_uri(uri: str) -> None:
    plane = build(extra={"flat": [template("{+anything}", server="flat")]})  # matches every URI
    assert plane.read("anything:at/all")["contents"]  # the catch-all works for plain URIs
    with pytest.raises(ResourceNotFoundError) as raised:
        plane.read(uri)
    assert raised.value.data == {"uri": uri}
    assert len(plane.server.calls) == 1


def test_an_upstream_32602_is_resource_not_found_with_the_clients_uri() -> None:
    plane = build(lambda method, params: {"error": {"code": -32602, "message": "nope", "data": {"uri": params["uri"]}}})
    uri = "steward://docs/file:///notes/9.md"
    with pytest.raises(ResourceNotFoundError) as raised:
        plane.read(uri)
    assert raised.value.data == {"uri": uri}
    assert raised.value.code_in(Era.LEGACY) == -32002


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (InvocationError("function_error", "boom"), "function_error"),
        (InvocationError("timeout", "slow"), "timeout"),
        ({"error": {"code": -32603, "message": "internal: /etc/secret"}}, "tool_error"),
        ({"result": {"contents": "x"}}, "malformed"),
        ({"result": {"contents": [{"uri": "file:///priced.md"}]}}, "malformed"),  # neither text nor blob
    ],
)
def test_a_server_failure_is_32603_with_its_reason_charged_its_fixed_price(failure: Any, reason: str) -> None:
    plane = build(lambda method, params: failure if isinstance(failure, dict) else {})
    if isinstance(failure, Exception):
        plane.server.raises = failure
    with pytest.raises(UpstreamFailedError) as raised:
        plane.read("steward://docs/file:///priced.md")
    error = raised.value
    assert (error.code, error.rule.status(Era.MODERN), error.rule.status(Era.LEGACY)) == (-32603, 200, 200)
    assert error.data == {"reason": reason}
    assert "/etc/secret" not in error.message
    assert plane.team_charged() == 1_000_000
    assert plane.budgets.ledger[-1].tool == "resource:steward://docs/file:///priced.md"


def test_a_replayed_idempotent_read_answers_the_same_error_without_invoking_again() -> None:
    plane = build(lambda method, params: {"error": {"code": -32603, "message": "down"}})
    meta = {"steward/idempotencyKey": "k-1"}
    errors = []
    for _ in range(2):
        with pytest.raises(UpstreamFailedError) as raised:
            plane.read("steward://docs/file:///priced.md", meta=meta)
        errors.append((raised.value.message, raised.value.data))
    assert errors[0] == errors[1]
    assert len(plane.server.calls) == 1
    assert plane.team_charged() == 1_000_000
    assert plane.budgets.audit[-1].reason == "idempotent_replay"


def test_a_replayed_idempotent_read_answers_the_same_contents() -> None:
    plane = build()
    meta = {"steward/idempotencyKey": "k-2"}
    first = plane.read("steward://docs/file:///notes/1.md", meta=meta)
    assert plane.read("steward://docs/file:///notes/1.md", meta=meta) == first
    assert len(plane.server.calls) == 1


def test_text_and_blob_contents_pass_unchanged_but_for_their_exposed_uris() -> None:
    contents: list[dict[str, Any]] = [
        {"uri": "file:///a.md", "mimeType": "text/markdown", "text": "hello", "_meta": {"x": 1}},
        {"uri": "file:///logo.png", "mimeType": "image/png", "blob": "iVBORw0KGgo="},
        {"uri": "https://example.com/x", "text": ""},
    ]
    plane = build(lambda method, params: {"result": {"contents": contents}})
    result = plane.read("steward://docs/file:///a.md")
    assert result["contents"] == [
        {**contents[0], "uri": "steward://docs/file:///a.md"},
        {**contents[1], "uri": "steward://docs/file:///logo.png"},
        {**contents[2], "uri": "steward://docs/https://example.com/x"},
    ]


def test_a_priced_read_is_charged_its_reported_units() -> None:
    def metered(method: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"result": {"contents": [{"uri": params["uri"], "text": "x"}], "_meta": {"steward/units": 99}}}

    plane = build(metered)
    plane.read("steward://docs/file:///priced.md")
    assert plane.team_charged() == 1_500_000  # units clamped to the price's 5
    assert plane.budgets.ledger[-1].units == 5


def test_resource_uris_are_matched_only_for_the_resource_primitive() -> None:
    plane = build()
    assert plane.tools.find_resource("steward://docs/file:///notes/1.md") is not None
    found = plane.tools.find_resource("steward://docs/file:///a.md")
    assert found is not None and found[0].kind is Primitive.RESOURCE and found[1] == "file:///a.md"
    for bad in (None, 3, "", ["steward://docs/file:///a.md"]):
        assert plane.tools.find_resource(bad) is None
