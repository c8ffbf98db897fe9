"""Secrets read by reference: an environment variable names the secret, Secrets Manager holds its value.

Values are cached in the process for ``max_age_s`` (a warm Lambda sandbox reuses them) and are never logged
or put into exception messages. boto3 is imported on first use only, so importing this module (and the SDK)
stays cheap.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


class SecretError(RuntimeError):
    """A secret could not be read. The message names the environment variable, never the value."""


_clock = time.monotonic  # replaced in tests
_lock = threading.Lock()
_client: SecretsManagerClient | None = None
_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def get_secret_json(env_var: str, *, max_age_s: int = 300) -> dict[str, Any]:
    """The JSON object stored in the secret whose id or ARN is in the environment variable ``env_var``.

    Args:
        env_var: Name of the environment variable holding the secret's id or ARN.
        max_age_s: How long a fetched value is reused before it is read again.

    Raises:
        SecretError: the variable is unset or empty, the secret cannot be read, or it is not a JSON object.
    """
    secret_id = os.environ.get(env_var, "").strip()
    if not secret_id:
        raise SecretError(f"environment variable {env_var} does not name a secret")
    now = _clock()
    with _lock:
        cached = _cache.get(secret_id)
        if cached is not None and now - cached[0] < max_age_s:
            return dict(cached[1])
        client = _get_client()
    value = _fetch(client, secret_id, env_var)
    with _lock:
        _cache[secret_id] = (now, value)
    return dict(value)


def clear_secret_cache() -> None:
    """Forget cached values and the Secrets Manager client (after a rotation, or between tests)."""
    global _client
    with _lock:
        _cache.clear()
        _client = None


def _get_client() -> SecretsManagerClient:
    global _client
    if _client is None:
        import boto3  # noqa: TID251 - imported lazily so `import mcp_steward.sdk` does not pay for boto3

        _client = boto3.client("secretsmanager")
    return _client


def _fetch(client: SecretsManagerClient, secret_id: str, env_var: str) -> dict[str, Any]:
    try:
        response = client.get_secret_value(SecretId=secret_id)
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        raise SecretError(f"cannot read the secret named by {env_var}: {code}") from exc
    text = response.get("SecretString")
    if text is None:
        raise SecretError(f"the secret named by {env_var} has no string value")
    try:
        value = json.loads(text)
    except ValueError:
        raise SecretError(f"the secret named by {env_var} is not JSON") from None
    if not isinstance(value, dict):
        raise SecretError(f"the secret named by {env_var} is not a JSON object")
    return value
