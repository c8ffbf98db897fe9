"""The delegation key in Secrets Manager: ``AWSCURRENT`` signs, ``AWSCURRENT`` and ``AWSPREVIOUS`` verify.

Rotation is ``put-secret-value`` (or a rotation function): Secrets Manager moves the old version to
``AWSPREVIOUS``, so tokens minted just before keep verifying for as long as they live (seconds). A key
id is the secret's ``VersionId``. Keys are cached for :data:`TTL_S`; a token naming a kid not in the cache
(minted by a sandbox that already saw a rotation) refreshes the cache once, at most every
:data:`REFRESH_MIN_S`. Any failure to read the secret fails closed (:class:`StoreUnavailableError`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from botocore.exceptions import BotoCoreError, ClientError

from mcp_steward.adapters.dynamodb_common import error_code
from mcp_steward.domain.ports import StoreUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

TTL_S: Final = 300.0
REFRESH_MIN_S: Final = 30.0
MIN_KEY_CHARS: Final = 32


class SecretsManagerDelegationKeys:
    """The :class:`~mcp_steward.domain.ports.DelegationKeys` over one secret."""

    def __init__(
        self, client: SecretsManagerClient, secret_id: str, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._secret_id = secret_id
        self._clock = clock
        self._lock = threading.Lock()
        self._current: tuple[str, bytes] | None = None
        self._keys: dict[str, bytes] = {}
        self._loaded_at = float("-inf")

    def signing_key(self) -> tuple[str, bytes]:
        """The current key and its id."""
        with self._lock:
            if self._current is None or self._clock() - self._loaded_at >= TTL_S:
                self._load_locked()
            assert self._current is not None
            return self._current

    def key(self, kid: str) -> bytes | None:
        """The current or previous key named ``kid``; None for any other."""
        with self._lock:
            stale = self._clock() - self._loaded_at >= TTL_S
            unknown = kid not in self._keys and self._clock() - self._loaded_at >= REFRESH_MIN_S
            if stale or unknown:
                self._load_locked()
            return self._keys.get(kid)

    def _load_locked(self) -> None:
        current = self._version("AWSCURRENT")
        if current is None:
            raise StoreUnavailableError("the delegation key has no current version")
        keys = dict([current])
        previous = self._version("AWSPREVIOUS")
        if previous is not None:
            keys[previous[0]] = previous[1]
        self._current, self._keys, self._loaded_at = current, keys, self._clock()

    def _version(self, stage: str) -> tuple[str, bytes] | None:
        try:
            answer = self._client.get_secret_value(SecretId=self._secret_id, VersionStage=stage)
        except ClientError as exc:
            if stage == "AWSPREVIOUS" and error_code(exc) == "ResourceNotFoundException":
                return None  # never rotated
            raise StoreUnavailableError(f"reading the delegation key: {error_code(exc) or 'failed'}") from exc
        except BotoCoreError as exc:
            raise StoreUnavailableError(f"reading the delegation key: {type(exc).__name__}") from exc
        value = answer.get("SecretString", "")
        if len(value) < MIN_KEY_CHARS:
            raise StoreUnavailableError(f"the delegation key must have at least {MIN_KEY_CHARS} characters")
        return answer["VersionId"], value.encode()


class StaticDelegationKeys:
    """Fixed keys (tests and benchmarks): ``keys[current]`` signs, every key verifies."""

    def __init__(self, keys: dict[str, bytes], current: str) -> None:
        self._keys = dict(keys)
        self._current = current

    def signing_key(self) -> tuple[str, bytes]:
        return self._current, self._keys[self._current]

    def key(self, kid: str) -> bytes | None:
        return self._keys.get(kid)
