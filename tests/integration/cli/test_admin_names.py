"""Deny by default must not hide typos: ``steward grants add`` and ``steward keys create --on-behalf-of`` refuse a
principal, team, tool or server the plane does not hold (exit 2, the closest name in the message, nothing written);
``--allow-unknown`` admits a principal or team only an OIDC issuer knows, never a tool or server.
``grants remove`` removes a grant of something gone all the same, and names the closest grant when none matched."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.names import ExposedName, ServerName
from mcp_steward.domain.registry import ServerKind, ServerRecord
from tests.integration.cli.conftest import Plane

pytestmark = pytest.mark.moto


def grants(plane: Plane) -> set[tuple[str, str, str]]:
    return {(g["subject_kind"], g["subject"], g["target"]) for g in plane.json("grants", "list")}


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--team", "finanse", "--tool", "calc__add"], "no team 'finanse' (did you mean 'finance'?)"),
        (["--principal", "alcie", "--tool", "calc__add"], "no principal 'alcie' (did you mean 'alice'?)"),
        (["--team", "finance", "--tool", "calc__ad"], "--tool: no tool 'calc__ad' (did you mean 'calc__add'?)"),
        (["--team", "finance", "--tool", "calk__*"], "--tool: no server 'calk' (did you mean 'calc'?)"),
        (["--server", "calk", "--tool", "calc__add"], "no server 'calk' (did you mean 'calc'?)"),
        # --allow-unknown admits principals and teams, never a tool or a server
        (["--team", "finance", "--tool", "calc__ad", "--allow-unknown"], "no tool 'calc__ad'"),
        (["--server", "calk", "--tool", "calc__add", "--allow-unknown"], "no server 'calk'"),
    ],
)
def test_grants_add_refuses_a_name_the_plane_does_not_hold_naming_the_closest(
    finance: Plane, args: list[str], named: str
) -> None:
    before = finance.snapshot()

    code, out, err = finance.run("grants", "add", *args)

    assert code == 2
    assert named in err
    assert out == ""
    assert finance.snapshot() == before  # the grants table (and every other) unchanged, nothing audited


def test_a_refusal_says_where_the_names_are_and_what_admits_an_oidc_subject(finance: Plane) -> None:
    _, _, err = finance.run("grants", "add", "--team", "ops", "--tool", "calc__add")

    assert err.startswith("steward: error: no team 'ops';")  # nothing alike: no suggestion
    assert "steward teams list" in err and "--allow-unknown" in err


def test_allow_unknown_admits_a_principal_or_team_only_an_oidc_issuer_knows(finance: Plane) -> None:
    finance.ok("grants", "add", "--principal", "oidc-user", "--tool", "calc__add", "--allow-unknown")
    finance.ok("grants", "add", "--team", "oidc-team", "--tool", "calc__*", "--allow-unknown")

    assert grants(finance) == {("principal", "oidc-user", "calc__add"), ("team", "oidc-team", "calc__*")}
    assert [r.action for r in finance.admin_records()][-2:] == ["grants.add", "grants.add"]


def test_a_grant_of_a_pending_or_rejected_tool_is_made_and_says_the_tools_status(finance: Plane) -> None:
    pending = finance.ok("grants", "add", "--team", "finance", "--tool", "calc__mul")
    finance.ok("tools", "reject", "calc__mul")
    rejected = finance.ok("grants", "add", "--principal", "bob", "--tool", "calc__mul")
    approved = finance.ok("grants", "add", "--server", "calc", "--tool", "calc__add")

    assert "the tool is pending: calls are refused until it is approved" in pending
    assert "the tool is rejected by admin local:" in rejected
    assert approved.strip() == "granted calc__add to server calc"
    assert grants(finance) == {
        ("team", "finance", "calc__mul"),
        ("principal", "bob", "calc__mul"),
        ("server", "calc", "calc__add"),
    }


def test_a_grant_of_something_gone_is_still_removed(finance: Plane) -> None:
    """Cleanup: the check applies to what is removed only when nothing matched."""
    finance.target.grants.add(Grant(SubjectKind.TEAM, "disbanded", "gone__*"))
    finance.target.grants.add(Grant(SubjectKind.SERVER, "retired", "calc__add"))

    finance.ok("grants", "remove", "--team", "disbanded", "--tool", "gone__*")
    finance.ok("grants", "remove", "--server", "retired", "--tool", "calc__add")

    assert grants(finance) == set()
    assert [r.action for r in finance.admin_records()][-2:] == ["grants.remove", "grants.remove"]


def test_grants_remove_that_matches_nothing_names_the_closest_subject_or_grant(finance: Plane) -> None:
    finance.ok("grants", "add", "--team", "finance", "--tool", "calc__add")
    finance.target.grants.add(Grant(SubjectKind.TEAM, "oidc-team", "calc__*"))  # a team no entity names
    before = finance.snapshot()

    refused = [
        finance.run("grants", "remove", "--team", "finanse", "--tool", "calc__add"),
        finance.run("grants", "remove", "--team", "finance", "--tool", "calc__ad"),
        finance.run("grants", "remove", "--team", "oidc-tem", "--tool", "calc__*"),
    ]

    assert [code for code, _, _ in refused] == [2, 2, 2]
    assert "no team 'finanse' (did you mean 'finance'?): no grant to remove" in refused[0][2]
    assert "team finance has no grant calc__ad (did you mean 'calc__add'?)" in refused[1][2]
    assert "no team 'oidc-tem' (did you mean 'oidc-team'?)" in refused[2][2]  # a grant's subject counts
    assert finance.snapshot() == before


def test_keys_create_on_behalf_of_a_user_the_plane_does_not_hold_is_refused(finance: Plane) -> None:
    before = finance.snapshot()

    code, out, err = finance.run(
        "keys", "create", "--principal", "agent", "--team", "finance", "--on-behalf-of", "alcie"
    )

    assert code == 2
    assert "--on-behalf-of: no principal 'alcie' (did you mean 'alice'?)" in err
    assert out == ""  # no token printed
    assert finance.snapshot() == before
    finance.ok("keys", "create", "--principal", "agent", "--team", "finance", "--on-behalf-of", "alice")
    finance.ok(
        "keys", "create", "--principal", "agent", "--team", "finance", "--on-behalf-of", "oidc-user", "--allow-unknown"
    )
    obo = {k["on_behalf_of"] for k in finance.json("keys", "list") if k["principal"] == "agent"}
    assert obo == {"alice", "oidc-user"}


def test_keys_create_in_a_new_team_close_to_an_existing_one_says_so(finance: Plane) -> None:
    code, out, err = finance.run("keys", "create", "--principal", "carol", "--team", "finanse")

    assert code == 0  # a new team is legitimate: created, with a note
    assert "note: team 'finanse' is new (did you mean 'finance'?)" in err
    assert out.strip().splitlines()[-1].startswith("stw_")
    _, _, quiet = finance.run("keys", "create", "--principal", "dora", "--team", "treasury")
    assert "note" not in quiet


NAMES = st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1, max_size=20).filter(
    lambda name: name[0] != "-"
)


@settings(
    max_examples=12,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(subject=st.sampled_from(["--principal", "--team", "--server"]), name=NAMES, tool=NAMES)
def test_any_name_the_plane_does_not_hold_is_refused_and_nothing_is_written(
    finance: Plane, subject: str, name: str, tool: str
) -> None:
    held = {"alice", "erin", "bob", "finance", "support", "calc"}
    catalog = finance.target.registry.catalog()
    assert set(catalog.servers) == {ServerName("calc")} and ExposedName("calc__add") in catalog.tools
    before = finance.snapshot()

    if name[0].isalpha() and name not in held:  # a well-formed name of any kind (servers start with a letter)
        code, _, err = finance.run("grants", "add", subject, name, "--tool", "calc__add")
        assert (code, repr(name) in err) == (2, True)
    code, _, err = finance.run("grants", "add", "--team", "finance", "--tool", f"calc__{tool}-x")
    assert (code, "no tool" in err) == (2, True)
    code, _, err = finance.run("grants", "add", "--team", "finance", "--tool", f"x{tool}__*")
    assert (code, "no server" in err or "must be" in err) == (2, True)

    assert finance.snapshot() == before


def test_a_server_registered_later_is_granted_once_it_exists(finance: Plane) -> None:
    code, _, err = finance.run("grants", "add", "--team", "finance", "--tool", "notes__*")
    assert code == 2 and "no server 'notes'" in err

    finance.target.registry.put_server(ServerRecord(ServerName("notes"), ServerKind.INTERNAL, "fn", 10), [])

    finance.ok("grants", "add", "--team", "finance", "--tool", "notes__*")
    assert ("team", "finance", "notes__*") in grants(finance)
