"""Setting what one invocation of an internal server may spend on nested calls, and its audit record: one path
for ``steward servers delegation`` and ``steward apply``, so both write the same ``servers.delegation`` record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp_steward.domain.names import ServerName
from mcp_steward.domain.ports import Registry
from mcp_steward.domain.registry import DelegationPolicy


def set_delegation(
    registry: Registry, audit: Callable[[str, dict[str, Any]], object], server: ServerName, policy: DelegationPolicy
) -> None:
    """Store ``policy`` on ``server`` (its next invocations get it) and write the ``servers.delegation`` record.

    Raises:
        StoreUnavailableError: the registry could not be written (nothing is audited).
    """
    registry.set_delegation(server, policy)
    audit(
        "servers.delegation",
        {"server": server, "calls": policy.calls, "credit_micro": policy.credit, "mode": policy.mode},
    )
