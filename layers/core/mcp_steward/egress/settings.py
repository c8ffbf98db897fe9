"""The egress function's settings, read once at init (a bad value fails the init, not a call)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from mcp_steward.domain.egress_policy import EgressPolicy
from mcp_steward.settings import SettingsError

#: Exact ``https://host:port`` origins (comma-separated) the local plane may reach on loopback.
LOCAL_ORIGINS_VARIABLE = "STEWARD_LOCAL_VENDOR_ORIGINS"
#: A CA bundle (PEM) trusted besides the system's: the local plane's test vendors.
CA_FILE_VARIABLE = "STEWARD_VENDOR_CA_FILE"


@dataclass(frozen=True, slots=True)
class EgressSettings:
    policy: EgressPolicy
    #: ``<stack>/vendor/``: the only secrets the egress reads (its role can read no others).
    secret_prefix: str
    extra_ca_file: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> EgressSettings:
        """Raises:
        SettingsError: ``VENDOR_SECRET_PREFIX`` missing, or a local-plane option outside the local plane.
        """
        env = os.environ if env is None else env
        prefix = env.get("VENDOR_SECRET_PREFIX", "").strip()
        if not prefix.endswith("/vendor/") or len(prefix) <= len("/vendor/"):
            raise SettingsError("VENDOR_SECRET_PREFIX must be <stack>/vendor/")
        local = env.get("STEWARD_LOCAL_PLANE") == "1"
        origins = [o.strip() for o in env.get(LOCAL_ORIGINS_VARIABLE, "").split(",") if o.strip()]
        ca_file = env.get(CA_FILE_VARIABLE, "").strip() or None
        if (origins or ca_file) and not local:
            raise SettingsError(f"{LOCAL_ORIGINS_VARIABLE} and {CA_FILE_VARIABLE} are for the local plane only")
        self_urls = [u for u in env.get("EGRESS_SELF_URLS", "").split(",") if u.strip()]
        try:
            policy = EgressPolicy.of(local_origins=origins, self_urls=self_urls)
        except ValueError as exc:
            raise SettingsError(f"{LOCAL_ORIGINS_VARIABLE} or EGRESS_SELF_URLS: {exc}") from exc
        return cls(policy=policy, secret_prefix=prefix, extra_ca_file=ca_file)
