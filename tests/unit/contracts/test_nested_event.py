"""The nested call: what the SDK encodes, nested governance reads; its answers decode on the SDK's side."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_steward.contracts.nested_event import (
    NestedCall,
    NestedEventError,
    NestedRefusal,
    decode_answer,
    encode_result,
)
from mcp_steward.sdk.nested import NestedCallError, call_tool

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
objects = st.dictionaries(st.text(max_size=8), json_values, max_size=4)
calls = st.builds(
    NestedCall,
    delegation=st.text(min_size=1, max_size=40),
    name=st.text(max_size=48),
    arguments=objects,
    meta=st.none() | objects,
)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(calls)
def test_an_encoded_call_decodes_to_the_same_call(call: NestedCall) -> None:
    assert NestedCall.decode(call.encode()) == call


@settings(max_examples=40, derandomize=True, deadline=None)
@given(objects, st.integers(min_value=-32768, max_value=-31000), st.text(max_size=30), objects)
def test_answers_decode_to_what_nested_governance_encoded(
    result: dict[str, Any], code: int, message: str, data: dict[str, Any]
) -> None:
    assert decode_answer(encode_result(result)) == result
    refusal = NestedRefusal(code, message, data)
    assert decode_answer(refusal.encode()) == refusal


def test_the_sdk_sends_the_call_nested_governance_reads() -> None:
    sent: list[dict[str, Any]] = []

    def transport(event: dict[str, Any], timeout_ms: int) -> dict[str, Any]:
        sent.append(event)
        return NestedRefusal(-31000, "no", {"reason": "budget_exceeded"}).encode()

    with pytest.raises(NestedCallError) as refused:
        call_tool(transport, "tok", "calc__add", None, 1000)
    assert refused.value.reason == "budget_exceeded"
    assert NestedCall.decode(sent[0]) == NestedCall("tok", "calc__add", {})


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [],
        {"name": "t"},
        {"delegation": "x"},
        {"delegation": 1, "name": "t"},
        {"delegation": "x", "name": "t", "arguments": []},
        {"delegation": "x", "name": "t", "_meta": "k"},
    ],
)
def test_a_malformed_call_is_refused(raw: object) -> None:
    with pytest.raises(NestedEventError):
        NestedCall.decode(raw)


@pytest.mark.parametrize("raw", [None, [], {}, {"result": []}, {"error": "no", "result": None}])
def test_a_malformed_answer_is_refused(raw: object) -> None:
    with pytest.raises(NestedEventError):
        decode_answer(raw)
