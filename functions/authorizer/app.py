"""Authorizer function: an API Gateway REQUEST authorizer for Steward's API keys. Wiring only."""

import os
from typing import Any

import boto3
from botocore.config import Config

from mcp_steward.adapters.dynamodb_keys import DynamoDbKeyStore
from mcp_steward.observability import logger
from mcp_steward.services.authorizer import authorize

_keys = DynamoDbKeyStore(
    boto3.client("dynamodb", config=Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 2})),
    os.environ["KEYS_TABLE"],
)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return authorize(event, _keys)
