"""Keys, principals and grants through the admin services: each change is audited as the CLI always audited it,
and a refusal changes nothing and audits nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mcp_steward.domain.grants import Grant, SubjectKind
from mcp_steward.domain.keys import token_digest
from mcp_steward.services.admin import AdminConflictError, AdminRefusedError
from mcp_steward.services.admin.grants import add_grant, grant_of, remove_grant
from mcp_steward.services.admin.keys_and_teams import NewKey, add_principal, create_key, revoke_key
from tests.unit.services.admin.conftest import NOW, Plane


def test_a_key_is_created_with_its_principal_and_audited_without_the_token(plane: Plane) -> None:
    created = create_key(plane.ports, NewKey("alice", "finance", roles=["admin"], expires_at=NOW + timedelta(days=1)))

    assert plane.keys.members() == {"alice": "finance"}
    assert plane.keys.resolve(created.token) is not None
    [(action, detail, subjects)] = plane.audit
    assert action == "keys.create"
    assert detail == {
        "key_id": created.record.key_id,
        "roles": ["admin"],
        "on_behalf_of": None,
        "expires_at": (NOW + timedelta(days=1)).isoformat(),
    }
    assert subjects == {"team": "finance", "principal": "alice", "tool": None}
    assert created.token not in repr(plane.audit) and token_digest(created.token) not in repr(plane.audit)


def test_a_new_team_close_to_an_existing_one_is_named(plane: Plane) -> None:
    create_key(plane.ports, NewKey("alice", "finance"))

    assert create_key(plane.ports, NewKey("bob", "finanse")).similar_team == "finance"


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (NewKey("Alice", "finance"), "principal 'Alice' must match"),
        (NewKey("carol", "finance", on_behalf_of="alicee"), "--on-behalf-of: no principal 'alicee'"),
        (NewKey("carol", "finance", expires_at=NOW), "--expires must be in the future"),
        (NewKey("alice", "support"), "principal alice belongs to team finance"),
    ],
)
def test_a_refused_key_changes_nothing(plane: Plane, request_: NewKey, message: str) -> None:
    create_key(plane.ports, NewKey("alice", "finance"))
    before = plane.snapshot()

    with pytest.raises(AdminRefusedError, match=message) as refused:
        create_key(plane.ports, request_)

    assert refused.value.exit_code == 2
    assert plane.snapshot() == before


def test_a_key_is_revoked_and_an_unknown_one_refused(plane: Plane) -> None:
    created = create_key(plane.ports, NewKey("alice", "finance"))
    revoke_key(plane.ports, created.record.key_id)
    assert plane.audit[-1][:2] == ("keys.revoke", {"key_id": created.record.key_id})
    before = plane.snapshot()

    with pytest.raises(AdminRefusedError, match="no key 'k-nosuch'"):
        revoke_key(plane.ports, "k-nosuch")
    assert plane.snapshot() == before


def test_a_principal_in_another_team_is_a_conflict(plane: Plane) -> None:
    add_principal(plane.ports, "erin", "finance")
    assert plane.audit[-1] == (
        "principals.add",
        {"principal": "erin", "team": "finance"},
        {"team": "finance", "principal": "erin", "tool": None},
    )

    with pytest.raises(AdminConflictError, match="created in team finance meanwhile") as conflict:
        add_principal(plane.ports, "erin", "support")
    assert conflict.value.exit_code == 1


def test_a_grant_is_added_audited_and_removed(calc_plane: Plane) -> None:
    grant = grant_of("calc__*", team="finance")

    assert add_grant(calc_plane.ports, grant) is None  # a pattern names no one tool
    tool = add_grant(calc_plane.ports, grant_of("calc__add", principal="alice"))
    assert tool is not None and tool.status.value == "pending"
    assert remove_grant(calc_plane.ports, grant)

    assert calc_plane.grants.all() == [Grant(SubjectKind.PRINCIPAL, "alice", "calc__add")]
    assert calc_plane.audit == [
        (
            "grants.add",
            {"subject_kind": "team", "subject": "finance", "tool": "calc__*"},
            {"team": "finance", "principal": None, "tool": None},
        ),
        (
            "grants.add",
            {"subject_kind": "principal", "subject": "alice", "tool": "calc__add"},
            {"team": None, "principal": "alice", "tool": None},
        ),
        (
            "grants.remove",
            {"subject_kind": "team", "subject": "finance", "tool": "calc__*"},
            {"team": "finance", "principal": None, "tool": None},
        ),
    ]


@pytest.mark.parametrize(
    ("grant", "message"),
    [
        (Grant(SubjectKind.TEAM, "finanse", "calc__add"), "no team 'finanse' \\(did you mean 'finance'\\?\\)"),
        (Grant(SubjectKind.PRINCIPAL, "alice", "calc__ad"), "--tool: no tool 'calc__ad'"),
        (Grant(SubjectKind.SERVER, "calx", "calc__add"), "no server 'calx'"),
    ],
)
def test_a_grant_of_an_unknown_name_is_refused_and_nothing_changes(
    calc_plane: Plane, grant: Grant, message: str
) -> None:
    before = calc_plane.snapshot()

    with pytest.raises(AdminRefusedError, match=message):
        add_grant(calc_plane.ports, grant)

    assert calc_plane.snapshot() == before


def test_allow_unknown_admits_a_team_only_an_oidc_issuer_knows(calc_plane: Plane) -> None:
    add_grant(calc_plane.ports, Grant(SubjectKind.TEAM, "oidc-team", "calc__add"), allow_unknown=True)

    assert Grant(SubjectKind.TEAM, "oidc-team", "calc__add") in calc_plane.grants.all()


def test_removing_a_grant_there_is_not_names_the_closest(calc_plane: Plane) -> None:
    add_grant(calc_plane.ports, grant_of("calc__add", team="finance"))
    before = calc_plane.snapshot()

    with pytest.raises(AdminRefusedError, match="team finance has no grant calc__mul"):
        remove_grant(calc_plane.ports, grant_of("calc__mul", team="finance"))
    assert not remove_grant(calc_plane.ports, grant_of("calc__mul", team="finance"), missing_ok=True)
    assert calc_plane.snapshot() == before


def test_the_actor_is_asked_before_any_change(calc_plane: Plane) -> None:
    def nobody() -> str:
        raise RuntimeError("cannot tell who is acting")

    calc_plane.ports.actor = nobody
    before = calc_plane.snapshot()

    with pytest.raises(RuntimeError):
        add_grant(calc_plane.ports, grant_of("calc__add", team="finance"))
    with pytest.raises(RuntimeError):
        create_key(calc_plane.ports, NewKey("bob", "support"))
    assert calc_plane.snapshot() == before
