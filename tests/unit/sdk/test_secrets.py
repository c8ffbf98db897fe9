from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from mcp_steward.sdk import secrets as sdk_secrets
from mcp_steward.sdk.secrets import SecretError, get_secret_json

TOKEN = "s3cr3t-token-value"


class FakeSecretsManager:
    """Implements the one call the helper makes; counts reads."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.reads = 0

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:  # noqa: N803 - boto3's parameter name
        self.reads += 1
        if SecretId not in self.values:
            raise LookupError("ResourceNotFoundException")
        return {"SecretString": self.values[SecretId]}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSecretsManager]:
    sdk_secrets.clear_secret_cache()
    client = FakeSecretsManager({"hr/datastore": json.dumps({"username": "u", "token": TOKEN})})
    monkeypatch.setattr(sdk_secrets, "_client", client)
    monkeypatch.setenv("MY_SECRET_ARN", "hr/datastore")
    yield client
    sdk_secrets.clear_secret_cache()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake_clock = Clock()
    monkeypatch.setattr(sdk_secrets, "_clock", fake_clock)
    return fake_clock


def test_the_secret_named_by_the_environment_variable_is_returned_as_json(fake: FakeSecretsManager) -> None:
    assert get_secret_json("MY_SECRET_ARN") == {"username": "u", "token": TOKEN}


def test_a_secret_is_read_once_within_its_max_age(fake: FakeSecretsManager, clock: Clock) -> None:
    get_secret_json("MY_SECRET_ARN", max_age_s=60)
    clock.now += 59
    get_secret_json("MY_SECRET_ARN", max_age_s=60)
    assert fake.reads == 1


def test_a_secret_is_read_again_after_its_max_age(fake: FakeSecretsManager, clock: Clock) -> None:
    get_secret_json("MY_SECRET_ARN", max_age_s=60)
    clock.now += 60
    fake.values["hr/datastore"] = json.dumps({"token": "rotated"})
    assert get_secret_json("MY_SECRET_ARN", max_age_s=60) == {"token": "rotated"}
    assert fake.reads == 2


def test_callers_cannot_corrupt_the_cached_value(fake: FakeSecretsManager) -> None:
    get_secret_json("MY_SECRET_ARN")["token"] = "changed"
    assert get_secret_json("MY_SECRET_ARN")["token"] == TOKEN


@pytest.mark.parametrize("value", [None, "", "  "])
def test_an_unset_variable_is_an_error_naming_the_variable(
    fake: FakeSecretsManager, monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("MY_SECRET_ARN")
    else:
        monkeypatch.setenv("MY_SECRET_ARN", value)
    with pytest.raises(SecretError, match="MY_SECRET_ARN"):
        get_secret_json("MY_SECRET_ARN")
    assert fake.reads == 0


def test_an_unreadable_secret_is_an_error_naming_the_variable(
    fake: FakeSecretsManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_SECRET_ARN", "missing/secret")
    with pytest.raises(SecretError, match="MY_SECRET_ARN"):
        get_secret_json("MY_SECRET_ARN")


@pytest.mark.parametrize("stored", [f"token={TOKEN}", json.dumps([TOKEN])])
def test_a_value_that_is_not_a_json_object_is_refused_without_revealing_it(
    fake: FakeSecretsManager, caplog: pytest.LogCaptureFixture, stored: str
) -> None:
    fake.values["hr/datastore"] = stored
    with caplog.at_level(logging.DEBUG), pytest.raises(SecretError) as excinfo:
        get_secret_json("MY_SECRET_ARN")
    assert "MY_SECRET_ARN" in str(excinfo.value)
    assert TOKEN not in str(excinfo.value)
    assert excinfo.value.__cause__ is None
    assert TOKEN not in caplog.text
