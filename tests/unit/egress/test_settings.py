"""The egress function's settings: the local plane's options exist only on the local plane."""

from __future__ import annotations

import pytest

from mcp_steward.domain.egress_policy import Origin
from mcp_steward.egress.settings import EgressSettings
from mcp_steward.settings import SettingsError

BASE = {"VENDOR_SECRET_PREFIX": "stack/vendor/"}


def test_local_vendor_origins_and_ca_are_read_on_the_local_plane() -> None:
    env = {**BASE, "STEWARD_LOCAL_PLANE": "1", "STEWARD_LOCAL_VENDOR_ORIGINS": "https://127.0.0.1:8443"}
    settings = EgressSettings.from_env({**env, "STEWARD_VENDOR_CA_FILE": "/tmp/ca.pem"})
    assert settings.policy.local_origins == {Origin("https", "127.0.0.1", 8443)}
    assert settings.extra_ca_file == "/tmp/ca.pem"


@pytest.mark.parametrize(
    "extra", [{"STEWARD_LOCAL_VENDOR_ORIGINS": "https://127.0.0.1:8443"}, {"STEWARD_VENDOR_CA_FILE": "/tmp/ca.pem"}]
)
def test_local_plane_options_fail_the_init_anywhere_else(extra: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match="local plane only"):
        EgressSettings.from_env({**BASE, **extra})


@pytest.mark.parametrize("prefix", ["", "stack/", "/vendor/"])
def test_the_vendor_secret_prefix_is_required(prefix: str) -> None:
    with pytest.raises(SettingsError, match="VENDOR_SECRET_PREFIX"):
        EgressSettings.from_env({"VENDOR_SECRET_PREFIX": prefix})
