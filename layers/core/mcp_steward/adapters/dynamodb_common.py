"""What the DynamoDB adapters share: error translation and paginated reads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from mcp_steward.domain.ports import StoreUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

type Item = dict[str, Any]

__all__ = ["DynamoDBClient", "Item", "query_all", "s", "scan_all", "store_errors"]


@contextmanager
def store_errors(what: str) -> Iterator[None]:
    """Turn botocore failures into :class:`StoreUnavailableError` (fail closed), keeping the cause."""
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        raise StoreUnavailableError(f"{what}: DynamoDB answered {code}") from exc
    except BotoCoreError as exc:
        raise StoreUnavailableError(f"{what}: {type(exc).__name__}") from exc


def error_code(error: BaseException | None) -> str:
    """The DynamoDB error code of a botocore ``ClientError`` ('' for anything else, such as a timeout)."""
    response = getattr(error, "response", None) or {}  # a botocore timeout has response=None
    return str(response.get("Error", {}).get("Code", ""))


def scan_all(client: DynamoDBClient, table: str, **kwargs: Any) -> Iterator[Item]:
    paginator = client.get_paginator("scan")
    for page in paginator.paginate(TableName=table, **kwargs):
        yield from page.get("Items", [])


def query_all(client: DynamoDBClient, table: str, **kwargs: Any) -> Iterator[Item]:
    paginator = client.get_paginator("query")
    for page in paginator.paginate(TableName=table, **kwargs):
        yield from page.get("Items", [])


def s(value: str) -> dict[str, str]:
    return {"S": value}
