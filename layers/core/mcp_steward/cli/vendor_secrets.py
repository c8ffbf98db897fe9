"""``steward secrets put-vendor NAME (--value-file FILE | --from-stdin)``: a vendor credential under the stack's
``<stack>/vendor/`` prefix, readable by the egress role alone (DESIGN.md section 6).

The value is read from a file or standard input (never an argument: those end up in shell history and process
listings), checked, and stored; it is never printed, logged or audited. Its secret gets a resource policy that
denies reading it to every principal but the egress function's role (the stack's ``EgressRoleArn`` output; on the
local plane a stand-in ARN, since moto stores resource policies without enforcing them).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from mcp_steward.cli.admin import UsageError
from mcp_steward.cli.target import Target, TargetError
from mcp_steward.domain.vendor_secrets import (
    MAX_VALUE_BYTES,
    VendorSecretError,
    credential_value,
    egress_only_policy,
    vendor_secret_id,
)

#: Enough to tell "over the limit" from "at the limit plus a trailing CRLF" without reading a huge input whole.
_READ_LIMIT = MAX_VALUE_BYTES + 3


def add_arguments(put: argparse.ArgumentParser) -> None:
    put.add_argument("name", metavar="NAME", help="the secret is <stack>/vendor/NAME (^[a-z0-9][a-z0-9-]{0,63}$)")
    source = put.add_mutually_exclusive_group(required=True)
    source.add_argument("--value-file", type=Path, metavar="FILE", help="read the credential from FILE")
    source.add_argument(
        "--from-stdin", action="store_true", help="read it from standard input (a terminal does not echo it)"
    )


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


def put_vendor(target: Target, args: argparse.Namespace) -> None:
    """Create or update ``<stack>/vendor/NAME`` with the credential and its egress-only resource policy."""
    if target.vendor_secrets is None or target.egress_role_arn is None:
        raise TargetError(f"{target.description} has no Secrets Manager for vendor credentials")
    try:
        secret_id = vendor_secret_id(target.vendor_secret_prefix, args.name)
        value = credential_value(_read(args))
    except VendorSecretError as exc:
        raise UsageError(str(exc)) from None
    role_arn = target.egress_role_arn()
    try:
        policy = egress_only_policy(role_arn)
    except VendorSecretError as exc:
        raise TargetError(f"the egress role of {target.description}: {exc}") from None
    target.actor()  # before any change: who acts is recorded
    created = target.vendor_secrets().put(secret_id, value, policy)
    target.record_admin("secrets.put_vendor", {"secret_id": secret_id, "created": created})
    print(f"{'created' if created else 'updated'} {secret_id}; only {role_arn} can read it")
    print(f"register a vendor with it: steward servers add SERVER --url URL --secret {secret_id}")
