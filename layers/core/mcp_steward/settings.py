"""Settings: a frozen value read from the environment once, at init, so bad config fails the init.

A frozen dataclass rather than a pydantic model: the governance function's cold path would otherwise import
pydantic (~60 ms) for six strings. Validation is explicit and every error names the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

type IdentityMode = Literal["authorizer", "bearer"]


class SettingsError(ValueError):
    """The environment does not describe a valid configuration."""


def _check_issuer(url: str) -> None:
    """An OAuth issuer identifier: https (http only on loopback), a host, no query or fragment (RFC 8414 s. 2)."""
    try:
        issuer = urlsplit(url)
        host = issuer.hostname
    except ValueError as exc:
        raise SettingsError("OIDC_ISSUER is not a URL") from exc
    secure = issuer.scheme == "https" or (issuer.scheme == "http" and host in ("localhost", "127.0.0.1", "::1"))
    if not secure or not host or issuer.query or issuer.fragment:
        raise SettingsError("OIDC_ISSUER must be an https URL (http only on loopback) without query or fragment")


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    identity_mode: IdentityMode
    keys_table: str
    registry_table: str
    grants_table: str
    budgets_table: str = ""
    ledger_table: str = ""
    audit_table: str = ""
    tool_function_prefix: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    local_plane: bool = False
    in_lambda: bool = False
    region: str = "us-east-1"
    max_body_bytes: int = 1_048_576
    #: The request budget when no Lambda context says how much time is left (the local plane).
    request_timeout_s: float = 28.0
    service_version: str = "0.1.0"
    #: ``OIDC_ISSUER``: the authorization server named in the protected resource metadata (RFC 9728); "" = none.
    oidc_issuer: str = ""
    #: ``OIDC_REQUIRED_SCOPE``: the scope a JWT must carry, advertised in the metadata and the 401 challenge.
    oidc_scope: str = ""
    #: ``EGRESS_FUNCTION_NAME``: the function vendor calls go through ("" = vendor tools cannot be called).
    egress_function: str = ""
    #: ``EGRESS_TIMEOUT_S``: that function's timeout (the invoke's read timeout is derived from it).
    egress_timeout_s: int = 20
    #: ``DELEGATION_KEY_SECRET_ID``: the Secrets Manager secret delegation tokens are signed with
    #: ("" = no tool server gets a token, so none can make nested calls).
    delegation_key_secret: str = ""

    def __post_init__(self) -> None:
        if self.identity_mode not in ("authorizer", "bearer"):
            raise SettingsError(f"IDENTITY_MODE must be 'authorizer' or 'bearer', not {self.identity_mode!r}")
        for variable, value in (
            ("KEYS_TABLE", self.keys_table),
            ("REGISTRY_TABLE", self.registry_table),
            ("GRANTS_TABLE", self.grants_table),
            ("BUDGETS_TABLE", self.budgets_table),
            ("LEDGER_TABLE", self.ledger_table),
            ("AUDIT_TABLE", self.audit_table),
        ):
            if not value:
                raise SettingsError(f"{variable} is required")
        if self.oidc_issuer:
            _check_issuer(self.oidc_issuer)
        if any(c.isspace() or c in '"\\' for c in self.oidc_scope):
            raise SettingsError("OIDC_REQUIRED_SCOPE must be one scope token (no spaces, quotes or backslashes)")
        if self.egress_timeout_s < 1:
            raise SettingsError("EGRESS_TIMEOUT_S must be a positive number of seconds")
        if self.identity_mode == "bearer" and self.in_lambda:
            raise SettingsError(
                "IDENTITY_MODE=bearer is for the local plane only; inside Lambda identity comes from the "
                "API Gateway authorizer (IDENTITY_MODE=authorizer)"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from environment variables (``os.environ`` by default).

        Raises:
            SettingsError: a required variable is missing or a value is invalid (the message names it).
        """
        env = os.environ if env is None else env
        mode = env.get("IDENTITY_MODE", "")
        return cls(
            identity_mode=mode,  # type: ignore[arg-type]  # checked in __post_init__
            keys_table=env.get("KEYS_TABLE", ""),
            registry_table=env.get("REGISTRY_TABLE", ""),
            grants_table=env.get("GRANTS_TABLE", ""),
            budgets_table=env.get("BUDGETS_TABLE", ""),
            ledger_table=env.get("LEDGER_TABLE", ""),
            audit_table=env.get("AUDIT_TABLE", ""),
            tool_function_prefix=env.get("TOOL_FUNCTION_PREFIX") or None,
            allowed_hosts=tuple(h.strip().lower() for h in env.get("ALLOWED_HOSTS", "").split(",") if h.strip()),
            local_plane=env.get("STEWARD_LOCAL_PLANE") == "1",
            in_lambda=bool(env.get("AWS_LAMBDA_FUNCTION_NAME")) and env.get("STEWARD_LOCAL_PLANE") != "1",
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            oidc_issuer=env.get("OIDC_ISSUER", "").strip(),
            oidc_scope=env.get("OIDC_REQUIRED_SCOPE", "").strip(),
            egress_function=env.get("EGRESS_FUNCTION_NAME", "").strip(),
            egress_timeout_s=_integer(env, "EGRESS_TIMEOUT_S", 20),
            delegation_key_secret=env.get("DELEGATION_KEY_SECRET_ID", "").strip(),
        )


def _integer(env: Mapping[str, str], variable: str, default: int) -> int:
    text = env.get(variable, "").strip()
    try:
        return int(text) if text else default
    except ValueError:
        raise SettingsError(f"{variable} must be an integer") from None
