"""Reservations against period budgets in DynamoDB: the reserve and settle transactions of DESIGN.md section 4.

Reserve is one ``TransactWriteItems``: condition checks on the chosen grant items and the tool's status, the
rate-limit counters, ``available -= max, reserved += max`` on the team's period item (and the principal's cap)
if ``available >= max``, the reservation record and, for an idempotent call, its record. A cancelled condition
returns the item as it was (``ALL_OLD``), so the remaining credit or the earlier outcome needs no read.
Settle is one more transaction, every transition conditioned on the reservation still being open, so it
happens exactly once whoever gets there first (settle or the sweeper, even twice).

Concurrent transactions on one item are cancelled with ``TransactionConflict``, not queued, and botocore does
not retry them: they are retried here with jitter, within the caller's deadline.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from mcp_steward.adapters.dynamodb_common import DynamoDBClient, Item, error_code, query_all, s, scan_all, store_errors
from mcp_steward.adapters.dynamodb_records import audit_item, ledger_item
from mcp_steward.domain.budgets import (
    NO_NESTING,
    Denied,
    GrantRevoked,
    NestedAllowance,
    Owner,
    OwnerKind,
    Period,
    PeriodBudget,
    PeriodMissing,
    RateLimit,
    RateScope,
    Replay,
    Reservation,
    ReservationRequest,
    ReservationStatus,
    Settlement,
    ToolNotCallable,
    budget_exceeded,
    minute_of,
    nested_allowance_spent,
    rate_limited,
)
from mcp_steward.domain.money import Micros
from mcp_steward.domain.ports import CallConfig, LimitBelowUsageError, StoreUnavailableError
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.records import AuditRecord

OPEN_SHARDS: Final = 8
CLOSED_TTL: Final = timedelta(days=35)
IDEMPOTENCY_TTL: Final = timedelta(hours=24)
#: Results of idempotent calls are kept up to this size (serialized); larger ones answer "not kept".
MAX_KEPT_RESULT_BYTES: Final = 64 * 1024
COUNTER_TTL: Final = timedelta(minutes=10)
MAX_CONFLICT_RETRIES: Final = 8


def n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


def _idempotency_pk(principal: str, key: str) -> str:
    return f"IDEM#{principal}#{hashlib.sha256(key.encode()).hexdigest()}"


def _open_shard(request_id: str) -> str:
    return f"OPEN#{int(hashlib.sha256(request_id.encode()).hexdigest(), 16) % OPEN_SHARDS}"


class _CancelledError(Exception):
    def __init__(self, reasons: list[dict[str, Any]]) -> None:
        super().__init__("transaction cancelled")
        self.reasons = reasons

    @property
    def conflict_only(self) -> bool:
        codes = {reason.get("Code", "None") for reason in self.reasons}
        return "TransactionConflict" in codes and codes <= {"TransactionConflict", "None"}


def _tool_condition(pin: str | None) -> dict[str, Any]:
    """The tool is approved with the pin the caller resolved, so a quarantine or a re-pin applies at once."""
    if pin is None:
        pinned, values = "attribute_not_exists(pinned_hash)", {":approved": s("approved")}
    else:
        pinned, values = "pinned_hash = :pin", {":approved": s("approved"), ":pin": s(pin)}
    return {
        "ConditionExpression": f"#status = :approved AND {pinned}",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": values,
    }


class DynamoDbBudgetLedger:
    """The :class:`~mcp_steward.domain.ports.BudgetLedger` over the budgets, grants, registry, ledger and audit
    tables. ``on_retry`` is told of every conflict retry (metrics); ``sleep`` and ``clock`` are injectable."""

    def __init__(
        self,
        client: DynamoDBClient,
        *,
        budgets: str,
        grants: str,
        registry: str,
        ledger: str,
        audit: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[], None] = lambda: None,
    ) -> None:
        self._client = client
        self._budgets = budgets
        self._grants = grants
        self._registry = registry
        self._ledger = ledger
        self._audit = audit
        self._clock = clock
        self._sleep = sleep
        self._on_retry = on_retry

    @classmethod
    def for_tables(cls, client: DynamoDBClient, tables: Mapping[str, str], **options: Any) -> DynamoDbBudgetLedger:
        """From a role → table name map with ``budgets``, ``grants``, ``registry``, ``ledger`` and ``audit``."""
        return cls(
            client,
            budgets=tables["budgets"],
            grants=tables["grants"],
            registry=tables["registry"],
            ledger=tables["ledger"],
            audit=tables["audit"],
            **options,
        )

    # --- transactions -------------------------------------------------------------------------------------

    def _transact(self, actions: list[dict[str, Any]], deadline: datetime | None = None) -> None:
        """Run one transaction, retrying only ``TransactionConflict`` cancellations, with jitter."""
        for attempt in range(MAX_CONFLICT_RETRIES + 1):
            try:
                self._client.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
                return
            except ClientError as exc:
                error = exc.response.get("Error", {})
                if error.get("Code") != "TransactionCanceledException":
                    raise StoreUnavailableError(f"DynamoDB answered {error.get('Code')}") from exc
                reasons: list[dict[str, Any]] = [dict(r) for r in exc.response.get("CancellationReasons", [])]
                cancelled = _CancelledError(reasons)
                out_of_time = deadline is not None and self._clock() >= deadline
                if not cancelled.conflict_only or attempt == MAX_CONFLICT_RETRIES or out_of_time:
                    if cancelled.conflict_only:
                        raise StoreUnavailableError("DynamoDB kept cancelling the transaction (conflicts)") from exc
                    raise cancelled from exc
                self._on_retry()
                self._sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 - jitter, not a secret
            except BotoCoreError as exc:
                raise StoreUnavailableError(f"DynamoDB: {type(exc).__name__}") from exc

    # --- reserve ------------------------------------------------------------------------------------------

    def call_config(self, team: str, principal: str, tool: str) -> CallConfig:
        keys = [
            {"pk": s(f"TEAM#{team}"), "sk": s("LIMIT")},
            {"pk": s(f"PRINCIPAL#{principal}"), "sk": s("LIMIT")},
            {"pk": s("RATELIMIT"), "sk": s(f"{RateScope.PRINCIPAL}#{principal}")},
            {"pk": s("RATELIMIT"), "sk": s(f"{RateScope.TOOL}#{tool}")},
        ]
        with store_errors("reading a call's budget configuration"):
            answer = self._client.batch_get_item(RequestItems={self._budgets: {"Keys": keys, "ConsistentRead": True}})
            found = {(i["pk"]["S"], i["sk"]["S"]): i for i in answer.get("Responses", {}).get(self._budgets, [])}
            if answer.get("UnprocessedKeys"):
                raise StoreUnavailableError("DynamoDB left keys unprocessed (throttled)")

        def limit(pk: str) -> Micros | None:
            item = found.get((pk, "LIMIT"))
            return Micros(int(item["limit"]["N"])) if item else None

        rates = []
        for scope, subject in ((RateScope.PRINCIPAL, principal), (RateScope.TOOL, tool)):
            item = found.get(("RATELIMIT", f"{scope}#{subject}"))
            if item:
                rates.append(RateLimit(scope, subject, int(item["per_minute"]["N"])))
        return CallConfig(limit(f"TEAM#{team}"), limit(f"PRINCIPAL#{principal}"), tuple(rates))

    def reserve(self, request: ReservationRequest) -> Reservation | Replay:
        principal = request.principal
        period = request.period
        amount = request.price.maximum
        actions: list[dict[str, Any]] = []
        roles: list[tuple[str, Any]] = []  # what each action is, to read the cancellation reasons
        for grant in request.grants:
            actions.append(
                {
                    "ConditionCheck": {
                        "TableName": self._grants,
                        "Key": {"pk": s(f"{grant.subject_kind}#{grant.subject}"), "sk": s(f"GRANT#{grant.pattern}")},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                }
            )
            roles.append(("grant", grant))
        actions.append(
            {
                "ConditionCheck": {
                    "TableName": self._registry,
                    "Key": {"pk": s(f"SERVER#{request.server}"), "sk": s(f"TOOL#{request.tool}")},
                    **_tool_condition(request.pin),
                }
            }
        )
        roles.append(("tool", None))
        reservation = request.reservation()
        if request.parent is not None:
            # A nested call spends from its parent's allowance, while the parent call is still running.
            actions.append(
                {
                    "Update": {
                        "TableName": self._budgets,
                        "Key": {"pk": s(f"RES#{request.parent}"), "sk": s("RES")},
                        "UpdateExpression": "SET nested_calls_left = nested_calls_left - :one, "
                        "nested_credit_left = nested_credit_left - :amount",
                        "ConditionExpression": "#status = :reserved AND nested_calls_left >= :one "
                        "AND nested_credit_left >= :amount",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {
                            ":one": n(1),
                            ":amount": n(amount),
                            ":reserved": s(ReservationStatus.RESERVED),
                        },
                    }
                }
            )
            roles.append(("parent", None))
        for owner in reservation.owners:
            actions.append(
                {
                    "Update": {
                        "TableName": self._budgets,
                        "Key": {"pk": s(owner.key), "sk": s(f"PERIOD#{period}")},
                        "UpdateExpression": "SET available = available - :amount, reserved = reserved + :amount",
                        "ConditionExpression": "available >= :amount",
                        "ExpressionAttributeValues": {":amount": n(amount)},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            )
            roles.append(("budget", owner))
        minute = minute_of(request.at)
        for limit in request.rate_limits:
            actions.append(
                {
                    "Update": {
                        "TableName": self._budgets,
                        "Key": {"pk": s(f"RATE#{limit.scope}#{limit.subject}"), "sk": s(f"MIN#{minute}")},
                        "UpdateExpression": "ADD #count :one SET #ttl = :ttl",
                        "ConditionExpression": "attribute_not_exists(#count) OR #count < :limit",
                        "ExpressionAttributeNames": {"#count": "count", "#ttl": "ttl"},
                        "ExpressionAttributeValues": {
                            ":one": n(1),
                            ":limit": n(limit.per_minute),
                            ":ttl": n(_epoch(request.at + COUNTER_TTL)),
                        },
                    }
                }
            )
            roles.append(("rate", limit))
        actions.append(
            {
                "Put": {
                    "TableName": self._budgets,
                    "Item": _reservation_item(reservation),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        )
        roles.append(("reservation", None))
        if request.idempotency_key is not None:
            actions.append(
                {
                    "Put": {
                        "TableName": self._budgets,
                        "Item": {
                            "pk": s(_idempotency_pk(principal.id, request.idempotency_key)),
                            "sk": s("IDEM"),
                            "status": s(ReservationStatus.RESERVED),
                            "request_id": s(request.request_id),
                            "tool": s(request.tool),
                            "created_at": s(_iso(request.at)),
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            )
            roles.append(("idempotency", None))
        try:
            self._transact(actions, deadline=request.expires_at)
        except _CancelledError as cancelled:
            found = _denial(cancelled.reasons, roles, request)
            if isinstance(found, Replay):
                return found
            raise found from None
        return reservation

    def open_period(self, owner: Owner, period: Period) -> bool:
        with store_errors("reading a standing limit"):
            item = self._client.get_item(
                TableName=self._budgets, Key={"pk": s(owner.key), "sk": s("LIMIT")}, ConsistentRead=True
            ).get("Item")
        if item is None:
            return False
        limit = item["limit"]["N"]
        try:
            with store_errors("creating a period budget"):
                self._client.put_item(
                    TableName=self._budgets,
                    Item={
                        "pk": s(owner.key),
                        "sk": s(f"PERIOD#{period}"),
                        "owner_kind": s(owner.kind),
                        "owner": s(owner.name),
                        "team": item.get("team", s(owner.name)),
                        "period": s(period),
                        "limit": {"N": limit},
                        "available": {"N": limit},
                        "reserved": n(0),
                        "charged": n(0),
                    },
                    ConditionExpression="attribute_not_exists(pk)",
                )
        except StoreUnavailableError as exc:
            if error_code(exc.__cause__) != "ConditionalCheckFailedException":
                raise  # another call created it first: fine
        return True

    # --- settle -------------------------------------------------------------------------------------------

    def settle(self, settlement: Settlement) -> bool:
        reservation = settlement.reservation
        now = self._clock()
        cost = min(settlement.cost, reservation.amount)
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._budgets,
                    "Key": {"pk": s(f"RES#{reservation.request_id}"), "sk": s("RES")},
                    "UpdateExpression": "SET #status = :closed, cost = :cost, closed_at = :now, #ttl = :ttl "
                    "REMOVE open_shard, open_expires_at",
                    "ConditionExpression": "#status = :reserved",
                    "ExpressionAttributeNames": {"#status": "status", "#ttl": "ttl"},
                    "ExpressionAttributeValues": {
                        ":closed": s(ReservationStatus.SETTLED),
                        ":reserved": s(ReservationStatus.RESERVED),
                        ":cost": n(cost),
                        ":now": s(_iso(now)),
                        ":ttl": n(_epoch(now + CLOSED_TTL)),
                    },
                }
            }
        ]
        for owner in reservation.owners:
            actions.append(
                {
                    "Update": {
                        "TableName": self._budgets,
                        "Key": {"pk": s(owner.key), "sk": s(f"PERIOD#{reservation.period}")},
                        "UpdateExpression": "SET reserved = reserved - :amount, charged = charged + :cost, "
                        "available = available + :refund",
                        "ExpressionAttributeValues": {
                            ":amount": n(reservation.amount),
                            ":cost": n(cost),
                            ":refund": n(reservation.amount - cost),
                        },
                    }
                }
            )
        actions.append({"Put": {"TableName": self._ledger, "Item": ledger_item(settlement.ledger)}})
        actions.append({"Put": {"TableName": self._audit, "Item": audit_item(settlement.audit)}})
        if reservation.idempotency_key is not None:
            kept = _kept(settlement.replay)
            values: Item = {
                ":settled": s(ReservationStatus.SETTLED),
                ":ttl": n(_epoch(now + IDEMPOTENCY_TTL)),
                ":outcome": s(settlement.ledger.outcome),
            }
            expression = "SET #status = :settled, #ttl = :ttl, outcome = :outcome"
            if kept is not None:
                values[":result"] = s(kept)
                expression += ", #result = :result"
            actions.append(
                {
                    "Update": {
                        "TableName": self._budgets,
                        "Key": {
                            "pk": s(_idempotency_pk(reservation.principal, reservation.idempotency_key)),
                            "sk": s("IDEM"),
                        },
                        "UpdateExpression": expression,
                        "ExpressionAttributeNames": {"#status": "status", "#ttl": "ttl", "#result": "result"}
                        if kept is not None
                        else {"#status": "status", "#ttl": "ttl"},
                        "ExpressionAttributeValues": values,
                    }
                }
            )
        try:
            self._transact(actions)
        except _CancelledError as cancelled:
            if cancelled.reasons and cancelled.reasons[0].get("Code") == "ConditionalCheckFailed":
                return False  # already closed: by the sweeper, or a settle that got there first
            raise StoreUnavailableError("the settle transaction was cancelled") from cancelled
        return True

    def record(self, audit: AuditRecord) -> None:
        with store_errors("writing an audit record"):
            self._client.put_item(TableName=self._audit, Item=audit_item(audit))

    # --- sweeper ------------------------------------------------------------------------------------------

    def open_reservations(self, now: datetime) -> list[Reservation]:
        found = []
        with store_errors("finding abandoned reservations"):
            for shard in range(OPEN_SHARDS):
                for key in query_all(
                    self._client,
                    self._budgets,
                    IndexName="OpenReservations",
                    KeyConditionExpression="open_shard = :shard AND open_expires_at < :now",
                    ExpressionAttributeValues={":shard": s(f"OPEN#{shard}"), ":now": s(_iso(now))},
                ):
                    item = self._client.get_item(
                        TableName=self._budgets, Key={"pk": key["pk"], "sk": key["sk"]}, ConsistentRead=True
                    ).get("Item")
                    if item is not None and item["status"]["S"] == ReservationStatus.RESERVED:
                        found.append(_reservation_of(item))
        return found

    def count_open_reservations(self, expired_before: datetime | None = None) -> int:
        condition, values = "open_shard = :shard", {}
        if expired_before is not None:
            condition += " AND open_expires_at < :before"
            values[":before"] = s(_iso(expired_before))
        count = 0
        with store_errors("counting open reservations"):
            for shard in range(OPEN_SHARDS):
                paginator = self._client.get_paginator("query")
                for page in paginator.paginate(
                    TableName=self._budgets,
                    IndexName="OpenReservations",
                    Select="COUNT",
                    KeyConditionExpression=condition,
                    ExpressionAttributeValues={":shard": s(f"OPEN#{shard}"), **values},
                ):
                    count += page.get("Count", 0)
        return count

    # --- administration -----------------------------------------------------------------------------------

    def set_limit(self, owner: Owner, team: str, limit: Micros, period: Period) -> None:
        current = self.period_budget(owner, period)
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._budgets,
                    "Item": {
                        "pk": s(owner.key),
                        "sk": s("LIMIT"),
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
                        "Key": {"pk": s(owner.key), "sk": s(f"PERIOD#{period}")},
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
            self._transact(actions)
        except _CancelledError as cancelled:
            latest = self.period_budget(owner, period)
            if latest is not None and latest.reserved + latest.charged > limit:
                raise LimitBelowUsageError(_below_usage(latest, limit)) from cancelled
            raise StoreUnavailableError("the limit changed concurrently; try again") from cancelled

    def remove_limit(self, owner: Owner) -> bool:
        try:
            with store_errors("removing a limit"):
                self._client.delete_item(
                    TableName=self._budgets,
                    Key={"pk": s(owner.key), "sk": s("LIMIT")},
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
                TableName=self._budgets, Key={"pk": s(owner.key), "sk": s(f"PERIOD#{period}")}, ConsistentRead=True
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
        key = {"pk": s("RATELIMIT"), "sk": s(f"{limit.scope}#{limit.subject}")}
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
                    ExpressionAttributeValues={":pk": s("RATELIMIT")},
                )
            )
        limits = []
        for item in items:
            scope, _, subject = item["sk"]["S"].partition("#")
            limits.append(RateLimit(RateScope(scope), subject, int(item["per_minute"]["N"])))
        return sorted(limits, key=lambda limit: (limit.scope, limit.subject))

    def limits(self) -> list[tuple[Owner, str, Micros]]:
        with store_errors("listing limits"):
            items = list(
                scan_all(
                    self._client,
                    self._budgets,
                    FilterExpression="sk = :limit",
                    ExpressionAttributeValues={":limit": s("LIMIT")},
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


def _kept(replay: dict[str, Any] | None) -> str | None:
    if replay is None:
        return None
    encoded = json.dumps(replay, separators=(",", ":"), ensure_ascii=False)
    return encoded if len(encoded.encode()) <= MAX_KEPT_RESULT_BYTES else None


def _denial(
    reasons: list[dict[str, Any]], roles: list[tuple[str, Any]], request: ReservationRequest
) -> Exception | Replay:
    """What a cancelled reserve means, in priority order: the exception to raise, or an idempotent replay."""
    failed = [
        (role, subject, reason.get("Item"))
        for (role, subject), reason in zip(roles, reasons, strict=False)
        if reason.get("Code") == "ConditionalCheckFailed"
    ]
    by_role = {role: (subject, item) for role, subject, item in reversed(failed)}
    if "grant" in by_role:
        return GrantRevoked()
    if "tool" in by_role:
        return ToolNotCallable()
    if "parent" in by_role:
        return nested_allowance_spent()
    if "idempotency" in by_role:
        _, item = by_role["idempotency"]
        status = (item or {}).get("status", {}).get("S")
        if status == ReservationStatus.RESERVED:
            return Denied("idempotency_in_progress", "An earlier call with this idempotency key is still running.")
        result = (item or {}).get("result", {}).get("S")
        if result is None:
            return Denied(
                "idempotency_result_not_kept",
                "An earlier call with this idempotency key completed, but its result was too large to keep.",
            )
        return Replay(json.loads(result))
    if "rate" in by_role:
        limit, _ = by_role["rate"]
        return rate_limited(limit, request.at)
    if "budget" in by_role:
        owner, item = by_role["budget"]
        if item is None:
            return PeriodMissing(owner, request.period)
        return budget_exceeded(owner, request.period, int(item["available"]["N"]), request.price.maximum)
    if "reservation" in by_role:
        return StoreUnavailableError(f"request id {request.request_id} was already reserved")
    return StoreUnavailableError("the reserve transaction was cancelled for no stated reason")


def _reservation_item(reservation: Reservation) -> Item:
    item: Item = {
        "pk": s(f"RES#{reservation.request_id}"),
        "sk": s("RES"),
        "status": s(ReservationStatus.RESERVED),
        "principal": s(reservation.principal),
        "team": s(reservation.team),
        "tool": s(reservation.tool),
        "server": s(reservation.server),
        "period": s(reservation.period),
        "amount": n(reservation.amount),
        "price": n(reservation.price.price),
        "unit_price": n(reservation.price.unit_price),
        "max_units": n(reservation.price.max_units),
        "cap": {"BOOL": reservation.cap},
        "started_at": s(_iso(reservation.started_at)),
        "expires_at": s(_iso(reservation.expires_at)),
        # the sparse index's keys: present only while the reservation is open (removed when it closes)
        "open_shard": s(_open_shard(reservation.request_id)),
        "open_expires_at": s(_iso(reservation.expires_at)),
        "nested_calls": n(reservation.allowance.calls),
        "nested_credit": n(reservation.allowance.credit),
        "nested_calls_left": n(reservation.allowance.calls),
        "nested_credit_left": n(reservation.allowance.credit),
    }
    if reservation.parent is not None:
        item["parent"] = s(reservation.parent)
        item["chain"] = {"L": [s(server) for server in reservation.chain]}
    if reservation.obo is not None:
        item["obo"] = s(reservation.obo)
    if reservation.idempotency_key is not None:
        item["idempotency_key"] = s(reservation.idempotency_key)
    return item


def _reservation_of(item: Item) -> Reservation:
    def number(name: str) -> int:
        return int(item[name]["N"])

    return Reservation(
        request_id=item["pk"]["S"].removeprefix("RES#"),
        principal=item["principal"]["S"],
        obo=item.get("obo", {}).get("S"),
        team=item["team"]["S"],
        tool=item["tool"]["S"],
        server=item["server"]["S"],
        period=Period(item["period"]["S"]),
        amount=Micros(number("amount")),
        price=Price(Micros(number("price")), Micros(number("unit_price")), number("max_units")),
        cap=item["cap"]["BOOL"],
        idempotency_key=item.get("idempotency_key", {}).get("S"),
        started_at=datetime.fromisoformat(item["started_at"]["S"]),
        expires_at=datetime.fromisoformat(item["expires_at"]["S"]),
        allowance=NestedAllowance(number("nested_calls"), Micros(number("nested_credit")))
        if "nested_calls" in item
        else NO_NESTING,
        parent=item.get("parent", {}).get("S"),
        chain=tuple(server["S"] for server in item.get("chain", {}).get("L", [])),
    )
