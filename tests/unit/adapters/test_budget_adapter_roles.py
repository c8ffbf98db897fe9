"""The DynamoDB budget adapters are split by role: each class offers its port's operations and no other's, and
the combined ledger offers all three (its behaviour is the contract suite's, tests/integration/contract)."""

from __future__ import annotations

from typing import Any

from mcp_steward.adapters.dynamodb_budget_limits import DynamoDbBudgetLimits
from mcp_steward.adapters.dynamodb_budgets import DynamoDbBudgetLedger, DynamoDbReservations
from mcp_steward.domain.ports import AuditWriter, BudgetLedger, BudgetLimits, CallLedger, Reservations

TABLES = {"budgets": "b", "grants": "g", "registry": "r", "ledger": "l", "audit": "a"}


class NoClient:
    """Building an adapter sends nothing: any call would be a bug here."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the client was used: {name}")


def operations(port: type) -> set[str]:
    return {name for name in vars(port) if not name.startswith("_")}


def test_each_adapter_offers_exactly_its_ports_operations() -> None:
    reservations = operations(Reservations)
    limits = operations(BudgetLimits)
    audit = operations(AuditWriter)
    assert reservations and limits and audit
    assert reservations | audit <= set(dir(DynamoDbReservations))
    assert not limits & set(dir(DynamoDbReservations))
    assert limits <= set(dir(DynamoDbBudgetLimits))
    assert not (reservations | audit) & set(dir(DynamoDbBudgetLimits))
    assert reservations | limits | audit <= set(dir(DynamoDbBudgetLedger))


def test_the_adapters_are_typed_as_their_ports_and_share_their_tables() -> None:
    client: Any = NoClient()
    call_path: CallLedger = DynamoDbReservations.for_tables(client, TABLES)
    sweeper: Reservations = call_path
    administration: BudgetLimits = DynamoDbBudgetLimits(client, budgets="b")
    ledger: BudgetLedger = DynamoDbBudgetLedger.for_tables(client, TABLES)
    assert isinstance(ledger, DynamoDbBudgetLedger)
    assert isinstance(sweeper, DynamoDbReservations) and isinstance(administration, DynamoDbBudgetLimits)
    assert ledger._budgets == administration._budgets == "b"
