"""Vendor credentials: their names under the vendor prefix, the values accepted, and the resource policy that
leaves the egress role the only reader (DESIGN.md section 6)."""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest

from mcp_steward.domain.vendor_secrets import (
    MAX_VALUE_BYTES,
    VendorSecretError,
    credential_value,
    egress_only_policy,
    vendor_secret_id,
)

EGRESS_ROLE = "arn:aws:iam::123456789012:role/mcp-steward-dev-EgressFunctionRole-AbC123"
OTHER_ROLE = "arn:aws:iam::123456789012:role/mcp-steward-dev-GovernanceFunctionRole-XyZ789"
ADMIN = "arn:aws:iam::123456789012:user/admin"
ROOT = "arn:aws:iam::123456789012:root"
VALUE = "sk-live-0123456789abcdef"


def _decide(policy: dict[str, Any], action: str, principal_arn: str | None) -> str:
    """What a resource policy alone decides for one request: "deny", "allow" or "none" (IAM's implicit deny).

    Evaluates the shapes a secret's policy may use here: Principal "*", Action patterns, StringNotEquals and
    StringEquals on aws:PrincipalArn (a request without the key does not match StringEquals and does match
    StringNotEquals, as IAM evaluates a missing key for negated operators).
    """
    decisions = set()
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if not any(fnmatch.fnmatchcase(action, pattern) for pattern in actions):
            continue
        assert statement["Principal"] == "*"
        matches = True
        for operator, pairs in statement.get("Condition", {}).items():
            for key, expected in pairs.items():
                assert key == "aws:PrincipalArn", key
                equal = principal_arn == expected
                matches &= (not equal) if operator == "StringNotEquals" else equal
        if matches:
            decisions.add(statement["Effect"].lower())
    return "deny" if "deny" in decisions else "allow" if "allow" in decisions else "none"


def test_the_policy_denies_reading_the_value_to_everyone_but_the_egress_role() -> None:
    policy = egress_only_policy(EGRESS_ROLE)
    for principal in (OTHER_ROLE, ADMIN, ROOT, None):
        assert _decide(policy, "secretsmanager:GetSecretValue", principal) == "deny", principal
    assert _decide(policy, "secretsmanager:GetSecretValue", EGRESS_ROLE) == "none"


def test_the_policy_allows_nothing_by_itself() -> None:
    policy = egress_only_policy(EGRESS_ROLE)
    assert [s["Effect"] for s in policy["Statement"]] == ["Deny"]
    for action in ("secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:DeleteSecret"):
        for principal in (EGRESS_ROLE, ADMIN):
            assert _decide(policy, action, principal) != "allow", (action, principal)


def test_the_policy_leaves_updating_the_value_and_the_policy_to_iam() -> None:
    policy = egress_only_policy(EGRESS_ROLE)
    for action in ("secretsmanager:PutSecretValue", "secretsmanager:PutResourcePolicy"):
        assert _decide(policy, action, ADMIN) == "none", action


def test_the_policy_needs_an_iam_role_arn() -> None:
    for bad in ("", "*", "arn:aws:iam::123456789012:user/admin", "arn:aws:iam::123456789012:role/*", ADMIN + "\n"):
        with pytest.raises(VendorSecretError):
            egress_only_policy(bad)
    egress_only_policy("arn:aws-cn:iam::123456789012:role/service-role/egress")


def test_a_vendor_secret_lives_under_the_stacks_vendor_prefix() -> None:
    assert vendor_secret_id("mcp-steward-dev/vendor/", "weather") == "mcp-steward-dev/vendor/weather"
    assert vendor_secret_id("steward-local/vendor/", "0-acme-2") == "steward-local/vendor/0-acme-2"


@pytest.mark.parametrize("name", ["", "Weather", "-weather", "weather/x", "../x", "w*", "a" * 65, "wea ther"])
def test_a_vendor_secret_name_outside_the_pattern_is_refused(name: str) -> None:
    with pytest.raises(VendorSecretError):
        vendor_secret_id("stack/vendor/", name)


def test_only_a_vendor_prefix_is_accepted() -> None:
    for prefix in ("", "/vendor/", "stack/", "stack/vendor"):
        with pytest.raises(VendorSecretError):
            vendor_secret_id(prefix, "weather")


def test_one_trailing_newline_is_dropped() -> None:
    assert credential_value(VALUE.encode()) == VALUE
    assert credential_value(VALUE.encode() + b"\n") == VALUE
    assert credential_value(VALUE.encode() + b"\r\n") == VALUE


@pytest.mark.parametrize(
    "raw",
    [b"", b"\n", b"\r\n", VALUE.encode() + b"\n\n", b"two\nlines", b"tab\there", "caf\u00e9".encode(), b"\xff\xfe"],
)
def test_empty_multiline_control_and_non_ascii_values_are_refused_without_showing_them(raw: bytes) -> None:
    with pytest.raises(VendorSecretError) as excinfo:
        credential_value(raw)
    shown = raw.decode("utf-8", errors="ignore").strip()
    if shown:
        assert shown not in str(excinfo.value)


def test_the_value_may_be_64_kib_and_no_more() -> None:
    assert len(credential_value(b"a" * MAX_VALUE_BYTES + b"\n")) == MAX_VALUE_BYTES
    with pytest.raises(VendorSecretError) as excinfo:
        credential_value(b"a" * (MAX_VALUE_BYTES + 1))
    assert "aaaa" not in str(excinfo.value)
