"""What the DynamoDB adapters share: error translation and paginated reads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from mcp_steward.domain.ports import StoreRejectedError, StoreUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

type Item = dict[str, Any]

__all__ = ["MAX_NUMBER", "DynamoDBClient", "Item", "n", "query_all", "s", "scan_all", "store_errors"]

#: The largest integer a DynamoDB number holds exactly (38 significant digits). Moto stores more; DynamoDB
#: refuses the whole request, so every number is checked here before it is sent.
MAX_NUMBER: Final = 10**38 - 1


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


def n(value: int) -> dict[str, str]:
    """A DynamoDB number attribute.

    Raises:
        StoreRejectedError: ``value`` is beyond what DynamoDB stores exactly (a bug upstream: the domain bounds
            every figure it writes), so nothing is sent.
    """
    if not -MAX_NUMBER <= value <= MAX_NUMBER:
        raise StoreRejectedError(f"a number of {len(str(abs(value)))} digits is beyond DynamoDB's 38")
    return {"N": str(value)}
