"""Every DynamoDB key shape holds its stored spelling, and every parser the adapters use reads back what the
builder wrote. A failure here means items already in a table would no longer be found: a data migration."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_steward.adapters import dynamodb_records, dynamodb_schema
from mcp_steward.adapters.dynamodb_schema import (
    API_KEY_SK,
    GRANT_PREFIX,
    LEDGER_PREFIX,
    LIMIT_SK,
    OPEN_SHARDS,
    PRINCIPAL_SK,
    RATE_LIMIT_PK,
    SERVER_SK,
    SHARDS,
    TEAM_SK,
    TOOL_PREFIX,
    aggregate_day_prefix,
    aggregate_pk,
    aggregate_sk,
    api_key_digest,
    api_key_key,
    audit_pk,
    audit_sk,
    audit_sk_bounds,
    grant_key,
    grant_of,
    grant_pattern,
    grant_pk,
    idempotency_key,
    iso_utc,
    key,
    ledger_pk,
    ledger_sk,
    limit_key,
    open_shard,
    open_shard_of,
    owner_pk,
    period_key,
    period_sk,
    principal_key,
    principal_of,
    principal_pk,
    rate_counter_key,
    rate_limit_key,
    rate_limit_of,
    rate_limit_sk,
    reservation_key,
    reservation_pk,
    reservation_request_id,
    server_key,
    server_of,
    server_pk,
    shard_of,
    team_key,
    team_of,
    team_pk,
    tool_key,
    tool_of,
)
from mcp_steward.domain.budgets import Owner, OwnerKind, Period, RateScope
from mcp_steward.domain.grants import Grant, SubjectKind

AT = datetime(2026, 11, 24, 21, 31, 5, 123456, tzinfo=UTC)
DAY = date(2026, 11, 24)

#: Names (teams, principals, servers, tools, patterns, ids): any text, "#" included, since the last component of
#: a key (and a subject after its kind) may hold one.
names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)


def sk_key(pk: str, sk: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def test_budget_item_keys_keep_their_stored_spelling() -> None:
    team, cap = Owner(OwnerKind.TEAM, "finance"), Owner(OwnerKind.PRINCIPAL, "alice")
    assert team_pk("finance") == owner_pk(team) == "TEAM#finance"
    assert principal_pk("alice") == owner_pk(cap) == "PRINCIPAL#alice"
    assert limit_key(team) == sk_key("TEAM#finance", "LIMIT") == key(team_pk("finance"), LIMIT_SK)
    assert limit_key(cap) == sk_key("PRINCIPAL#alice", "LIMIT")
    assert period_sk(Period("2026-11")) == "PERIOD#2026-11"
    assert period_key(team, Period("2026-11")) == sk_key("TEAM#finance", "PERIOD#2026-11")
    assert period_key(cap, "2026-11") == sk_key("PRINCIPAL#alice", "PERIOD#2026-11")
    assert rate_limit_key(RateScope.PRINCIPAL, "alice") == sk_key("RATELIMIT", "principal#alice")
    assert rate_limit_key(RateScope.TOOL, "hr__lookup") == sk_key(RATE_LIMIT_PK, "tool#hr__lookup")
    assert rate_counter_key(RateScope.TOOL, "hr__lookup", "2026-11-24T21:31") == sk_key(
        "RATE#tool#hr__lookup", "MIN#2026-11-24T21:31"
    )
    assert reservation_key("req-1") == sk_key("RES#req-1", "RES")
    assert idempotency_key("abc123") == sk_key("IDEM#abc123", "IDEM")


def test_open_reservation_shards_are_spread_by_the_request_ids_digest() -> None:
    assert open_shard(3) == "OPEN#3"
    expected = int(hashlib.sha256(b"req-1").hexdigest(), 16) % 8
    assert open_shard_of("req-1") == f"OPEN#{expected}"
    assert {open_shard_of(f"req-{i}") for i in range(200)} == {open_shard(i) for i in range(OPEN_SHARDS)}


def test_grant_registry_and_keys_table_keys_keep_their_stored_spelling() -> None:
    grant = Grant(SubjectKind.TEAM, "finance", "hr__*")
    assert grant_pk(SubjectKind.PRINCIPAL, "alice") == "principal#alice"
    assert grant_key(grant) == sk_key("team#finance", "GRANT#hr__*")
    assert GRANT_PREFIX == "GRANT#"
    assert server_key("hr") == sk_key("SERVER#hr", "SERVER") == key(server_pk("hr"), SERVER_SK)
    assert tool_key("hr", "hr__lookup") == sk_key("SERVER#hr", "TOOL#hr__lookup")
    assert TOOL_PREFIX == "TOOL#"
    assert api_key_key("ab" * 32) == sk_key("KEY#" + "ab" * 32, "KEY")
    assert API_KEY_SK == "KEY"
    assert principal_key("alice") == sk_key("PRINCIPAL#alice", "PRINCIPAL")
    assert team_key("finance") == sk_key("TEAM#finance", "TEAM")
    assert (PRINCIPAL_SK, TEAM_SK) == ("PRINCIPAL", "TEAM")


def test_ledger_aggregate_and_audit_keys_keep_their_stored_spelling() -> None:
    assert iso_utc(AT) == "2026-11-24T21:31:05.123456Z"
    assert iso_utc(AT.replace(tzinfo=None)) == iso_utc(AT)  # naive is UTC
    assert iso_utc(AT.astimezone(timezone(timedelta(hours=-5)))) == iso_utc(AT)
    assert ledger_pk("finance", DAY, 3) == "LEDGER#finance#2026-11-24#3"
    assert ledger_pk("finance", DAY, 3).startswith(LEDGER_PREFIX)
    assert ledger_sk(AT, "req-1") == "2026-11-24T21:31:05.123456Z#req-1"
    assert aggregate_pk("2026-11") == "AGG#2026-11"
    assert aggregate_sk(DAY, "finance", "hr__lookup") == "2026-11-24#finance#hr__lookup"
    assert aggregate_sk(DAY, "finance", "hr__lookup").startswith(aggregate_day_prefix(DAY))
    assert audit_pk(DAY, 5) == "AUDIT#2026-11-24#5"
    assert audit_sk(AT, "req-1", "decision") == "2026-11-24T21:31:05.123456Z#req-1#decision"
    assert shard_of("req-1") == int(hashlib.sha256(b"req-1").hexdigest(), 16) % SHARDS


def test_audit_bounds_hold_every_record_of_the_range_and_none_after() -> None:
    low, high = audit_sk_bounds(AT, AT)
    assert low <= audit_sk(AT, "req-1", "decision") <= high
    assert low <= audit_sk(AT, "~~~", "admin") <= high
    assert audit_sk(AT + timedelta(microseconds=1), "req-1", "decision") > high
    assert audit_sk(AT - timedelta(microseconds=1), "req-1", "decision") < low


def test_the_records_module_still_exports_the_shared_spellings() -> None:
    """Readers (the CLI's reports, the in-memory records) import these from ``dynamodb_records``."""
    assert dynamodb_records.iso_utc is dynamodb_schema.iso_utc
    assert dynamodb_records.shard_of is dynamodb_schema.shard_of
    assert dynamodb_records.ledger_pk is dynamodb_schema.ledger_pk
    assert dynamodb_records.audit_pk is dynamodb_schema.audit_pk
    assert dynamodb_records.SHARDS == SHARDS


@settings(max_examples=60, derandomize=True, deadline=None)
@given(names, names)
def test_key_parsers_read_back_what_the_builders_wrote(name: str, last: str) -> None:
    assert reservation_request_id(reservation_pk(last)) == last
    assert api_key_digest(api_key_key(last)["pk"]["S"]) == last
    assert principal_of(principal_key(last)["pk"]["S"]) == last
    assert team_of(team_key(last)["pk"]["S"]) == last
    assert server_of(server_key(last)["pk"]["S"]) == last
    assert tool_of(tool_key(name, last)["sk"]["S"]) == last
    assert server_of(tool_key(name, last)["pk"]["S"]) == name
    assert grant_pattern(grant_key(Grant(SubjectKind.SERVER, name, last))["sk"]["S"]) == last
    for scope in RateScope:
        assert rate_limit_of(rate_limit_sk(scope, last)) == (scope, last)
        assert rate_limit_of(rate_limit_key(scope, last)["sk"]["S"]) == (scope, last)
    for kind in SubjectKind:
        grant = Grant(kind, last, name)
        assert grant_of(grant_key(grant)) == grant


def test_a_rate_limit_or_grant_key_of_an_unknown_scope_is_refused() -> None:
    with pytest.raises(ValueError):
        rate_limit_of("minute#alice")
    with pytest.raises(ValueError):
        grant_of(sk_key("role#admin", "GRANT#*"))
