"""API keys, principals and teams in the keys table. Only digests of keys are stored.

Items: a key ``pk = KEY#<sha256>``, ``sk = KEY``; a principal ``pk = PRINCIPAL#<name>``, ``sk = PRINCIPAL``
(``team``, ``created_at``); a team ``pk = TEAM#<name>``, ``sk = TEAM`` (``created_at``). A principal belongs to
exactly one team. Keys created before principals were entities name their principal's team themselves: a
principal known only from such keys belongs to the team of its oldest key. The keys are spelled in
:mod:`mcp_steward.adapters.dynamodb_schema`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from mcp_steward.adapters.dynamodb_common import DynamoDBClient, Item, error_code, s, scan_all, store_errors
from mcp_steward.adapters.dynamodb_schema import (
    API_KEY_SK,
    PRINCIPAL_SK,
    TEAM_SK,
    api_key_digest,
    api_key_key,
    principal_key,
    principal_of,
    team_key,
    team_of,
)
from mcp_steward.domain.identity import KeyId, Principal, PrincipalId, TeamName
from mcp_steward.domain.keys import KeyRecord, token_digest
from mcp_steward.domain.ports import StoreUnavailableError


def _to_item(record: KeyRecord) -> Item:
    item: Item = {
        **api_key_key(record.digest),
        "key_id": s(record.key_id),
        "principal": s(record.principal),
        "team": s(record.team),
        "roles": s(",".join(sorted(record.roles))),
        "created_at": s(record.created_at.isoformat()),
        "revoked": {"BOOL": record.revoked},
    }
    if record.obo is not None:
        item["obo"] = s(record.obo)
    if record.expires_at is not None:
        item["expires_at"] = s(record.expires_at.isoformat())
    return item


def _legacy_teams(keys: list[KeyRecord]) -> dict[str, str]:
    """Principal → team of its oldest key, for principals that have keys but no entity item."""
    teams: dict[str, str] = {}
    for record in sorted(keys, key=lambda r: (r.created_at, r.key_id), reverse=True):
        teams[record.principal] = record.team
    return teams


def _from_item(item: Item) -> KeyRecord:
    roles = item.get("roles", {}).get("S", "")
    expires = item.get("expires_at", {}).get("S")
    obo = item.get("obo", {}).get("S")
    return KeyRecord(
        key_id=KeyId(item["key_id"]["S"]),
        digest=api_key_digest(item["pk"]["S"]),
        principal=PrincipalId(item["principal"]["S"]),
        team=TeamName(item["team"]["S"]),
        roles=frozenset(role for role in roles.split(",") if role),
        obo=PrincipalId(obo) if obo else None,
        created_at=datetime.fromisoformat(item["created_at"]["S"]),
        expires_at=datetime.fromisoformat(expires) if expires else None,
        revoked=item.get("revoked", {}).get("BOOL", False),
    )


class DynamoDbKeyStore:
    def __init__(
        self, client: DynamoDBClient, table: str, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._client = client
        self._table = table
        self._clock = clock

    def resolve(self, token: str) -> Principal | None:
        with store_errors("resolving an API key"):
            answer = self._client.get_item(
                TableName=self._table,
                Key=api_key_key(token_digest(token)),
                ConsistentRead=True,
            )
        item = answer.get("Item")
        if item is None:
            return None
        record = _from_item(item)
        return record.principal_view() if record.usable_at(self._clock()) else None

    def put(self, record: KeyRecord) -> None:
        """Raises ``ValueError`` when a key with the same token digest exists (tokens are never reused)."""
        try:
            with store_errors("storing an API key"):
                self._client.put_item(
                    TableName=self._table, Item=_to_item(record), ConditionExpression="attribute_not_exists(pk)"
                )
        except StoreUnavailableError as exc:
            if error_code(exc.__cause__) == "ConditionalCheckFailedException":
                raise ValueError("a key with this token already exists") from exc
            raise

    def records(self) -> list[KeyRecord]:
        with store_errors("listing API keys"):
            items = list(scan_all(self._client, self._table, ConsistentRead=True))
        return sorted((_from_item(item) for item in items if item["sk"]["S"] == API_KEY_SK), key=lambda r: r.key_id)

    def revoke(self, key_id: str) -> bool:
        """Mark a key revoked. Returns False when no key has that id."""
        for record in self.records():
            if record.key_id == key_id:
                with store_errors("revoking an API key"):
                    self._client.update_item(
                        TableName=self._table,
                        Key=api_key_key(record.digest),
                        UpdateExpression="SET revoked = :t",
                        ExpressionAttributeValues={":t": {"BOOL": True}},
                    )
                return True
        return False

    # --- principals and teams --------------------------------------------------------------------------------

    def principal_team(self, name: str) -> str | None:
        with store_errors("reading a principal"):
            item = self._client.get_item(TableName=self._table, Key=principal_key(name), ConsistentRead=True).get(
                "Item"
            )
        return str(item["team"]["S"]) if item is not None else None

    def principal(self, name: str) -> str | None:
        """The team ``name`` belongs to, or None when there is no such principal."""
        with store_errors("reading a principal"):
            item = self._client.get_item(TableName=self._table, Key=principal_key(name), ConsistentRead=True).get(
                "Item"
            )
            if item is not None:
                return str(item["team"]["S"])
            keys = [
                _from_item(key)
                for key in scan_all(
                    self._client,
                    self._table,
                    ConsistentRead=True,
                    FilterExpression="sk = :key AND principal = :name",
                    ExpressionAttributeValues={":key": s(API_KEY_SK), ":name": s(name)},
                )
            ]
        return _legacy_teams(keys).get(name)

    def ensure_principal(self, principal: str, team: str) -> str:
        """Create ``principal`` in ``team`` (and the team) when the principal is absent; return its team.

        A principal that exists keeps its team and nothing is written: the caller compares the answer with
        ``team`` and refuses a different one. Concurrent creations of one principal agree (conditional put).
        """
        existing = self.principal(principal)
        if existing is not None and existing != team:
            return existing
        now = s(self._clock().isoformat())
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        **principal_key(principal),
                        "team": s(team),
                        "created_at": now,
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": self._table,
                    "Key": team_key(team),
                    "UpdateExpression": "SET created_at = if_not_exists(created_at, :now)",
                    "ExpressionAttributeValues": {":now": now},
                }
            },
        ]
        try:
            with store_errors("creating a principal"):
                self._client.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except StoreUnavailableError as exc:
            if error_code(exc.__cause__) != "TransactionCanceledException":
                raise
            winner = self.principal(principal)  # created meanwhile (or already an entity): its team stands
            if winner is None:
                raise
            return winner
        return team

    def _directory(self) -> tuple[dict[str, str], list[str]]:
        """Every principal with its team (entities, and principals known only from their keys), and the teams."""
        with store_errors("listing teams"):
            items = list(scan_all(self._client, self._table, ConsistentRead=True))
        entities = {principal_of(i["pk"]["S"]): i["team"]["S"] for i in items if i["sk"]["S"] == PRINCIPAL_SK}
        legacy = _legacy_teams([_from_item(i) for i in items if i["sk"]["S"] == API_KEY_SK])
        teams = [team_of(i["pk"]["S"]) for i in items if i["sk"]["S"] == TEAM_SK]
        return {**legacy, **entities}, teams

    def members(self) -> dict[str, str]:
        """Every principal and the team it belongs to (one scan)."""
        return self._directory()[0]

    def teams(self) -> list[tuple[str, int]]:
        """Every team with how many principals belong to it, by name."""
        members, teams = self._directory()
        counts = dict.fromkeys(teams, 0)
        for team in members.values():
            counts[team] = counts.get(team, 0) + 1
        return sorted(counts.items())
