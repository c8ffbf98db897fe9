"""API keys in the keys table: item ``pk = KEY#<sha256>``, ``sk = KEY``. Only digests are stored."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from mcp_steward.adapters.dynamodb_common import DynamoDBClient, Item, s, scan_all, store_errors
from mcp_steward.domain.identity import KeyId, Principal, PrincipalId, TeamName
from mcp_steward.domain.keys import KeyRecord, token_digest
from mcp_steward.domain.ports import StoreUnavailableError


def _code(error: BaseException | None) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))


def _to_item(record: KeyRecord) -> Item:
    item: Item = {
        "pk": s(f"KEY#{record.digest}"),
        "sk": s("KEY"),
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


def _from_item(item: Item) -> KeyRecord:
    roles = item.get("roles", {}).get("S", "")
    expires = item.get("expires_at", {}).get("S")
    obo = item.get("obo", {}).get("S")
    return KeyRecord(
        key_id=KeyId(item["key_id"]["S"]),
        digest=item["pk"]["S"].removeprefix("KEY#"),
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
                Key={"pk": s(f"KEY#{token_digest(token)}"), "sk": s("KEY")},
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
            if _code(exc.__cause__) == "ConditionalCheckFailedException":
                raise ValueError("a key with this token already exists") from exc
            raise

    def records(self) -> list[KeyRecord]:
        with store_errors("listing API keys"):
            items = list(scan_all(self._client, self._table, ConsistentRead=True))
        return sorted((_from_item(item) for item in items if item["sk"]["S"] == "KEY"), key=lambda r: r.key_id)

    def revoke(self, key_id: str) -> bool:
        """Mark a key revoked. Returns False when no key has that id."""
        for record in self.records():
            if record.key_id == key_id:
                with store_errors("revoking an API key"):
                    self._client.update_item(
                        TableName=self._table,
                        Key={"pk": s(f"KEY#{record.digest}"), "sk": s("KEY")},
                        UpdateExpression="SET revoked = :t",
                        ExpressionAttributeValues={":t": {"BOOL": True}},
                    )
                return True
        return False
