"""Reservations against period budgets in DynamoDB: the reserve and settle transactions of docs/design.md section 4.

Reserve is one ``TransactWriteItems``: condition checks on the chosen grant items and the tool's status, the
rate-limit counters, ``available -= max, reserved += max`` on the team's period item (and the principal's cap)
if ``available >= max``, the reservation record and, for an idempotent call, its record. A cancelled condition
returns the item as it was (``ALL_OLD``), so the remaining credit or the earlier outcome needs no read.
Settle is one more transaction, every transition conditioned on the reservation still being open, so it
happens exactly once whoever gets there first (settle or the sweeper, even twice).

Concurrent transactions on one item are cancelled with ``TransactionConflict``, not queued, and botocore does
not retry them: they are retried with jitter, within the caller's deadline
(:mod:`mcp_steward.adapters.dynamodb_transactions`, shared with the limits adapter,
:mod:`mcp_steward.adapters.dynamodb_budget_limits`). :class:`DynamoDbBudgetLedger` is both over the same tables.

Both transactions survive their own retries. botocore re-sends a ``TransactWriteItems`` whose answer timed out;
each attempt carries a ``ClientRequestToken`` derived from the reservation (and the attempt), so DynamoDB
answers a re-sent attempt that had committed with success. Where no token helps (moto ignores it; a token older
than DynamoDB's ten minutes), the adapter recognizes its own committed write in the cancellation: the reservation
it finds is this request's (reserve), or the reservation was closed by this very settle's token (settle).

Idempotency records (``IDEM#<record id>``, see :mod:`mcp_steward.domain.idempotency`) bind the exposed tool and
the arguments' digest, expire (``ttl``) a day after their call closes or after an unsettled call's expiry, and an
expired record still in the table (DynamoDB deletes lazily) is overwritten as if absent.

Every key (period, limit, rate, reservation, idempotency, grant and tool items) is spelled in
:mod:`mcp_steward.adapters.dynamodb_schema`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Self

from mcp_steward.adapters.dynamodb_budget_limits import DynamoDbBudgetLimits
from mcp_steward.adapters.dynamodb_common import (
    DynamoDBClient,
    Item,
    error_code,
    n,
    query_all,
    s,
    store_errors,
)
from mcp_steward.adapters.dynamodb_records import audit_item, ledger_item
from mcp_steward.adapters.dynamodb_schema import (
    LIMIT_SK,
    OPEN_SHARDS,
    RATE_LIMIT_PK,
    grant_key,
    idempotency_key,
    limit_key,
    open_shard,
    open_shard_of,
    period_key,
    principal_pk,
    rate_counter_key,
    rate_limit_key,
    rate_limit_sk,
    reservation_key,
    reservation_request_id,
    team_pk,
    tool_key,
)
from mcp_steward.adapters.dynamodb_transactions import CancelledError, Transacting
from mcp_steward.domain.budgets import (
    IDEMPOTENCY_TTL,
    NO_NESTING,
    GrantRevoked,
    IdempotencyRecord,
    NestedAllowance,
    Owner,
    OwnerKind,
    Period,
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
    idempotency_answer,
    kept_result,
    minute_of,
    nested_allowance_spent,
    rate_limited,
)
from mcp_steward.domain.idempotency import KeptResult
from mcp_steward.domain.money import Micros
from mcp_steward.domain.ports import CallConfig, StoreRejectedError, StoreUnavailableError
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.records import AuditRecord

CLOSED_TTL: Final = timedelta(days=35)
COUNTER_TTL: Final = timedelta(minutes=10)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


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


class DynamoDbReservations(Transacting):
    """The :class:`~mcp_steward.domain.ports.Reservations` and the
    :class:`~mcp_steward.domain.ports.AuditWriter` over the budgets, grants, registry, ledger and audit tables.
    ``on_retry`` is told of every conflict retry (metrics); ``sleep`` and ``clock`` are injectable."""

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
        super().__init__(client, budgets=budgets, clock=clock, sleep=sleep, on_retry=on_retry)
        self._grants = grants
        self._registry = registry
        self._ledger = ledger
        self._audit = audit

    @classmethod
    def for_tables(cls, client: DynamoDBClient, tables: Mapping[str, str], **options: Any) -> Self:
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

    # --- reserve ------------------------------------------------------------------------------------------

    def call_config(self, team: str, principal: str, tool: str) -> CallConfig:
        keys = [
            limit_key(Owner(OwnerKind.TEAM, team)),
            limit_key(Owner(OwnerKind.PRINCIPAL, principal)),
            rate_limit_key(RateScope.PRINCIPAL, principal),
            rate_limit_key(RateScope.TOOL, tool),
        ]
        with store_errors("reading a call's budget configuration"):
            answer = self._client.batch_get_item(RequestItems={self._budgets: {"Keys": keys, "ConsistentRead": True}})
            found = {(i["pk"]["S"], i["sk"]["S"]): i for i in answer.get("Responses", {}).get(self._budgets, [])}
            if answer.get("UnprocessedKeys"):
                raise StoreUnavailableError("DynamoDB left keys unprocessed (throttled)")

        def limit(pk: str) -> Micros | None:
            item = found.get((pk, LIMIT_SK))
            return Micros(int(item["limit"]["N"])) if item else None

        rates = []
        for scope, subject in ((RateScope.PRINCIPAL, principal), (RateScope.TOOL, tool)):
            item = found.get((RATE_LIMIT_PK, rate_limit_sk(scope, subject)))
            if item:
                rates.append(RateLimit(scope, subject, int(item["per_minute"]["N"])))
        return CallConfig(limit(team_pk(team)), limit(principal_pk(principal)), tuple(rates))

    def reserve(self, request: ReservationRequest) -> Reservation | Replay:
        period = request.period
        amount = request.price.maximum
        actions: list[dict[str, Any]] = []
        roles: list[tuple[str, Any]] = []  # what each action is, to read the cancellation reasons
        for grant in request.grants:
            actions.append(
                {
                    "ConditionCheck": {
                        "TableName": self._grants,
                        "Key": grant_key(grant),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                }
            )
            roles.append(("grant", grant))
        actions.append(
            {
                "ConditionCheck": {
                    "TableName": self._registry,
                    "Key": tool_key(request.server, request.tool),
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
                        "Key": reservation_key(request.parent),
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
                        "Key": period_key(owner, period),
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
                        "Key": rate_counter_key(limit.scope, limit.subject, minute),
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
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        )
        roles.append(("reservation", None))
        key = request.idempotency_key
        if key is not None:
            actions.append(
                {
                    "Put": {
                        "TableName": self._budgets,
                        "Item": {
                            **idempotency_key(key.record_id),
                            "status": s(ReservationStatus.RESERVED),
                            "request_id": s(request.request_id),
                            "tool": s(key.tool),
                            "arguments": s(key.arguments),
                            "created_at": s(_iso(request.at)),
                            "expires_at": s(_iso(request.expires_at)),
                            "ttl": n(_epoch(request.expires_at + IDEMPOTENCY_TTL)),
                        },
                        # an expired record that DynamoDB has not deleted yet is no record
                        "ConditionExpression": "attribute_not_exists(pk) OR #ttl < :now",
                        "ExpressionAttributeNames": {"#ttl": "ttl"},
                        "ExpressionAttributeValues": {":now": n(_epoch(request.at))},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            )
            roles.append(("idempotency", None))
        try:
            self._transact(actions, ("reserve", request.request_id), deadline=request.expires_at)
        except CancelledError as cancelled:
            found = _denial(cancelled.reasons, roles, request)
            if isinstance(found, (Replay, Reservation)):
                return found
            raise found from None
        return reservation

    def open_period(self, owner: Owner, period: Period) -> bool:
        with store_errors("reading a standing limit"):
            item = self._client.get_item(TableName=self._budgets, Key=limit_key(owner), ConsistentRead=True).get("Item")
        if item is None:
            return False
        limit = item["limit"]["N"]
        try:
            with store_errors("creating a period budget"):
                self._client.put_item(
                    TableName=self._budgets,
                    Item={
                        **period_key(owner, period),
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
        cost = max(0, min(settlement.cost, reservation.amount))
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._budgets,
                    "Key": reservation_key(reservation.request_id),
                    "UpdateExpression": "SET #status = :closed, cost = :cost, closed_at = :now, #ttl = :ttl, "
                    "settle_token = :token REMOVE open_shard, open_expires_at",
                    "ConditionExpression": "#status = :reserved",
                    "ExpressionAttributeNames": {"#status": "status", "#ttl": "ttl"},
                    "ExpressionAttributeValues": {
                        ":closed": s(ReservationStatus.SETTLED),
                        ":reserved": s(ReservationStatus.RESERVED),
                        ":cost": n(cost),
                        ":now": s(_iso(now)),
                        ":ttl": n(_epoch(now + CLOSED_TTL)),
                        ":token": s(settlement.token),
                    },
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        ]
        for owner in reservation.owners:
            actions.append(
                {
                    "Update": {
                        "TableName": self._budgets,
                        "Key": period_key(owner, reservation.period),
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
        if reservation.idempotency_record is not None:
            actions.append(_close_idempotency(settlement, now, self._budgets))
        try:
            self._transact(actions, ("settle", settlement.token))
        except CancelledError as cancelled:
            first = cancelled.reasons[0] if cancelled.reasons else {}
            if first.get("Code") == "ConditionalCheckFailed":
                # Closed already: by this very settle (an attempt that committed, then its answer was lost), or
                # by another closer (the sweeper, or a settle that got there first).
                token = (first.get("Item") or {}).get("settle_token", {}).get("S")
                return bool(settlement.token) and token == settlement.token
            if reservation.idempotency_record is not None and _only_failed(cancelled.reasons, len(actions) - 1):
                # The key's record now belongs to a later call (this one's expired): settle the money without it.
                self._transact(actions[:-1], ("settle-without-record", settlement.token))
                return True
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
                    ExpressionAttributeValues={":shard": s(open_shard(shard)), ":now": s(_iso(now))},
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
                    ExpressionAttributeValues={":shard": s(open_shard(shard)), **values},
                ):
                    count += page.get("Count", 0)
        return count


def _close_idempotency(settlement: Settlement, now: datetime, table: str) -> dict[str, Any]:
    """The settle's change to its idempotency record: closed with the result kept (or why not), or deleted when
    the tool never ran. Conditioned on the record still being this call's, so a later call that reused an expired
    key keeps its own."""
    reservation = settlement.reservation
    assert reservation.idempotency_record is not None
    key = idempotency_key(reservation.idempotency_record)
    if settlement.releases_key:
        # the tool never ran: the key is freed, so a retry with it runs instead of replaying the refusal
        return {
            "Delete": {
                "TableName": table,
                "Key": key,
                "ConditionExpression": "request_id = :rid",
                "ExpressionAttributeValues": {":rid": s(reservation.request_id)},
            }
        }
    kept, result = kept_result(settlement.replay, settlement.completed)
    values: Item = {
        ":settled": s(ReservationStatus.SETTLED),
        ":ttl": n(_epoch(now + IDEMPOTENCY_TTL)),
        ":outcome": s(settlement.ledger.outcome),
        ":kept": s(kept),
        ":rid": s(reservation.request_id),
    }
    names = {"#status": "status", "#ttl": "ttl"}
    expression = "SET #status = :settled, #ttl = :ttl, outcome = :outcome, kept = :kept"
    if result is not None:
        values[":result"] = s(result)
        names["#result"] = "result"
        expression += ", #result = :result"
    return {
        "Update": {
            "TableName": table,
            "Key": key,
            "UpdateExpression": expression,
            "ConditionExpression": "request_id = :rid",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


_NEVER: Final = datetime.max.replace(tzinfo=UTC)


def _only_failed(reasons: list[dict[str, Any]], index: int) -> bool:
    """Whether the action at ``index`` is the only one whose condition failed."""
    failed = [i for i, reason in enumerate(reasons) if reason.get("Code") == "ConditionalCheckFailed"]
    return failed == [index]


def _idempotency_record(item: Item) -> IdempotencyRecord:
    kept = item.get("kept", {}).get("S")
    return IdempotencyRecord(
        request_id=item.get("request_id", {}).get("S", ""),
        tool=item.get("tool", {}).get("S", ""),
        arguments=item.get("arguments", {}).get("S", ""),
        open=item.get("status", {}).get("S") == ReservationStatus.RESERVED,
        expires_at=datetime.fromisoformat(item["expires_at"]["S"]) if "expires_at" in item else _NEVER,
        kept=KeptResult(kept) if kept in KeptResult._value2member_map_ else None,
        result=item.get("result", {}).get("S"),
    )


def _ours(item: Item | None, reservation: Reservation) -> bool:
    """Whether a reservation item found in the store is this very request's (a retried reserve whose first
    attempt committed): the same request id, principal, tool and start."""
    return (
        item is not None
        and item.get("principal", {}).get("S") == reservation.principal
        and item.get("tool", {}).get("S") == reservation.tool
        and item.get("started_at", {}).get("S") == _iso(reservation.started_at)
    )


def _denial(
    reasons: list[dict[str, Any]], roles: list[tuple[str, Any]], request: ReservationRequest
) -> Exception | Replay | Reservation:
    """What a cancelled reserve means, in priority order: the exception to raise, an idempotent replay, or this
    very reservation (committed by an earlier attempt of the same transaction)."""
    failed = [
        (role, subject, reason.get("Item"))
        for (role, subject), reason in zip(roles, reasons, strict=False)
        if reason.get("Code") == "ConditionalCheckFailed"
    ]
    by_role = {role: (subject, item) for role, subject, item in reversed(failed)}
    reservation = request.reservation()
    if "reservation" in by_role and _ours(by_role["reservation"][1], reservation):
        return reservation
    if "grant" in by_role:
        return GrantRevoked()
    if "tool" in by_role:
        return ToolNotCallable()
    if "parent" in by_role:
        return nested_allowance_spent()
    if "idempotency" in by_role and request.idempotency_key is not None:
        _, item = by_role["idempotency"]
        if item is None:
            return StoreUnavailableError("the idempotency record could not be read")
        return idempotency_answer(request.idempotency_key, _idempotency_record(item), request.at)
    if "rate" in by_role:
        limit, _ = by_role["rate"]
        return rate_limited(limit, request.at)
    if "budget" in by_role:
        owner, item = by_role["budget"]
        if item is None:
            return PeriodMissing(owner, request.period)
        return budget_exceeded(owner, request.period, int(item["available"]["N"]), request.price.maximum)
    if "reservation" in by_role:
        return StoreRejectedError(f"request id {request.request_id} was already reserved by another request")
    return StoreUnavailableError("the reserve transaction was cancelled for no stated reason")


def _reservation_item(reservation: Reservation) -> Item:
    item: Item = {
        **reservation_key(reservation.request_id),
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
        "open_shard": s(open_shard_of(reservation.request_id)),
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
    if reservation.idempotency_record is not None:
        item["idempotency_record"] = s(reservation.idempotency_record)
    return item


def _reservation_of(item: Item) -> Reservation:
    def number(name: str) -> int:
        return int(item[name]["N"])

    return Reservation(
        request_id=reservation_request_id(item["pk"]["S"]),
        principal=item["principal"]["S"],
        obo=item.get("obo", {}).get("S"),
        team=item["team"]["S"],
        tool=item["tool"]["S"],
        server=item["server"]["S"],
        period=Period(item["period"]["S"]),
        amount=Micros(number("amount")),
        price=Price(Micros(number("price")), Micros(number("unit_price")), number("max_units")),
        cap=item["cap"]["BOOL"],
        idempotency_record=item.get("idempotency_record", {}).get("S"),
        started_at=datetime.fromisoformat(item["started_at"]["S"]),
        expires_at=datetime.fromisoformat(item["expires_at"]["S"]),
        allowance=NestedAllowance(number("nested_calls"), Micros(number("nested_credit")))
        if "nested_calls" in item
        else NO_NESTING,
        parent=item.get("parent", {}).get("S"),
        chain=tuple(server["S"] for server in item.get("chain", {}).get("L", [])),
    )


class DynamoDbBudgetLedger(DynamoDbReservations, DynamoDbBudgetLimits):
    """The :class:`~mcp_steward.domain.ports.BudgetLedger`: the reservations (this module) and the limits
    (:mod:`mcp_steward.adapters.dynamodb_budget_limits`) over the same tables and the same conflict-retried
    transactions (:mod:`mcp_steward.adapters.dynamodb_transactions`); what the composition root builds."""
