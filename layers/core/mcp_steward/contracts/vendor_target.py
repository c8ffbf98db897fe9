"""The vendor target: where a vendor call goes and with which credential, by reference (docs/design.md section 6).

Governance, registration and sync invoke the egress function with the invocation envelope plus this target under
``vendor`` (``adapters/egress_invoker.py`` encodes it); the egress decodes it (``egress/service.py``) and checks
it again: the check at call time is the one that counts. References only: the credential's secret id and header
template, never a value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from mcp_steward.contracts import ContractError

#: The envelope's member holding the target.
VENDOR_KEY: Final = "vendor"


class VendorTargetError(ContractError):
    """An egress invocation without a well-formed vendor target (the egress refuses it: ``malformed_target``)."""


@dataclass(frozen=True, slots=True)
class VendorTarget:
    """The registry's vendor server, as the egress needs it."""

    server: str
    url: str
    allowed_hosts: tuple[str, ...]
    secret_id: str | None = None
    auth_header: str | None = None

    def encode(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "url": self.url,
            "allowed_hosts": list(self.allowed_hosts),
            "secret_id": self.secret_id,
            "auth_header": self.auth_header,
        }

    @classmethod
    def decode(cls, value: object) -> VendorTarget:
        """The target of an encoded one (an empty secret id or header is None: none).

        Raises:
            VendorTargetError: ``value`` is not an object with string ``server`` and ``url``, a list of string
                ``allowed_hosts``, and a string or null ``secret_id`` and ``auth_header``.
        """
        if not isinstance(value, dict):
            raise VendorTargetError("The egress call names no vendor.")
        server, url, hosts = value.get("server"), value.get("url"), value.get("allowed_hosts")
        secret_id, header = value.get("secret_id"), value.get("auth_header")
        if (
            not isinstance(server, str)
            or not isinstance(url, str)
            or not isinstance(hosts, list)
            or not all(isinstance(h, str) for h in hosts)
            or not isinstance(secret_id, str | None)
            or not isinstance(header, str | None)
        ):
            raise VendorTargetError("The egress call's vendor target is malformed.")
        return cls(server, url, tuple(hosts), secret_id or None, header or None)


def with_target(envelope: dict[str, Any], target: VendorTarget) -> dict[str, Any]:
    """The egress invocation: ``envelope`` plus the encoded target."""
    return {**envelope, VENDOR_KEY: target.encode()}


def target_of(event: object) -> VendorTarget:
    """The decoded target of an egress invocation.

    Raises:
        VendorTargetError: the invocation is not an object or its target is malformed.
    """
    return VendorTarget.decode(event.get(VENDOR_KEY) if isinstance(event, dict) else None)
