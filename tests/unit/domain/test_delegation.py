"""Delegation tokens: minted per invocation, verified by nested governance, refused when forged, expired,
re-targeted, too deep or cyclic."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest

from mcp_steward.domain.delegation import (
    AUDIENCE,
    MAX_DEPTH,
    DelegationClaims,
    DelegationError,
    child_claims,
    mint,
    root_claims,
    verify,
)

NOW = 1_800_000_000
KEYS = {"k-current": b"c" * 32, "k-previous": b"p" * 32}


def claims(**changes: object) -> DelegationClaims:
    base = root_claims(
        kid="k-current",
        request_id="req-1",
        server="research",
        person="alice",
        obo=None,
        team="finance",
        now_s=NOW,
        deadline_ms=(NOW + 20) * 1000,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def token(value: DelegationClaims | None = None) -> str:
    value = value or claims()
    return mint(value, KEYS[value.kid])


def reason(candidate: object, now_s: int = NOW) -> str:
    with pytest.raises(DelegationError) as refused:
        verify(candidate, KEYS.get, now_s=now_s)
    if isinstance(candidate, str) and len(candidate) > 8:
        assert candidate not in str(refused.value)  # a refusal never quotes the token
    return refused.value.reason


def test_a_minted_token_verifies_to_its_claims() -> None:
    minted = claims()
    verified = verify(token(minted), KEYS.get, now_s=NOW)
    assert verified == minted
    assert (verified.aud, verified.caller_server, verified.chain, verified.depth) == (
        AUDIENCE,
        "research",
        ("research",),
        1,
    )


def test_a_token_signed_with_the_previous_key_still_verifies_during_rotation() -> None:
    assert verify(token(claims(kid="k-previous")), KEYS.get, now_s=NOW).kid == "k-previous"


@pytest.mark.parametrize(
    "candidate",
    [None, 42, "", "no-dot", "a.b.c", "!!!.???", "x" * 5000, base64.urlsafe_b64encode(b"[1]").decode() + ".AA"],
)
def test_malformed_tokens_are_refused(candidate: object) -> None:
    assert reason(candidate) in {"forged"}


def test_a_tampered_payload_or_a_foreign_key_is_a_forgery() -> None:
    genuine = token()
    payload, signature = genuine.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    decoded["team"] = "treasury"  # spend another team's budget
    forged = base64.urlsafe_b64encode(json.dumps(decoded).encode()).rstrip(b"=").decode()
    assert reason(f"{forged}.{signature}") == "forged"
    assert reason(mint(claims(), b"attacker-key" * 3)) == "forged"
    assert reason(mint(claims(kid="k-unknown"), b"c" * 32)) == "forged"
    assert reason(genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB")) == "forged"


def test_a_token_for_another_audience_is_retargeted() -> None:
    assert reason(token(claims(aud="steward:egress"))) == "target"
    assert reason(token(claims(caller="user:alice"))) == "target"
    assert reason(token(claims(v=2))) == "target"


def test_an_expired_token_or_one_past_its_deadline_is_refused() -> None:
    minted = claims()
    assert reason(token(minted), now_s=minted.exp) == "expired"
    assert reason(token(claims(deadline_ms=NOW * 1000))) == "expired"


def test_a_signed_payload_of_the_wrong_shape_is_malformed() -> None:
    assert reason(token(claims(depth="1"))) == "forged"
    assert reason(token(claims(chain="research"))) == "forged"


def test_nested_invocations_extend_the_chain_until_the_maximum_depth() -> None:
    first = claims()
    second = child_claims(first, kid="k-current", request_id="req-2", server="vendor-fx", now_s=NOW + 1)
    assert (second.rid, second.root_rid, second.caller, second.chain, second.depth) == (
        "req-2",
        "req-1",
        "server:vendor-fx",
        ("research", "vendor-fx"),
        2,
    )
    assert (second.sub, second.team, second.exp, second.deadline_ms) == (
        first.sub,
        first.team,
        first.exp,
        first.deadline_ms,
    )
    assert second.jti != first.jti
    third = child_claims(second, kid="k-current", request_id="req-3", server="search", now_s=NOW + 2)
    assert third.depth == MAX_DEPTH
    with pytest.raises(DelegationError) as too_deep:
        child_claims(third, kid="k-current", request_id="req-4", server="archive", now_s=NOW + 3)
    assert too_deep.value.reason == "depth"
    with pytest.raises(DelegationError) as cycle:
        child_claims(second, kid="k-current", request_id="req-5", server="research", now_s=NOW + 3)
    assert cycle.value.reason == "cycle"


def test_a_forged_depth_is_refused_even_when_signed() -> None:
    assert reason(token(claims(depth=4, max_depth=4, chain=("a", "b", "c", "d")))) == "depth"
    assert reason(token(claims(depth=2))) == "depth"  # the chain does not match the depth
