"""The registry table: ``pk = SERVER#<name>``; ``sk = SERVER`` for the server, ``TOOL#<exposed>`` per tool (spelled
in :mod:`mcp_steward.adapters.dynamodb_schema`).

Tool definitions are stored as JSON strings so that numbers survive exactly (no float/Decimal conversion).
Each tool item carries a ``revision`` that every write moves on; writing a record read from the table is
conditional on that revision (optimistic concurrency: a sync and an approval cannot undo each other).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mcp_steward.adapters.dynamodb_common import (
    DynamoDBClient,
    Item,
    error_code,
    query_all,
    s,
    scan_all,
    store_errors,
)
from mcp_steward.adapters.dynamodb_schema import (
    SERVER_SK,
    TOOL_PREFIX,
    server_key,
    server_of,
    server_pk,
    tool_key,
    tool_of,
)
from mcp_steward.domain.money import Micros
from mcp_steward.domain.names import ExposedName, ServerName
from mcp_steward.domain.ports import ConcurrentChangeError, StoreUnavailableError
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.registry import (
    Catalog,
    DelegationMode,
    DelegationPolicy,
    Rejection,
    ServerKind,
    ServerRecord,
    ToolRecord,
    ToolStatus,
)

MAX_TOOLS_PER_SERVER = 99  # one TransactWriteItems holds 100 actions: the server item and its tools


def _server_item(server: ServerRecord) -> Item:
    item: Item = {
        **server_key(server.name),
        "kind": s(server.kind),
        "function_name": s(server.function_name),
        "function_timeout_s": {"N": str(server.function_timeout_s)},
    }
    if server.logical_id is not None:
        item["logical_id"] = s(server.logical_id)
    if server.version is not None:
        item["version"] = s(server.version)
    for name in ("url", "secret_id", "auth_header"):
        value = getattr(server, name)
        if value is not None:
            item[name] = s(value)
    if server.allowed_hosts:
        item["allowed_hosts"] = {"L": [s(host) for host in server.allowed_hosts]}
    item.update(_delegation_attributes(server.delegation))
    if not server.namespaced:
        item["namespaced"] = {"BOOL": False}
    if server.capabilities:
        item["capabilities"] = {"L": [s(name) for name in sorted(server.capabilities)]}
    return item


def _assignments(attributes: Item) -> tuple[str, dict[str, str], Item]:
    """``SET #a = :a, ...`` for ``attributes``, with its attribute names and values."""
    expression = "SET " + ", ".join(f"#{name} = :{name}" for name in attributes)
    return expression, {f"#{name}": name for name in attributes}, {f":{n}": v for n, v in attributes.items()}


def _delegation_attributes(policy: DelegationPolicy) -> Item:
    return {
        "nested_calls": {"N": str(policy.calls)},
        "nested_credit": {"N": str(policy.credit)},
        "delegation_mode": s(policy.mode),
    }


def _server_of(name: ServerName, item: Item) -> ServerRecord:
    def optional(attribute: str) -> str | None:
        value = item.get(attribute, {}).get("S")
        return None if value is None else str(value)

    return ServerRecord(
        name=name,
        kind=ServerKind(item["kind"]["S"]),
        function_name=item["function_name"]["S"],
        function_timeout_s=int(item["function_timeout_s"]["N"]),
        logical_id=optional("logical_id"),
        version=optional("version"),
        url=optional("url"),
        allowed_hosts=tuple(str(host["S"]) for host in item.get("allowed_hosts", {}).get("L", [])),
        secret_id=optional("secret_id"),
        auth_header=optional("auth_header"),
        delegation=DelegationPolicy(
            calls=int(item.get("nested_calls", {}).get("N", "0")),
            credit=Micros(int(item.get("nested_credit", {}).get("N", "0"))),
            mode=DelegationMode(optional("delegation_mode") or DelegationMode.SERVICE),
        ),
        namespaced=bool(item.get("namespaced", {}).get("BOOL", True)),
        capabilities=frozenset(str(name["S"]) for name in item.get("capabilities", {}).get("L", [])),
    )


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _tool_item(tool: ToolRecord) -> Item:
    item: Item = {
        **tool_key(tool.server, tool.exposed_name),
        "upstream_name": s(tool.upstream_name),
        "definition": s(_json(tool.definition)),
        "status": s(tool.status),
        "current_hash": s(tool.current_hash),
        "findings": s(_json(list(tool.findings))),
        "verdict": s(tool.verdict),
        "missing_syncs": {"N": str(tool.missing_syncs)},
        "revision": {"N": str(tool.revision + 1)},
        **_price_attributes(tool.price),
    }
    if tool.pinned_hash is not None:
        item["pinned_hash"] = s(tool.pinned_hash)
    if tool.pinned_version is not None:
        item["pinned_version"] = s(tool.pinned_version)
    if tool.previous_definition is not None:
        item["previous_definition"] = s(_json(tool.previous_definition))
    if tool.rejection is not None:
        item["rejected_by"] = s(tool.rejection.by)
        item["rejected_at"] = s(tool.rejection.at.isoformat())
        item["rejected_hash"] = s(tool.rejection.hash)
    return item


