"""Vendor credentials, read by reference from Secrets Manager inside the egress function only.

A value is cached per sandbox for ``max_age_s`` and read again on demand (a vendor's 401: the secret may have
been rotated). Errors name the secret's error code, never its value.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Final

DEFAULT_MAX_AGE_S: Final = 300.0


class CredentialUnavailableError(Exception):
    """The vendor credential could not be read (the message names the error code only)."""


def secrets_manager_source(client: Any) -> Callable[[str], str]:
    """Reads a secret's string value with a boto3 ``secretsmanager`` client."""

    def read(secret_id: str) -> str:
        try:
            response = client.get_secret_value(SecretId=secret_id)
        except Exception as exc:  # botocore's ClientError and transport errors alike
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
            raise CredentialUnavailableError(f"the vendor secret cannot be read ({code})") from None
        value = response.get("SecretString")
        if not isinstance(value, str) or not value:
            raise CredentialUnavailableError("the vendor secret has no string value")
        return value

    return read


class CredentialCache:
    def __init__(
        self,
        source: Callable[[str], str],
        *,
        max_age_s: float = DEFAULT_MAX_AGE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._max_age_s = max_age_s
        self._clock = clock
        self._values: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def get(self, secret_id: str, *, refresh: bool = False) -> str:
        """The secret's value, cached; ``refresh`` reads it again whatever its age.

        Raises:
            CredentialUnavailableError: the secret could not be read.
        """
        now = self._clock()
        with self._lock:
            cached = self._values.get(secret_id)
        if cached is not None and not refresh and now - cached[0] < self._max_age_s:
            return cached[1]
        value = self._source(secret_id)
        with self._lock:
            self._values[secret_id] = (now, value)
        return value
