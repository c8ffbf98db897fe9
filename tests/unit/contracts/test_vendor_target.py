"""The vendor target: what governance's egress invoker encodes, the egress decodes; a malformed one is refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_steward.adapters.egress_invoker import vendor_target
from mcp_steward.contracts.vendor_target import VENDOR_KEY, VendorTarget, VendorTargetError, target_of, with_target
from mcp_steward.domain.names import ServerName
from mcp_steward.domain.registry import ServerKind, ServerRecord

optional = st.none() | st.text(min_size=1, max_size=30)
targets = st.builds(
    VendorTarget,
    server=st.text(max_size=16),
    url=st.text(max_size=60),
    allowed_hosts=st.lists(st.text(max_size=20), max_size=4).map(tuple),
    secret_id=optional,
    auth_header=optional,
)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(targets)
def test_an_encoded_target_decodes_to_the_same_target(target: VendorTarget) -> None:
    assert target_of(with_target({"steward": {}, "message": {}}, target)) == target


def test_governance_encodes_the_registry_server_by_reference() -> None:
    server = ServerRecord(
        name=ServerName("calc"),
        kind=ServerKind.VENDOR,
        function_name="",
        function_timeout_s=0,
        url="https://mcp.example.com/mcp",
        allowed_hosts=("mcp.example.com",),
        secret_id="stack/vendor/calc",
        auth_header="X-Key: {secret}",
    )
    encoded = with_target({}, vendor_target(server))[VENDOR_KEY]
    assert encoded == {
        "server": "calc",
        "url": "https://mcp.example.com/mcp",
        "allowed_hosts": ["mcp.example.com"],
        "secret_id": "stack/vendor/calc",
        "auth_header": "X-Key: {secret}",
    }


def test_an_empty_secret_id_or_header_decodes_as_none() -> None:
    raw = {"server": "s", "url": "u", "allowed_hosts": [], "secret_id": "", "auth_header": ""}
    assert VendorTarget.decode(raw) == VendorTarget("s", "u", ())


@pytest.mark.parametrize(
    "event",
    [
        None,
        [],
        {},
        {VENDOR_KEY: "https://x"},
        {VENDOR_KEY: {"server": "s", "url": "u"}},
        {VENDOR_KEY: {"server": "s", "url": "u", "allowed_hosts": "h"}},
        {VENDOR_KEY: {"server": "s", "url": "u", "allowed_hosts": [1]}},
        {VENDOR_KEY: {"server": 1, "url": "u", "allowed_hosts": []}},
        {VENDOR_KEY: {"server": "s", "url": None, "allowed_hosts": []}},
        {VENDOR_KEY: {"server": "s", "url": "u", "allowed_hosts": [], "secret_id": 3}},
        {VENDOR_KEY: {"server": "s", "url": "u", "allowed_hosts": [], "auth_header": {}}},
    ],
)
def test_a_malformed_target_is_refused(event: object) -> None:
    with pytest.raises(VendorTargetError):
        target_of(event)
