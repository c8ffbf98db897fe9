"""The configuration file's format: strict, versioned, money as decimal credit strings, errors that name the
offending entry's path."""

from __future__ import annotations

from typing import Any

import pytest

from mcp_steward.domain.budgets import Owner, OwnerKind, RateScope
from mcp_steward.domain.config_file import ConfigFileError, credits_text, load_config, to_document
from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.money import Micros
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.registry import NO_DELEGATION, DelegationMode, DelegationPolicy

PIN = "ab" * 32


def document(**sections: Any) -> dict[str, Any]:
    return {"apiVersion": "steward/v1", **sections}


def problems(data: object) -> list[tuple[str, str]]:
    with pytest.raises(ConfigFileError) as excinfo:
        load_config(data)
    return excinfo.value.problems


def paths(data: object) -> list[str]:
    return [path for path, _ in problems(data)]


FULL = document(
    teams={"finance": {"principals": ["alice", "erin"]}, "support": {"principals": ["bob"]}},
    servers={
        "calc": {
            "function": "CalcFunction",
            "aliases": {"multiply.numbers": "mul"},
            "tools": {
                "calc__add": {"hash": PIN, "version": "v3", "acknowledge": ["tool_preference"], "price": "0.10"},
                "calc__mul": {"price": "1", "unit_price": "0.000001", "max_units": 500},
            },
        }
    },
    grants=[
        {"team": "finance", "tool": "calc__*"},
        {"principal": "bob", "tool": "calc__add"},
        {"server": "hr", "tool": "calc__mul"},
    ],
    budgets=[{"team": "finance", "limit": "100"}, {"team": "finance", "principal": "alice", "limit": 12}],
    limits=[{"principal": "alice", "per_minute": 60}, {"tool": "calc__add", "per_minute": 5}],
)


def test_a_complete_file_is_read_with_money_in_micro_credits() -> None:
    config = load_config(FULL)

    add = config.servers["calc"].tools["calc__add"]
    assert (add.hash, add.version, add.acknowledge) == (PIN, "v3", ("tool_preference",))
    assert add.as_price() == Price(Micros(100_000))
    assert config.servers["calc"].tools["calc__mul"].as_price() == Price(Micros(1_000_000), Micros(1), 500)
    assert [spec.grant() for spec in config.grants] == [
        Grant(SubjectKind.TEAM, "finance", "calc__*"),
        Grant(SubjectKind.PRINCIPAL, "bob", "calc__add"),
        Grant(SubjectKind.SERVER, "hr", "calc__mul"),
    ]
    assert [(spec.owner, spec.limit) for spec in config.budgets] == [
        (Owner(OwnerKind.TEAM, "finance"), 100_000_000),
        (Owner(OwnerKind.PRINCIPAL, "alice"), 12_000_000),
    ]
    assert [(spec.key, spec.per_minute) for spec in config.limits] == [
        ((RateScope.PRINCIPAL, "alice"), 60),
        ((RateScope.TOOL, "calc__add"), 5),
    ]
    assert config.team_of() == {"alice": "finance", "erin": "finance", "bob": "support"}


def test_the_document_written_reads_back_as_the_same_configuration() -> None:
    config = load_config(FULL)

    written = to_document(config)

    assert load_config(written) == config
    assert written["servers"]["calc"]["tools"]["calc__add"]["price"] == "0.1"
    assert written["budgets"][1] == {"team": "finance", "principal": "alice", "limit": "12"}


def test_version_1_is_the_other_way_to_name_the_format_and_an_empty_file_is_valid() -> None:
    assert load_config({"version": 1}).servers == {}
    assert paths({}) == ["apiVersion"]
    assert paths({"apiVersion": "steward/v1", "version": 1}) == ["apiVersion"]
    assert paths({"apiVersion": "steward/v2"}) == ["apiVersion"]
    assert paths({"version": 2}) == ["version"]
    assert paths(["not", "a", "mapping"]) == [""]


@pytest.mark.parametrize(
    ("sections", "path"),
    [
        ({"teams": {"finance": {"principals": ["alice"], "budget": "1"}}}, "teams.finance.budget"),
        (
            {"servers": {"calc": {"function": "F", "tools": {"calc__add": {"hash": PIN, "pin": PIN}}}}},
            "servers.calc.tools.calc__add.pin",
        ),
        ({"grants": [{"team": "finance", "tool": "calc__*", "until": "2027"}]}, "grants[0].until"),
        ({"extra": True}, "extra"),
    ],
)
def test_unknown_keys_are_refused_at_their_path(sections: dict[str, Any], path: str) -> None:
    assert problems(document(**sections)) == [(path, "unknown key")]


