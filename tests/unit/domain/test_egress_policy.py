"""The egress rules: URLs, hosts, addresses (embedded IPv4 forms unwrapped), secret names, header templates."""

from __future__ import annotations

import ipaddress

import pytest

from mcp_steward.domain.egress_policy import (
    AuthHeader,
    EgressPolicy,
    EgressRefusedError,
    address_refusal,
    check_literal_host,
    check_secret_id,
    check_url,
)

NONE = EgressPolicy()


def refused_rule(url: str, hosts: list[str] | None = None, policy: EgressPolicy = NONE) -> str:
    with pytest.raises(EgressRefusedError) as excinfo:
        check_url(url, hosts if hosts is not None else ["vendor.example"], policy)
    return excinfo.value.rule


@pytest.mark.parametrize(
    ("address", "rule"),
    [
        ("127.0.0.1", "loopback_address"),
        ("::1", "loopback_address"),
        ("10.1.2.3", "private_address"),
        ("192.168.0.10", "private_address"),
        ("172.16.5.4", "private_address"),
        ("fd12:3456::1", "private_address"),
        ("169.254.10.10", "link_local_address"),
        ("fe80::1", "link_local_address"),
        ("100.64.0.1", "cgnat_address"),
        ("224.0.0.1", "multicast_address"),
        ("ff0e::1", "multicast_address"),
        ("240.0.0.1", "reserved_address"),
        ("0.0.0.0", "unspecified_address"),
        ("::", "unspecified_address"),
        ("169.254.169.254", "metadata_address"),
        ("fd00:ec2::254", "metadata_address"),
        ("::ffff:127.0.0.1", "loopback_address"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "metadata_address"),
        ("::7f00:1", "loopback_address"),  # IPv4-compatible, which Python calls global
        ("64:ff9b::7f00:1", "loopback_address"),  # NAT64 of 127.0.0.1, which Python calls global
        ("64:ff9b::a00:1", "private_address"),
        ("2002:7f00:1::", "loopback_address"),  # 6to4 of 127.0.0.1
        ("198.18.0.1", "private_address"),
    ],
)
def test_addresses_that_are_not_globally_routable_are_refused_with_their_class(address: str, rule: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) == rule


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_globally_routable_addresses_pass(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://vendor.example/mcp", "scheme"),
        ("ftp://vendor.example/mcp", "scheme"),
        ("https://user:pw@vendor.example/mcp", "credentials_in_url"),
        ("https://2130706433/mcp", "numeric_host"),  # decimal 127.0.0.1
        ("https://0x7f000001/mcp", "numeric_host"),  # hex 127.0.0.1
        ("https://0177.0.0.1/mcp", "numeric_host"),  # octal
        ("https://127.1/mcp", "numeric_host"),
        ("https://other.example/mcp", "host_not_allowed"),
        ("https://vendor.example:99999/mcp", "malformed_url"),
        ("https:///mcp", "malformed_url"),
    ],
)
def test_urls_break_the_rules_before_anything_is_resolved(url: str, rule: str) -> None:
    assert refused_rule(url) == rule


def test_a_url_whose_host_is_allowed_gives_its_origin() -> None:
    origin = check_url("https://Vendor.Example/mcp?x=1", ["vendor.example"], NONE)
    assert str(origin) == "https://vendor.example:443"
    assert str(check_url("https://[2606:4700::1]:8443/mcp", ["2606:4700::1"], NONE)) == "https://[2606:4700::1]:8443"


def test_a_url_that_points_back_at_steward_is_refused() -> None:
    policy = EgressPolicy.of(self_urls=["mcp.steward.example", "https://127.0.0.1:8787"])
    assert refused_rule("https://mcp.steward.example/mcp", ["mcp.steward.example"], policy) == "self"
    assert refused_rule("https://127.0.0.1:8787/mcp", ["127.0.0.1"], policy) == "self"


def test_local_origins_must_be_exact_https_origins() -> None:
    assert EgressPolicy.of(local_origins=["https://127.0.0.1:8443"]).local_origins
    for bad in ("http://127.0.0.1:8443", "https://127.0.0.1:8443/mcp", "127.0.0.1:8443"):
        with pytest.raises(ValueError, match="https"):
            EgressPolicy.of(local_origins=[bad])


def test_vendor_secrets_must_live_under_the_stacks_vendor_prefix() -> None:
    assert check_secret_id("steward/vendor/weather", "steward/vendor/") == "steward/vendor/weather"
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:steward/vendor/weather-AbCdEf"
    assert check_secret_id(arn, "steward/vendor/") == arn
    for bad in ("steward/hr-directory/datastore", "steward/vendor/", "other/vendor/x", "steward/vendor/*"):
        with pytest.raises(EgressRefusedError) as excinfo:
            check_secret_id(bad, "steward/vendor/")
        assert excinfo.value.rule == "secret_outside_prefix"


def test_an_auth_header_template_places_the_secret_once_in_a_header_the_transport_does_not_own() -> None:
    assert AuthHeader.parse("X-Api-Key: {secret}").render("k1") == ("X-Api-Key", "k1")
    assert AuthHeader.parse("Authorization: Bearer {secret}").render("t") == ("Authorization", "Bearer t")
    for bad in ("Authorization Bearer {secret}", "Host: {secret}", "X: no placeholder", "X: {secret}{secret}"):
        with pytest.raises(EgressRefusedError):
            AuthHeader.parse(bad)


def test_a_secret_that_cannot_travel_in_a_header_is_refused_without_showing_it() -> None:
    with pytest.raises(EgressRefusedError) as excinfo:
        AuthHeader.parse("X-Key: {secret}").render("line\r\nInjected: yes")
    assert excinfo.value.rule == "credential_invalid"
    assert "Injected" not in str(excinfo.value)


@pytest.mark.parametrize(
    ("host", "rule"),
    [
        ("169.254.169.254", "metadata_address"),
        ("127.0.0.1", "loopback_address"),
        ("10.0.0.8", "private_address"),
        ("[::ffff:192.168.1.1]", "private_address"),
        ("[fd00:ec2::254]", "metadata_address"),
    ],
)
def test_a_non_global_address_literal_is_refused_before_any_lookup(host: str, rule: str) -> None:
    origin = check_url(f"https://{host}/mcp", [host], NONE)
    with pytest.raises(EgressRefusedError) as refused:
        check_literal_host(origin, NONE)
    assert refused.value.rule == rule


def test_a_global_literal_a_name_and_a_listed_local_origin_pass_the_literal_check() -> None:
    for url, host in (("https://8.8.8.8/mcp", "8.8.8.8"), ("https://mcp.vendor.example/mcp", "mcp.vendor.example")):
        check_literal_host(check_url(url, [host], NONE), NONE)
    local = EgressPolicy.of(local_origins=["https://127.0.0.1:8443"])
    check_literal_host(check_url("https://127.0.0.1:8443/mcp", ["127.0.0.1"], local), local)
