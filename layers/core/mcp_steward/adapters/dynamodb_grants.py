"""The grants table: ``pk = <kind>#<subject>`` (principal, team or server), ``sk = GRANT#<pattern>``."""

from __future__ import annotations

from mcp_steward.adapters.dynamodb_common import DynamoDBClient, query_all, s, store_errors
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
            self._client.put_item(
                TableName=self._table,
                Item={"pk": s(f"{grant.subject_kind}#{grant.subject}"), "sk": s(f"GRANT#{grant.pattern}")},
            )