@pytest.mark.parametrize(
    ("value", "accepted"),
    [("12.50", 12_500_000), ("0", 0), (7, 7_000_000), ("0.000001", 1)],
)
def test_amounts_are_decimal_credit_strings_or_whole_numbers(value: object, accepted: int) -> None:
    config = load_config(document(budgets=[{"team": "finance", "limit": value}]))
    assert config.budgets[0].limit == accepted


@pytest.mark.parametrize("value", [12.5, 1.0, True, "-1", "1e3", "0.0000001", "1,5", None])
def test_floats_and_malformed_amounts_are_refused_never_rounded(value: object) -> None:
    assert paths(document(budgets=[{"team": "finance", "limit": value}])) == ["budgets[0].limit"]


def test_bad_names_hashes_and_counts_are_refused_at_their_paths() -> None:
    found = paths(
        document(
            teams={"Finance": {"principals": ["alice"]}, "ops": {"principals": ["Al Ice"]}},
            servers={"calc": {"function": "calc-fn", "tools": {"calc__add": {"hash": "ABC"}}}},
            limits=[{"principal": "alice", "per_minute": 0}, {"tool": "calc__add", "per_minute": "5"}],
        )
    )
    assert set(found) == {
        "teams.Finance (the key)",
        "teams.ops.principals[0]",
        "servers.calc.function",
        "servers.calc.tools.calc__add.hash",
        "limits[0].per_minute",
        "limits[1].per_minute",
    }


def test_entries_that_contradict_themselves_are_refused() -> None:
    found = problems(
        document(
            servers={
                "calc": {
                    "function": "CalcFunction",
                    "tools": {
                        "calc__add": {"version": "v1"},
                        "calc__mul": {"hash": PIN, "unit_price": "1"},
                        "calc__div": {
                            "hash": PIN,
                            "price": "999999999999",
                            "unit_price": "999999999999",
                            "max_units": 1000000,
                        },
                    },
                }
            },
            grants=[{"team": "finance", "principal": "alice", "tool": "calc__add"}, {"tool": "calc__add"}],
            limits=[{"per_minute": 5}],
        )
    )
    assert [path for path, _ in found] == [
        "servers.calc.tools.calc__add",
        "servers.calc.tools.calc__mul",
        "servers.calc.tools.calc__div",
        "grants[0]",
        "grants[1]",
        "limits[0]",
    ]
    assert "need hash" in found[0][1]
    assert "go together" in found[1][1]


def test_entries_that_contradict_each_other_are_refused() -> None:
    found = problems(
        document(
            teams={"finance": {"principals": ["alice", "alice"]}, "support": {"principals": ["alice"]}},
            servers={
                "calc": {
                    "function": "CalcFunction",
                    "aliases": {"add": "a" * 48},
                    "tools": {"hr__lookup": {}},
                }
            },
            grants=[{"team": "finance", "tool": "calc__*"}, {"team": "finance", "tool": "calc__*"}],
            budgets=[
                {"team": "finance", "limit": "1"},
                {"team": "finance", "limit": "2"},
                {"team": "support", "principal": "erin", "limit": "1"},
                {"team": "finance", "principal": "alice", "limit": "1"},
            ],
            limits=[{"principal": "alice", "per_minute": 1}, {"principal": "alice", "per_minute": 2}],
        )
    )
    assert [path for path, _ in found] == [
        "teams.finance.principals[1]",
        "teams.support.principals[0]",
        "servers.calc.aliases.add",
        "servers.calc.tools.hr__lookup",
        "grants[1]",
        "budgets[1]",
        "limits[1]",
    ]
    assert found[4][1] == "the same entry as grants[0]"


def test_amounts_are_written_as_the_shortest_exact_decimal() -> None:
    assert [credits_text(m) for m in (0, 1, 100_000, 12_500_000, 100_000_000)] == [
        "0",
        "0.000001",
        "0.1",
        "12.5",
        "100",
    ]


def test_a_published_version_may_be_written_as_a_number() -> None:
    tool = {"hash": PIN, "version": 3}
    config = load_config(document(servers={"calc": {"function": "CalcFunction", "tools": {"calc__add": tool}}}))
    assert config.servers["calc"].tools["calc__add"].version == "3"


VENDOR = {
    "url": "https://mcp.vendor.example/mcp",
    "secret": "steward-local/vendor/docs",
    "auth_header": "X-Api-Key: {secret}",
    "allow_hosts": ["CDN.Vendor.example", "[2001:DB8::1]"],
}


def test_a_vendor_server_is_read_with_its_hosts_normalized_and_written_back() -> None:
    config = load_config(document(servers={"docs": VENDOR}))

    docs = config.servers["docs"]
    assert (docs.function, docs.url, docs.secret, docs.auth_header) == (
        None,
        "https://mcp.vendor.example/mcp",
        "steward-local/vendor/docs",
        "X-Api-Key: {secret}",
    )
    assert docs.allow_hosts == ("cdn.vendor.example", "2001:db8::1")
    assert docs.delegation_policy() == NO_DELEGATION
    assert to_document(config)["servers"]["docs"] == {**VENDOR, "allow_hosts": list(docs.allow_hosts), "tools": {}}
    assert load_config(to_document(config)) == config


