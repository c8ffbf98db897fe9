"""MCP authorization discovery: OAuth 2.0 Protected Resource Metadata (RFC 9728) and the 401 challenge.

The MCP endpoint is an OAuth resource server (MCP authorization, revision 2025-11-25). A client learns which
authorization server issues tokens for it from its metadata document, found through the ``resource_metadata``
parameter of a 401's ``WWW-Authenticate`` challenge or, failing that, at the well-known URLs RFC 9728 derives from
the endpoint's URL: ``https://host/.well-known/oauth-protected-resource/mcp``, then
``https://host/.well-known/oauth-protected-resource``. Both serve the same document, without authentication.

URLs are computed per request, never configured: in Lambda from API Gateway's request context (``domainName``,
and whatever the external path carries in front of the app's path: ``/<stage>`` on the default ``execute-api``
endpoint, nothing on a custom domain mapped at its root), locally from the request's scheme and ``Host``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mcp_steward.http.guards import EXECUTE_API_HOST, HOST_HEADER, HostPolicy
from mcp_steward.http.responses import http_refusal
from mcp_steward.protocol.errors import HttpRefusalError

WELL_KNOWN_PATH: Final = "/.well-known/oauth-protected-resource"
MCP_PATH: Final = "/mcp"
REALM: Final = "mcp-steward"
RESOURCE_NAME: Final = "MCP Steward"
#: Clients cache the document; five minutes lets a changed issuer reach them soon.
CACHE_CONTROL: Final = "public, max-age=300"
_PATH_PREFIX: Final = re.compile(r"(?:/[A-Za-z0-9._~-]{1,128}){0,8}")
_SCOPE_TOKEN: Final = re.compile(r"[!#-\[\]-~]{1,128}")  # RFC 6749 scope-token: no space, '"' or '\'


def public_base_url(scope: Mapping[str, Any]) -> str:
    """The absolute URL the app is served under, as the client sees it (no trailing slash).

    Raises:
        HttpRefusalError: 403, the ``Host`` header is not a plain host (callers check it with the host policy
            first, so this is a second line: nothing unchecked is ever written into a URL or a header).
    """
    event = scope.get("aws.event")
    context = event.get("requestContext") if isinstance(event, dict) else None
    if isinstance(context, dict) and isinstance(context.get("domainName"), str):
        domain = str(context["domainName"]).lower()
        if HOST_HEADER.fullmatch(domain) is None:
            raise HttpRefusalError(403, "Forbidden: unexpected domain name")
        return "https://" + domain + _api_gateway_prefix(context, str(scope.get("path", "")), domain)
    host = (_headers(scope).get("host") or "").strip()
    if HOST_HEADER.fullmatch(host) is None:
        raise HttpRefusalError(403, "Forbidden: unexpected Host header")
    scheme = "https" if scope.get("scheme") == "https" else "http"
    root_path = str(scope.get("root_path", "")).rstrip("/")
    return f"{scheme}://{host.lower()}{root_path if _PATH_PREFIX.fullmatch(root_path) else ''}"


def _api_gateway_prefix(context: Mapping[str, Any], app_path: str, domain: str) -> str:
    """What the external path carries in front of the app's path: ``/v1`` on ``execute-api``, ``""`` (or a base
    path) on a custom domain. Taken from the request context's ``path`` (the path the client sent); the stage name
    is the fallback on an ``execute-api`` host, where the stage is always the first segment."""
    external = context.get("path")
    if isinstance(external, str) and app_path and external.endswith(app_path):
        prefix = external[: len(external) - len(app_path)].rstrip("/")
        if _PATH_PREFIX.fullmatch(prefix):
            return prefix
    stage = context.get("stage")
    if EXECUTE_API_HOST.fullmatch(domain) and isinstance(stage, str) and _PATH_PREFIX.fullmatch("/" + stage):
        return "/" + stage
    return ""


def _headers(scope: Mapping[str, Any]) -> Headers:
    return Headers(raw=list(scope.get("headers") or ()))


def resource_url(scope: Mapping[str, Any]) -> str:
    """The MCP endpoint's URL: the protected resource's identifier (RFC 9728 ``resource``)."""
    return public_base_url(scope) + MCP_PATH


def metadata_url(scope: Mapping[str, Any]) -> str:
    """The metadata document's URL for the MCP endpoint (RFC 9728 section 3.1: the well-known path inserted in
    front of the endpoint's path), as the 401 challenge names it."""
    return public_base_url(scope) + WELL_KNOWN_PATH + MCP_PATH


class ProtectedResource:
    """What the metadata document and the 401 challenge say about the MCP endpoint as a resource server."""

    def __init__(self, authorization_servers: Iterable[str] = (), scopes: Iterable[str] = ()) -> None:
        self.authorization_servers = tuple(authorization_servers)
        self.scopes = tuple(s for s in scopes if _SCOPE_TOKEN.fullmatch(s))

    def challenge(self, scope: Mapping[str, Any]) -> str:
        """``WWW-Authenticate`` for a 401: ``Bearer realm, resource_metadata[, scope]`` (RFC 6750, RFC 9728 s. 5.1).

        Raises:
            HttpRefusalError: 403, see :func:`public_base_url`.
        """
        challenge = f'Bearer realm="{REALM}", resource_metadata="{metadata_url(scope)}"'
        if self.scopes:
            challenge += f', scope="{" ".join(self.scopes)}"'
        return challenge

    def document(self, scope: Mapping[str, Any]) -> dict[str, Any]:
        """The RFC 9728 metadata of the MCP endpoint.

        Raises:
            HttpRefusalError: 403, see :func:`public_base_url`.
        """
        document: dict[str, Any] = {
            "resource": resource_url(scope),
            "authorization_servers": list(self.authorization_servers),
            "bearer_methods_supported": ["header"],
            "resource_name": RESOURCE_NAME,
        }
        if self.scopes:
            document["scopes_supported"] = list(self.scopes)
        return document


class ProtectedResourceMetadata:
    """``GET /.well-known/oauth-protected-resource[/mcp]``: public, JSON, cacheable; any other method → 405.

    Only ``Host`` is checked (403 for a foreign one, as it names the resource locally). ``Origin`` is not: the
    document holds nothing a foreign page could misuse, and browser-based clients must be able to read it (hence
    ``Access-Control-Allow-Origin: *``).
    """

    def __init__(self, resource: ProtectedResource, host_policy: HostPolicy) -> None:
        self._resource = resource
        self._host_policy = host_policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.handle(scope)(scope, receive, send)

    def handle(self, scope: Mapping[str, Any]) -> Response:
        try:
            if scope.get("method") != "GET":
                raise HttpRefusalError(405, "Method Not Allowed: this document is served to GET only", {"Allow": "GET"})
            self._host_policy.check(_headers(scope).get("host"), None)
            document = self._resource.document(scope)
        except HttpRefusalError as refusal:
            return http_refusal(refusal)
        return Response(
            json.dumps(document, separators=(",", ":")),
            media_type="application/json",
            headers={"Cache-Control": CACHE_CONTROL, "Access-Control-Allow-Origin": "*"},
        )
