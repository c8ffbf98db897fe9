"""The delegation key in Secrets Manager (moto server over HTTP): signing with AWSCURRENT, verifying with
AWSCURRENT or AWSPREVIOUS across a rotation, refreshing for a kid minted after a rotation, failing closed."""

from __future__ import annotations

import uuid

import pytest

from mcp_steward.adapters.secrets_delegation_keys import (
    REFRESH_MIN_S,
    TTL_S,
    SecretsManagerDelegationKeys,
    StaticDelegationKeys,
)
from mcp_steward.domain.delegation import mint, root_claims, verify
from mcp_steward.domain.ports import StoreUnavailableError
from tests.conftest import aws_client

pytestmark = pytest.mark.moto

NOW = 1_800_000_000


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def new_secret(client: object, value: str) -> str:
    name = f"steward-test/delegation-key-{uuid.uuid4().hex[:8]}"
    client.create_secret(Name=name, SecretString=value)  # type: ignore[attr-defined]
    return name


def token_with(keys: SecretsManagerDelegationKeys | StaticDelegationKeys) -> str:
    kid, key = keys.signing_key()
    claims = root_claims(
        kid=kid,
        request_id="r1",
        server="research",
        person="alice",
        obo=None,
        team="finance",
        now_s=NOW,
        deadline_ms=(NOW + 30) * 1000,
    )
    return mint(claims, key)


def test_tokens_verify_across_a_rotation_and_a_kid_from_a_newer_sandbox_refreshes_once(moto_url: str) -> None:
    client = aws_client("secretsmanager", moto_url)
    secret = new_secret(client, "a" * 48)
    clock = Clock()
    signer = SecretsManagerDelegationKeys(client, secret, clock=clock)
    verifier = SecretsManagerDelegationKeys(client, secret, clock=clock)
    before = token_with(signer)
    first_kid = signer.signing_key()[0]
    assert verify(before, verifier.key, now_s=NOW).team == "finance"

    client.put_secret_value(SecretId=secret, SecretString="b" * 48)  # rotation: the old one is AWSPREVIOUS
    fresh = SecretsManagerDelegationKeys(client, secret, clock=clock)  # a sandbox started after the rotation
    after = token_with(fresh)
    assert fresh.signing_key()[0] != signer.signing_key()[0]
    clock.now += REFRESH_MIN_S  # the verifier's cache predates the rotation: it refreshes for the new kid
    assert verify(after, verifier.key, now_s=NOW).sub == "alice"
    assert verify(before, verifier.key, now_s=NOW).sub == "alice"  # AWSPREVIOUS still verifies

    client.put_secret_value(SecretId=secret, SecretString="c" * 48)  # a second rotation retires the first key
    clock.now += TTL_S
    assert verifier.key(first_kid) is None


def test_a_missing_secret_or_a_short_key_fails_closed(moto_url: str) -> None:
    client = aws_client("secretsmanager", moto_url)
    with pytest.raises(StoreUnavailableError, match="ResourceNotFoundException"):
        SecretsManagerDelegationKeys(client, "steward-test/no-such-secret").signing_key()
    short = new_secret(client, "too-short")
    with pytest.raises(StoreUnavailableError, match="at least 32"):
        SecretsManagerDelegationKeys(client, short).signing_key()


def test_the_static_fake_signs_with_the_current_key_and_verifies_every_key() -> None:
    keys = StaticDelegationKeys({"old": b"o" * 32, "new": b"n" * 32}, current="new")
    assert verify(token_with(keys), keys.key, now_s=NOW).kid == "new"
    assert keys.key("old") == b"o" * 32 and keys.key("other") is None
