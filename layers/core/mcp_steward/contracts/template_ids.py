"""The logical IDs of infra/template.yaml that code relies on (the template is the other side of this contract).

The local plane finds its functions and tables by them (``local/plane.py``), admin commands resolve a stack's
physical names by them (``cli/target.py``), and ``tests/unit/contracts/test_template_ids.py`` holds them to the
template. Renaming a resource in the template means changing it here, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

#: The governance function: the MCP endpoint (docs/design.md section 10: scripts rely on this ID).
GOVERNANCE_FUNCTION: Final = "GovernanceFunction"
#: The egress function: vendor servers are listed and called through it.
EGRESS_FUNCTION: Final = "EgressFunction"
#: The demo tool servers the local plane registers (server name → function).
CURRENCY_FUNCTION: Final = "CurrencyFunction"
HR_DIRECTORY_FUNCTION: Final = "HrDirectoryFunction"
DEMO_SERVERS: Final[Mapping[str, str]] = MappingProxyType({"currency": CURRENCY_FUNCTION, "hr": HR_DIRECTORY_FUNCTION})
#: Steward's tables by role (the ports' names for them) → logical ID.
TABLES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "keys": "KeysTable",
        "registry": "RegistryTable",
        "grants": "GrantsTable",
        "budgets": "BudgetsTable",
        "ledger": "LedgerTable",
        "audit": "AuditTable",
    }
)
