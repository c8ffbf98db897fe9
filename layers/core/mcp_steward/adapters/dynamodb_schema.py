"""Every DynamoDB key the adapters write or read, spelled once. Every table has string keys ``pk`` and ``sk``.

The adapters build keys with these functions and parse keys back with the ``*_of`` functions here, never with
f-strings of their own: a key shape changes in one place, and ``tests/unit/adapters/test_dynamodb_schema.py``
holds each shape to its stored spelling (changing one is a data migration, not a refactoring).

========  =============================  ===========================  ========================
Table     Item                           pk                           sk
========  =============================  ===========================  ========================
Budgets   team's standing monthly limit  TEAM#<team>                  LIMIT
Budgets   principal's standing cap       PRINCIPAL#<principal>        LIMIT
Budgets   period budget (team or cap)    TEAM#<team> | PRINCIPAL#<p>  PERIOD#<YYYY-MM>
Budgets   rate limit                     RATELIMIT                    <scope>#<subject>
Budgets   rate counter, one minute       RATE#<scope>#<subject>       MIN#<minute>
Budgets   reservation                    RES#<request id>             RES
Budgets   idempotency record             IDEM#<record id>             IDEM
(index)   OpenReservations, sparse       open_shard: OPEN#<0..7>      open_expires_at
Grants    grant                          <kind>#<subject>             GRANT#<pattern>
Registry  server                         SERVER#<server>              SERVER
Registry  tool                           SERVER#<server>              TOOL#<exposed>
Keys      API key (its digest)           KEY#<sha256>                 KEY
Keys      principal                      PRINCIPAL#<principal>        PRINCIPAL
Keys      team                           TEAM#<team>                  TEAM
Ledger    ledger entry                   LEDGER#<team>#<day>#<0..7>   <at>#<request id>
Ledger    daily usage aggregate          AGG#<YYYY-MM>                <day>#<team>#<tool>
Audit     audit record                   AUDIT#<day>#<0..7>           <at>#<request id>#<kind>
========  =============================  ===========================  ========================

Tables are named by role (``Budgets`` is BudgetsTable). ``<kind>`` is ``principal``, ``team`` or ``server``;
``<day>`` is ``YYYY-MM-DD``; ``<at>`` is :func:`iso_utc` (fixed width, so sort keys sort as times do). The ledger
and audit shard is :func:`shard_of` the request id, the open-reservation shard :func:`open_shard_of` it. Rate
counters, closed reservations and idempotency records, ledger entries, aggregates and audit records expire by
``ttl``; open reservations never do. The module imports the standard library and the domain only (no botocore).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Final

from mcp_steward.domain.budgets import Owner, OwnerKind, Period, RateScope
from mcp_steward.domain.grants import Grant, SubjectKind

#: A table key as DynamoDB's low-level API takes it: ``{"pk": {"S": ...}, "sk": {"S": ...}}``.
type Key = dict[str, dict[str, str]]

#: Write shards of the ledger and the audit trail (per day), and of the open-reservations index.
SHARDS: Final = 8
OPEN_SHARDS: Final = 8


def key(pk: str, sk: str) -> Key:
    """The low-level key of one item."""
    return {"pk": {"S": pk}, "sk": {"S": sk}}


# --- shared spellings ---------------------------------------------------------------------------------------

TEAM_PREFIX: Final = "TEAM#"
PRINCIPAL_PREFIX: Final = "PRINCIPAL#"


def team_pk(team: str) -> str:
    """The partition of a team: its budget items (BudgetsTable) and its entity (KeysTable)."""
    return f"{TEAM_PREFIX}{team}"


def principal_pk(principal: str) -> str:
    """The partition of a principal: its cap items (BudgetsTable) and its entity (KeysTable)."""
    return f"{PRINCIPAL_PREFIX}{principal}"


def owner_pk(owner: Owner) -> str:
    """The partition of a budget's owner: a team's or a principal's."""
    return team_pk(owner.name) if owner.kind is OwnerKind.TEAM else principal_pk(owner.name)


