"""completion/complete: only for granted prompts and templates, routed with the server's own names, empty when
the server offers no completion, and a hostile server's values bounded."""

from __future__ import annotations

from typing import Any

import pytest

from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.identity import Principal, PrincipalId, TeamName
from mcp_steward.protocol.errors import (
    GovernanceDeniedError,
    InvalidParamsError,
    ResourceNotFoundError,
    UnknownPromptError,
    UpstreamFailedError,
)
from tests.unit.services.governance_plane import AGENT, ALICE, BOB, CAROL, DEADLINE_MS, Handler, Plane, build

PROMPT_REF = {"type": "ref/prompt", "name": "docs__greet"}
TEMPLATE_REF = {"type": "ref/resource", "uri": "steward://docs/file:///notes/{id}.md"}


def complete(plane: Plane, ref: dict[str, Any], who: Principal = ALICE, **params: Any) -> dict[str, Any]:
    body = {"ref": ref, "argument": {"name": "who", "value": "a"}, **params}
    return plane.complete(who, body, 1, DEADLINE_MS)


def serving(completion: Any) -> Handler:
    return lambda method, params: {"result": {"completion": completion}}


def test_a_granted_prompts_argument_is_completed_by_its_server_under_its_own_name() -> None:
    plane = build()
    result = complete(plane, PROMPT_REF, context={"arguments": {"lang": "en"}})
    assert result == {"completion": {"values": ["alpha", "beta"], "total": 2, "hasMore": False}}
    [call] = plane.server.calls
    assert call["message"]["method"] == "completion/complete"
    assert call["message"]["params"] == {
        "ref": {"type": "ref/prompt", "name": "greet"},
        "argument": {"name": "who", "value": "a"},
        "context": {"arguments": {"lang": "en"}},
    }
    assert (call["server"], call["version"]) == ("docs", "7")


def test_a_granted_template_is_completed_with_the_servers_own_template() -> None:
    plane = build()
    complete(plane, TEMPLATE_REF)
    assert plane.server.calls[-1]["message"]["params"]["ref"] == {
        "type": "ref/resource",
        "uri": "file:///notes/{id}.md",
    }


def test_completion_is_neither_charged_nor_written_to_the_ledger() -> None:
    plane = build()
    complete(plane, {"type": "ref/prompt", "name": "docs__priced"})
    assert plane.budgets.ledger == [] and plane.team_charged() == 0


@pytest.mark.parametrize(
    ("who", "ref", "error"),
    [
        (ALICE, {"type": "ref/prompt", "name": "other__greet"}, UnknownPromptError),  # not granted
        (ALICE, {"type": "ref/prompt", "name": "docs__off"}, UnknownPromptError),
        (ALICE, {"type": "ref/prompt", "name": "docs__search"}, UnknownPromptError),  # a tool
        (BOB, PROMPT_REF, UnknownPromptError),  # a tool grant
        (CAROL, TEMPLATE_REF, ResourceNotFoundError),  # a prompt grant opens no template
        (AGENT, PROMPT_REF, UnknownPromptError),  # its user (bob) holds no prompt grant
        (ALICE, {"type": "ref/resource", "uri": "steward://docs/file:///notes/1.md"}, ResourceNotFoundError),
        (
            ALICE,
            {"type": "ref/resource", "uri": "steward://docs/file:///a.md"},
            ResourceNotFoundError,
        ),  # not a template
        (ALICE, {"type": "ref/resource", "uri": "steward://other/file:///notes/{id}.md"}, ResourceNotFoundError),
    ],
)
def test_only_granted_prompts_and_templates_are_completed(who: Principal, ref: dict[str, Any], error: type) -> None:
    plane = build()
    with pytest.raises(error):
        complete(plane, ref, who=who)
    assert plane.server.calls == []


def test_an_agent_completes_what_it_and_its_user_both_hold() -> None:
    plane = build()
    plane.grants.add(Grant(SubjectKind.PRINCIPAL, "bob", "prompt:docs__greet"))
    assert complete(plane, PROMPT_REF, who=AGENT)["completion"]["values"] == ["alpha", "beta"]


def test_a_pending_prompt_is_quarantined_for_a_grant_holder() -> None:
    plane = build()
    with pytest.raises(GovernanceDeniedError) as raised:
        complete(plane, {"type": "ref/prompt", "name": "docs__pending"})
    assert raised.value.data is not None and raised.value.data["reason"] == "quarantined"
    assert plane.server.calls == []


def test_a_server_without_the_capability_answers_empty_values_without_being_asked() -> None:
    plane = build()
    result = complete(plane, {"type": "ref/prompt", "name": "flat_prompt"})
    assert result["completion"]["values"] == []
    assert plane.server.calls == []


