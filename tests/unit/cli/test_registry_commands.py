"""``steward prompts|resources ...``, ``grants ... --prompt|--resource``, ``prices set --prompt|--resource``,
``servers add --unprefixed`` and ``servers show``: parsed by the real parser and run on an in-memory plane."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from mcp_steward.adapters.memory import InProcessInvoker
from mcp_steward.cli.main import build_parser
from mcp_steward.domain.registry import Primitive, ToolStatus
from tests.unit.services.admin.conftest import Plane
from tests.unit.services.admin.test_primitives_admin import PAGE, README, docs


@pytest.fixture
def target() -> Any:
    plane = Plane(invoker=InProcessInvoker({"fn-docs": docs}))
    plane.keys.ensure_principal("alice", "finance")
    return SimpleNamespace(
        plane=plane,
        keys=plane.keys,
        registry=plane.registry,
        grants=plane.grants,
        budgets=plane.budgets,
        record_admin=plane.record,
        actor=lambda: "local:admin",
        invoker=plane.invoker,
        versions=lambda _: "7",
        vendor_secret_prefix="",
        function=lambda logical_id: SimpleNamespace(name="fn-docs", timeout_s=10),
    )


def run(target: Any, *argv: str) -> None:
    args = build_parser().parse_args(list(argv))
    args.func(target, args)


def test_servers_add_lists_every_entry_and_servers_show_gives_their_kinds(
    target: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    run(target, "servers", "add", "docs", "--function", "DocsFunction")
    assert "with 1 tool, 1 prompt, 1 resource, 1 resource template:" in capsys.readouterr().out

    run(target, "servers", "show", "docs", "--json")

    shown = json.loads(capsys.readouterr().out)
    assert [(e["kind"], e["name"]) for e in shown["entries"]] == [
        ("tool", "docs__search"),
        ("prompt", "docs__greet"),
        ("resource", README),
        ("template", PAGE),
    ]
    assert shown["namespaced"] is True


def test_an_unprefixed_server_is_registered_with_its_own_names(target: Any) -> None:
    run(target, "servers", "add", "docs", "--function", "DocsFunction", "--unprefixed")

    assert sorted(target.registry.catalog().prompts) == ["greet"]
    assert sorted(target.registry.catalog().resources) == ["file:///readme.md"]


def test_prompts_and_resources_commands_act_on_their_primitive(target: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run(target, "servers", "add", "docs", "--function", "DocsFunction")
    run(target, "prompts", "approve", "docs__greet")
    run(target, "resources", "disable", PAGE)
    capsys.readouterr()

    run(target, "resources", "list", "--json")
    rows = json.loads(capsys.readouterr().out)
    run(target, "tools", "list", "--json")
    tools = json.loads(capsys.readouterr().out)

    assert target.registry.catalog().prompts["docs__greet"].status is ToolStatus.APPROVED
    assert [(row["kind"], row["name"], row["status"]) for row in rows] == [
        ("resource", README, "pending"),
        ("template", PAGE, "disabled"),
    ]
    assert [row["name"] for row in tools] == ["docs__search"]
    assert "kind" not in tools[0]


def test_grants_name_one_primitive_and_list_it(target: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run(target, "servers", "add", "docs", "--function", "DocsFunction")
    run(target, "grants", "add", "--team", "finance", "--prompt", "docs__*")
    run(target, "grants", "add", "--team", "finance", "--resource", README)
    run(target, "grants", "add", "--team", "finance", "--tool", "docs__search")
    capsys.readouterr()

    run(target, "grants", "list", "--json")

    assert json.loads(capsys.readouterr().out) == [
        {"subject_kind": "team", "subject": "finance", "primitive": "tool", "target": "docs__search"},
        {"subject_kind": "team", "subject": "finance", "primitive": "prompt", "target": "docs__*"},
        {"subject_kind": "team", "subject": "finance", "primitive": "resource", "target": README},
    ]
    run(target, "grants", "remove", "--team", "finance", "--prompt", "docs__*")
    assert len(target.grants.all()) == 2


@pytest.mark.parametrize(
    "argv",
    [
        ["grants", "add", "--team", "finance"],
        ["grants", "add", "--team", "finance", "--tool", "a__b", "--prompt", "a__c"],
        ["prices", "set", "docs__search", "--prompt", "docs__greet", "--price", "1"],
        ["prices", "set", "--price", "1"],
    ],
)
def test_a_grant_or_price_names_exactly_one_entry(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(argv)
    assert exited.value.code == 2


def test_prices_set_prices_a_prompt_or_a_resource(target: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run(target, "servers", "add", "docs", "--function", "DocsFunction")

    run(target, "prices", "set", "--resource", PAGE, "--price", "0.5")
    run(target, "prices", "set", "--prompt", "docs__greet", "--price", "1")

    catalog = target.registry.catalog()
    assert catalog.templates[PAGE].price.price == 500_000
    assert catalog.prompts["docs__greet"].price.price == 1_000_000
    assert f"priced template {PAGE}: 0.500000 credits a read" in capsys.readouterr().out
    assert Primitive.TOOL.value == build_parser().parse_args(["tools", "list"]).primitive