def shard_of(request_id: str) -> int:
    """The ledger and audit write shard of a request: ``int(sha256(request_id), 16) % 8``."""
    return int(hashlib.sha256(request_id.encode("utf-8")).hexdigest(), 16) % SHARDS


def iso_utc(at: datetime) -> str:
    """``2026-11-24T21:31:05.123456Z``: fixed width, so strings sort as times do. A naive time is taken as UTC."""
    utc = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- BudgetsTable -------------------------------------------------------------------------------------------

LIMIT_SK: Final = "LIMIT"
PERIOD_PREFIX: Final = "PERIOD#"
RATE_LIMIT_PK: Final = "RATELIMIT"
RESERVATION_PREFIX: Final = "RES#"
RESERVATION_SK: Final = "RES"
IDEMPOTENCY_SK: Final = "IDEM"


def limit_key(owner: Owner) -> Key:
    """An owner's standing limit (a team's monthly limit, a principal's cap)."""
    return key(owner_pk(owner), LIMIT_SK)


def period_sk(period: Period | str) -> str:
    return f"{PERIOD_PREFIX}{period}"


def period_key(owner: Owner, period: Period | str) -> Key:
    """An owner's period budget item (``limit = available + reserved + charged``)."""
    return key(owner_pk(owner), period_sk(period))


def rate_limit_sk(scope: RateScope | str, subject: str) -> str:
    return f"{scope}#{subject}"


def rate_limit_key(scope: RateScope | str, subject: str) -> Key:
    """A standing rate limit, all of them in the one ``RATELIMIT`` partition."""
    return key(RATE_LIMIT_PK, rate_limit_sk(scope, subject))


def rate_limit_of(sk: str) -> tuple[RateScope, str]:
    """The (scope, subject) of a rate limit's sort key.

    Raises:
        ValueError: the scope is not a :class:`RateScope`.
    """
    scope, _, subject = sk.partition("#")
    return RateScope(scope), subject


def rate_counter_key(scope: RateScope | str, subject: str, minute: str) -> Key:
    """The counter of one rate-limited subject in one minute (``minute_of`` a call's time)."""
    return key(f"RATE#{scope}#{subject}", f"MIN#{minute}")


def reservation_pk(request_id: str) -> str:
    return f"{RESERVATION_PREFIX}{request_id}"


def reservation_key(request_id: str) -> Key:
    """A call's reservation (also its parent's, for a nested call's allowance)."""
    return key(reservation_pk(request_id), RESERVATION_SK)


def reservation_request_id(pk: str) -> str:
    """The request id of a reservation item's ``pk`` (the inverse of :func:`reservation_pk`)."""
    return pk.removeprefix(RESERVATION_PREFIX)


def idempotency_key(record_id: str) -> Key:
    """An idempotency record, by its id (a digest of the key's scope and the key: ``domain/idempotency.py``)."""
    return key(f"IDEM#{record_id}", IDEMPOTENCY_SK)


def open_shard(shard: int) -> str:
    """The OpenReservations index's partition ``shard`` (0 to ``OPEN_SHARDS - 1``)."""
    return f"OPEN#{shard}"


def open_shard_of(request_id: str) -> str:
    """The OpenReservations partition an open reservation of ``request_id`` is written to."""
    return open_shard(int(hashlib.sha256(request_id.encode()).hexdigest(), 16) % OPEN_SHARDS)


# --- GrantsTable --------------------------------------------------------------------------------------------

GRANT_PREFIX: Final = "GRANT#"


def grant_pk(kind: SubjectKind | str, subject: str) -> str:
    """The partition of a grant's holder: ``principal#alice``, ``team#finance``, ``server#hr``."""
    return f"{kind}#{subject}"


def grant_key(grant: Grant) -> Key:
    return key(grant_pk(grant.subject_kind, grant.subject), f"{GRANT_PREFIX}{grant.pattern}")


