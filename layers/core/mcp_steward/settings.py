"""Settings: a frozen model read from the environment once, at init, so bad config fails the init."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class SettingsError(ValueError):
    """The environment does not describe a valid configuration."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    identity_mode: Literal["authorizer", "bearer"]
    keys_table: str = Field(min_length=1)
    registry_table: str = Field(min_length=1)
    grants_table: str = Field(min_length=1)
    tool_function_prefix: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    local_plane: bool = False
    in_lambda: bool = False
    region: str = "us-east-1"
    max_body_bytes: int = 1_048_576
    #: The request budget when no Lambda context says how much time is left (the local plane).
    request_timeout_s: float = 28.0
    service_version: str = "0.1.0"

    @model_validator(mode="after")
    def _bearer_only_outside_lambda(self) -> Self:
        if self.identity_mode == "bearer" and self.in_lambda:
            raise ValueError(
                "IDENTITY_MODE=bearer is for the local plane only; inside Lambda identity comes from the "
                "API Gateway authorizer (IDENTITY_MODE=authorizer)"
            )
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from environment variables (``os.environ`` by default).

        Raises:
            SettingsError: a required variable is missing or a value is invalid (message names it).
        """
        env = os.environ if env is None else env
        hosts = tuple(h.strip().lower() for h in env.get("ALLOWED_HOSTS", "").split(",") if h.strip())
        try:
            return cls(
                identity_mode=env.get("IDENTITY_MODE", ""),  # type: ignore[arg-type]
                keys_table=env.get("KEYS_TABLE", ""),
                registry_table=env.get("REGISTRY_TABLE", ""),
                grants_table=env.get("GRANTS_TABLE", ""),
                tool_function_prefix=env.get("TOOL_FUNCTION_PREFIX") or None,
                allowed_hosts=hosts,
                local_plane=env.get("STEWARD_LOCAL_PLANE") == "1",
                in_lambda=bool(env.get("AWS_LAMBDA_FUNCTION_NAME") and env.get("STEWARD_LOCAL_PLANE") != "1"),
                region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            )
        except ValueError as exc:
            raise SettingsError(f"invalid Steward settings: {exc}") from exc
