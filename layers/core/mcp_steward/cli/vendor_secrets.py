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

from mcp_steward.cli.admin import UsageError, ports
from mcp_steward.cli.target import Target, TargetError
from mcp_steward.domain.egress_policy import Origin, origin_text
from mcp_steward.domain.vendor_secrets import MAX_VALUE_BYTES, VendorSecretError, egress_only_policy
from mcp_steward.services.admin.vendor_secrets import (
    checked_credential,
    credential_origins,
    put_vendor_secret,
    secret_id_of,
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


def origins_of(target: Target, args: argparse.Namespace) -> list[Origin]:
    """The origins the options name, each once, in order (:func:`credential_origins`; only the local plane admits
    loopback origins)."""
    return credential_origins(
        ports(target),
        urls=args.origin or (),
        hosts=args.allow_host or (),
        for_server=args.for_server,
        loopback_allowed=target.local,
    )


def put_vendor(target: Target, args: argparse.Namespace) -> None:
    """Create or update ``<stack>/vendor/NAME`` with the credential, its origins and its egress-only resource
    policy."""
    if target.vendor_secrets is None or target.egress_role_arn is None:
        raise TargetError(f"{target.description} has no Secrets Manager for vendor credentials")
    admin = ports(target)
    secret_id = secret_id_of(admin, args.name)
    origins = origins_of(target, args)  # before the value is asked for
    credential = checked_credential(_read(args), origins)
    role_arn = target.egress_role_arn()
    try:
        egress_only_policy(role_arn)  # as the service will, to name the plane in the error
    except VendorSecretError as exc:
        raise TargetError(f"the egress role of {target.description}: {exc}") from None
    created = put_vendor_secret(admin, target.vendor_secrets(), secret_id, credential, origins, role_arn)
    texts = [origin_text(origin) for origin in origins]
    print(f"{'created' if created else 'updated'} {secret_id}; only {role_arn} can read it")
    print(f"the egress sends it only to: {', '.join(texts)}")
    print(f"register a vendor with it: steward servers add SERVER --url URL --secret {secret_id}")
