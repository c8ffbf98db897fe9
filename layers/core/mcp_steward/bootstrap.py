"""The composition root: settings in, a ready MCP endpoint out. Clients are built once per sandbox.

Building clients reads botocore's models from disk but makes no network call, so a bad network cannot
fail the init; a missing setting does (``SettingsError``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from mcp_steward.adapters.dynamodb_budgets import DynamoDbBudgetLedger
from mcp_steward.adapters.dynamodb_grants import DynamoDbGrantStore
from mcp_steward.adapters.dynamodb_keys import DynamoDbKeyStore
from mcp_steward.adapters.dynamodb_registry import DynamoDbRegistry
from mcp_steward.adapters.egress_invoker import EgressInvoker, RoutingInvoker
from mcp_steward.adapters.lambda_invoker import LambdaInvoker
from mcp_steward.adapters.secrets_delegation_keys import SecretsManagerDelegationKeys
from mcp_steward.domain.ports import BudgetLedger, DelegationKeys, GrantStore, KeyStore, Registry, ToolInvoker
from mcp_steward.http.app import EndpointConfig, McpEndpoint
from mcp_steward.http.discovery import ProtectedResource
from mcp_steward.http.guards import HostPolicy
from mcp_steward.http.identity import AuthorizerIdentity, BearerIdentity, IdentityResolver
from mcp_steward.services.caching import DEFAULT_TTL_S, CachedGrants, CachedKeys, CachedRegistry, TtlCache
from mcp_steward.services.calls import CallObserver, CallTool
from mcp_steward.services.completion import Completion
from mcp_steward.services.nested import NestedGovernance
from mcp_steward.services.tools import ToolService
from mcp_steward.settings import Settings, SettingsError

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient


@dataclass(frozen=True)
class Ports:
    keys: KeyStore
    registry: Registry
    grants: GrantStore
    invoker: ToolInvoker
    budgets: BudgetLedger
    #: None: no delegation key is configured; tool servers get no token and nested calls are refused.
    delegation_keys: DelegationKeys | None = None


def aws_ports(settings: Settings, session: Any = None, observer: CallObserver | None = None) -> Ports:
    """The DynamoDB and Lambda adapters. Endpoints come from the standard ``AWS_ENDPOINT_URL_*`` variables."""
    session = session or boto3.session.Session(region_name=settings.region)
    dynamodb = session.client(
        "dynamodb",
        config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5),
    )

    def lambda_client(config: Config) -> LambdaClient:
        return session.client("lambda", config=config)  # type: ignore[no-any-return]

    functions = LambdaInvoker(lambda_client, function_prefix=settings.tool_function_prefix)
    functions.client_for(30)  # the common case, built now rather than on the first call
    egress = (
        EgressInvoker(
            # Only the egress function: the tool prefix does not cover it, and nothing else may be invoked so.
            LambdaInvoker(lambda_client, function_prefix=settings.egress_function),
            settings.egress_function,
            settings.egress_timeout_s,
        )
        if settings.egress_function
        else None
    )
    invoker = RoutingInvoker(functions, egress)
    delegation_keys = (
        SecretsManagerDelegationKeys(
            session.client("secretsmanager", config=Config(connect_timeout=2, read_timeout=5)),
            settings.delegation_key_secret,
        )
        if settings.delegation_key_secret
        else None
    )
    return Ports(
        delegation_keys=delegation_keys,
        keys=DynamoDbKeyStore(dynamodb, settings.keys_table),
        registry=DynamoDbRegistry(dynamodb, settings.registry_table),
        grants=DynamoDbGrantStore(dynamodb, settings.grants_table),
        invoker=invoker,
        budgets=DynamoDbBudgetLedger(
            dynamodb,
            budgets=settings.budgets_table,
            grants=settings.grants_table,
            registry=settings.registry_table,
            ledger=settings.ledger_table,
            audit=settings.audit_table,
            on_retry=observer.conflict_retry if observer is not None else lambda: None,
        ),
    )


def build_pipeline(
    settings: Settings, ports: Ports, observer: CallObserver | None = None
) -> tuple[ToolService, CallTool]:
    """The cached tool service and the ``tools/call`` pipeline, as governance and nested governance run them."""
    teams: TtlCache[str, str | None] = TtlCache(DEFAULT_TTL_S)
    tools = ToolService(
        CachedRegistry(ports.registry),
        CachedGrants(ports.grants),
        team_of=lambda user: teams.get(user, lambda: ports.keys.principal_team(user)),
    )
    call_tool = CallTool(
        tools,
        ports.budgets,
        ports.invoker,
        function_timeout=timedelta(seconds=settings.request_timeout_s),
        observer=observer,
        delegation_keys=ports.delegation_keys,
    )
    return tools, call_tool


def build_nested(settings: Settings, ports: Ports, observer: CallObserver | None = None) -> NestedGovernance:
    """Nested governance over the ports: the pipeline, with identity from delegation tokens only.

    Raises:
        SettingsError: no delegation key is configured (the function could verify nothing).
    """
    if ports.delegation_keys is None:
        raise SettingsError("DELEGATION_KEY_SECRET_ID is required for nested governance")
    _, call_tool = build_pipeline(settings, ports, observer)
    return NestedGovernance(
        call_tool, ports.delegation_keys, ports.budgets, function_timeout_s=int(settings.request_timeout_s)
    )


def build_endpoint(
    settings: Settings, ports: Ports, *, offload_blocking: bool = True, observer: CallObserver | None = None
) -> McpEndpoint:
    """The MCP endpoint over the ports. ``offload_blocking=False`` only where one request runs at a time
    (a Lambda sandbox): blocking calls then run on the event loop, saving a thread hop per request."""
    identity: IdentityResolver = (
        BearerIdentity(CachedKeys(ports.keys)) if settings.identity_mode == "bearer" else AuthorizerIdentity()
    )
    tools, call_tool = build_pipeline(settings, ports, observer)
    config = EndpointConfig(
        host_policy=HostPolicy(
            settings.allowed_hosts,
            allow_loopback=settings.local_plane,
            allow_execute_api=settings.identity_mode == "authorizer",
        ),
        max_body_bytes=settings.max_body_bytes,
        request_timeout_s=settings.request_timeout_s,
        version=settings.service_version,
        offload_blocking=offload_blocking,
        resource=ProtectedResource(
            authorization_servers=[settings.oidc_issuer] if settings.oidc_issuer else [],
            scopes=[settings.oidc_scope] if settings.oidc_scope else [],
        ),
    )
    return McpEndpoint(tools, call_tool, identity, config, Completion(tools, ports.invoker))
