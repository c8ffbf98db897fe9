"""Vendor credentials as an admin stores them (docs/design.md section 6): a name under the stack's ``<stack>/vendor/``
prefix, a value Secrets Manager and the egress accept, the origins the credential may be sent to, and the resource
policy that leaves the egress role the only principal able to read it.

The secret's value is a small JSON document, the credential *with* its origins::

    {"v":1,"credential":"sk-...","origins":["https://api.vendor.example","https://127.0.0.1:8443"]}

so where a credential may go is decided by whoever holds its value (``steward secrets put-vendor``), read by the
egress together with the value, and out of reach of anyone who can only change the registry. An origin is
``https://host[:port]``: lower-case host (IPv6 in brackets), the default port left out. A value that is not such
a document (a plain credential stored before origins were recorded) binds the credential nowhere: the egress
refuses to send it.

Nothing here ever puts a value in an error message: errors say what is wrong with it, never what it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from mcp_steward.domain.egress_policy import (
    EgressPolicy,
    EgressRefusedError,
    Origin,
    check_url,
    normalize_host,
    origin_text,
)

__all__ = [
    "FORMAT_VERSION",
    "MAX_ORIGINS",
    "MAX_ORIGIN_CHARS",
    "MAX_VALUE_BYTES",
    "POLICY_SID",
    "VENDOR_SECRET_NAME",
    "StoredCredential",
    "VendorSecretError",
    "credential_origin",
    "credential_value",
    "egress_only_policy",
    "host_origin",
    "read_stored_credential",
    "stored_credential",
    "vendor_secret_id",
]

#: The part after ``<stack>/vendor/``: lowercase, digits and hyphens, like the servers that use them.
VENDOR_SECRET_NAME: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
#: Secrets Manager's limit on a secret's value.
MAX_VALUE_BYTES: Final = 65_536
POLICY_SID: Final = "OnlyTheEgressRoleReadsThisVendorCredential"
#: The stored document's format (``v``); any other is refused.
FORMAT_VERSION: Final = 1
#: Origins one credential may be sent to.
MAX_ORIGINS: Final = 16
#: ``https://`` + a 253-character host in brackets + ``:65535``, with room to spare.
MAX_ORIGIN_CHARS: Final = 300
#: A URL given for an origin (its path is dropped).
MAX_URL_CHARS: Final = 2048
_KEYS: Final = frozenset({"v", "credential", "origins"})
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
    if not _sendable(text):
        raise VendorSecretError(
            "the credential must be printable ASCII on one line (it is sent in a header); "
            "control characters, non-ASCII bytes or more than one line were found"
        )
    return text


def _sendable(text: str) -> bool:
    return bool(text) and text.isascii() and text.isprintable()


def credential_origin(url: str, *, exact: bool = False) -> Origin:
    """The origin a credential may be sent to, from an https URL (its path, query and fragment dropped; with
    ``exact``, as stored origins are written: nothing but ``https://host[:port]``).

    The URL must be one the egress would call: https, no user information, a valid host name or a canonical IP
    literal, a port other than 0 (the same rules as a vendor URL, :func:`~mcp_steward.domain.egress_policy.check_url`).

    Raises:
        VendorSecretError: anything else (the message quotes at most 80 characters of it).
    """
    text = url.strip()
    if not text or len(text) > (MAX_ORIGIN_CHARS if exact else MAX_URL_CHARS):
        raise VendorSecretError(f"origin {text[:80]!r} must be an https URL of at most {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(text)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        raise VendorSecretError(f"origin {text[:80]!r} is not a valid https URL") from None
    if port == 0:
        raise VendorSecretError(f"origin {text[:80]!r} has port 0")
    if exact and (parts.path not in ("", "/") or parts.query or parts.fragment or "?" in text or "#" in text):
        raise VendorSecretError(f"origin {text[:80]!r} must be just https://host[:port]")
    try:
        return check_url(text, [host], EgressPolicy())
    except EgressRefusedError as refusal:
        raise VendorSecretError(f"origin {text[:80]!r}: {refusal.message} ({refusal.rule})") from None


def host_origin(host: str) -> Origin:
    """``https://HOST`` (port 443): what an allowed host (``--allow-host``) lets the credential reach.

    Raises:
        VendorSecretError: not a valid host name or IP literal.
    """
    try:
        normalized = normalize_host(host)
    except ValueError:
        raise VendorSecretError(f"host {host[:80]!r} is not a valid host name") from None
    return credential_origin(origin_text(Origin("https", normalized, 443)))


@dataclass(frozen=True, slots=True, repr=False)
class StoredCredential:
    """A vendor credential and the origins it may be sent to, as the secret holds them."""

    credential: str
    origins: frozenset[Origin]

    def __repr__(self) -> str:  # never the value, even in a traceback's locals
        origins = sorted(origin_text(origin) for origin in self.origins)
        return f"StoredCredential(credential=<{len(self.credential)} characters>, origins={origins})"


def stored_credential(credential: str, origins: Iterable[Origin]) -> str:
    """The secret's value: the credential with its origins (each once, in the order given), as JSON.

    Raises:
        VendorSecretError: no origin, more than :data:`MAX_ORIGINS`, a credential that cannot be sent, or a
            document over Secrets Manager's 64 KiB.
    """
    texts = list(dict.fromkeys(origin_text(origin) for origin in origins))
    if not texts:
        raise VendorSecretError("name at least one origin the credential may be sent to")
    if len(texts) > MAX_ORIGINS:
        raise VendorSecretError(f"{len(texts)} origins; a credential may name at most {MAX_ORIGINS}")
    document = {"v": FORMAT_VERSION, "credential": credential, "origins": texts}
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=True)
    if len(text) > MAX_VALUE_BYTES:
        raise VendorSecretError(
            f"the credential and its origins take {len(text)} bytes; Secrets Manager takes at most {MAX_VALUE_BYTES}"
        )
    read_stored_credential(text)  # what is written is what the egress will accept
    return text


def read_stored_credential(text: str) -> StoredCredential:
    """The credential and its origins from the secret's value (the egress's reading).

    Raises:
        VendorSecretError: not a document :func:`stored_credential` writes: a plain credential (stored before
            origins were recorded), another format version, unknown keys, a credential that cannot be sent, no
            origins, too many, or one that is not exactly ``https://host[:port]``. The message never holds the value.
    """
    if len(text) > MAX_VALUE_BYTES:
        raise VendorSecretError(f"the stored value is over {MAX_VALUE_BYTES} characters")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        document = None
    if not isinstance(document, dict):
        raise VendorSecretError("the stored value names no origins (a plain credential, stored before origins were)")
    version = document.get("v")
    if type(version) is not int or version != FORMAT_VERSION or set(document) != _KEYS:
        raise VendorSecretError(f"the stored value is not a version {FORMAT_VERSION} vendor credential document")
    credential, origins = document["credential"], document["origins"]
    if not isinstance(credential, str) or not _sendable(credential):
        raise VendorSecretError("the stored credential is not printable ASCII on one line")
    if not isinstance(origins, list) or not 1 <= len(origins) <= MAX_ORIGINS:
        raise VendorSecretError(f"the stored origins must be a list of 1 to {MAX_ORIGINS} origins")
    parsed = set()
    for origin in origins:
        if not isinstance(origin, str):
            raise VendorSecretError("a stored origin is not a string")
        parsed.add(credential_origin(origin, exact=True))
    return StoredCredential(credential, frozenset(parsed))


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
