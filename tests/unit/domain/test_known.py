"""Names that exist (domain/known.py) and who rejected a tool (domain/approval.py): a name not held is reported
with the closest one held, and a rejection is the scan's while the definition is malicious, an admin's (who,
when) only while the tool is rejected at the hash the admin rejected."""

from __future__ import annotations

import string
from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_steward.domain.approval import approval_refusal, rejected_by, rejection_refusal
from mcp_steward.domain.known import UnknownName, closest, unknown, unknown_pattern
from mcp_steward.domain.names import ExposedName, ServerName
from mcp_steward.domain.registry import Rejection, ToolRecord, ToolStatus

TOOL = ToolRecord(ExposedName("calc__add"), "add", ServerName("calc"), {"name": "add"}, ToolStatus.PENDING)
AT = datetime(2026, 11, 24, 12, 0, 5, 123456, tzinfo=UTC)
MALICIOUS = {"rule": "hidden_instruction", "severity": "high", "path": "/description", "evidence": "<IMPORTANT>"}


def test_a_name_not_held_is_reported_with_the_closest_held_one() -> None:
    assert unknown("team", "finance", {"finance"}) is None
    assert unknown("team", "finanse", {"finance", "support"}) == UnknownName("team", "finanse", "finance")
    assert unknown("team", "ops", {"finance"}) == UnknownName("team", "ops", None)
    assert UnknownName("team", "ops").message() == "no team 'ops'"
    assert UnknownName("team", "finanse", "finance").message() == "no team 'finanse' (did you mean 'finance'?)"


def test_a_pattern_names_a_tool_or_every_tool_of_a_server() -> None:
    tools, servers = {"weather__forecast"}, {"weather"}

    assert unknown_pattern("weather__forecast", tools, servers) is None
    assert unknown_pattern("weather__*", tools, servers) is None
    assert unknown_pattern("weather__forcast", tools, servers) == UnknownName(
        "tool", "weather__forcast", "weather__forecast"
    )
    assert unknown_pattern("wether__*", tools, servers) == UnknownName("server", "wether", "weather")


def test_only_principals_and_teams_may_be_admitted_unknown() -> None:
    assert [UnknownName(kind, "x").admissible for kind in ("principal", "team", "server", "tool")] == [
        True,
        True,
        False,
        False,
    ]


@settings(max_examples=60, derandomize=True, deadline=None)
@given(
    known=st.sets(st.text(alphabet=string.ascii_lowercase + "-", min_size=1, max_size=24), max_size=30),
    name=st.text(min_size=0, max_size=300),
)
def test_any_name_not_held_is_unknown_and_a_suggestion_is_always_a_held_name(known: set[str], name: str) -> None:
    found = unknown("principal", name, known)

    assert (found is None) == (name in known)
    if found is not None:
        assert found.closest is None or found.closest in known
        assert repr(name) in found.message()
    assert closest(name, set()) is None


def test_a_clean_tool_an_admin_rejected_names_the_admin_and_the_way_back() -> None:
    rejected = replace(TOOL, status=ToolStatus.REJECTED, rejection=Rejection("local:ana", AT, TOOL.current_hash))

    assert rejected_by(rejected) == "admin local:ana at 2026-11-24T12:00:05+00:00"
    refusal = approval_refusal(rejected, [])
    assert refusal is not None and refusal.rejected and refusal.rejected_by == rejected_by(rejected)
    assert rejection_refusal(rejected).endswith("'steward tools reset calc__add' returns it to pending first")
    assert rejected_by(TOOL) is None and approval_refusal(TOOL, []) is None


def test_a_malicious_definition_is_the_scans_rejection_whatever_an_admin_recorded() -> None:
    scanned = replace(
        TOOL,
        status=ToolStatus.REJECTED,
        verdict="malicious",
        findings=(MALICIOUS,),
        rejection=Rejection("local:ana", AT, "0" * 64),  # an admin's rejection of an earlier definition
    )

    assert rejected_by(scanned) == "the scan (malicious: hidden_instruction)"
    assert "tools reset" not in rejection_refusal(scanned)
    assert "stays rejected while its definition is malicious" in rejection_refusal(scanned)


def test_an_admins_rejection_of_another_definition_or_a_tool_no_longer_rejected_is_not_claimed() -> None:
    stale = Rejection("local:ana", AT, "0" * 64)

    assert str(rejected_by(replace(TOOL, status=ToolStatus.REJECTED, rejection=stale))).startswith("an admin or an")
    assert rejected_by(replace(TOOL, status=ToolStatus.APPROVED, rejection=stale)) is None
