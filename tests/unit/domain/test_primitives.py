"""Prompts, resources and resource templates in the registry and in grants (issue 12)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_steward.domain.grants import Grant, SubjectKind, allows, grant_pattern
from mcp_steward.domain.names import (
    InvalidNameError,
    ServerName,
    exposed_prompt_name,
    exposed_uri,
    uri_owner,
)
from mcp_steward.domain.pinning import definition_hash
from mcp_steward.domain.registry import Catalog, Primitive, ToolRecord, ToolStatus, entry_id, split_entry_id

DOCS = ServerName("docs")


def record(kind: Primitive, public: str, definition: dict[str, object], server: str = "docs") -> ToolRecord:
    return ToolRecord(
        exposed_name=entry_id(kind, public),
        upstream_name=str(definition.get("name", "")),
        server=ServerName(server),
        definition=definition,
        status=ToolStatus.APPROVED,
    )


def test_a_tool_id_is_its_exposed_name_and_the_others_carry_their_primitive() -> None:
    assert entry_id(Primitive.TOOL, "docs__search") == "docs__search"
    assert entry_id(Primitive.PROMPT, "docs__greet") == "prompt:docs__greet"
    assert entry_id(Primitive.RESOURCE, "steward://docs/file:///a") == "resource:steward://docs/file:///a"
    assert split_entry_id("template:steward://docs/{x}") == (Primitive.RESOURCE_TEMPLATE, "steward://docs/{x}")
    assert split_entry_id("docs__search") == (Primitive.TOOL, "docs__search")


@settings(derandomize=True, max_examples=150)
@given(kind=st.sampled_from(list(Primitive)), public=st.text(min_size=1, max_size=40))
def test_entry_ids_round_trip(kind: Primitive, public: str) -> None:
    if kind is Primitive.TOOL and ":" in public:
        return  # a tool's exposed name never holds a colon (docs/design.md section 10)
    assert split_entry_id(entry_id(kind, public)) == (kind, public)


def test_exposed_uris_keep_the_original_visible_and_route_to_their_owner() -> None:
    uri = exposed_uri(DOCS, "file:///project/readme.md?x=1#top")
    assert uri == "steward://docs/file:///project/readme.md?x=1#top"
    assert uri_owner(uri) == ("docs", "file:///project/readme.md?x=1#top")
    assert uri_owner("file:///project/readme.md") is None
    assert uri_owner("steward://Docs/x") is None  # not a server name
    assert uri_owner("steward://docs/") is None
    assert exposed_uri(DOCS, "test://static-text", namespaced=False) == "test://static-text"


@pytest.mark.parametrize("original", ["", "a b", "x" * 769, "\x00evil"])
def test_unexposable_uris_are_refused(original: str) -> None:
    with pytest.raises(InvalidNameError):
        exposed_uri(DOCS, original)


def test_an_unprefixed_server_may_not_claim_the_namespaces_of_others() -> None:
    with pytest.raises(InvalidNameError):
        exposed_uri(DOCS, "steward://other/secret", namespaced=False)
    with pytest.raises(InvalidNameError):
        exposed_prompt_name(DOCS, "other__greet", namespaced=False)
    assert exposed_prompt_name(DOCS, "greet") == "docs__greet"
    with pytest.raises(InvalidNameError):
        exposed_prompt_name(DOCS, "has space")


def test_a_grant_opens_one_primitive_only() -> None:
    tools = Grant(SubjectKind.PRINCIPAL, "alice", "docs__*")
    prompts = Grant(SubjectKind.PRINCIPAL, "alice", grant_pattern(Primitive.PROMPT, "docs__*"))
    resources = Grant(SubjectKind.PRINCIPAL, "alice", grant_pattern(Primitive.RESOURCE, "docs__*"))
    assert tools.matches("docs__search")
    assert not tools.matches("prompt:docs__greet", "docs")
    assert not tools.matches("resource:steward://docs/a", "docs")
    assert prompts.matches("prompt:docs__greet", "docs")
    assert not prompts.matches("docs__greet", "docs")
    assert resources.matches("resource:steward://docs/a", "docs")
    assert resources.matches("template:steward://docs/{id}", "docs")  # templates are read as resources
    assert not resources.matches("resource:steward://other/a", "other")
    assert not allows([tools, prompts], "resource:steward://docs/a", "docs")


def test_a_server_wide_grant_names_the_server_not_a_name_prefix() -> None:
    grant = Grant(SubjectKind.TEAM, "qa", "conformance__*")
    assert grant.matches("test_simple_text", "conformance")  # an unprefixed server's tool
    assert not grant.matches("conformance__x", "other")  # owned by another server
    exact = Grant(SubjectKind.TEAM, "qa", grant_pattern(Primitive.RESOURCE, "steward://docs/a"))
    assert exact.matches("resource:steward://docs/a", "docs")
    assert not exact.matches("resource:steward://docs/ab", "docs")
    assert exact.primitive is Primitive.RESOURCE and exact.target == "steward://docs/a"


def test_the_catalog_indexes_each_primitive_apart() -> None:
    entries = [
        record(Primitive.TOOL, "docs__greet", {"name": "greet", "inputSchema": {"type": "object"}}),
        record(Primitive.PROMPT, "docs__greet", {"name": "greet", "arguments": []}),
        record(Primitive.RESOURCE, "steward://docs/a", {"name": "a", "uri": "a"}),
        record(Primitive.RESOURCE_TEMPLATE, "steward://docs/{x}", {"name": "t", "uriTemplate": "{x}"}),
    ]
    catalog = Catalog.build([], entries)
    assert list(catalog.tools) == ["docs__greet"]
    assert list(catalog.prompts) == ["docs__greet"]
    assert catalog.resources["steward://docs/a"].listing() == {"name": "a", "uri": "steward://docs/a"}
    assert catalog.templates["steward://docs/{x}"].listing()["uriTemplate"] == "steward://docs/{x}"
    assert catalog.entry("prompt:docs__greet") is entries[1]
    assert catalog.entries(Primitive.TOOL)["docs__greet"] is entries[0]


def test_the_pin_covers_what_a_model_reads_of_every_primitive() -> None:
    prompt = {"name": "p", "arguments": [{"name": "a"}]}
    assert definition_hash(prompt) != definition_hash({**prompt, "arguments": [{"name": "a", "required": True}]})
    resource = {"name": "r", "uri": "file:///a", "mimeType": "text/plain"}
    assert definition_hash(resource) != definition_hash({**resource, "uri": "file:///b"})
    assert definition_hash(resource) != definition_hash({**resource, "mimeType": "text/html"})
    template = {"name": "t", "uriTemplate": "file:///{x}"}
    assert definition_hash(template) != definition_hash({**template, "uriTemplate": "file:///{y}"})
