"""The invocation envelope: what governance encodes, the SDK decodes to the same values; malformed input is refused."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_steward.contracts.envelope import Envelope, EnvelopeError, Principal, StewardContext, request
from mcp_steward.domain.identity import Principal as DomainPrincipal
from mcp_steward.domain.identity import PrincipalId, TeamName
from mcp_steward.services.tools import envelope_for

texts = st.text(min_size=1, max_size=20)
contexts = st.builds(
    StewardContext,
    request_id=texts,
    deadline_ms=st.integers(min_value=0, max_value=2**53),
    principal=st.builds(Principal, id=texts, team=texts, obo=st.none() | st.text(max_size=20)),
    delegation=st.none() | st.text(max_size=40),
)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(contexts, st.integers(min_value=0, max_value=10**6), texts)
def test_an_encoded_envelope_decodes_to_the_same_values(steward: StewardContext, rpc_id: int, name: str) -> None:
    encoded = request(steward, rpc_id, "tools/call", {"name": name, "arguments": {"a": 1}})
    assert Envelope.decode(encoded) == Envelope(steward, encoded["message"])
    assert encoded["message"]["params"] == {"name": name, "arguments": {"a": 1}}


def test_governance_and_registration_write_the_documented_envelope() -> None:
    principal = DomainPrincipal(id=PrincipalId("alice"), team=TeamName("finance"))
    assert envelope_for("r1", 5, principal, 1, "convert", {}, "tok") == {
        "steward": {
            "v": 1,
            "request_id": "r1",
            "deadline_ms": 5,
            "principal": {"id": "alice", "team": "finance", "obo": None},
            "delegation": "tok",
        },
        "message": {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "convert", "arguments": {}}},
    }
    listing = request(StewardContext("r2", 7, Principal("steward:registry", "steward")), 1, "tools/list", {})
    assert listing["message"] == {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}


def test_unknown_keys_are_ignored() -> None:
    raw = {"v": 1, "request_id": "r", "deadline_ms": 1, "principal": {"id": "a", "team": "t", "x": 1}, "later": 2}
    assert StewardContext.decode(raw) == StewardContext("r", 1, Principal("a", "t"))


def _valid() -> dict[str, Any]:
    return {"v": 1, "request_id": "r", "deadline_ms": 1, "principal": {"id": "a", "team": "t"}}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("v", 2),
        ("v", "1"),
        ("v", None),
        ("request_id", ""),
        ("request_id", 5),
        ("deadline_ms", -1),
        ("deadline_ms", True),
        ("deadline_ms", 1.0),
        ("deadline_ms", "1"),
        ("principal", None),
        ("principal", {"id": "", "team": "t"}),
        ("principal", {"id": "a"}),
        ("principal", {"id": "a", "team": "t", "obo": 3}),
        ("delegation", 7),
    ],
)
def test_a_malformed_steward_context_is_refused(key: str, value: object) -> None:
    raw = _valid() | {key: value}
    with pytest.raises(EnvelopeError):
        StewardContext.decode(raw)


@settings(max_examples=80, derandomize=True, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
        max_leaves=8,
    )
)
def test_decoding_arbitrary_json_either_succeeds_or_raises_the_typed_error(raw: object) -> None:
    for candidate in (raw, {"steward": raw, "message": {}}):
        with contextlib.suppress(EnvelopeError):
            Envelope.decode(candidate)
