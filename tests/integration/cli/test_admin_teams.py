"""Principals and teams as entities: ``steward keys create`` makes them, a principal has exactly one team, and
``steward teams list`` shows them with this month's budget. The key stores agree on the rules (contract)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from mcp_steward.adapters.dynamodb_keys import DynamoDbKeyStore
from mcp_steward.adapters.memory import InMemoryKeyStore
from mcp_steward.domain.identity import KeyId, PrincipalId, TeamName
from mcp_steward.domain.keys import KeyRecord, token_digest
from tests.conftest import aws_client
from tests.integration.cli.conftest import ACTOR, CREDIT, Plane

pytestmark = pytest.mark.moto

TEAM_KEYS = {"team", "principals", "budget"}
BUDGET_KEYS = {
    "period",
    "materialized",
    *(f"{name}{suffix}" for name in ("limit", "available", "reserved", "charged") for suffix in ("", "_micro")),
}


def legacy_key(principal: str, team: str, key_id: str, created_at: datetime) -> KeyRecord:
    """A key written before principals were entities (the local plane's seed still writes these)."""
    return KeyRecord(
        key_id=KeyId(key_id),
        digest=token_digest(f"token-{key_id}"),
        principal=PrincipalId(principal),
        team=TeamName(team),
        roles=frozenset(),
        obo=None,
        created_at=created_at,
    )


def test_keys_create_makes_the_principal_and_its_team_and_teams_list_counts_them(finance: Plane) -> None:
    teams = finance.json("teams", "list")

    assert teams == [
        {"team": "finance", "principals": 2, "budget": None},
        {"team": "support", "principals": 1, "budget": None},
    ]
    assert finance.target.keys.principal("alice") == "finance"
    entity = finance.dynamodb.get_item(
        TableName=finance.tables["keys"], Key={"pk": {"S": "PRINCIPAL#alice"}, "sk": {"S": "PRINCIPAL"}}
    )["Item"]
    assert entity["team"] == {"S": "finance"}
    assert "created_at" in entity
    team = finance.dynamodb.get_item(
        TableName=finance.tables["keys"], Key={"pk": {"S": "TEAM#finance"}, "sk": {"S": "TEAM"}}
    )["Item"]
    assert "created_at" in team


def test_a_second_key_for_a_principal_in_its_own_team_is_created(finance: Plane) -> None:
    finance.ok("keys", "create", "--principal", "alice", "--team", "finance")

    assert [str(r.principal) for r in finance.target.keys.records()].count("alice") == 2
    assert dict(finance.target.keys.teams())["finance"] == 2


def test_keys_create_refuses_a_principal_of_another_team_and_changes_nothing(finance: Plane) -> None:
    before = finance.snapshot()

    code, out, err = finance.run("keys", "create", "--principal", "alice", "--team", "support")

    assert code == 2
    assert "belongs to team finance" in err
    assert out == ""  # no token printed
    assert finance.snapshot() == before


def test_keys_create_is_audited_without_the_token(plane: Plane) -> None:
    out = plane.ok("keys", "create", "--principal", "dora", "--team", "treasury", "--role", "admin")
    token = out.strip().splitlines()[-1]

    [record] = plane.admin_records()
    assert (record.actor, record.action, record.team, record.principal) == (ACTOR, "keys.create", "treasury", "dora")
    assert set(record.detail) == {"key_id", "roles", "on_behalf_of", "expires_at"}
    assert record.detail["roles"] == ["admin"]
    assert token not in repr(record) and token_digest(token) not in repr(record)


def test_principals_known_only_from_older_keys_keep_the_team_of_their_oldest_key(plane: Plane) -> None:
    old, newer = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    plane.target.keys.put(legacy_key("alice", "finance", "key_old", old))
    plane.target.keys.put(legacy_key("alice", "finance", "key_new", newer))
    plane.target.keys.put(legacy_key("bob", "support", "key_bob", old))
    before = plane.snapshot()

    code, _, _ = plane.run("keys", "create", "--principal", "alice", "--team", "support")

    assert code == 2
    assert plane.snapshot() == before
    assert plane.json("teams", "list") == [
        {"team": "finance", "principals": 1, "budget": None},
        {"team": "support", "principals": 1, "budget": None},
    ]
    plane.ok("budgets", "set", "--team", "finance", "--principal", "alice", "--limit", "5")


def test_teams_list_shows_this_months_budget_once_one_is_set(finance: Plane) -> None:
    finance.ok("budgets", "set", "--team", "finance", "--limit", "100.5")

    [finance_row, support_row] = finance.json("teams", "list")

    assert set(finance_row) == TEAM_KEYS
    assert set(finance_row["budget"]) == BUDGET_KEYS
    assert finance_row["budget"]["period"] == datetime.now(UTC).strftime("%Y-%m")
    assert finance_row["budget"]["materialized"] is False
    assert finance_row["budget"]["limit_micro"] == 100 * CREDIT + CREDIT // 2
    assert finance_row["budget"]["limit"] == "100.500000"
    assert finance_row["budget"]["available_micro"] == 100 * CREDIT + CREDIT // 2
    assert finance_row["budget"]["charged"] == "0.000000"
    assert support_row["budget"] is None
    text = finance.ok("teams", "list")
    assert "100.500000" in text and "no budget" in text


@pytest.mark.parametrize(
    "args",
    [
        ["keys", "create", "--principal", "Alice", "--team", "finance"],
        ["keys", "create", "--principal", "alice", "--team=-finance"],
        ["keys", "create", "--principal", "alice", "--team", "fin ance"],
        ["keys", "create", "--principal", "a" * 65, "--team", "finance"],
    ],
)
def test_keys_create_refuses_bad_names_and_changes_nothing(plane: Plane, args: list[str]) -> None:
    before = plane.snapshot()

    code, _, _ = plane.run(*args)

    assert code == 2
    assert plane.snapshot() == before


# --- the key stores' contract for principals and teams ------------------------------------------------------


@pytest.fixture(params=["memory", "dynamodb"])
def keys(request: pytest.FixtureRequest, plane: Plane, moto_url: str) -> Iterator[Any]:
    if request.param == "memory":
        yield InMemoryKeyStore()
        return
    client = aws_client("dynamodb", moto_url)
    try:
        yield DynamoDbKeyStore(client, plane.tables["keys"])
    finally:
        client.close()


def test_ensure_principal_creates_once_and_answers_the_team_that_stands(keys: Any) -> None:
    assert keys.principal("alice") is None

    assert keys.ensure_principal("alice", "finance") == "finance"
    assert keys.ensure_principal("alice", "finance") == "finance"
    assert keys.ensure_principal("alice", "support") == "finance"

    assert keys.principal("alice") == "finance"
    assert keys.teams() == [("finance", 1)]


def test_teams_count_entities_and_principals_known_from_keys_alike(keys: Any) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    keys.put(legacy_key("carol", "support", "key_c", at))
    keys.ensure_principal("alice", "finance")
    keys.ensure_principal("erin", "finance")

    assert keys.teams() == [("finance", 2), ("support", 1)]
    assert keys.members() == {"alice": "finance", "erin": "finance", "carol": "support"}
    assert keys.principal("carol") == "support"
    assert keys.ensure_principal("carol", "finance") == "support"
    assert keys.teams() == [("finance", 2), ("support", 1)]


def test_key_listings_ignore_principal_and_team_items(keys: Any) -> None:
    keys.ensure_principal("alice", "finance")
    record = legacy_key("alice", "finance", "key_a", datetime(2026, 1, 1, tzinfo=UTC))
    keys.put(record)

    assert [r.key_id for r in keys.records()] == ["key_a"]
    assert keys.revoke("key_a") is True
    resolve: Callable[[str], Any] = keys.resolve
    assert resolve("token-key_a") is None
