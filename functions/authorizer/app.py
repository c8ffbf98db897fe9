"""Authorizer function: an API Gateway REQUEST authorizer for Steward's API keys and OIDC JWTs. Wiring only."""

import os
from typing import Any

import boto3
from botocore.config import Config

from mcp_steward.adapters.dynamodb_keys import DynamoDbKeyStore
from mcp_steward.adapters.jwks import HttpJwks
from mcp_steward.observability import logger
from mcp_steward.services.authorizer import Unauthorized, authorize
from mcp_steward.services.oidc import OidcConfig, OidcVerifier

_keys = DynamoDbKeyStore(
    boto3.client("dynamodb", config=Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 2})),
    os.environ["KEYS_TABLE"],
)
_oidc_config = OidcConfig.from_env(os.environ)  # None: JWTs refused; a bad value fails the init
# The JWKS client is created on the first JWT and then kept (and its key set cached) for the sandbox's life.
_oidc = OidcVerifier(_oidc_config, HttpJwks(_oidc_config.jwks_url)) if _oidc_config else None


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        return authorize(event, _keys, _oidc)
    except Unauthorized as exc:
        # Why, never with what: the cause's message names the check that failed, not the token.
        logger.info("bearer token refused", extra={"reason": str(exc.__cause__ or "no stage in methodArn")})
        raise
