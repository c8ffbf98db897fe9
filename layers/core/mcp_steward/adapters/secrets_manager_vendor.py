"""Vendor credentials written to Secrets Manager by an admin (``steward secrets put-vendor``).

The order keeps the value from ever existing without its resource policy: the secret is created empty (or
found), the policy is attached, and only then is the value stored as the new ``AWSCURRENT`` version. Errors name
the Secrets Manager error code only; the value is never in a message, a log line or an exception's chain.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from mcp_steward.adapters.dynamodb_common import error_code
from mcp_steward.domain.ports import StoreUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

DESCRIPTION: Final = "MCP Steward vendor credential: only the egress function's role may read it (resource policy)."


class SecretsManagerVendorSecrets:
    """Creates or updates vendor secrets, each with its resource policy."""

    def __init__(self, client: SecretsManagerClient) -> None:
        self._client = client

    def put(self, secret_id: str, value: str, policy: Mapping[str, Any]) -> bool:
        """Store ``value`` as the secret's current version, under ``policy``; True when the secret was created.

        Raises:
            StoreUnavailableError: Secrets Manager refused or could not be reached (the message names the step
                and the error code). A failure before the value is stored leaves the previous value current.
        """
        created = self._ensure(secret_id)
        self._call(
            "attach its resource policy",
            lambda: self._client.put_resource_policy(
                SecretId=secret_id, ResourcePolicy=json.dumps(policy), BlockPublicPolicy=True
            ),
        )
        self._call("store the value", lambda: self._client.put_secret_value(SecretId=secret_id, SecretString=value))
        return created

    def resource_policy(self, secret_id: str) -> dict[str, Any] | None:
        """The secret's resource policy, None when it has none.

        Raises:
            StoreUnavailableError: Secrets Manager refused or could not be reached.
        """
        response = self._call("read its resource policy", lambda: self._client.get_resource_policy(SecretId=secret_id))
        text: Any = response.get("ResourcePolicy")
        return json.loads(text) if isinstance(text, str) else None

    def _ensure(self, secret_id: str) -> bool:
        try:
            self._client.create_secret(Name=secret_id, Description=DESCRIPTION)  # no value until the policy is on
        except ClientError as exc:
            if error_code(exc) == "ResourceExistsException":
                return False
            raise StoreUnavailableError(f"cannot create secret {secret_id} ({error_code(exc)})") from None
        except BotoCoreError as exc:
            raise StoreUnavailableError(f"cannot create secret {secret_id} ({type(exc).__name__})") from None
        return True

    @staticmethod
    def _call[T](step: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except ClientError as exc:
            raise StoreUnavailableError(f"cannot {step} ({error_code(exc)})") from None
        except BotoCoreError as exc:
            raise StoreUnavailableError(f"cannot {step} ({type(exc).__name__})") from None
