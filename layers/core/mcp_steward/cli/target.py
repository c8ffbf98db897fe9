"""Which plane a command acts on: the local plane (its state file) or a deployed stack (CloudFormation)."""

from __future__ import annotations

import getpass
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp_steward.cli import DEFAULT_STATE_FILE as DEFAULT_STATE_FILE  # re-exported
from mcp_steward.contracts import state_file as state_contract
from mcp_steward.contracts import template_ids
from mcp_steward.domain.records import AuditRecord

# boto3 and the adapters are imported where a target is built: building the parser and printing help (every
# `steward ... --help`) must not pay for them.
if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_lambda import LambdaClient

    from mcp_steward.adapters.dynamodb_budgets import DynamoDbBudgetLedger
    from mcp_steward.adapters.dynamodb_grants import DynamoDbGrantStore
    from mcp_steward.adapters.dynamodb_keys import DynamoDbKeyStore
    from mcp_steward.adapters.dynamodb_records import DynamoDbRecords
    from mcp_steward.adapters.dynamodb_registry import DynamoDbRegistry
    from mcp_steward.adapters.dynamodb_usage import DynamoDbAggregates, DynamoDbPeriods
    from mcp_steward.adapters.egress_invoker import RoutingInvoker
    from mcp_steward.adapters.secrets_manager_vendor import SecretsManagerVendorSecrets
    from mcp_steward.domain.ports import VersionResolver

#: Logical IDs in infra/template.yaml that admin commands need (:mod:`mcp_steward.contracts.template_ids`).
TABLE_IDS = template_ids.TABLES
#: The egress function's logical ID: vendor servers are listed (and called) through it.
EGRESS_ID = template_ids.EGRESS_FUNCTION
#: The stack output naming the egress function's role, the only reader of vendor secrets.
EGRESS_ROLE_OUTPUT = "EgressRoleArn"


class TargetError(Exception):
    """The plane could not be found or reached; the message says how to fix it."""


@dataclass(frozen=True)
class FunctionRef:
    name: str
    timeout_s: int


def local_actor() -> str:
    """Who acts on the local plane: ``local:<OS user>``."""
    try:
        return f"local:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in the environment or the password database
        return "local:unknown"


def caller_arn(sts: Any) -> str:
    """Who acts on a stack: the caller's ARN (``sts:GetCallerIdentity``, which needs no permission).

    Raises:
        TargetError: the credentials are missing or refused, or STS cannot be reached.
    """
    try:
        return str(sts.get_caller_identity()["Arn"])
    except Exception as exc:  # botocore's ClientError, NoCredentialsError, EndpointConnectionError alike
        raise TargetError(f"cannot tell who is acting (sts:GetCallerIdentity failed): {exc}") from exc


@dataclass
class Target:
    """Adapters bound to one plane, plus how to resolve a template logical ID to its function."""

    keys: DynamoDbKeyStore
    registry: DynamoDbRegistry
    grants: DynamoDbGrantStore
    #: Internal servers through their functions, vendor servers through the egress function.
    invoker: RoutingInvoker
    functions: dict[str, FunctionRef]
    description: str
    records: DynamoDbRecords
    aggregates: DynamoDbAggregates
    periods: DynamoDbPeriods
    budgets: DynamoDbBudgetLedger
    #: The current published version of a server's function (pinned at approval, compared at sync).
    versions: VersionResolver
    #: Where vendor credentials must live: ``<stack>/vendor/`` (only the egress role can read there).
    vendor_secret_prefix: str = ""
    #: Vendor credentials in the plane's Secrets Manager (built on first use: most commands need none).
    vendor_secrets: Callable[[], SecretsManagerVendorSecrets] | None = None
    #: The egress function's role: the one principal vendor secrets' resource policies let read them.
    egress_role_arn: Callable[[], str] | None = None
    local: bool = False  # the local plane runs no schedule: reports compute missing aggregates on the fly
    #: Who is acting, for the audit trail of admin changes (asked once, before the first change).
    caller: Callable[[], str] = local_actor
    _actor: str | None = field(default=None, init=False, repr=False)

    def function(self, logical_id: str) -> FunctionRef:
        try:
            return self.functions[logical_id]
        except KeyError:
            known = ", ".join(sorted(self.functions)) or "none"
            raise TargetError(f"no function {logical_id!r} in {self.description} (known: {known})") from None

    def actor(self) -> str:
        """Who is acting. Commands ask before changing anything, so a failure (TargetError) changes nothing."""
        if self._actor is None:
            self._actor = self.caller()
        return self._actor

    def record_admin(
        self,
        action: str,
        detail: dict[str, Any],
        *,
        team: str | None = None,
        principal: str | None = None,
        tool: str | None = None,
    ) -> AuditRecord:
        """Write the audit record of an admin change, after the change.

        ``detail`` holds small, value-free facts: never a token, digest or secret.
        """
        record = AuditRecord(
            kind="admin",
            at=datetime.now(UTC),
            request_id=f"admin-{uuid.uuid4().hex}",
            actor=self.actor(),
            action=action,
            detail=detail,
            team=team,
            principal=principal,
            tool=tool,
        )
        self.records.record_admin(record)
        return record


