"""HR directory tool server (``hr``): looks people up in its own DynamoDB table.

Table ``DIRECTORY_TABLE``: employees at ``pk`` = ``"EMP#<id>"``, ``sk`` = ``"PROFILE"`` (name, title,
department, email, manager_id) and one ``pk`` = ``"META"``, ``sk`` = ``"AUTH"`` item holding
``token_sha256`` (hex).

The data-store credential is read by reference: ``DIRECTORY_SECRET_ARN`` names a Secrets Manager secret
``{"username": ..., "token": ...}`` (cached in the sandbox). Before serving, the function checks
``sha256(token)`` against ``token_sha256`` in constant time. This stands in for an HR system's API
credential: a real directory would send the token to its API; the point shown is that the function holds
its own secret, by reference, and that no secret ever reaches a response or a log.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Final

import boto3
from pydantic import BaseModel, Field

from mcp_steward.sdk import ToolContext, ToolError, ToolServer
from mcp_steward.sdk.secrets import SecretError, get_secret_json

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, ScanInputTypeDef

EMPLOYEE_PREFIX: Final = "EMP#"
PROFILE_SK: Final = "PROFILE"
META_KEY: Final = {"pk": {"S": "META"}, "sk": {"S": "AUTH"}}
CREDENTIAL_REJECTED: Final = "directory credential rejected"
CREDENTIAL_ENV: Final = "DIRECTORY_SECRET_ARN"

logger = logging.getLogger(__name__)

EmployeeId = Annotated[
    str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$", description="The employee's id.", examples=["e1001"])
]


class Employee(BaseModel):
    """One person in the directory."""

    employee_id: str
    name: str
    title: str
    department: str
    email: str
    manager_id: str | None = Field(default=None, description="The manager's employee_id; null at the top.")


class Matches(BaseModel):
    """Employees matching a search, best first."""

    employees: list[Employee]
    truncated: bool = Field(description="True when more people matched than the limit.")


def build_server(
    dynamodb: DynamoDBClient,
    table_name: str,
    read_credential: Callable[[], dict[str, Any]] = lambda: get_secret_json(CREDENTIAL_ENV),
) -> ToolServer:
    """The HR directory tool server over ``table_name``; ``read_credential`` returns the secret JSON."""
    server = ToolServer(name="hr", version="1.0.0")

    def authenticate(ctx: ToolContext) -> None:
        """Raise ToolError unless the stored credential matches the directory's digest."""
        try:
            token = read_credential().get("token")
        except SecretError:
            logger.warning("directory credential unavailable (request_id=%s)", ctx.request_id)
            raise ToolError(CREDENTIAL_REJECTED) from None
        item = dynamodb.get_item(TableName=table_name, Key=META_KEY, ConsistentRead=True).get("Item", {})
        expected = item.get("token_sha256", {}).get("S")
        if not isinstance(token, str) or not token or not expected:
            logger.warning("directory credential missing (request_id=%s)", ctx.request_id)
            raise ToolError(CREDENTIAL_REJECTED)
        digest = hashlib.sha256(token.encode()).hexdigest()
        if not hmac.compare_digest(digest.encode(), expected.lower().encode()):
            logger.warning("directory credential rejected (request_id=%s)", ctx.request_id)
            raise ToolError(CREDENTIAL_REJECTED)

    @server.tool(title="Find employees", annotations={"readOnlyHint": True, "openWorldHint": False})
    def find_employee(
        ctx: ToolContext,
        query: Annotated[
            str,
            Field(
                min_length=2,
                max_length=64,
                description="Part of a name, title, department or email (case-insensitive).",
                examples=["finance"],
            ),
        ],
        limit: Annotated[int, Field(ge=1, le=50, description="At most this many people.")] = 10,
    ) -> Matches:
        """Search the company directory by name, job title, department or email."""
        authenticate(ctx)
        needle = query.casefold()
        found = [
            employee
            for employee in _scan_employees(dynamodb, table_name)
            if any(
                needle in field.casefold()
                for field in (employee.name, employee.title, employee.department, employee.email)
            )
        ]
        # Name matches first, then alphabetical: a person searched by name should top the list.
        found.sort(key=lambda e: (needle not in e.name.casefold(), e.name))
        return Matches(employees=found[:limit], truncated=len(found) > limit)

    @server.tool(title="Get employee", annotations={"readOnlyHint": True, "openWorldHint": False})
    def get_employee(ctx: ToolContext, employee_id: EmployeeId) -> Employee:
        """Fetch one employee's directory profile by id."""
        authenticate(ctx)
        key: dict[str, AttributeValueTypeDef] = {"pk": {"S": EMPLOYEE_PREFIX + employee_id}, "sk": {"S": PROFILE_SK}}
        item = dynamodb.get_item(TableName=table_name, Key=key).get("Item")
        if item is None:
            raise ToolError(f"no employee with id {employee_id}")
        return _employee(item)

    return server


def _scan_employees(dynamodb: DynamoDBClient, table_name: str) -> list[Employee]:
    # A demo-sized directory: a real one would search an index, not scan.
    params: ScanInputTypeDef = {
        "TableName": table_name,
        "FilterExpression": "begins_with(pk, :emp) AND sk = :profile",
        "ExpressionAttributeValues": {":emp": {"S": EMPLOYEE_PREFIX}, ":profile": {"S": PROFILE_SK}},
    }
    employees: list[Employee] = []
    while True:
        page = dynamodb.scan(**params)
        employees.extend(_employee(item) for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return employees
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _employee(item: dict[str, Any]) -> Employee:
    def text(name: str) -> str:
        return str(item.get(name, {}).get("S", ""))

    manager = item.get("manager_id", {}).get("S")
    return Employee(
        employee_id=text("pk").removeprefix(EMPLOYEE_PREFIX),
        name=text("name"),
        title=text("title"),
        department=text("department"),
        email=text("email"),
        manager_id=manager or None,
    )


# Cold start: one client and the compiled schemas per sandbox; a missing setting fails the init, not a call.
server = build_server(boto3.client("dynamodb"), os.environ["DIRECTORY_TABLE"])
handler = server.handler
