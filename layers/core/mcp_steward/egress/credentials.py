"""Vendor credentials, read by reference from Secrets Manager inside the egress function only.

The secret's value is the credential with the origins it may be sent to (a JSON document ``steward secrets
put-vendor`` writes: :mod:`mcp_steward.domain.vendor_secrets`); it is parsed here, and a value that is not such a
document (a plain credential stored before origins were recorded) is refused (:class:`UnboundCredentialError`,
never sent anywhere). A parsed credential is cached per sandbox for ``max_age_s`` and read again on demand (a
vendor's 401: the secret may have been rotated; a target outside its cached origins: it may have been stored again
for them). Errors name the secret's error code, never its value.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Final

from mcp_steward.domain.vendor_secrets import StoredCredential, VendorSecretError, read_stored_credential

DEFAULT_MAX_AGE_S: Final = 300.0


class CredentialUnavailableError(Exception):
    """The vendor credential could not be read (the message names the error code only)."""


class UnboundCredentialError(Exception):
    """The secret holds no credential bound to origins: a plain value, or not a document put-vendor writes (the
    message says which, never the value)."""


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
        self._values: dict[str, tuple[float, StoredCredential]] = {}
        self._lock = threading.Lock()

    def get(self, secret_id: str, *, refresh: bool = False) -> StoredCredential:
        """The secret's credential and origins, cached; ``refresh`` reads it again whatever its age.

        Raises:
            CredentialUnavailableError: the secret could not be read.
            UnboundCredentialError: its value binds the credential to no origins (nothing is cached: the next
                call reads it again, so storing it again takes effect at once).
        """
        now = self._clock()
        with self._lock:
            cached = self._values.get(secret_id)
        if cached is not None and not refresh and now - cached[0] < self._max_age_s:
            return cached[1]
        try:
            stored = read_stored_credential(self._source(secret_id))
        except VendorSecretError as exc:
            with self._lock:
                self._values.pop(secret_id, None)
            raise UnboundCredentialError(str(exc)) from None
        with self._lock:
            self._values[secret_id] = (now, stored)
        return stored
