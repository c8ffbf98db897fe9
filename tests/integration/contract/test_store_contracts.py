"""The keys, registry and grants contracts, for the fakes and the DynamoDB adapters alike; and fail-closed
behaviour of the DynamoDB adapters when DynamoDB throttles, errs or times out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mcp_steward.adapters.dynamodb_grants import DynamoDbGrantStore
from mcp_steward.adapters.dynamodb_keys import DynamoDbKeyStore
from mcp_steward.adapters.dynamodb_registry import DynamoDbRegistry
from mcp_steward.adapters.memory import InMemoryGrantStore, InMemoryKeyStore, InMemoryRegistry
from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.identity import KeyId, PrincipalId, TeamName
from mcp_steward.domain.keys import KeyRecord, token_digest
from mcp_steward.domain.money import Micros
from mcp_steward.domain.names import ExposedName, ServerName
from mcp_steward.domain.pinning import definition_hash
from mcp_steward.domain.ports import ConcurrentChangeError, StoreUnavailableError
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.registry import (
    NO_DELEGATION,
    DelegationMode,
    DelegationPolicy,
    Rejection,
    ServerKind,
    ServerRecord,
    ToolRecord,
    ToolStatus,
)
from tests.integration.contract.conftest import FAULTS, dynamodb_client

pytestmark = pytest.mark.moto
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "dynamodb"])
def keys(request: pytest.FixtureRequest, moto_url: str, fresh_table: Callable[[str], str]) -> Any:
    if request.param == "memory":
        return InMemoryKeyStore(clock=lambda: NOW)
    return DynamoDbKeyStore(dynamodb_client(moto_url), fresh_table("KeysTable"), clock=lambda: NOW)


@pytest.fixture(params=["memory", "dynamodb"])
def registry(request: pytest.FixtureRequest, moto_url: str, fresh_table: Callable[[str], str]) -> Any:
    if request.param == "memory":
        return InMemoryRegistry()
    return DynamoDbRegistry(dynamodb_client(moto_url), fresh_table("RegistryTable"))


@pytest.fixture(params=["memory", "dynamodb"])
def grants(request: pytest.FixtureRequest, moto_url: str, fresh_table: Callable[[str], str]) -> Any:
    if request.param == "memory":
        return InMemoryGrantStore()
    return DynamoDbGrantStore(dynamodb_client(moto_url), fresh_table("GrantsTable"))


def key(token: str, key_id: str = "key_1", **changes: Any) -> KeyRecord:
    fields: dict[str, Any] = {
        "key_id": KeyId(key_id),
        "digest": token_digest(token),
        "principal": PrincipalId("alice"),
        "team": TeamName("finance"),
        "roles": frozenset({"admin"}),
        "obo": PrincipalId("carol"),
        "created_at": NOW,
    }
    fields.update(changes)
    return KeyRecord(**fields)


def tool(server: str, name: str, status: ToolStatus = ToolStatus.PENDING, **definition: Any) -> ToolRecord:
    return ToolRecord(
        exposed_name=ExposedName(f"{server}__{name}"),
        upstream_name=name,
        server=ServerName(server),
        definition={"name": name, "inputSchema": {"type": "object"}, **definition},
        status=status,
    )


def server(name: str) -> ServerRecord:
    return ServerRecord(ServerName(name), ServerKind.INTERNAL, f"steward-tool-{name}", 10, "X")


# --- keys -------------------------------------------------------------------------------------------------


def test_a_stored_key_resolves_to_its_principal_and_nothing_else_does(keys: Any) -> None:
    keys.put(key("stw_one"))
    principal = keys.resolve("stw_one")
    assert principal is not None
    assert (principal.id, principal.team, principal.obo, principal.key_id) == ("alice", "finance", "carol", "key_1")
    assert principal.is_admin
    assert keys.resolve("stw_two") is None


def test_the_same_token_cannot_be_stored_twice(keys: Any) -> None:
    keys.put(key("stw_one"))
    with pytest.raises(ValueError, match="already exists"):
        keys.put(key("stw_one", key_id="key_2"))


def test_expired_and_revoked_keys_resolve_to_nobody(keys: Any) -> None:
    keys.put(key("stw_old", "key_old", expires_at=NOW - timedelta(seconds=1)))
    keys.put(key("stw_live", "key_live", expires_at=NOW + timedelta(days=1)))
    assert keys.resolve("stw_old") is None
    assert keys.resolve("stw_live") is not None
    assert keys.revoke("key_live") is True
    assert keys.resolve("stw_live") is None
    assert keys.revoke("key_nope") is False
    assert [r.key_id for r in keys.records()] == ["key_live", "key_old"]


# --- registry ---------------------------------------------------------------------------------------------


def test_a_registered_server_and_its_tools_form_the_catalog(registry: Any) -> None:
    registry.put_server(server("beta"), [tool("beta", "b", description="x" * 3, annotations={"readOnlyHint": True})])
    registry.put_server(server("alpha"), [tool("alpha", "z"), tool("alpha", "a", ToolStatus.APPROVED)])
    catalog = registry.catalog()
    assert list(catalog.tools) == ["alpha__a", "alpha__z", "beta__b"]
    assert catalog.servers[ServerName("alpha")] == server("alpha")
    assert catalog.tools[ExposedName("beta__b")].definition["annotations"] == {"readOnlyHint": True}
    assert catalog.tools[ExposedName("alpha__a")].status is ToolStatus.APPROVED


def test_registering_again_writes_the_given_tools_and_deletes_the_removed_ones(registry: Any) -> None:
    registry.put_server(server("alpha"), [tool("alpha", "old"), tool("alpha", "kept"), tool("alpha", "other")])
    stored = {t.upstream_name: t for t in registry.tools_of(ServerName("alpha"))}
    registry.put_server(server("alpha"), [stored["kept"], tool("alpha", "new")], [stored["old"]])
    assert list(registry.catalog().tools) == ["alpha__kept", "alpha__new", "alpha__other"]


def test_every_write_moves_the_revision_on(registry: Any) -> None:
    registry.put_server(server("alpha"), [tool("alpha", "a")])
    [first] = registry.tools_of(ServerName("alpha"))
    registry.put_tool(replace(first, status=ToolStatus.APPROVED))
    registry.set_price(first, Price(price=Micros(5)))
    registry.set_status(first, ToolStatus.DISABLED)
    assert [t.revision for t in registry.tools_of(ServerName("alpha"))] == [first.revision + 3]


def test_a_record_changed_since_it_was_read_is_not_overwritten(registry: Any) -> None:
    """A sync and an approval that overlap: the later write of a stale record fails and writes nothing."""
    registry.put_server(server("alpha"), [tool("alpha", "a"), tool("alpha", "b")])
    read = {t.upstream_name: t for t in registry.tools_of(ServerName("alpha"))}
    registry.put_tool(replace(read["a"], status=ToolStatus.APPROVED, pinned_hash=read["a"].current_hash))
    with pytest.raises(ConcurrentChangeError):
        registry.put_tool(replace(read["a"], status=ToolStatus.QUARANTINED))
    with pytest.raises(ConcurrentChangeError):  # a transaction with one stale tool writes none of them
        registry.put_server(server("alpha"), [replace(read["b"], missing_syncs=1), replace(read["a"], missing_syncs=1)])
    with pytest.raises(ConcurrentChangeError):  # nor deletes a tool changed since it was read
        registry.put_server(server("alpha"), [], [read["a"]])
    after = {t.upstream_name: t for t in registry.tools_of(ServerName("alpha"))}
    assert (after["a"].status, after["a"].missing_syncs, after["b"].missing_syncs) == (ToolStatus.APPROVED, 0, 0)
    registry.set_status(after["b"], ToolStatus.DISABLED)  # an admin status change also makes a read stale
    with pytest.raises(ConcurrentChangeError):
        registry.put_tool(replace(after["b"], status=ToolStatus.APPROVED))
    registry.put_tool(tool("alpha", "b"))  # a record not read from the store (revision 0) is written as given
    assert registry.catalog().tools[ExposedName("alpha__b")].status is ToolStatus.PENDING


def test_a_status_change_is_seen_in_the_next_catalog(registry: Any) -> None:
    pending = tool("alpha", "a")
    registry.put_server(server("alpha"), [pending])
    registry.set_status(pending, ToolStatus.APPROVED)
    assert registry.catalog().tools[ExposedName("alpha__a")].status is ToolStatus.APPROVED


def test_numbers_in_definitions_survive_exactly(registry: Any) -> None:
    schema = {"type": "object", "properties": {"x": {"type": "number", "maximum": 0.1}}}
    registry.put_server(server("alpha"), [tool("alpha", "a", inputSchema=schema)])
    stored = registry.catalog().tools[ExposedName("alpha__a")].definition
    assert stored["inputSchema"]["properties"]["x"]["maximum"] == 0.1


def test_pins_findings_and_history_survive_a_round_trip(registry: Any) -> None:
    registry.put_server(replace(server("alpha"), version="v7"), [tool("alpha", "a")])
    approved = replace(
        tool("alpha", "a", ToolStatus.QUARANTINED),
        pinned_hash="ab" * 32,
        pinned_version="v6",
        findings=({"rule": "r", "severity": "medium", "path": "/description", "evidence": "e"},),
        verdict="suspicious",
        missing_syncs=2,
        previous_definition={"name": "a", "description": "before"},
    )
    registry.put_tool(approved)
    stored = replace(approved, revision=1)  # written once (a blind write of a record not read)
    assert registry.catalog().tools[ExposedName("alpha__a")] == stored
    assert registry.catalog().servers[ServerName("alpha")].version == "v7"
    assert registry.tools_of(ServerName("alpha")) == [stored]
    assert registry.tools_of(ServerName("nobody")) == []


def test_an_admins_rejection_survives_a_round_trip_and_is_cleared_by_writing_none(registry: Any) -> None:
    registry.put_server(server("alpha"), [tool("alpha", "a")])
    [stored] = registry.tools_of(ServerName("alpha"))
    rejection = Rejection("arn:aws:iam::123456789012:user/ana", NOW, stored.current_hash)

    registry.put_tool(replace(stored, status=ToolStatus.REJECTED, rejection=rejection))

    [rejected] = registry.tools_of(ServerName("alpha"))
    assert (rejected.status, rejected.rejection) == (ToolStatus.REJECTED, rejection)
    registry.put_tool(replace(rejected, status=ToolStatus.PENDING, rejection=None))
    assert registry.catalog().tools[ExposedName("alpha__a")].rejection is None


def test_a_vendor_server_keeps_its_endpoint_hosts_and_credential_reference(registry: Any) -> None:
    vendor = ServerRecord(
        ServerName("weather"),
        ServerKind.VENDOR,
        "",
        0,
        url="https://mcp.weather.example/mcp",
        allowed_hosts=("mcp.weather.example", "auth.weather.example"),
        secret_id="steward-test/vendor/weather",
        auth_header="X-Api-Key: {secret}",
    )
    registry.put_server(vendor, [tool("weather", "forecast")])
    assert registry.catalog().servers[ServerName("weather")] == vendor
    plain = ServerRecord(ServerName("open"), ServerKind.VENDOR, "", 0, url="https://open.example/mcp")
    registry.put_server(plain, [])
    assert registry.catalog().servers[ServerName("open")] == plain


def test_a_servers_delegation_policy_is_stored_and_changed(registry: Any) -> None:
    registry.put_server(server("alpha"), [tool("alpha", "a")])
    assert registry.catalog().servers[ServerName("alpha")].delegation == NO_DELEGATION
    policy = DelegationPolicy(calls=4, credit=Micros(2_500_000), mode=DelegationMode.INTERSECT)
    registry.set_delegation(ServerName("alpha"), policy)
    assert registry.catalog().servers[ServerName("alpha")].delegation == policy
    registry.put_server(replace(server("alpha"), delegation=policy, version="2"), [])
    assert registry.catalog().servers[ServerName("alpha")] == replace(server("alpha"), delegation=policy, version="2")


def test_the_current_hash_is_computed_from_the_definition(registry: Any) -> None:
    registry.put_server(server("alpha"), [tool("alpha", "a")])
    stored = registry.catalog().tools[ExposedName("alpha__a")]
    assert stored.current_hash == definition_hash(stored.definition)
    assert stored.pinned_hash is None


# --- grants -----------------------------------------------------------------------------------------------


def test_grants_are_found_by_subject_and_removed_once(grants: Any) -> None:
    alice = Grant(SubjectKind.PRINCIPAL, "alice", "currency__*")
    team = Grant(SubjectKind.TEAM, "finance", "hr__find_employee")
    other = Grant(SubjectKind.TEAM, "support", "hr__*")
    for grant in (alice, team, other):
        grants.add(grant)
    found = grants.grants_for([(SubjectKind.PRINCIPAL, "alice"), (SubjectKind.TEAM, "finance")])
    assert sorted(found, key=str) == sorted([alice, team], key=str)
    assert grants.remove(team) is True
    assert grants.remove(team) is False
    assert sorted(grants.all(), key=str) == sorted([alice, other], key=str)


def test_no_grants_means_nothing_is_found(grants: Any) -> None:
    assert grants.grants_for([(SubjectKind.PRINCIPAL, "nobody")]) == []


# --- faults: the DynamoDB adapters fail closed ------------------------------------------------------------


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_every_read_fails_closed_when_dynamodb_cannot_answer(
    fault: str, moto_url: str, fresh_table: Callable[[str], str]
) -> None:
    client = dynamodb_client(moto_url, fault)
    keys = DynamoDbKeyStore(client, fresh_table("KeysTable"))
    registry = DynamoDbRegistry(client, fresh_table("RegistryTable"))
    grants = DynamoDbGrantStore(client, fresh_table("GrantsTable"))
    reads: list[Callable[[], object]] = [
        lambda: keys.resolve("stw_x"),
        registry.catalog,
        lambda: grants.grants_for([(SubjectKind.PRINCIPAL, "alice")]),
        lambda: registry.put_server(server("alpha"), [tool("alpha", "a")]),
        lambda: grants.add(Grant(SubjectKind.PRINCIPAL, "alice", "x__*")),
    ]
    for operation in reads:
        with pytest.raises(StoreUnavailableError):
            operation()


def test_a_principal_entity_names_its_team_in_one_read(keys: Any) -> None:
    assert keys.principal_team("carol") is None
    keys.ensure_principal("carol", "treasury")
    assert keys.principal_team("carol") == "treasury"
