"""Egress function: the only function that calls vendor MCP servers (docs/design.md section 6). Wiring only; the
behaviour lives in mcp_steward.egress.

One event loop per sandbox, created at init and reused by every invocation (a sandbox runs one at a time).
"""

import asyncio
from typing import Any

import boto3
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from botocore.config import Config

from mcp_steward.egress.credentials import CredentialCache, secrets_manager_source
from mcp_steward.egress.service import EgressService
from mcp_steward.egress.settings import EgressSettings
from mcp_steward.egress.transport import ssl_context
from mcp_steward.observability import egress_refused, logger

# The egress service logs one line per vendor call on the standard library's logger; route the package's loggers
# through the function's Powertools logger (its JSON format and POWERTOOLS_LOG_LEVEL) so that line is not dropped.
copy_config_to_registered_loggers(source_logger=logger, include={"mcp_steward"})

_settings = EgressSettings.from_env()
_secrets = boto3.client("secretsmanager", config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 2}))
_service = EgressService(
    _settings.policy,
    CredentialCache(secrets_manager_source(_secrets)),
    secret_prefix=_settings.secret_prefix,
    ssl_context=ssl_context(_settings.extra_ca_file),
    on_refused=egress_refused,  # the EgressRefused metric, by rule (the dashboard and alarm key on it)
)
_loop = asyncio.new_event_loop()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _loop.run_until_complete(_service.handle(event))
