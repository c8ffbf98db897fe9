"""Standing budget limits, principals' caps and rate limits in the budgets table: the administration side of the
budgets (:class:`~mcp_steward.domain.ports.BudgetLimits`). The items are a ``LIMIT`` per owner, ``PERIOD#<YYYY-MM>``
per owner and month (written here only to apply a new limit to the current period) and ``RATELIMIT`` items, spelled
in :mod:`mcp_steward.adapters.dynamodb_schema`.
"""

from __future__ import annotations

from typing import Any

from mcp_steward.adapters.dynamodb_common import error_code, n, query_all, s, scan_all, store_errors
from mcp_steward.adapters.dynamodb_schema import (
    LIMIT_SK,
    RATE_LIMIT_PK,
    limit_key,
    owner_pk,
    period_key,
    rate_limit_key,
    rate_limit_of,
)
from mcp_steward.adapters.dynamodb_transactions import CancelledError, Transacting
from mcp_steward.domain.budgets import Owner, OwnerKind, Period, PeriodBudget, RateLimit
from mcp_steward.domain.money import Micros
from mcp_steward.domain.ports import LimitBelowUsageError, StoreUnavailableError


class DynamoDbBudgetLimits(Transacting):
    """The :class:`~mcp_steward.domain.ports.BudgetLimits` over the budgets table. A new limit and its effect on
    the current period item are one transaction, refused when the period has charged and reserved more."""

    def set_limit(self, owner: Owner, team: str, limit: Micros, period: Period) -> None:
        current = self.period_budget(owner, period)
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._budgets,
                    "Item": {
                        **limit_key(owner),
                        "owner_kind": s(owner.kind),
                        "owner": s(owner.name),
                        "team": s(team),
                        "limit": n(limit),
                    },
                }
            }
        ]
        if current is not None:
            # limit - old_limit is added to available; refused if available would go negative, that is if the
            # new limit is below charged + reserved (conditions have no arithmetic: available >= old - new)
            actions.append(
                {
                    "Update": {
                        "TableName": self._budgets,
                        "Key": period_key(owner, period),
                        "UpdateExpression": "SET #limit = :limit, available = available + :delta",
                        "ConditionExpression": "#limit = :old AND available >= :shrink",
                        "ExpressionAttributeNames": {"#limit": "limit"},
                        "ExpressionAttributeValues": {
                            ":limit": n(limit),
                            ":old": n(current.limit),
                            ":delta": n(limit - current.limit),
                            ":shrink": n(current.limit - limit),
                        },
                    }
                }
            )
            if current.reserved + current.charged > limit:
                raise LimitBelowUsageError(_below_usage(current, limit))
        try:
            self._transact(actions, ("limit", owner_pk(owner)))
        except CancelledError as cancelled:
            latest = self.period_budget(owner, period)
            if latest is not None and latest.reserved + latest.charged > limit:
                raise LimitBelowUsageError(_below_usage(latest, limit)) from cancelled
            raise StoreUnavailableError("the limit changed concurrently; try again") from cancelled

    def remove_limit(self, owner: Owner) -> bool:
        try:
            with store_errors("removing a limit"):
                self._client.delete_item(
                    TableName=self._budgets,
                    Key=limit_key(owner),
                    ConditionExpression="attribute_exists(pk)",
                )
        except StoreUnavailableError as exc:
            if error_code(exc.__cause__) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def period_budget(self, owner: Owner, period: Period) -> PeriodBudget | None:
        with store_errors("reading a period budget"):
            item = self._client.get_item(
                TableName=self._budgets, Key=period_key(owner, period), ConsistentRead=True
            ).get("Item")
        if item is None:
            return None
        return PeriodBudget(
            owner=owner,
            period=period,
            limit=Micros(int(item["limit"]["N"])),
            available=Micros(int(item["available"]["N"])),
            reserved=Micros(int(item["reserved"]["N"])),
            charged=Micros(int(item["charged"]["N"])),
        )

    def set_rate_limit(self, limit: RateLimit) -> None:
        key = rate_limit_key(limit.scope, limit.subject)
        with store_errors("setting a rate limit"):
            if limit.per_minute <= 0:
                self._client.delete_item(TableName=self._budgets, Key=key)
            else:
                self._client.put_item(TableName=self._budgets, Item={**key, "per_minute": n(limit.per_minute)})

    def rate_limits(self) -> list[RateLimit]:
        with store_errors("listing rate limits"):
            items = list(
                query_all(
                    self._client,
                    self._budgets,
                    KeyConditionExpression="pk = :pk",
                    ExpressionAttributeValues={":pk": s(RATE_LIMIT_PK)},
                )
            )
        limits = []
        for item in items:
            scope, subject = rate_limit_of(item["sk"]["S"])
            limits.append(RateLimit(scope, subject, int(item["per_minute"]["N"])))
        return sorted(limits, key=lambda limit: (limit.scope, limit.subject))

    def limits(self) -> list[tuple[Owner, str, Micros]]:
        with store_errors("listing limits"):
            items = list(
                scan_all(
                    self._client,
                    self._budgets,
                    FilterExpression="sk = :limit",
                    ExpressionAttributeValues={":limit": s(LIMIT_SK)},
                )
            )
        found = [
            (Owner(OwnerKind(i["owner_kind"]["S"]), i["owner"]["S"]), i["team"]["S"], Micros(int(i["limit"]["N"])))
            for i in items
        ]
        return sorted(found, key=lambda entry: (entry[0].kind, entry[0].name))


def _below_usage(current: PeriodBudget, limit: int) -> str:
    from mcp_steward.domain.money import format_credits

    used = current.reserved + current.charged
    return (
        f"{current.owner.kind.value} {current.owner.name} has {format_credits(used)} credits charged and reserved "
        f"in {current.period}; the limit cannot go below that (asked {format_credits(limit)})"
    )
