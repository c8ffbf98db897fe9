"""Result ``_meta``: what the egress encodes, governance decodes; the reasons the egress can give are the ones
governance trusts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_steward.contracts.result_meta import (
    EGRESS_REASONS,
    REASON,
    RULE,
    SENT,
    UNITS,
    EgressFailure,
    ResultMetaError,
    is_steward_key,
    reported_units,
)
from mcp_steward.egress import client, service

failures = st.builds(
    EgressFailure,
    reason=st.sampled_from(sorted(EGRESS_REASONS)),
    sent=st.booleans(),
    rule=st.none() | st.text(min_size=1, max_size=64),
)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(failures)
def test_an_encoded_egress_failure_decodes_to_the_same_failure(failure: EgressFailure) -> None:
    encoded = failure.encode()
    assert all(is_steward_key(key) for key in encoded)
    assert EgressFailure.decode(encoded) == failure


def test_the_egress_writes_the_failure_governance_reads() -> None:
    answer = service._failure(1, "tools/call", "refused", "egress_refused", rule="private_address", sent=False)
    meta = answer["result"]["_meta"]
    assert meta == {REASON: "egress_refused", SENT: False, RULE: "private_address"}
    assert EgressFailure.decode(meta).audit_detail() == {"sent": False, "rule": "private_address"}


def test_every_reason_the_egress_reports_is_one_governance_trusts() -> None:
    source = Path(client.__file__).read_text() + Path(service.__file__).read_text()
    raised = set(re.findall(r'VendorError\(\s*"([a-z_]+)"', source)) | {"vendor_unauthorized"}
    public = {service._public_reason(reason) for reason in raised}
    assert public | {"egress_refused", "credential_unavailable", "vendor_timeout"} == set(EGRESS_REASONS)


def test_decoding_is_lenient_about_sent_and_cuts_the_rule() -> None:
    failure = EgressFailure.decode({REASON: "vendor_error", SENT: "true", RULE: "r" * 100})
    assert failure == EgressFailure("vendor_error", False, "r" * 64)


@pytest.mark.parametrize(
    "meta",
    [None, [], {}, {REASON: "tool_error"}, {REASON: ["egress_refused"]}, {SENT: False}, {REASON: 1}],
)
def test_a_result_without_a_known_egress_reason_is_refused(meta: object) -> None:
    with pytest.raises(ResultMetaError):
        EgressFailure.decode(meta)


@pytest.mark.parametrize(
    ("meta", "units"), [({UNITS: 3}, 3), ({UNITS: -1}, -1), ({UNITS: True}, None), ({UNITS: 1.5}, None), (None, None)]
)
def test_reported_units_are_integers_only(meta: object, units: int | None) -> None:
    assert reported_units(meta) == units
