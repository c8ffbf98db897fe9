"""Published versions of tool functions: what approval pins and governance invokes (``lambda:PublishVersion``).

Publishing is idempotent where it matters: Lambda publishes nothing new while a function's code and
configuration are unchanged since its last version, and answers with that version. So registering or
syncing a server publishes at most one version per deploy, and a new version number is exactly a change
that has to be approved again. The local plane's function runner implements the same API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from mcp_steward.domain.ports import VersionResolver, VersionUnavailableError
from mcp_steward.domain.registry import ServerKind, ServerRecord

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient


def published_versions(client: LambdaClient) -> VersionResolver:
    """A resolver that publishes (or finds) the current version of a server's function (``None`` for a vendor
    server: it has no code here to pin; its definitions are pinned by hash alone)."""

    def resolve(server: ServerRecord) -> str | None:
        if server.kind is ServerKind.VENDOR:
            return None
        try:
            return str(client.publish_version(FunctionName=server.function_name)["Version"])
        except (BotoCoreError, ClientError) as exc:
            raise VersionUnavailableError(f"cannot publish a version of {server.function_name}: {exc}") from exc

    return resolve
