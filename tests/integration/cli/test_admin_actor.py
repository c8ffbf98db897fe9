"""Who acts: ``local:<OS user>`` on the local plane, the caller's ARN on a stack; when STS cannot say, the
command fails (exit 1) before changing anything."""

from __future__ import annotations

import argparse

import pytest
from botocore.config import Config

from mcp_steward.cli import budgets, main
from mcp_steward.cli.target import Target, TargetError, caller_arn
from tests.conftest import aws_client
from tests.integration.cli.conftest import ACTOR, Plane

pytestmark = pytest.mark.moto


def test_the_caller_arn_comes_from_sts(moto_url: str) -> None:
    sts = aws_client("sts", moto_url)
    try:
        assert caller_arn(sts).startswith("arn:aws:")
    finally:
        sts.close()


def test_an_unreachable_sts_is_a_target_error() -> None:
    sts = aws_client("sts", "http://127.0.0.1:9", config=Config(retries={"total_max_attempts": 1}))
    try:
        with pytest.raises(TargetError, match="sts:GetCallerIdentity"):
            caller_arn(sts)
    finally:
        sts.close()


def test_on_the_local_plane_the_actor_is_the_os_user(plane: Plane) -> None:
    assert plane.target.actor() == ACTOR


def _unknown_caller() -> str:
    raise TargetError("cannot tell who is acting (sts:GetCallerIdentity failed): no credentials")


def test_a_change_whose_actor_is_unknown_exits_1_and_changes_nothing(
    finance: Plane, monkeypatch: pytest.MonkeyPatch
) -> None:
    finance.target.caller = _unknown_caller
    monkeypatch.setattr(main, "local_target", lambda _: finance.target)
    before = finance.snapshot()

    code, _, err = finance.run("budgets", "set", "--team", "finance", "--limit", "1")

    assert code == 1
    assert "sts:GetCallerIdentity" in err
    assert finance.snapshot() == before
    with pytest.raises(TargetError):
        budgets.limits_set(finance.target, argparse.Namespace(principal="alice", tool=None, per_minute="3"))
    assert finance.snapshot() == before


def test_listings_do_not_need_to_know_who_is_acting(finance: Plane, monkeypatch: pytest.MonkeyPatch) -> None:
    finance.target.caller = _unknown_caller
    monkeypatch.setattr(main, "local_target", lambda _: finance.target)

    assert finance.json("teams", "list")
    assert finance.json("budgets", "show") == []
    assert finance.json("limits", "list") == []


def test_targets_keep_the_actor_once_known(plane: Plane) -> None:
    calls: list[int] = []

    def counted() -> str:
        calls.append(1)
        return "arn:aws:iam::123456789012:user/ops"

    target: Target = plane.target
    target.caller = counted

    assert target.actor() == target.actor() == "arn:aws:iam::123456789012:user/ops"
    assert calls == [1]
