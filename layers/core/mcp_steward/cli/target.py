"""Which plane a command acts on: the local plane (its state file) or a deployed stack (CloudFormation)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from mcp_steward.adapters.dynamodb_grants import DynamoDbGrantStore
from mcp_steward.adapters.dynamodb_keys import DynamoDbKeyStore
from mcp_steward.adapters.dynamodb_records import DynamoDbRecords
from mcp_steward.adapters.dynamodb_registry import DynamoDbRegistry
from mcp_steward.adapters.dynamodb_usage import DynamoDbAggregates, DynamoDbPeriods
from mcp_steward.adapters.lambda_invoker import LambdaInvoker

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

DEFAULT_STATE_FILE = Path(".steward/local.json")
#: Logical IDs in infra/template.yaml that admin commands need.
TABLE_IDS = {
    "keys": "KeysTable",
    "registry": "RegistryTable",
    "grants": "GrantsTable",
    "budgets": "BudgetsTable",
    "ledger": "LedgerTable",
    "audit": "AuditTable",
}


class TargetError(Exception):
    """The plane could not be found or reached; the message says how to fix it."""


@dataclass(frozen=True)
class FunctionRef:
    name: str
    timeout_s: int


@dataclass
class Target:
    """Adapters bound to one plane, plus how to resolve a template logical ID to its function."""

    keys: DynamoDbKeyStore
    registry: DynamoDbRegistry
    grants: DynamoDbGrantStore
    invoker: LambdaInvoker
    functions: dict[str, FunctionRef]
    description: str
    records: DynamoDbRecords
    aggregates: DynamoDbAggregates
    periods: DynamoDbPeriods
    local: bool = False  # the local plane runs no schedule: reports compute missing aggregates on the fly

    def function(self, logical_id: str) -> FunctionRef:
        try:
            return self.functions[logical_id]
        except KeyError:
            known = ", ".join(sorted(self.functions)) or "none"
            raise TargetError(f"no function {logical_id!r} in {self.description} (known: {known})") from None


def _adapters(
    session: Any,
    tables: dict[str, str],
    functions: dict[str, FunctionRef],
    description: str,
    *,
    local: bool = False,
    **endpoints: str,
) -> Target:
    dynamodb = session.client("dynamodb", endpoint_url=endpoints.get("dynamodb"))
    lambda_url = endpoints.get("lambda")

    def lambda_client(config: Config) -> LambdaClient:
        return session.client("lambda", endpoint_url=lambda_url, config=config)  # type: ignore[no-any-return]

    return Target(
        keys=DynamoDbKeyStore(dynamodb, tables["keys"]),
        registry=DynamoDbRegistry(dynamodb, tables["registry"]),
        grants=DynamoDbGrantStore(dynamodb, tables["grants"]),
        invoker=LambdaInvoker(lambda_client),
        functions=functions,
        description=description,
        records=DynamoDbRecords(dynamodb, tables["ledger"], tables["audit"]),
        aggregates=DynamoDbAggregates(dynamodb, tables["ledger"]),
        periods=DynamoDbPeriods(dynamodb, tables["budgets"]),
        local=local,
    )


def local_target(state_file: Path) -> Target:
    """The plane ``steward dev`` is running, as its state file describes it."""
    try:
        state = json.loads(state_file.read_text())
    except FileNotFoundError:
        raise TargetError(f"no local plane: {state_file} does not exist (start one with 'make dev')") from None
    except ValueError as exc:
        raise TargetError(f"{state_file} is not valid JSON") from exc
    session = boto3.session.Session(
        region_name=state["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106
    )
    functions = {k: FunctionRef(v["name"], int(v["timeout_s"])) for k, v in state.get("functions", {}).items()}
    return _adapters(
        session,
        state["tables"],
        functions,
        f"the local plane ({state_file})",
        local=True,
        dynamodb=state["aws_endpoint_url"],
        **{"lambda": state["lambda_endpoint_url"]},
    )


def stack_target(stack_name: str, region: str | None = None) -> Target:
    """A deployed stack: physical names from CloudFormation, timeouts from Lambda (standard credentials)."""
    session = boto3.session.Session(region_name=region)
    cloudformation = session.client("cloudformation")
    try:
        resources: list[dict[str, Any]] = []
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name):
            resources.extend(page["StackResourceSummaries"])
    except Exception as exc:  # botocore's ClientError and credential errors alike
        raise TargetError(f"cannot read stack {stack_name!r}: {exc}") from exc
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
    missing = [logical for logical in TABLE_IDS.values() if logical not in physical]
    if missing:
        raise TargetError(f"stack {stack_name!r} has no {', '.join(missing)}: is it an MCP Steward stack?")
    lambda_client = session.client("lambda")
    functions = {}
    for resource in resources:
        if resource["ResourceType"] == "AWS::Lambda::Function":
            name = resource["PhysicalResourceId"]
            timeout = lambda_client.get_function_configuration(FunctionName=name)["Timeout"]
            functions[resource["LogicalResourceId"]] = FunctionRef(name, int(timeout))
    tables = {role: physical[logical] for role, logical in TABLE_IDS.items()}
    return _adapters(session, tables, functions, f"stack {stack_name}")
