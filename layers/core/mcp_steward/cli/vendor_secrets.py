"""``steward secrets put-vendor NAME (--value-file FILE | --from-stdin) [--origin URL ...] [--allow-host HOST ...]
[--for-server SERVER]``: a vendor credential under the stack's ``<stack>/vendor/`` prefix, bound to the origins it
may be sent to, readable by the egress role alone (docs/design.md section 6).

The value is read from a file or standard input (never an argument: those end up in shell history and process
listings), checked, and stored with its origins as one JSON document
(:func:`~mcp_steward.domain.vendor_secrets.stored_credential`); it is never printed, logged or audited. The egress
sends the credential to those origins only, so whoever changes the registry (a vendor server's URL or hosts) without
the value cannot send it anywhere else. The origins come from ``--origin`` (an https URL; its path is dropped),
``--allow-host`` (``https://HOST``) and ``--for-server`` (a registered vendor server's URL and allowed hosts), at
least one. Its secret gets a resource policy that denies reading it to every principal but the egress function's
role (the stack's ``EgressRoleArn`` output; on the local plane a stand-in ARN, since moto stores resource policies
without enforcing them).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from mcp_steward.cli.admin import UsageError
from mcp_steward.cli.target import Target, TargetError
from mcp_steward.domain.egress_policy import EgressPolicy, EgressRefusedError, Origin, check_literal_host, origin_text
from mcp_steward.domain.names import ServerName
from mcp_steward.domain.registry import ServerKind
from mcp_steward.domain.vendor_secrets import (
    MAX_ORIGINS,
    MAX_VALUE_BYTES,
    VendorSecretError,
    credential_origin,
    credential_value,
    egress_only_policy,
    host_origin,
    stored_credential,
    vendor_secret_id,
)

#: Enough to tell "over the limit" from "at the limit plus a trailing CRLF" without reading a huge input whole.
_READ_LIMIT = MAX_VALUE_BYTES + 3


def _read(args: argparse.Namespace) -> bytes:
    if args.from_stdin:
        if sys.stdin.isatty():
            return getpass.getpass("vendor credential (not echoed): ").encode()
        return sys.stdin.buffer.read(_READ_LIMIT)
    try:
        with Path(args.value_file).open("rb") as handle:
            return handle.read(_READ_LIMIT)
    except OSError as exc:
        raise UsageError(f"--value-file {args.value_file}: {exc.strerror or type(exc).__name__}") from None


def _server_origins(target: Target, name: str) -> list[Origin]:
    """A registered vendor server's URL origin, and ``https://HOST`` for each allowed host besides the URL's."""
    server = target.registry.catalog().servers.get(ServerName(name))
    if server is None or server.kind is not ServerKind.VENDOR or not server.url:
        raise UsageError(f"--for-server {name}: no vendor server {name!r} is registered (name its --origin instead)")
    url = credential_origin(server.url)
    return [url, *(host_origin(host) for host in server.allowed_hosts if host != url.host)]


def origins_of(target: Target, args: argparse.Namespace) -> list[Origin]:
    """The origins the options name, each once, in order.

    Raises:
        UsageError: none named, too many, one that is not an https origin (or, on a stack, an address literal the
            egress would never reach), or ``--for-server`` naming no registered vendor server.
    """
    origins: list[Origin] = []
    try:
        origins += [credential_origin(url) for url in args.origin or ()]
        origins += [host_origin(host) for host in args.allow_host or ()]
        if args.for_server:
            origins += _server_origins(target, args.for_server)
    except VendorSecretError as exc:
        raise UsageError(str(exc)) from None
    origins = list(dict.fromkeys(origins))
    if not origins:
        raise UsageError(
            "name where the credential may be sent: --origin https://api.vendor.example (repeatable), "
            "--allow-host HOST, or --for-server SERVER (a registered vendor server's URL and allowed hosts)"
        )
    if len(origins) > MAX_ORIGINS:
        raise UsageError(f"{len(origins)} origins; a credential may name at most {MAX_ORIGINS}")
    if not target.local:  # only the local plane lists loopback vendors the egress may reach
        for origin in origins:
            try:
                check_literal_host(origin, EgressPolicy())
            except EgressRefusedError as refusal:
                raise UsageError(f"origin {origin_text(origin)}: {refusal.message} ({refusal.rule})") from None
    return origins


def put_vendor(target: Target, args: argparse.Namespace) -> None:
    """Create or update ``<stack>/vendor/NAME`` with the credential, its origins and its egress-only resource
    policy."""
    if target.vendor_secrets is None or target.egress_role_arn is None:
        raise TargetError(f"{target.description} has no Secrets Manager for vendor credentials")
    try:
        secret_id = vendor_secret_id(target.vendor_secret_prefix, args.name)
    except VendorSecretError as exc:
        raise UsageError(str(exc)) from None
    origins = origins_of(target, args)  # before the value is asked for
    try:
        value = stored_credential(credential_value(_read(args)), origins)
    except VendorSecretError as exc:
        raise UsageError(str(exc)) from None
    role_arn = target.egress_role_arn()
    try:
        policy = egress_only_policy(role_arn)
    except VendorSecretError as exc:
        raise TargetError(f"the egress role of {target.description}: {exc}") from None
    target.actor()  # before any change: who acts is recorded
    created = target.vendor_secrets().put(secret_id, value, policy)
    texts = [origin_text(origin) for origin in origins]
    target.record_admin("secrets.put_vendor", {"secret_id": secret_id, "created": created, "origins": texts})
    print(f"{'created' if created else 'updated'} {secret_id}; only {role_arn} can read it")
    print(f"the egress sends it only to: {', '.join(texts)}")
    print(f"register a vendor with it: steward servers add SERVER --url URL --secret {secret_id}")
