"""Ledger entries and audit records in DynamoDB: the item builders the settle transaction writes, their
inverse parsers, and the readers the usage report, the aggregator and ``steward audit`` use.

Ledger (LedgerTable), write-sharded by team, day and ``shard_of(request_id)``:
``pk = LEDGER#<team>#<YYYY-MM-DD>#<shard>``, ``sk = <at>#<request_id>``; attributes ``request_id, at,
principal, obo`` (only when set), ``team, tool, server, cost`` (N, micros), ``units, outcome, latency_ms``
and ``ttl`` (epoch seconds: at + retention).

Audit (AuditTable), sharded by day: ``pk = AUDIT#<YYYY-MM-DD>#<shard>``, ``sk = <at>#<request_id>#<kind>``;
attributes ``kind, at, request_id``, each of ``principal, obo, team, tool, decision, reason, actor, action``
only when set, ``detail`` (compact JSON) and ``ttl``.

``at`` is ISO-8601 UTC with microseconds (``2026-11-24T21:31:05.123456Z``), so ``sk`` sorts by time. A naive
datetime is taken as UTC. Reads are eventually consistent (reports and the aggregator tolerate a second of
lag; the aggregator recomputes every run). Items past their ``ttl`` but not yet deleted by DynamoDB are
still returned. The keys are spelled in :mod:`mcp_steward.adapters.dynamodb_schema` (``shard_of``, ``iso_utc``,
``ledger_pk`` and ``audit_pk`` are re-exported here for the readers that import them from this module).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator
from datetime import UTC, date, datetime
from typing import Final

from mcp_steward.adapters.dynamodb_common import DynamoDBClient, Item, n, query_all, s, scan_all, store_errors
from mcp_steward.adapters.dynamodb_schema import (
    LEDGER_PREFIX,
    SHARDS,
    audit_pk,
    audit_sk,
    audit_sk_bounds,
    iso_utc,
    ledger_pk,
    ledger_sk,
    shard_of,
)
from mcp_steward.domain.records import AuditRecord, Decision, LedgerEntry, Outcome

DEFAULT_RETENTION_DAYS: Final = 400
_DAY_S: Final = 86_400
_OPTIONAL_AUDIT: Final = ("principal", "obo", "team", "tool", "reason", "actor", "action")

__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "SHARDS",
    "DynamoDbRecords",
    "audit_item",
    "audit_pk",
    "audit_record_from_item",
    "days",
    "iso_utc",
    "ledger_entry_from_item",
    "ledger_item",
    "ledger_pk",
    "shard_of",
]


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _ttl(at: datetime, retention_days: int) -> dict[str, str]:
    return {"N": str(int(_utc(at).timestamp()) + retention_days * _DAY_S)}


def days(since: date, until: date) -> Iterator[date]:
    """Every day from ``since`` to ``until`` inclusive (nothing when ``until < since``)."""
    for ordinal in range(since.toordinal(), until.toordinal() + 1):
        yield date.fromordinal(ordinal)


def ledger_item(entry: LedgerEntry, retention_days: int = DEFAULT_RETENTION_DAYS) -> Item:
    """The LedgerTable item of one call (low-level attribute values, ready for ``Put``)."""
    at = _utc(entry.at)
    item: Item = {
        "pk": s(ledger_pk(entry.team, at.date(), shard_of(entry.request_id))),
        "sk": s(ledger_sk(at, entry.request_id)),
        "request_id": s(entry.request_id),
        "at": s(iso_utc(at)),
        "principal": s(entry.principal),
        "team": s(entry.team),
        "tool": s(entry.tool),
        "server": s(entry.server),
        "cost": n(entry.cost_micros),
        "units": n(entry.units),
        "outcome": s(entry.outcome.value),
        "latency_ms": n(entry.latency_ms),
        "ttl": _ttl(at, retention_days),
    }
    if entry.obo is not None:
        item["obo"] = s(entry.obo)
    if entry.parent is not None:
        item["parent"] = s(entry.parent)
        item["chain"] = {"L": [s(server) for server in entry.chain]}
    return item


def ledger_entry_from_item(item: Item) -> LedgerEntry:
    """The inverse of :func:`ledger_item`."""
    obo = item.get("obo", {}).get("S")
    return LedgerEntry(
        request_id=item["request_id"]["S"],
        at=datetime.fromisoformat(item["at"]["S"]),
        principal=item["principal"]["S"],
        obo=obo,
        team=item["team"]["S"],
        tool=item["tool"]["S"],
        server=item["server"]["S"],
        cost_micros=int(item["cost"]["N"]),
        units=int(item["units"]["N"]),
        outcome=Outcome(item["outcome"]["S"]),
        latency_ms=int(item["latency_ms"]["N"]),
        parent=item.get("parent", {}).get("S"),
        chain=tuple(server["S"] for server in item.get("chain", {}).get("L", [])),
    )


def audit_item(record: AuditRecord, retention_days: int = DEFAULT_RETENTION_DAYS) -> Item:
    """The AuditTable item of one decision or admin action (low-level attribute values, ready for ``Put``)."""
    at = _utc(record.at)
    item: Item = {
        "pk": s(audit_pk(at.date(), shard_of(record.request_id))),
        "sk": s(audit_sk(at, record.request_id, record.kind)),
        "kind": s(record.kind),
        "at": s(iso_utc(at)),
        "request_id": s(record.request_id),
        "detail": s(json.dumps(record.detail, separators=(",", ":"), sort_keys=True)),
        "ttl": _ttl(at, retention_days),
    }
    for name in _OPTIONAL_AUDIT:
        value = getattr(record, name)
        if value is not None:
            item[name] = s(value)
    if record.decision is not None:
        item["decision"] = s(record.decision.value)
    return item


def audit_record_from_item(item: Item) -> AuditRecord:
    """The inverse of :func:`audit_item`."""
    optional = {name: item[name]["S"] for name in _OPTIONAL_AUDIT if name in item}
    decision = item.get("decision", {}).get("S")
    return AuditRecord(
        kind=item["kind"]["S"],
        at=datetime.fromisoformat(item["at"]["S"]),
        request_id=item["request_id"]["S"],
        decision=Decision(decision) if decision is not None else None,
        detail=json.loads(item.get("detail", {}).get("S", "{}")),
        **optional,
    )


class DynamoDbRecords:
    """Reads the ledger and audit tables; writes admin audit records.

    ``ledger(None, ...)`` needs the teams: pass ``teams`` (one Query per team, day and shard), or pass nothing
    and it Scans the whole ledger table with a filter on ``at`` (reads every item: for small planes and
    one-off admin use only; the aggregator always passes the team list). ``audit_table`` may be omitted by a
    reader of the ledger only (the aggregator).
    """

    def __init__(
        self,
        client: DynamoDBClient,
        ledger_table: str,
        audit_table: str | None = None,
        *,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = client
        self._ledger = ledger_table
        self._audit = audit_table
        self._retention_days = retention_days
        self._clock = clock

    def ledger(
        self, team: str | None, since: date, until: date, *, teams: Collection[str] | None = None
    ) -> list[LedgerEntry]:
        items: list[Item] = []
        with store_errors("reading the ledger"):
            if team is None and teams is None:
                items.extend(self._scan_ledger(since, until))
            else:
                for name in sorted({team} if team is not None else set(teams or ())):
                    for day in days(since, until):
                        for shard in range(SHARDS):
                            items.extend(
                                query_all(
                                    self._client,
                                    self._ledger,
                                    KeyConditionExpression="pk = :pk",
                                    ExpressionAttributeValues={":pk": s(ledger_pk(name, day, shard))},
                                )
                            )
        entries = [ledger_entry_from_item(item) for item in items]
        return sorted(entries, key=lambda e: (e.at, e.request_id))

    def _scan_ledger(self, since: date, until: date) -> Iterator[Item]:
        return scan_all(
            self._client,
            self._ledger,
            FilterExpression="begins_with(pk, :ledger) AND #at BETWEEN :lo AND :hi",
            ExpressionAttributeNames={"#at": "at"},
            ExpressionAttributeValues={
                ":ledger": s(LEDGER_PREFIX),
                ":lo": s(since.isoformat()),
                ":hi": s(f"{until.isoformat()}U"),  # every time of that day sorts below "YYYY-MM-DDU"
            },
        )

    def _audit_table(self) -> str:
        if self._audit is None:
            raise TypeError("this DynamoDbRecords was built without an audit table")
        return self._audit

    def audit(self, since: datetime, until: datetime | None = None, kind: str | None = None) -> list[AuditRecord]:
        table = self._audit_table()
        start = _utc(since)
        end = _utc(until) if until is not None else self._clock().astimezone(UTC)
        if end < start:
            return []
        low, high = audit_sk_bounds(start, end)
        values: Item = {":lo": s(low), ":hi": s(high)}
        extra: Item = {}
        if kind is not None:
            values[":kind"] = s(kind)
            extra = {"FilterExpression": "#kind = :kind", "ExpressionAttributeNames": {"#kind": "kind"}}
        items: list[Item] = []
        with store_errors("reading the audit trail"):
            for day in days(start.date(), end.date()):
                for shard in range(SHARDS):
                    items.extend(
                        query_all(
                            self._client,
                            table,
                            KeyConditionExpression="pk = :pk AND sk BETWEEN :lo AND :hi",
                            ExpressionAttributeValues={":pk": s(audit_pk(day, shard)), **values},
                            **extra,
                        )
                    )
        records = [audit_record_from_item(item) for item in items]
        return sorted(records, key=lambda r: (r.at, r.request_id, r.kind))

    def record_admin(self, record: AuditRecord) -> None:
        """Write one audit record (a plain put; admin actions are not part of a call's transaction)."""
        with store_errors("writing an audit record"):
            self._client.put_item(TableName=self._audit_table(), Item=audit_item(record, self._retention_days))
