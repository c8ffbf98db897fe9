"""Vendor credentials as an admin stores them (DESIGN.md section 6): a name under the stack's ``<stack>/vendor/``
prefix, a value Secrets Manager and the egress accept, and the resource policy that leaves the egress role the
only principal able to read it.

Nothing here ever puts a value in an error message: errors say what is wrong with it, never what it is.
"""

from __future__ import annotations

import re
from typing import Any, Final

__all__ = [
    "MAX_VALUE_BYTES",
    "POLICY_SID",
    "VENDOR_SECRET_NAME",
    "VendorSecretError",
    "credential_value",
    "egress_only_policy",
    "vendor_secret_id",
]

#: The part after ``<stack>/vendor/``: lowercase, digits and hyphens, like the servers that use them.
VENDOR_SECRET_NAME: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
#: Secrets Manager's limit on a secret's value.
MAX_VALUE_BYTES: Final = 65_536
POLICY_SID: Final = "OnlyTheEgressRoleReadsThisVendorCredential"
_ROLE_ARN: Final = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}")


class VendorSecretError(ValueError):
    """Refused input for a vendor credential (the message never contains the value)."""


def vendor_secret_id(prefix: str, name: str) -> str:
    """The secret's name: ``<stack>/vendor/<name>``.

    Raises:
        VendorSecretError: the name is not ``^[a-z0-9][a-z0-9-]{0,63}$`` or the prefix is not a vendor prefix.
    """
    if VENDOR_SECRET_NAME.fullmatch(name) is None:
        raise VendorSecretError(f"vendor secret name {name!r} must match ^{VENDOR_SECRET_NAME.pattern}$")
    if not prefix.endswith("/vendor/") or len(prefix) <= len("/vendor/"):
        raise VendorSecretError(f"{prefix!r} is not a stack's vendor prefix (<stack>/vendor/)")
    return prefix + name


def credential_value(raw: bytes) -> str:
    """The credential as it is stored: UTF-8 text without one trailing newline (what ``echo`` and editors add).

    The egress puts the value in a request header (``AuthHeader.render``), which takes printable ASCII only, so
    anything else is refused here rather than at the first call.

    Raises:
        VendorSecretError: empty, over Secrets Manager's 64 KiB, or not printable ASCII.
    """
    if raw.endswith(b"\r\n"):
        raw = raw[:-2]
    elif raw.endswith(b"\n"):
        raw = raw[:-1]
    if not raw:
        raise VendorSecretError("the credential is empty")
    if len(raw) > MAX_VALUE_BYTES:
        raise VendorSecretError(f"the credential is {len(raw)} bytes; Secrets Manager takes at most {MAX_VALUE_BYTES}")
    text = raw.decode("ascii", errors="replace")
    if not (text.isascii() and text.isprintable()):
        raise VendorSecretError(
            "the credential must be printable ASCII on one line (it is sent in a header); "
            "control characters, non-ASCII bytes or more than one line were found"
        )
    return text


def egress_only_policy(egress_role_arn: str) -> dict[str, Any]:
    """The resource policy of every vendor secret: deny reading its value to every principal but the egress role.

    It grants nothing: the egress role reads through its own IAM policy (``<stack>/vendor/*``), and admins keep
    what IAM gives them (updating the value, this policy) except reading the value.

    Raises:
        VendorSecretError: ``egress_role_arn`` is not an IAM role ARN.
    """
    if _ROLE_ARN.fullmatch(egress_role_arn) is None:
        raise VendorSecretError(f"{egress_role_arn!r} is not an IAM role ARN")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": POLICY_SID,
                "Effect": "Deny",
                "Principal": "*",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
                # aws:PrincipalArn is the role's ARN for its sessions; a principal without it is denied too.
                "Condition": {"StringNotEquals": {"aws:PrincipalArn": egress_role_arn}},
            }
        ],
    }
