"""Prompts, resources and resource templates through the admin services: registered with tools, approved,
rejected, reset and disabled by the same operations (a primitive parameter), granted per primitive, priced."""

from __future__ import annotations

from typing import Any

import pytest

from mcp_steward.adapters.memory import InProcessInvoker
from mcp_steward.domain.config_file import load_config
from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.money import Micros
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.registry import Primitive, ToolStatus, entry_id
from mcp_steward.services.admin import AdminRefusedError
from mcp_steward.services.admin.grants import add_grant, grant_of
from mcp_steward.services.admin.pricing import set_price
from mcp_steward.services.admin.registry import (
    InternalServer,
    add_server,
    approve_tool,
    disable_tool,
    reject_tool,
    reset_tool,
)
from mcp_steward.services.config_changes import PlaneState
from mcp_steward.services.config_export import export_config
from mcp_steward.services.config_plan import compute_plan
from tests.unit.services.admin.conftest import Plane

README = "steward://docs/file:///readme.md"
PAGE = "steward://docs/file:///{page}"


def docs(event: dict[str, Any], context: Any) -> dict[str, Any]:
    message = event["message"]
    results = {
        "server/discover": {"capabilities": {"tools": {}, "prompts": {}, "resources": {}}},
        "tools/list": {"tools": [{"name": "search", "description": "Searches the docs."}]},
        "prompts/list": {"prompts": [{"name": "greet", "description": "Greets.", "arguments": [{"name": "who"}]}]},
        "resources/list": {"resources": [{"uri": "file:///readme.md", "name": "readme"}]},
        "resources/templates/list": {"resourceTemplates": [{"uriTemplate": "file:///{page}", "name": "page"}]},
    }
    return {"jsonrpc": "2.0", "id": message["id"], "result": results[message["method"]]}


@pytest.fixture
def docs_plane() -> Plane:
    plane = Plane(invoker=InProcessInvoker({"fn-docs": docs}))
    plane.keys.ensure_principal("alice", "finance")
    add_server(plane.ports, InternalServer("docs", "fn-docs", 10, "DocsFunction"))
    return plane


def status(plane: Plane, kind: Primitive, name: str) -> ToolStatus:
    record = plane.registry.catalog().entry(entry_id(kind, name))
    assert record is not None
    return record.status


def test_registration_audits_every_entry_by_registry_id(docs_plane: Plane) -> None:
    action, detail, _ = docs_plane.audit[0]
    assert action == "servers.add"
    assert detail["tools"] == {
        "docs__search": "pending",
        "prompt:docs__greet": "pending",
        f"resource:{README}": "pending",
        f"template:{PAGE}": "pending",
    }


@pytest.mark.parametrize(
    ("family", "name", "kind"),
    [
        (Primitive.PROMPT, "docs__greet", Primitive.PROMPT),
        (Primitive.RESOURCE, README, Primitive.RESOURCE),
        (Primitive.RESOURCE, PAGE, Primitive.RESOURCE_TEMPLATE),
    ],
)
def test_an_entry_goes_through_the_tools_lifecycle(
    docs_plane: Plane, family: Primitive, name: str, kind: Primitive
) -> None:
    approved = approve_tool(docs_plane.ports, name, (), family)
    assert approved.pinned_hash == approved.current_hash
    assert docs_plane.audit[-1][0] == "tools.approve"
    assert docs_plane.audit[-1][2]["tool"] == entry_id(kind, name)

    disable_tool(docs_plane.ports, name, family)
    assert status(docs_plane, kind, name) is ToolStatus.DISABLED
    reset_tool(docs_plane.ports, name, family)
    assert status(docs_plane, kind, name) is ToolStatus.PENDING
    reject_tool(docs_plane.ports, name, family)
    assert status(docs_plane, kind, name) is ToolStatus.REJECTED


def test_an_entry_is_looked_up_in_its_own_primitive_only(docs_plane: Plane) -> None:
    before = docs_plane.snapshot()

    with pytest.raises(AdminRefusedError, match="no prompt 'docs__search'"):
        approve_tool(docs_plane.ports, "docs__search", (), Primitive.PROMPT)
    with pytest.raises(AdminRefusedError, match="no tool 'docs__greet'"):
        approve_tool(docs_plane.ports, "docs__greet")
    with pytest.raises(AdminRefusedError, match="steward resources list"):
        approve_tool(docs_plane.ports, "steward://docs/file:///nope", (), Primitive.RESOURCE)

    assert docs_plane.snapshot() == before


