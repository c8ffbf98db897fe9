"""Settings fail the init, not a request, and bearer identity never runs inside Lambda."""

from __future__ import annotations

import pytest

from mcp_steward.settings import Settings, SettingsError

BASE = {
    "IDENTITY_MODE": "authorizer",
    "KEYS_TABLE": "k",
    "REGISTRY_TABLE": "r",
    "GRANTS_TABLE": "g",
    "BUDGETS_TABLE": "b",
    "LEDGER_TABLE": "l",
    "AUDIT_TABLE": "a",
}


def test_a_complete_environment_is_read() -> None:
    settings = Settings.from_env({**BASE, "ALLOWED_HOSTS": "MCP.example.com, other.example.com"})
    assert settings.identity_mode == "authorizer"
    assert settings.allowed_hosts == ("mcp.example.com", "other.example.com")


@pytest.mark.parametrize(
    "missing", ["KEYS_TABLE", "REGISTRY_TABLE", "GRANTS_TABLE", "BUDGETS_TABLE", "LEDGER_TABLE", "AUDIT_TABLE"]
)
def test_a_missing_table_names_the_variable(missing: str) -> None:
    env = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(SettingsError, match=missing):
        Settings.from_env(env)


def test_an_unknown_identity_mode_is_refused() -> None:
    with pytest.raises(SettingsError, match="IDENTITY_MODE"):
        Settings.from_env({**BASE, "IDENTITY_MODE": "none"})


def test_bearer_mode_refuses_to_start_inside_lambda() -> None:
    with pytest.raises(SettingsError, match="bearer"):
        Settings.from_env({**BASE, "IDENTITY_MODE": "bearer", "AWS_LAMBDA_FUNCTION_NAME": "steward-governance"})


def test_bearer_mode_runs_on_the_local_plane() -> None:
    env = {**BASE, "IDENTITY_MODE": "bearer", "STEWARD_LOCAL_PLANE": "1", "AWS_LAMBDA_FUNCTION_NAME": "x"}
    assert Settings.from_env(env).identity_mode == "bearer"