@pytest.mark.parametrize(
    "params",
    [
        {"ref": {"type": "ref/tool", "name": "docs__search"}, "argument": {"name": "a", "value": "b"}},
        {"ref": {"type": "ref/prompt"}, "argument": {"name": "a", "value": "b"}},
        {"ref": {"type": "ref/prompt", "name": "x" * 3000}, "argument": {"name": "a", "value": "b"}},
        {"ref": PROMPT_REF, "argument": {"name": "a", "value": 3}},
        {"ref": PROMPT_REF, "argument": {"name": "a", "value": "v" * 5000}},
        {"ref": PROMPT_REF},
        {"ref": PROMPT_REF, "argument": {"name": "a", "value": "b"}, "context": {"arguments": {"x": 1}}},
        {"ref": PROMPT_REF, "argument": {"name": "a", "value": "b"}, "context": {"arguments": ["x"]}},
        {
            "ref": PROMPT_REF,
            "argument": {"name": "a", "value": "b"},
            "context": {"arguments": {str(i): "v" for i in range(65)}},
        },
    ],
)
def test_malformed_requests_are_invalid_params(params: dict[str, Any]) -> None:
    plane = build()
    with pytest.raises(InvalidParamsError):
        plane.complete(ALICE, params, 1, DEADLINE_MS)
    assert plane.server.calls == []


def test_a_hostile_servers_thousand_values_are_cut_to_a_hundred() -> None:
    plane = build(serving({"values": [f"v{i}" for i in range(1000)], "total": 1000, "hasMore": False}))
    completion = complete(plane, PROMPT_REF)["completion"]
    assert completion["values"] == [f"v{i}" for i in range(100)]
    assert completion["total"] == 1000


def test_values_that_are_too_long_or_not_strings_are_dropped() -> None:
    hostile = ["x" * 1_000_000, 3, None, {"a": 1}, "ok", "y" * 1025, "y" * 1024]
    plane = build(serving({"values": hostile, "total": -5, "hasMore": "yes"}))
    completion = complete(plane, PROMPT_REF)["completion"]
    assert completion["values"] == ["ok", "y" * 1024]
    assert "total" not in completion  # not a count of anything
    assert completion["hasMore"] is True  # values were withheld


def test_the_server_cannot_claim_fewer_results_than_it_sent() -> None:
    plane = build(serving({"values": ["a", "b", "c"], "total": 1}))
    assert "total" not in complete(plane, PROMPT_REF)["completion"]


@pytest.mark.parametrize(
    "answer",
    [
        {"result": {"completion": {"values": "a"}}},
        {"result": {"completion": []}},
        {"result": {}},
        {"result": "x"},
        {"error": {"code": -32603, "message": "down: /etc/secret"}},
    ],
)
def test_a_malformed_or_failed_answer_is_the_servers_failure(answer: dict[str, Any]) -> None:
    plane = build(lambda method, params: answer)
    with pytest.raises(UpstreamFailedError) as raised:
        complete(plane, PROMPT_REF)
    assert raised.value.data is not None and raised.value.data["reason"] in ("malformed", "tool_error")
    assert "/etc/secret" not in raised.value.message


def test_an_invocation_failure_is_the_servers_failure() -> None:
    from mcp_steward.domain.ports import InvocationError

    plane = build()
    plane.server.raises = InvocationError("timeout", "slow")
    with pytest.raises(UpstreamFailedError) as raised:
        complete(plane, PROMPT_REF)
    assert raised.value.data == {"reason": "timeout"}


FRANK = Principal(PrincipalId("frank"), TeamName("nobody"))


@pytest.mark.parametrize(
    ("who", "extra", "offered"),
    [
        (ALICE, None, True),
        (CAROL, None, True),  # prompts of docs, which offers completion
        (BOB, None, False),  # tools only: completion is for prompts and templates
        (FRANK, "prompt:flat__*", False),  # flat offers none
        (FRANK, "resource:steward://docs/file:///a.md", False),  # a plain resource is not completable
        (FRANK, "resource:steward://docs/file:///notes/{id}.md", True),  # a template of docs is
        (FRANK, "prompt:docs__pending", False),  # not approved: not usable
        (AGENT, None, False),  # its user holds no prompt or resource grant
    ],
)
def test_completion_is_offered_only_when_a_granted_server_offers_it(
    who: Principal, extra: str | None, offered: bool
) -> None:
    plane = build()
    if extra is not None:
        plane.grants.add(Grant(SubjectKind.PRINCIPAL, "frank", extra))
    assert plane.tools.offers_completions(who) is offered