def test_an_internal_servers_delegation_is_read_with_credit_in_micro_credits_and_written_back() -> None:
    delegating = {"function": "CalcFunction", "delegation": {"calls": 3, "credit": "1.5", "mode": "intersect"}}

    config = load_config(document(servers={"calc": delegating}))

    assert config.servers["calc"].delegation_policy() == DelegationPolicy(
        3, Micros(1_500_000), DelegationMode.INTERSECT
    )
    assert to_document(config)["servers"]["calc"]["delegation"] == {"calls": 3, "credit": "1.5", "mode": "intersect"}
    assert load_config(to_document(config)) == config
    minimal = load_config(document(servers={"calc": {"function": "CalcFunction", "delegation": {"calls": 1}}}))
    assert minimal.servers["calc"].delegation_policy() == DelegationPolicy(1, Micros(0), DelegationMode.SERVICE)


@pytest.mark.parametrize(
    ("server", "path", "message"),
    [
        ({}, "servers.x", "exactly one of function"),
        ({"function": "F", "url": "https://a.example"}, "servers.x", "exactly one of function"),
        ({"url": "http://a.example/mcp"}, "servers.x.url", "https"),
        ({"url": "https://user:pw@a.example/mcp"}, "servers.x.url", "credentials"),
        ({"url": "https://0x7f000001/mcp"}, "servers.x.url", "dotted-quad"),
        ({"url": "https://[bad/mcp"}, "servers.x.url", "malformed"),
        ({"url": "https://a.example", "allow_hosts": ["not a host"]}, "servers.x.allow_hosts[0]", "not a valid host"),
        ({"url": "https://a.example", "secret": "s/vendor/*"}, "servers.x.secret", "pattern"),
        ({"url": "https://a.example", "secret": "s", "auth_header": "X-Key: none"}, "servers.x.auth_header", "once"),
        ({"url": "https://a.example", "secret": "s", "auth_header": "Host: {secret}"}, "servers.x.auth_header", "once"),
        ({"url": "https://a.example", "auth_header": "X-Key: {secret}"}, "servers.x.auth_header", "needs secret"),
        ({"url": "https://a.example", "delegation": {"calls": 1}}, "servers.x.delegation", "no nested calls"),
        ({"function": "F", "secret": "s/vendor/x"}, "servers.x.secret", "only a vendor server"),
        ({"function": "F", "allow_hosts": ["a.example"]}, "servers.x.allow_hosts", "only a vendor server"),
        ({"function": "F", "delegation": {"calls": 0}}, "servers.x.delegation.calls", "greater than or equal to 1"),
        ({"function": "F", "delegation": {"calls": 101}}, "servers.x.delegation.calls", "less than or equal to 100"),
        ({"function": "F", "delegation": {"calls": 1, "credit": 1.5}}, "servers.x.delegation.credit", "quoted"),
        ({"function": "F", "delegation": {"calls": 1, "mode": "all"}}, "servers.x.delegation.mode", "'intersect'"),
        ({"function": "F", "delegation": {"calls": 1, "cap": 2}}, "servers.x.delegation.cap", "unknown key"),
    ],
)
def test_vendor_and_delegation_entries_that_break_the_rules_are_refused_at_their_paths(
    server: dict[str, Any], path: str, message: str
) -> None:
    [(found_path, found_message)] = problems(document(servers={"x": server}))

    assert found_path == path
    assert message in found_message


def test_allow_unknown_is_a_boolean_for_a_principal_or_team_grant_written_back_only_when_set() -> None:
    config = load_config(
        document(
            grants=[
                {"principal": "oidc-user", "tool": "calc__add", "allow_unknown": True},
                {"team": "finance", "tool": "calc__*", "allow_unknown": False},
            ]
        )
    )

    assert [spec.allow_unknown for spec in config.grants] == [True, False]
    assert to_document(config)["grants"] == [
        {"principal": "oidc-user", "tool": "calc__add", "allow_unknown": True},
        {"team": "finance", "tool": "calc__*"},
    ]
    assert problems(document(grants=[{"server": "hr", "tool": "calc__add", "allow_unknown": True}])) == [
        ("grants[0]", "allow_unknown admits a principal or team only an OIDC issuer knows, never a server")
    ]
    assert paths(document(grants=[{"team": "finance", "tool": "calc__*", "allow_unknown": "yes"}])) == [
        "grants[0].allow_unknown"
    ]
