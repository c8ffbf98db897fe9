"""Usage aggregates (LedgerTable), team period items read for burn and alerts (BudgetsTable), and the team
list (KeysTable).

Aggregate items: ``pk = AGG#<YYYY-MM>``, ``sk = <YYYY-MM-DD>#<team>#<tool>``; attributes ``day, team, tool,
calls, cost`` (N, micros), ``units, errors, computed_at`` (ISO-8601 UTC) and ``ttl`` (end of the day +
retention, like the ledger they summarize).

Period items (written by the budget adapter): ``pk = TEAM#<team>``, ``sk = PERIOD#<YYYY-MM>`` with ``limit,
available, reserved, charged``; the standing limit ``sk = LIMIT`` with ``limit``. Alerts add one attribute
per announced threshold, ``alert_<percent>`` (S: ``<claimed at>#<token>``), and touch nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, date, datetime

from mcp_steward.adapters.dynamodb_common import (
    DynamoDBClient,
    Item,
    error_code,
    n,
    query_all,
    s,
    scan_all,
    store_errors,
)
from mcp_steward.adapters.dynamodb_records import DEFAULT_RETENTION_DAYS
from mcp_steward.adapters.dynamodb_schema import (
    LIMIT_SK,
    aggregate_day_prefix,
    aggregate_pk,
    aggregate_sk,
    iso_utc,
    key,
    period_sk,
    team_pk,
)
from mcp_steward.domain.ports import StoreUnavailableError
from mcp_steward.domain.usage import THRESHOLDS, DailyUsage, PeriodBalance, period_of

_DAY_S = 86_400


def aggregate_item(row: DailyUsage, retention_days: int = DEFAULT_RETENTION_DAYS) -> Item:
    day_end = datetime(row.day.year, row.day.month, row.day.day, tzinfo=UTC).timestamp() + _DAY_S
    return {
        "pk": s(aggregate_pk(period_of(row.day))),
        "sk": s(aggregate_sk(row.day, row.team, row.tool)),
        "day": s(row.day.isoformat()),
        "team": s(row.team),
        "tool": s(row.tool),
        "calls": n(row.calls),
        "cost": n(row.cost_micros),
        "units": n(row.units),
        "errors": n(row.errors),
        "computed_at": s(iso_utc(row.computed_at)),
        "ttl": n(int(day_end) + retention_days * _DAY_S),
    }


def aggregate_from_item(item: Item) -> DailyUsage:
    return DailyUsage(
        day=date.fromisoformat(item["day"]["S"]),
        team=item["team"]["S"],
        tool=item["tool"]["S"],
        calls=int(item["calls"]["N"]),
        cost_micros=int(item["cost"]["N"]),
        units=int(item["units"]["N"]),
        errors=int(item["errors"]["N"]),
        computed_at=datetime.fromisoformat(item["computed_at"]["S"]),
    )


class DynamoDbAggregates:
    def __init__(
        self, client: DynamoDBClient, ledger_table: str, *, retention_days: int = DEFAULT_RETENTION_DAYS
    ) -> None:
        self._client = client
        self._table = ledger_table
        self._retention_days = retention_days

    def replace_day(self, day: date, teams: Collection[str], rows: list[DailyUsage]) -> None:
        fresh = {(row.team, row.tool) for row in rows}
        with store_errors("writing usage aggregates"):
            existing = query_all(
                self._client,
                self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :day)",
                ExpressionAttributeValues={
                    ":pk": s(aggregate_pk(period_of(day))),
                    ":day": s(aggregate_day_prefix(day)),
                },
                ConsistentRead=True,
            )
            stale = [
                item
                for item in existing
                if item["team"]["S"] in teams and (item["team"]["S"], item["tool"]["S"]) not in fresh
            ]
            for item in stale:
                self._client.delete_item(TableName=self._table, Key={"pk": item["pk"], "sk": item["sk"]})
            for row in rows:
                self._client.put_item(TableName=self._table, Item=aggregate_item(row, self._retention_days))

    def month(self, period: str, team: str | None = None) -> list[DailyUsage]:
        with store_errors("reading usage aggregates"):
            items = list(
                query_all(
                    self._client,
                    self._table,
                    KeyConditionExpression="pk = :pk",
                    ExpressionAttributeValues={":pk": s(aggregate_pk(period))},
                )
            )
        rows = [aggregate_from_item(item) for item in items]
        return sorted((row for row in rows if team is None or row.team == team), key=lambda r: (r.day, r.team, r.tool))


def _balance(item: Item, team: str, period: str, *, materialized: bool) -> PeriodBalance:
    limit = int(item["limit"]["N"])
    if not materialized:
        return PeriodBalance(team, period, limit, limit, 0, 0, materialized=False)
    return PeriodBalance(
        team=team,
        period=period,
        limit=limit,
        available=int(item["available"]["N"]),
        reserved=int(item["reserved"]["N"]),
        charged=int(item["charged"]["N"]),
        alerts=frozenset(t for t in THRESHOLDS if f"alert_{t}" in item),
    )


class DynamoDbPeriods:
    """Team period items: read (``GetItem``, strongly consistent) and marked with announced thresholds."""

    def __init__(
        self, client: DynamoDBClient, budgets_table: str, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._client = client
        self._table = budgets_table
        self._clock = clock

    def _get(self, team: str, sk: str) -> Item | None:
        answer = self._client.get_item(TableName=self._table, Key=key(team_pk(team), sk), ConsistentRead=True)
        return answer.get("Item")

    def balance(self, team: str, period: str) -> PeriodBalance | None:
        with store_errors("reading a team's budget"):
            item = self._get(team, period_sk(period))
            if item is not None:
                return _balance(item, team, period, materialized=True)
            standing = self._get(team, LIMIT_SK)
        return _balance(standing, team, period, materialized=False) if standing is not None else None

    def claim_alert(self, team: str, period: str, threshold: int, token: str) -> bool:
        try:
            with store_errors("recording a budget alert"):
                self._client.update_item(
                    TableName=self._table,
                    Key=key(team_pk(team), period_sk(period)),
                    UpdateExpression="SET #alert = :claim",
                    ConditionExpression="attribute_exists(pk) AND attribute_not_exists(#alert)",
                    ExpressionAttributeNames={"#alert": f"alert_{threshold}"},
                    ExpressionAttributeValues={":claim": s(f"{iso_utc(self._clock())}#{token}")},
                )
        except StoreUnavailableError as exc:
            if error_code(exc.__cause__) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_alert(self, team: str, period: str, threshold: int, token: str) -> None:
        try:
            with store_errors("releasing a budget alert"):
                self._client.update_item(
                    TableName=self._table,
                    Key=key(team_pk(team), period_sk(period)),
                    UpdateExpression="REMOVE #alert",
                    ConditionExpression="contains(#alert, :token)",  # only this writer's own claim
                    ExpressionAttributeNames={"#alert": f"alert_{threshold}"},
                    ExpressionAttributeValues={":token": s(f"#{token}")},
                )
        except StoreUnavailableError as exc:
            if error_code(exc.__cause__) != "ConditionalCheckFailedException":
                raise


class DynamoDbTeams:
    """Every team that holds an API key: the teams whose calls can be in the ledger.

    A Scan of the keys table projected to ``team`` only (the role's policy allows no other attribute).
    """

    def __init__(self, client: DynamoDBClient, keys_table: str) -> None:
        self._client = client
        self._table = keys_table

    def __call__(self) -> list[str]:
        with store_errors("listing teams"):
            items = list(
                scan_all(
                    self._client,
                    self._table,
                    Select="SPECIFIC_ATTRIBUTES",
                    ProjectionExpression="#team",
                    ExpressionAttributeNames={"#team": "team"},
                )
            )
        return sorted({item["team"]["S"] for item in items if "team" in item})
