"""The authorizer context: what the authorizer encodes, governance decodes to the same principal."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_steward.contracts.authorizer_context import AuthorizerContextError, decode, decode_event, encode
from mcp_steward.domain.identity import KeyId, Principal, PrincipalId, TeamName, TokenKind

names = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True)
principals = st.builds(
    Principal,
    id=names.map(PrincipalId),
    team=names.map(TeamName),
    roles=st.frozensets(st.sampled_from(["admin", "auditor", "ops"]), max_size=3),
    obo=st.none() | names.map(PrincipalId),
    key_id=st.none() | names.map(KeyId),
    token_kind=st.sampled_from(list(TokenKind)),
)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(principals)
def test_an_encoded_context_decodes_to_the_same_principal(principal: Principal) -> None:
    context = encode(principal)
    assert all(isinstance(value, str) for value in context.values())  # API Gateway allows flat strings only
    assert decode(dict(context)) == principal
    assert decode_event({"requestContext": {"authorizer": dict(context)}}) == principal


@pytest.mark.parametrize(
    "context",
    [
        None,
        "alice",
        {},
        {"principalId": "alice"},
        {"principalId": "", "team": "finance"},
        {"principalId": "alice", "team": 3},
        {"principalId": "alice", "team": "finance", "tokenKind": "password"},
    ],
)
def test_a_malformed_context_is_refused(context: object) -> None:
    with pytest.raises(AuthorizerContextError):
        decode(context)