@pytest.mark.parametrize(
    ("pattern", "primitive", "stored"),
    [
        ("docs__greet", Primitive.PROMPT, "prompt:docs__greet"),
        ("docs__*", Primitive.PROMPT, "prompt:docs__*"),
        (README, Primitive.RESOURCE, f"resource:{README}"),
        (PAGE, Primitive.RESOURCE, f"resource:{PAGE}"),
        ("docs__*", Primitive.RESOURCE, "resource:docs__*"),
        ("docs__search", Primitive.TOOL, "docs__search"),
    ],
)
def test_a_grant_names_its_primitive(docs_plane: Plane, pattern: str, primitive: Primitive, stored: str) -> None:
    grant = grant_of(pattern, primitive, team="finance")

    add_grant(docs_plane.ports, grant)

    assert grant.pattern == stored
    assert Grant(SubjectKind.TEAM, "finance", stored) in docs_plane.grants.all()


@pytest.mark.parametrize(
    ("pattern", "primitive", "message"),
    [
        ("docs__search", Primitive.PROMPT, "--prompt: no prompt 'docs__search'"),
        ("docs__greet", Primitive.TOOL, "--tool: no tool 'docs__greet'"),
        ("steward://docs/file:///nope", Primitive.RESOURCE, "--resource: no resource"),
        ("nope__*", Primitive.RESOURCE, "no server 'nope'"),
        ("has space", Primitive.RESOURCE, "must be an exposed resource URI"),
        ("bad name!", Primitive.PROMPT, "must be an exposed prompt name"),
    ],
)
def test_a_grant_of_something_that_does_not_exist_is_refused(
    docs_plane: Plane, pattern: str, primitive: Primitive, message: str
) -> None:
    before = docs_plane.snapshot()

    with pytest.raises(AdminRefusedError, match=message):
        add_grant(docs_plane.ports, grant_of(pattern, primitive, team="finance"))

    assert docs_plane.snapshot() == before


def test_a_prompt_or_resource_is_priced_like_a_tool(docs_plane: Plane) -> None:
    set_price(docs_plane.ports, PAGE, Price(Micros(5)), Primitive.RESOURCE)

    record = docs_plane.registry.catalog().templates[PAGE]
    assert record.price == Price(Micros(5))
    assert docs_plane.audit[-1][2]["tool"] == f"template:{PAGE}"
    assert docs_plane.registry.catalog().prompts["docs__greet"].price == Price()  # free by default


def state(plane: Plane) -> PlaneState:
    return PlaneState(
        catalog=plane.registry.catalog(),
        members=plane.keys.members(),
        teams=frozenset(team for team, _ in plane.keys.teams()),
        grants=frozenset(plane.grants.all()),
        limits={},
        held={},
        rate_limits={},
        functions=frozenset({"DocsFunction"}),
        vendor_secret_prefix="",
    )


def test_the_configuration_file_grants_prompts_and_resources_and_exports_them_back(docs_plane: Plane) -> None:
    desired = load_config(
        {
            "apiVersion": "steward/v1",
            "grants": [
                {"team": "finance", "prompt": "docs__greet"},
                {"team": "finance", "resource": PAGE},
                {"team": "finance", "resource": "steward://docs/file:///typo"},
            ],
        }
    )

    plan = compute_plan(desired, state(docs_plane))

    assert [change.line() for change in plan.changes] == [
        "+ grant prompt docs__greet to team finance",
        f"+ grant resource {PAGE} to team finance",
    ]
    assert [(issue.path, issue.message.split(";")[0]) for issue in plan.refusals] == [
        (
            "grants[2].resource",
            "no resource 'steward://docs/file:///typo' (did you mean 'steward://docs/file:///{page}'?)",
        )
    ]
    for grant in [spec.grant() for spec in desired.grants[:2]]:
        docs_plane.grants.add(grant)
    exported, _ = export_config(state(docs_plane))
    assert [spec.target for spec in exported.grants] == [(Primitive.PROMPT, "docs__greet"), (Primitive.RESOURCE, PAGE)]
    assert compute_plan(exported, state(docs_plane)).changes == ()
