"""Vendor credentials: ``steward secrets put-vendor``. A credential is stored under the stack's ``<stack>/vendor/``
prefix with the origins it may be sent to, readable by the egress role alone (docs/design.md section 6); its value
is never printed, logged or audited."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from mcp_steward.domain.egress_policy import EgressPolicy, EgressRefusedError, Origin, check_literal_host, origin_text
from mcp_steward.domain.names import ServerName
from mcp_steward.domain.registry import ServerKind
from mcp_steward.domain.vendor_secrets import (
    MAX_ORIGINS,
    VendorSecretError,
    credential_origin,
    credential_value,
    egress_only_policy,
    host_origin,
    stored_credential,
    vendor_secret_id,
)
from mcp_steward.services.admin.ports import AdminPorts, AdminRefusedError


class VendorSecretStore(Protocol):
    """Secrets Manager's vendor credentials: create or update one with its resource policy (True: created)."""

    def put(self, secret_id: str, value: str, policy: Mapping[str, Any]) -> bool: ...


def secret_id_of(ports: AdminPorts, name: str) -> str:
    """``<stack>/vendor/NAME``.

    Raises:
        AdminRefusedError: the name breaks the naming rule.
    """
    try:
        return vendor_secret_id(ports.vendor_secret_prefix, name)
    except VendorSecretError as exc:
        raise AdminRefusedError(str(exc)) from None


def _server_origins(ports: AdminPorts, name: str) -> list[Origin]:
    """A registered vendor server's URL origin, and ``https://HOST`` for each allowed host besides the URL's."""
    server = ports.registry.catalog().servers.get(ServerName(name))
    if server is None or server.kind is not ServerKind.VENDOR or not server.url:
        raise AdminRefusedError(
            f"--for-server {name}: no vendor server {name!r} is registered (name its --origin instead)"
        )
    url = credential_origin(server.url)
    return [url, *(host_origin(host) for host in server.allowed_hosts if host != url.host)]


def credential_origins(
    ports: AdminPorts,
    *,
    urls: Sequence[str] = (),
    hosts: Sequence[str] = (),
    for_server: str | None = None,
    loopback_allowed: bool = False,
) -> list[Origin]:
    """The origins a credential may be sent to, each once, in order: https ``urls`` (their paths dropped),
    ``https://HOST`` for each of ``hosts``, and a registered vendor server's URL and allowed hosts.

    Raises:
        AdminRefusedError: none named, too many, one that is not an https origin (or, unless ``loopback_allowed``
            (the local plane), an address literal the egress would never reach), or ``for_server`` naming no
            registered vendor server.
    """
    origins: list[Origin] = []
    try:
        origins += [credential_origin(url) for url in urls]
        origins += [host_origin(host) for host in hosts]
        if for_server:
            origins += _server_origins(ports, for_server)
    except VendorSecretError as exc:
        raise AdminRefusedError(str(exc)) from None
    origins = list(dict.fromkeys(origins))
    if not origins:
        raise AdminRefusedError(
            "name where the credential may be sent: --origin https://api.vendor.example (repeatable), "
            "--allow-host HOST, or --for-server SERVER (a registered vendor server's URL and allowed hosts)"
        )
    if len(origins) > MAX_ORIGINS:
        raise AdminRefusedError(f"{len(origins)} origins; a credential may name at most {MAX_ORIGINS}")
    if not loopback_allowed:  # only the local plane lists loopback vendors the egress may reach
        for origin in origins:
            try:
                check_literal_host(origin, EgressPolicy())
            except EgressRefusedError as refusal:
                raise AdminRefusedError(f"origin {origin_text(origin)}: {refusal.message} ({refusal.rule})") from None
    return origins


def checked_credential(raw_value: bytes, origins: Sequence[Origin]) -> str:
    """The document stored for a credential: its value, checked, and its origins.

    Raises:
        AdminRefusedError: the value is empty, too large or not printable ASCII.
    """
    try:
        return stored_credential(credential_value(raw_value), list(origins))
    except VendorSecretError as exc:
        raise AdminRefusedError(str(exc)) from None


def put_vendor_secret(
    ports: AdminPorts,
    store: VendorSecretStore,
    secret_id: str,
    credential: str,
    origins: Sequence[Origin],
    egress_role_arn: str,
) -> bool:
    """Create or update ``secret_id`` with ``credential`` (:func:`checked_credential`) and a resource policy that
    lets only ``egress_role_arn`` read it; audited as ``secrets.put_vendor`` (the name and origins, never the
    value). Whether it was created.

    Raises:
        AdminRefusedError: (exit 1) the egress role's ARN cannot make a policy.
    """
    try:
        policy = egress_only_policy(egress_role_arn)
    except VendorSecretError as exc:
        raise AdminRefusedError(f"the egress role: {exc}", exit_code=1) from None
    ports.acting()  # before any change: who acts is recorded
    created = store.put(secret_id, credential, policy)
    texts = [origin_text(origin) for origin in origins]
    ports.audit("secrets.put_vendor", {"secret_id": secret_id, "created": created, "origins": texts})
    return created
