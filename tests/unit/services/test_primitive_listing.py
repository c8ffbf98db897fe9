"""prompts/list, resources/list and resources/templates/list: filtered by grants of their own primitive only,
approved entries only, paginated (docs/design.md sections 3 and 4)."""

from __future__ import annotations

import pytest

from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.identity import Principal, PrincipalId, TeamName
from mcp_steward.domain.registry import Primitive
from mcp_steward.protocol.errors import InvalidParamsError
from tests.unit.services.governance_plane import AGENT, ALICE, BOB, CAROL, build

DAVE = Principal(PrincipalId("dave"), TeamName("finance"))  # finance's exact grants only
ERIN = Principal(PrincipalId("erin"), TeamName("nobody"))


def names(kind: Primitive, who: Principal) -> list[str]:
    plane = build()
    listing = plane.tools.list_entries(who, kind)
    key = {Primitive.RESOURCE: "uri", Primitive.RESOURCE_TEMPLATE: "uriTemplate"}.get(kind, "name")
    return [item[key] for item in next(iter(listing.values()))]


def test_prompts_are_listed_per_prompt_grant_approved_only_under_their_exposed_names() -> None:
    assert names(Primitive.PROMPT, ALICE) == ["docs__greet", "docs__priced", "flat_prompt"]
    assert names(Primitive.PROMPT, CAROL) == ["docs__greet", "docs__priced"]
    assert names(Primitive.PROMPT, DAVE) == ["docs__greet"]  # the team's exact grant


def test_resources_and_templates_are_listed_with_exposed_uris() -> None:
    assert names(Primitive.RESOURCE, ALICE) == [
        "steward://docs/file:///a.md",
        "steward://docs/file:///priced.md",
        "test://static-text",
    ]
    assert names(Primitive.RESOURCE_TEMPLATE, ALICE) == [
        "steward://docs/file:///notes/{id}.md",
        "test://template/{id}/data",
    ]
    assert names(Primitive.RESOURCE, DAVE) == ["steward://docs/file:///a.md"]
    assert names(Primitive.RESOURCE_TEMPLATE, DAVE) == []


def test_a_tool_grant_opens_no_prompt_and_no_resource() -> None:
    assert names(Primitive.TOOL, BOB) == ["docs__search"]
    for kind in (Primitive.PROMPT, Primitive.RESOURCE, Primitive.RESOURCE_TEMPLATE):
        assert names(kind, BOB) == []


def test_a_prompt_grant_opens_no_resource_and_no_tool() -> None:
    for kind in (Primitive.TOOL, Primitive.RESOURCE, Primitive.RESOURCE_TEMPLATE):
        assert names(kind, CAROL) == []


def test_a_resource_grant_opens_no_prompt_and_no_tool() -> None:
    plane = build()
    plane.grants.add(Grant(SubjectKind.PRINCIPAL, "erin", "resource:docs__*"))
    assert [r["uri"] for r in plane.tools.list_entries(ERIN, Primitive.RESOURCE)["resources"]][:1] == [
        "steward://docs/file:///a.md"
    ]
    assert plane.tools.list_entries(ERIN, Primitive.PROMPT) == {"prompts": []}
    assert plane.tools.list_entries(ERIN, Primitive.TOOL) == {"tools": []}


def test_a_principal_without_grants_lists_nothing() -> None:
    for kind in Primitive:
        assert names(kind, ERIN) == []


def test_an_agent_lists_only_what_it_and_its_user_both_hold() -> None:
    plane = build()
    # finance (the agent's team) holds prompt:docs__greet; bob (its user) holds no prompt grant
    assert plane.tools.list_entries(AGENT, Primitive.PROMPT) == {"prompts": []}
    plane.grants.add(Grant(SubjectKind.PRINCIPAL, "bob", "prompt:docs__*"))
    assert [p["name"] for p in plane.tools.list_entries(AGENT, Primitive.PROMPT)["prompts"]] == ["docs__greet"]


@pytest.mark.parametrize("kind", [Primitive.PROMPT, Primitive.RESOURCE, Primitive.RESOURCE_TEMPLATE])
def test_every_list_paginates_with_an_opaque_cursor(kind: Primitive) -> None:
    plane = build(page_size=1)
    everything = build().tools.list_entries(ALICE, kind)
    key = next(iter(everything))
    seen: list[object] = []
    cursor = None
    for _ in range(10):
        page = plane.tools.list_entries(ALICE, kind, cursor)
        assert len(page[key]) <= 1
        seen.extend(page[key])
        cursor = page.get("nextCursor")
        if cursor is None:
            break
    assert seen == everything[key] and len(seen) >= 2


@pytest.mark.parametrize("cursor", ["!!!", 3, "x" * 600, "eyJhZnRlciI6IDF9"])
def test_a_bad_cursor_is_invalid_params(cursor: object) -> None:
    with pytest.raises(InvalidParamsError):
        build().tools.list_entries(ALICE, Primitive.PROMPT, cursor)