def _tool_of(item: Item) -> ToolRecord:
    def optional(name: str) -> str | None:
        value = item.get(name, {}).get("S")
        return None if value is None else str(value)

    previous = optional("previous_definition")
    rejected_by, rejected_at = optional("rejected_by"), optional("rejected_at")
    rejection = (
        Rejection(rejected_by, datetime.fromisoformat(rejected_at), optional("rejected_hash") or "")
        if rejected_by is not None and rejected_at is not None
        else None
    )
    return ToolRecord(
        exposed_name=ExposedName(tool_of(item["sk"]["S"])),
        upstream_name=item["upstream_name"]["S"],
        server=ServerName(server_of(item["pk"]["S"])),
        definition=json.loads(item["definition"]["S"]),
        status=ToolStatus(item["status"]["S"]),
        price=_price_of(item),
        pinned_hash=optional("pinned_hash"),
        current_hash=optional("current_hash") or "",
        pinned_version=optional("pinned_version"),
        findings=tuple(json.loads(optional("findings") or "[]")),
        verdict=optional("verdict") or "clean",
        missing_syncs=int(item.get("missing_syncs", {}).get("N", "0")),
        previous_definition=json.loads(previous) if previous is not None else None,
        rejection=rejection,
        revision=int(item.get("revision", {}).get("N", "0")),
    )


def _key(tool: ToolRecord) -> dict[str, Any]:
    return tool_key(tool.server, tool.exposed_name)


def _unchanged(tool: ToolRecord) -> dict[str, Any]:
    """The condition of writing ``tool``: unchanged since it was read (none for a record not read)."""
    if not tool.revision:
        return {}
    return {
        "ConditionExpression": "#revision = :revision",
        "ExpressionAttributeNames": {"#revision": "revision"},
        "ExpressionAttributeValues": {":revision": {"N": str(tool.revision)}},
    }


def _price_attributes(price: Price) -> Item:
    return {
        "price": {"N": str(price.price)},
        "unit_price": {"N": str(price.unit_price)},
        "max_units": {"N": str(price.max_units)},
    }


def _price_of(item: Item) -> Price:
    def number(name: str) -> int:
        return int(item.get(name, {}).get("N", "0"))

    return Price(price=Micros(number("price")), unit_price=Micros(number("unit_price")), max_units=number("max_units"))


class DynamoDbRegistry:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def catalog(self) -> Catalog:
        servers: list[ServerRecord] = []
        tools: list[ToolRecord] = []
        with store_errors("reading the registry"):
            items = list(scan_all(self._client, self._table, ConsistentRead=True))
        for item in items:
            name = ServerName(server_of(item["pk"]["S"]))
            sort_key = item["sk"]["S"]
            if sort_key == SERVER_SK:
                servers.append(_server_of(name, item))
            elif sort_key.startswith(TOOL_PREFIX):
                tools.append(_tool_of(item))
        return Catalog.build(servers, tools)

    def tools_of(self, server: ServerName) -> list[ToolRecord]:
        """The server's tools, read consistently, in exposed-name order."""
        with store_errors("reading the registry"):
            items = query_all(
                self._client,
                self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :tool)",
                ExpressionAttributeValues={":pk": s(server_pk(server)), ":tool": s(TOOL_PREFIX)},
                ConsistentRead=True,
            )
            return [_tool_of(item) for item in items]

    def put_tool(self, tool: ToolRecord) -> None:
        """Replace one tool of a registered server (its status, pins, findings and price as given)."""
        try:
            with store_errors("writing a tool"):
                self._client.put_item(TableName=self._table, Item=_tool_item(tool), **_unchanged(tool))
        except StoreUnavailableError as exc:
            if error_code(exc.__cause__) == "ConditionalCheckFailedException":
                raise ConcurrentChangeError(f"{tool.exposed_name} changed since it was read") from None
            raise

    def put_server(self, server: ServerRecord, tools: Sequence[ToolRecord], removed: Sequence[ToolRecord] = ()) -> None:
        """Write the server, its ``tools`` and the deletion of its ``removed`` tools in one transaction."""
        if len(tools) > MAX_TOOLS_PER_SERVER:
            raise ValueError(f"a server may expose at most {MAX_TOOLS_PER_SERVER} tools")
        actions: list[dict[str, object]] = [{"Put": {"TableName": self._table, "Item": _server_item(server)}}]
        actions += [{"Put": {"TableName": self._table, "Item": _tool_item(t), **_unchanged(t)}} for t in tools]
        actions += [{"Delete": {"TableName": self._table, "Key": _key(t), **_unchanged(t)}} for t in removed]
        if len(actions) > 100:
            raise ValueError("too many tool changes for one transaction: remove stale tools first")
        try:
            with store_errors("writing the registry"):
                self._client.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except StoreUnavailableError as exc:
            reasons = (getattr(exc.__cause__, "response", None) or {}).get("CancellationReasons", [])
            if any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons):
                raise ConcurrentChangeError(f"a tool of {server.name} changed since it was read") from None
            raise

    def set_delegation(self, server: ServerName, policy: DelegationPolicy) -> None:
        """Change a registered server's delegation policy (the next invocations get it)."""
        expression, names, values = _assignments(_delegation_attributes(policy))
        with store_errors("updating a server"):
            self._client.update_item(
                TableName=self._table,
                Key=server_key(server),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )

    def set_status(self, tool: ToolRecord, status: ToolStatus) -> None:
        self._update(tool, "SET #status = :status", {"#status": "status"}, {":status": s(status)})

    def set_price(self, tool: ToolRecord, price: Price) -> None:
        self._update(tool, *_assignments(_price_attributes(price)))

    def _update(self, tool: ToolRecord, expression: str, names: dict[str, str], values: Item) -> None:
        with store_errors("updating a tool"):
            self._client.update_item(
                TableName=self._table,
                Key=_key(tool),
                UpdateExpression=f"{expression} ADD #revision :one",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={**names, "#revision": "revision"},
                ExpressionAttributeValues={**values, ":one": {"N": "1"}},
            )