def grant_pattern(sk: str) -> str:
    """The pattern of a grant's sort key."""
    return sk.removeprefix(GRANT_PREFIX)


def grant_of(item_key: Key) -> Grant:
    """The grant a grant item's key names.

    Raises:
        ValueError: the partition does not start with a :class:`SubjectKind`.
    """
    kind, _, subject = item_key["pk"]["S"].partition("#")
    return Grant(SubjectKind(kind), subject, grant_pattern(item_key["sk"]["S"]))


# --- RegistryTable ------------------------------------------------------------------------------------------

SERVER_PREFIX: Final = "SERVER#"
SERVER_SK: Final = "SERVER"
TOOL_PREFIX: Final = "TOOL#"


def server_pk(server: str) -> str:
    return f"{SERVER_PREFIX}{server}"


def server_key(server: str) -> Key:
    """A server's record."""
    return key(server_pk(server), SERVER_SK)


def tool_key(server: str, exposed: str) -> Key:
    """One tool of a server, by its exposed name."""
    return key(server_pk(server), f"{TOOL_PREFIX}{exposed}")


def server_of(pk: str) -> str:
    """The server name of a registry item's ``pk``."""
    return pk.removeprefix(SERVER_PREFIX)


def tool_of(sk: str) -> str:
    """The exposed tool name of a tool item's ``sk``."""
    return sk.removeprefix(TOOL_PREFIX)


# --- KeysTable ----------------------------------------------------------------------------------------------

API_KEY_PREFIX: Final = "KEY#"
API_KEY_SK: Final = "KEY"
PRINCIPAL_SK: Final = "PRINCIPAL"
TEAM_SK: Final = "TEAM"


def api_key_key(digest: str) -> Key:
    """An API key's item, by the SHA-256 digest of the key (the key itself is never stored)."""
    return key(f"{API_KEY_PREFIX}{digest}", API_KEY_SK)


def api_key_digest(pk: str) -> str:
    return pk.removeprefix(API_KEY_PREFIX)


def principal_key(principal: str) -> Key:
    """A principal entity (its ``team``)."""
    return key(principal_pk(principal), PRINCIPAL_SK)


def team_key(team: str) -> Key:
    """A team entity."""
    return key(team_pk(team), TEAM_SK)


def principal_of(pk: str) -> str:
    return pk.removeprefix(PRINCIPAL_PREFIX)


def team_of(pk: str) -> str:
    return pk.removeprefix(TEAM_PREFIX)


# --- LedgerTable and AuditTable -----------------------------------------------------------------------------

LEDGER_PREFIX: Final = "LEDGER#"


def ledger_pk(team: str, day: date, shard: int) -> str:
    return f"{LEDGER_PREFIX}{team}#{day.isoformat()}#{shard}"


def ledger_sk(at: datetime, request_id: str) -> str:
    return f"{iso_utc(at)}#{request_id}"


def aggregate_pk(period: Period | str) -> str:
    """The partition of a month's daily usage aggregates."""
    return f"AGG#{period}"


def aggregate_day_prefix(day: date) -> str:
    """What every aggregate sort key of ``day`` begins with."""
    return f"{day.isoformat()}#"


def aggregate_sk(day: date, team: str, tool: str) -> str:
    return f"{aggregate_day_prefix(day)}{team}#{tool}"


def audit_pk(day: date, shard: int) -> str:
    return f"AUDIT#{day.isoformat()}#{shard}"


def audit_sk(at: datetime, request_id: str, kind: str) -> str:
    return f"{iso_utc(at)}#{request_id}#{kind}"


def audit_sk_bounds(start: datetime, end: datetime) -> tuple[str, str]:
    """The ``sk BETWEEN`` bounds of the audit records from ``start`` to ``end`` inclusive (in one day's shard):
    ``$`` sorts right after ``#``, so every record at ``end`` is below the upper bound."""
    return iso_utc(start), f"{iso_utc(end)}$"
