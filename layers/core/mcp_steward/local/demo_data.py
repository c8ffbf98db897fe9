"""Seed data for the example tool servers on the local plane (functions/currency, functions/hr_directory).

The tables already exist (``pk`` S HASH, ``sk`` S RANGE). Seeding is idempotent: items are overwritten and
the HR secret gets a fresh random token on every run (the local plane seeds only an empty store).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, WriteRequestTypeDef, WriteRequestUnionTypeDef
    from mypy_boto3_secretsmanager import SecretsManagerClient

#: Units of each currency per 1 USD (mid-market, late 2025; demo figures, not financial data).
CURRENCY_RATES: Final = {
    "USD": "1",
    "EUR": "0.8650",
    "GBP": "0.7620",
    "JPY": "156.40",
    "CHF": "0.8050",
    "CAD": "1.4080",
    "AUD": "1.5420",
    "SEK": "9.4950",
}

#: (id, name, title, department, email, manager id or None)
EMPLOYEES: Final = (
    ("e1001", "Maria Okafor", "Chief Financial Officer", "Finance", "maria.okafor@example.com", None),
    ("e1002", "Daniel Brandt", "Financial Controller", "Finance", "daniel.brandt@example.com", "e1001"),
    ("e1003", "Aiko Tanaka", "Accounts Payable Specialist", "Finance", "aiko.tanaka@example.com", "e1002"),
    ("e1004", "Samuel Reyes", "Head of Customer Support", "Support", "samuel.reyes@example.com", None),
    ("e1005", "Priya Nair", "Support Engineer", "Support", "priya.nair@example.com", "e1004"),
    ("e1006", "Lukas Novak", "HR Business Partner", "People", "lukas.novak@example.com", None),
)

HR_USERNAME: Final = "hr-reader"


def seed_currency(dynamodb_client: DynamoDBClient, table_name: str) -> None:
    """Write one ``RATE`` item per currency in :data:`CURRENCY_RATES`."""
    updated_at = _now()
    requests: list[WriteRequestTypeDef] = [
        {
            "PutRequest": {
                "Item": {
                    "pk": {"S": code},
                    "sk": {"S": "RATE"},
                    "per_usd": {"S": rate},
                    "updated_at": {"S": updated_at},
                }
            }
        }
        for code, rate in CURRENCY_RATES.items()
    ]
    _write(dynamodb_client, table_name, requests)


def seed_hr_directory(
    dynamodb_client: DynamoDBClient, secretsmanager_client: SecretsManagerClient, table_name: str, secret_id: str
) -> None:
    """Give the directory a fresh random credential (secret + ``META``/``AUTH`` digest) and write the employees."""
    token = secrets.token_urlsafe(32)
    value = json.dumps({"username": HR_USERNAME, "token": token})
    try:
        secretsmanager_client.put_secret_value(SecretId=secret_id, SecretString=value)
    except secretsmanager_client.exceptions.ResourceNotFoundException:
        secretsmanager_client.create_secret(Name=secret_id, SecretString=value)
    requests: list[WriteRequestTypeDef] = [
        {
            "PutRequest": {
                "Item": {
                    "pk": {"S": "META"},
                    "sk": {"S": "AUTH"},
                    "token_sha256": {"S": hashlib.sha256(token.encode()).hexdigest()},
                }
            }
        }
    ]
    for employee_id, name, title, department, email, manager_id in EMPLOYEES:
        item: dict[str, AttributeValueTypeDef] = {
            "pk": {"S": f"EMP#{employee_id}"},
            "sk": {"S": "PROFILE"},
            "name": {"S": name},
            "title": {"S": title},
            "department": {"S": department},
            "email": {"S": email},
        }
        if manager_id is not None:
            item["manager_id"] = {"S": manager_id}
        requests.append({"PutRequest": {"Item": item}})
    _write(dynamodb_client, table_name, requests)


def _write(dynamodb_client: DynamoDBClient, table_name: str, requests: list[WriteRequestTypeDef]) -> None:
    for start in range(0, len(requests), 25):  # BatchWriteItem takes at most 25 requests
        pending: Mapping[str, Sequence[WriteRequestUnionTypeDef]] = {table_name: requests[start : start + 25]}
        for _ in range(5):
            unprocessed = dynamodb_client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not unprocessed:
                break
            pending = unprocessed
        else:
            raise RuntimeError(f"could not seed {table_name}: writes left unprocessed")


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
