"""The grants table: ``pk = <kind>#<subject>`` (principal, team or server), ``sk = GRANT#<pattern>``
(spelled in :mod:`mcp_steward.adapters.dynamodb_schema`)."""

from __future__ import annotations

from mcp_steward.adapters.dynamodb_common import DynamoDBClient, query_all, s, scan_all, store_errors
from mcp_steward.adapters.dynamodb_schema import GRANT_PREFIX, grant_key, grant_of, grant_pattern, grant_pk
from mcp_steward.domain.grants import Grant, SubjectKind


class DynamoDbGrantStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def grants_for(self, subjects: list[tuple[SubjectKind, str]]) -> list[Grant]:
        grants: list[Grant] = []
        with store_errors("reading grants"):
            for kind, subject in subjects:
                for item in query_all(
                    self._client,
                    self._table,
                    KeyConditionExpression="pk = :pk AND begins_with(sk, :g)",
                    ExpressionAttributeValues={":pk": s(grant_pk(kind, subject)), ":g": s(GRANT_PREFIX)},
                    ConsistentRead=True,
                ):
                    grants.append(Grant(kind, subject, grant_pattern(item["sk"]["S"])))
        return grants

    def add(self, grant: Grant) -> None:
        with store_errors("adding a grant"):
            self._client.put_item(TableName=self._table, Item=grant_key(grant))

    def remove(self, grant: Grant) -> bool:
        with store_errors("removing a grant"):
            answer = self._client.delete_item(TableName=self._table, Key=grant_key(grant), ReturnValues="ALL_OLD")
        return "Attributes" in answer

    def all(self) -> list[Grant]:
        with store_errors("listing grants"):
            items = list(scan_all(self._client, self._table, ConsistentRead=True))
        grants = [grant_of({"pk": item["pk"], "sk": item["sk"]}) for item in items]
        return sorted(grants, key=str)
