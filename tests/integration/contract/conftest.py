"""Each port's in-memory fake, its DynamoDB adapter on the serialized moto server, and that adapter behind a
fault injector: the same fixtures, so the same contract cases run against all of them."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ReadTimeoutError

from mcp_steward.adapters.dynamodb_budgets import DynamoDbBudgetLedger
from mcp_steward.local.template import LocalTemplate
from tests.conftest import ROOT, aws_client

_names = itertools.count()
FAULTS = {
    "throttled": lambda request: _error_response("ThrottlingException", 400),
    "server_error": lambda request: _error_response("InternalServerError", 500),
    "timeout": lambda request: (_ for _ in ()).throw(ReadTimeoutError(endpoint_url=request.url)),
}


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _error_response(code: str, status: int) -> Any:
    from botocore.awsrequest import AWSResponse

    body = ('{"__type":"com.amazonaws.dynamodb.v20120810#%s","message":"injected"}' % code).encode()  # noqa: UP031
    from botocore.awsrequest import HTTPHeaders

    headers = HTTPHeaders()
    headers["x-amzn-errortype"] = code
    return AWSResponse("http://injected", status, headers, _Raw(body))


def dynamodb_client(url: str, fault: str | None = None) -> Any:
    client = aws_client("dynamodb", url, config=Config(retries={"total_max_attempts": 1}))
    if fault is not None:
        inject = FAULTS[fault]
        client.meta.events.register("before-send.dynamodb", lambda request, **_: inject(request))  # type: ignore[no-untyped-call]
    return client


@pytest.fixture
def fresh_table(moto_url: str) -> Callable[[str], str]:
    """Create a new table shaped like the template's ``logical_id`` table; returns its name."""
    tables = LocalTemplate.load(ROOT / "infra" / "template.yaml").tables()

    def create(logical_id: str) -> str:
        kwargs = dict(tables[logical_id].create_table_kwargs)
        kwargs["TableName"] = f"{logical_id}-{next(_names)}"
        dynamodb_client(moto_url).create_table(**kwargs)
        return str(kwargs["TableName"])

    return create


METERING_TABLES = {
    "budgets": "BudgetsTable",
    "grants": "GrantsTable",
    "registry": "RegistryTable",
    "ledger": "LedgerTable",
    "audit": "AuditTable",
}


def metering_tables(fresh_table: Callable[[str], str]) -> dict[str, str]:
    """Fresh budgets, grants, registry, ledger and audit tables: role → name."""
    return {role: fresh_table(logical_id) for role, logical_id in METERING_TABLES.items()}


def budget_ledger(client: Any, tables: dict[str, str], **options: Any) -> DynamoDbBudgetLedger:
    return DynamoDbBudgetLedger.for_tables(client, tables, **options)