def _adapters(
    session: Any,
    tables: dict[str, str],
    functions: dict[str, FunctionRef],
    description: str,
    *,
    stack_name: str,
    egress_role_arn: Callable[[], str],
    local: bool = False,
    caller: Callable[[], str] = local_actor,
    **endpoints: str,
) -> Target:
    from botocore.config import Config

    from mcp_steward.adapters.dynamodb_budgets import DynamoDbBudgetLedger
    from mcp_steward.adapters.dynamodb_grants import DynamoDbGrantStore
    from mcp_steward.adapters.dynamodb_keys import DynamoDbKeyStore
    from mcp_steward.adapters.dynamodb_records import DynamoDbRecords
    from mcp_steward.adapters.dynamodb_registry import DynamoDbRegistry
    from mcp_steward.adapters.dynamodb_usage import DynamoDbAggregates, DynamoDbPeriods
    from mcp_steward.adapters.egress_invoker import EgressInvoker, RoutingInvoker
    from mcp_steward.adapters.lambda_invoker import LambdaInvoker
    from mcp_steward.adapters.lambda_versions import published_versions
    from mcp_steward.adapters.secrets_manager_vendor import SecretsManagerVendorSecrets

    dynamodb = session.client("dynamodb", endpoint_url=endpoints.get("dynamodb"))
    lambda_url = endpoints.get("lambda")

    def lambda_client(config: Config) -> LambdaClient:
        return session.client("lambda", endpoint_url=lambda_url, config=config)  # type: ignore[no-any-return]

    # Publishing may wait on an update in progress: a longer read timeout than an invoke's default.
    versions = published_versions(lambda_client(Config(read_timeout=60, retries={"mode": "standard"})))
    egress_function = functions.get(EGRESS_ID)
    egress = (
        EgressInvoker(LambdaInvoker(lambda_client), egress_function.name, egress_function.timeout_s)
        if egress_function is not None
        else None
    )

    return Target(
        keys=DynamoDbKeyStore(dynamodb, tables["keys"]),
        registry=DynamoDbRegistry(dynamodb, tables["registry"]),
        grants=DynamoDbGrantStore(dynamodb, tables["grants"]),
        invoker=RoutingInvoker(LambdaInvoker(lambda_client), egress),
        functions=functions,
        description=description,
        records=DynamoDbRecords(dynamodb, tables["ledger"], tables["audit"]),
        aggregates=DynamoDbAggregates(dynamodb, tables["ledger"]),
        periods=DynamoDbPeriods(dynamodb, tables["budgets"]),
        budgets=DynamoDbBudgetLedger.for_tables(dynamodb, tables),
        local=local,
        caller=caller,
        versions=versions,
        vendor_secret_prefix=f"{stack_name}/vendor/",
        vendor_secrets=lambda: SecretsManagerVendorSecrets(
            session.client("secretsmanager", endpoint_url=endpoints.get("secretsmanager"))
        ),
        egress_role_arn=egress_role_arn,
    )


def local_egress_role_arn(stack_name: str) -> str:
    """The local plane's stand-in for the egress role (it has no IAM; moto stores the policy without enforcing it)."""
    from mcp_steward.local.template import LOCAL_ACCOUNT_ID

    return f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:role/{stack_name}-{EGRESS_ID}Role"


def stack_output(cloudformation: Any, stack_name: str, key: str) -> str:
    """One output of a deployed stack.

    Raises:
        TargetError: the stack cannot be read or has no such output (deployed from an older template).
    """
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except Exception as exc:  # botocore's ClientError and credential errors alike
        raise TargetError(f"cannot read stack {stack_name!r}: {exc}") from exc
    for output in (stacks[0].get("Outputs") or []) if stacks else []:
        if output.get("OutputKey") == key:
            return str(output["OutputValue"])
    raise TargetError(f"stack {stack_name!r} has no output {key}: deploy the current template ('make deploy')")


def local_target(state_file: Path) -> Target:
    """The plane ``steward dev`` is running, as its state file describes it."""
    try:
        state = state_contract.load(state_file)
    except state_contract.StateFileError as exc:
        raise TargetError(str(exc)) from exc.__cause__
    import boto3

    session = boto3.session.Session(
        region_name=state.region,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106
    )
    functions = {k: FunctionRef(v.name, v.timeout_s) for k, v in state.functions.items()}
    stack_name = state.stack_name
    endpoints: dict[str, Any] = {
        "dynamodb": state.aws_endpoint_url,
        "secretsmanager": state.aws_endpoint_url,
        "lambda": state.lambda_endpoint_url,
    }
    return _adapters(
        session,
        dict(state.tables),
        functions,
        f"the local plane ({state_file})",
        stack_name=stack_name,
        egress_role_arn=lambda: local_egress_role_arn(stack_name),
        local=True,
        **endpoints,
    )


def stack_target(stack_name: str, region: str | None = None) -> Target:
    """A deployed stack: physical names from CloudFormation, timeouts from Lambda (standard credentials)."""
    import boto3

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
    return _adapters(
        session,
        tables,
        functions,
        f"stack {stack_name}",
        stack_name=stack_name,
        egress_role_arn=lambda: stack_output(cloudformation, stack_name, EGRESS_ROLE_OUTPUT),
        caller=lambda: caller_arn(session.client("sts")),
    )
