"""The grants table: ``pk = <kind>#<subject>`` (principal, team or server), ``sk = GRANT#<pattern>``."""

from __future__ import annotations

from mcp_steward.adapters.dynamodb_common import DynamoDBClient, Item, query_all, s, scan_all, store_errors
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
                    ExpressionAttributeValues={":pk": s(f"{kind}#{subject}"), ":g": s("GRANT#")},
                    ConsistentRead=True,
                ):
                    grants.append(Grant(kind, subject, item["sk"]["S"].removeprefix("GRANT#")))
        return grants

    def add(self, grant: Grant) -> None:
        with store_errors("adding a grant"):
            self._client.put_item(TableName=self._table, Item=_key(grant))

    def remove(self, grant: Grant) -> bool:
        with store_errors("removing a grant"):
            answer = self._client.delete_item(TableName=self._table, Key=_key(grant), ReturnValues="ALL_OLD")
        return "Attributes" in answer

    def all(self) -> list[Grant]:
        with store_errors("listing grants"):
            items = list(scan_all(self._client, self._table, ConsistentRead=True))
        grants = []
        for item in items:
            kind, _, subject = item["pk"]["S"].partition("#")
            grants.append(Grant(SubjectKind(kind), subject, item["sk"]["S"].removeprefix("GRANT#")))
        return sorted(grants, key=str)


def _key(grant: Grant) -> Item:
    return {"pk": s(f"{grant.subject_kind}#{grant.subject}"), "sk": s(f"GRANT#{grant.pattern}")}
