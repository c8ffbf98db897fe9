"""Vendor credentials: their names under the vendor prefix, the values accepted, the origins they are bound to
and the document that stores both, and the resource policy that leaves the egress role the only reader (docs/design.md
section 6)."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_steward.domain.egress_policy import Origin, origin_text, outside_origins
from mcp_steward.domain.vendor_secrets import (
    MAX_ORIGINS,
    MAX_VALUE_BYTES,
    StoredCredential,
    VendorSecretError,
    credential_origin,
    credential_value,
    egress_only_policy,
    host_origin,
    read_stored_credential,
    stored_credential,
    vendor_secret_id,
)

PROPERTY = settings(max_examples=150, derandomize=True, deadline=None)

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


# -- origins and the stored document -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://api.vendor.example", "https://api.vendor.example"),
        ("https://API.Vendor.Example/mcp?x=1#f", "https://api.vendor.example"),  # lower-case, path dropped
        ("https://api.vendor.example:443/", "https://api.vendor.example"),  # the default port left out
        ("https://api.vendor.example.:8443", "https://api.vendor.example:8443"),
        ("  https://127.0.0.1:8443  ", "https://127.0.0.1:8443"),
        ("https://[::1]:8443/mcp", "https://[::1]:8443"),
        ("https://[2001:DB8::1]", "https://[2001:db8::1]"),
    ],
)
def test_an_origin_is_normalized(url: str, origin: str) -> None:
    assert origin_text(credential_origin(url)) == origin


@pytest.mark.parametrize(
    "url",
    [
        "",
        "api.vendor.example",
        "http://api.vendor.example",  # https only
        "ftp://api.vendor.example",
        "https://a.example@b.example",  # user information: the host is b.example
        "https://user:pw@a.example",
        "https://@a.example",
        "https://a.example:0",
        "https://a.example:65536",
        "https://2130706433",  # a numeric host that is not a dotted quad
        "https://0x7f.1",
        "https://[::1",
        "https://a b.example",
        "https://-a.example",
        "https://caf\u00e9.example",  # not ASCII (IDNA is spelled out by the admin)
        "https://*.example",
        "https://" + "a" * 2100,
    ],
)
def test_an_origin_that_is_not_https_host_port_is_refused(url: str) -> None:
    with pytest.raises(VendorSecretError):
        credential_origin(url)


def test_an_allowed_host_is_its_https_origin() -> None:
    assert origin_text(host_origin("CDN.Vendor.Example")) == "https://cdn.vendor.example"
    assert host_origin("::1") == Origin("https", "::1", 443)
    for bad in ("", "a.example:8443", "https://a.example", "a b", "a.example/x"):
        with pytest.raises(VendorSecretError):
            host_origin(bad)


def test_the_stored_document_holds_the_credential_with_its_origins() -> None:
    origins = [credential_origin("https://api.vendor.example/mcp"), credential_origin("https://127.0.0.1:8443")]
    text = stored_credential(VALUE, [*origins, origins[0]])
    assert json.loads(text) == {
        "v": 1,
        "credential": VALUE,
        "origins": ["https://api.vendor.example", "https://127.0.0.1:8443"],
    }
    stored = read_stored_credential(text)
    assert stored == StoredCredential(VALUE, frozenset(origins))
    assert VALUE not in repr(stored)


def test_the_stored_document_needs_an_origin_and_stays_within_bounds() -> None:
    with pytest.raises(VendorSecretError, match="at least one origin"):
        stored_credential(VALUE, [])
    many = [host_origin(f"h{i}.example") for i in range(MAX_ORIGINS + 1)]
    stored_credential(VALUE, many[:MAX_ORIGINS])
    with pytest.raises(VendorSecretError, match="at most"):
        stored_credential(VALUE, many)
    with pytest.raises(VendorSecretError) as excinfo:  # the credential fits alone, not with its origins
        stored_credential("a" * MAX_VALUE_BYTES, many[:1])
    assert "aaaa" not in str(excinfo.value)
    with pytest.raises(VendorSecretError):
        stored_credential("two\nlines", many[:1])


@pytest.mark.parametrize(
    "value",
    [
        VALUE,  # a plain credential, stored before origins were recorded
        json.dumps(VALUE),
        "null",
        "[" * 100_000,
        "{}",
        '{"credential":"x","origins":["https://a.example"]}',
        '{"v":true,"credential":"x","origins":["https://a.example"]}',
        '{"v":1.0,"credential":"x","origins":["https://a.example"]}',
        '{"v":2,"credential":"x","origins":["https://a.example"]}',
        '{"v":1,"credential":"x","origins":["https://a.example"],"more":1}',
        '{"v":1,"credential":"","origins":["https://a.example"]}',
        '{"v":1,"credential":"x\\ny","origins":["https://a.example"]}',
        '{"v":1,"credential":"x","origins":[]}',
        '{"v":1,"credential":"x","origins":"https://a.example"}',
        '{"v":1,"credential":"x","origins":[1]}',
        '{"v":1,"credential":"x","origins":["https://a.example/mcp"]}',
        '{"v":1,"credential":"x","origins":["https://a.example?"]}',
        '{"v":1,"credential":"x","origins":["http://a.example"]}',
        '{"v":1,"credential":"x","origins":["https://a.example@b.example"]}',
    ],
)
def test_a_value_that_is_not_a_stored_document_binds_nothing(value: str) -> None:
    with pytest.raises(VendorSecretError) as excinfo:
        read_stored_credential(value)
    assert VALUE not in str(excinfo.value)


@PROPERTY
@given(st.text(max_size=120) | st.from_regex(r"https?://[^/]{0,40}(/.{0,10})?", fullmatch=True))
def test_any_text_is_an_origin_or_the_modules_error(text: str) -> None:
    try:
        origin = credential_origin(text)
    except VendorSecretError:
        return
    assert origin.scheme == "https" and 0 < origin.port < 65536
    assert credential_origin(origin_text(origin), exact=True) == origin  # what is written reads back the same


@PROPERTY
@given(st.text(max_size=200))
def test_any_stored_value_is_a_document_or_the_modules_error(text: str) -> None:
    try:
        stored = read_stored_credential(text)
    except VendorSecretError:
        return
    assert stored.origins and json.loads(text)["v"] == 1


HOSTS = st.sampled_from(["a.example", "b.example", "a.example.evil.com", "127.0.0.1", "::1", "example"])
ORIGINS = st.builds(Origin, st.sampled_from(["https", "http"]), HOSTS, st.sampled_from([443, 8443, 80]))


@PROPERTY
@given(st.lists(ORIGINS.filter(lambda o: o.scheme == "https"), min_size=1, max_size=4), ORIGINS, st.lists(HOSTS))
def test_a_destination_is_within_the_origins_only_when_it_is_one_of_them(
    origins: list[Origin], destination: Origin, hosts: list[str]
) -> None:
    stored = read_stored_credential(stored_credential(VALUE, origins))
    outside = outside_origins(destination, hosts, stored.origins)
    within = destination in origins and all(h in {o.host for o in origins} for h in hosts)
    assert (outside is None) == within
