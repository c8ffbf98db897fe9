"""The egress rules, pure (standard library only): which vendor URLs, hosts and addresses may be reached, and
how a vendor credential is named and placed (docs/design.md section 6).

Registration runs them to fail fast; the egress function runs them again at call time, and that is the check
that counts (a name may resolve elsewhere by then). Every refusal is an :class:`EgressRefusedError` with a
stable ``rule``.

A vendor credential is bound to the origins it was stored for (``steward secrets put-vendor --origin``): the
egress sends it to no other (:func:`outside_origins`, rule ``credential_origin``), whatever the registry says.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

type IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Cloud instance metadata services (AWS IMDS over IPv4 and IPv6): never reachable, whatever else is allowed.
METADATA_ADDRESSES: Final = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
CGNAT: Final = ipaddress.ip_network("100.64.0.0/10")
#: NAT64 prefixes (RFC 6052 well-known, RFC 8215 local use): the IPv4 address sits in the low 32 bits.
NAT64: Final = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
DEFAULT_AUTH_HEADER: Final = "Authorization: Bearer {secret}"
SECRET_PLACEHOLDER: Final = "{secret}"  # noqa: S105 - the placeholder, not a secret
#: The rule of a vendor target the credential was not stored for (or a credential stored without origins).
CREDENTIAL_ORIGIN: Final = "credential_origin"
_TOKEN: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}")
_HOST_LABEL: Final = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
#: A host made only of numbers (decimal, octal, hex) as inet_aton reads them: ``2130706433``, ``0x7f000001``,
#: ``0177.0.0.1``, ``127.1``. Only the canonical dotted quad is accepted as an IPv4 literal.
_NUMERIC_HOST: Final = re.compile(r"(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?")
#: Headers a credential template may not set: the transport and the MCP client own them.
RESERVED_HEADERS: Final = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "content-encoding",
        "accept",
        "accept-encoding",
        "connection",
        "transfer-encoding",
        "te",
        "upgrade",
        "proxy-authorization",
        "mcp-protocol-version",
        "mcp-session-id",
        "mcp-method",
        "mcp-name",
        "last-event-id",
    }
)


class EgressRefusedError(Exception):
    """A vendor call the rules refuse. ``rule`` is stable (audit records and metrics name it); the message is
    for people and never holds a credential."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


@dataclass(frozen=True, slots=True)
class Origin:
    """``scheme://host:port`` of a URL, normalized (lower-case host, IPv6 without brackets, explicit port)."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def origin_text(origin: Origin) -> str:
    """``scheme://host[:port]`` as people write it: the default port (443 for https) left out."""
    host = f"[{origin.host}]" if ":" in origin.host else origin.host
    default = {"https": 443, "http": 80}.get(origin.scheme)
    return f"{origin.scheme}://{host}" if origin.port == default else f"{origin.scheme}://{host}:{origin.port}"


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    """What one plane allows besides the global rules.

    ``local_origins``: exact origins reachable although their addresses are not global (the local plane's
    loopback vendors; empty in AWS). ``self_hosts`` / ``self_origins``: Steward's own endpoint, never a vendor.
    """

    local_origins: frozenset[Origin] = field(default_factory=frozenset)
    self_hosts: frozenset[str] = field(default_factory=frozenset)
    self_origins: frozenset[Origin] = field(default_factory=frozenset)

    @classmethod
    def of(cls, *, local_origins: Iterable[str] = (), self_urls: Iterable[str] = ()) -> EgressPolicy:
        """Build from strings: origins as ``https://host:port``; self entries as URLs (origin compared) or plain
        host names (any port).

        Raises:
            ValueError: an entry is not a valid origin or host.
        """
        local = frozenset(parse_origin(origin, exact=True) for origin in local_origins if origin.strip())
        hosts: set[str] = set()
        origins: set[Origin] = set()
        for entry in (e.strip() for e in self_urls):
            if not entry:
                continue
            if "://" in entry:
                origins.add(parse_origin(entry))
            else:
                hosts.add(normalize_host(entry))
        return cls(local_origins=local, self_hosts=frozenset(hosts), self_origins=frozenset(origins))


def normalize_host(host: str) -> str:
    """A host name or IP literal, lower-cased, IPv6 without brackets.

    Raises:
        ValueError: not an ASCII host name of valid labels nor an IP literal.
    """
    text = host.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    name = text.removesuffix(".")
    if not name or len(name) > 253 or not name.isascii() or not all(_HOST_LABEL.fullmatch(p) for p in name.split(".")):
        raise ValueError(f"{host[:80]!r} is not a valid host name")
    return name


def parse_origin(url: str, *, exact: bool = False) -> Origin:
    """The origin of an https URL (``exact``: nothing but ``scheme://host[:port]``, as listed origins are).

    Raises:
        ValueError: not an https URL with a host.
    """
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise ValueError(f"{url[:80]!r} is not an https origin")
    if exact and (parts.path not in ("", "/") or parts.query or parts.fragment or parts.username):
        raise ValueError(f"{url[:80]!r} must be just https://host:port")
    return Origin("https", normalize_host(parts.hostname), parts.port or 443)


def check_url(url: str, allowed_hosts: Iterable[str], policy: EgressPolicy) -> Origin:
    """The origin of a vendor URL the rules accept: https, a host that is a name or a canonical IP literal,
    listed in ``allowed_hosts``, not Steward itself. Addresses are checked when the name is resolved
    (:func:`check_address`; a literal by :func:`check_literal_host`), except for a listed local origin.

    Raises:
        EgressRefusedError: ``scheme``, ``malformed_url``, ``credentials_in_url``, ``numeric_host``,
            ``host_not_allowed`` or ``self``.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
        raw_host = parts.hostname or ""
    except ValueError:
        raise EgressRefusedError("malformed_url", "The vendor URL is malformed.") from None
    if parts.scheme.lower() != "https":
        raise EgressRefusedError("scheme", "Vendor URLs must use https.")
    if parts.username is not None or parts.password is not None:
        raise EgressRefusedError("credentials_in_url", "Vendor URLs may not carry credentials.")
    if not raw_host or any(c.isspace() for c in url):
        raise EgressRefusedError("malformed_url", "The vendor URL has no valid host.")
    if _NUMERIC_HOST.fullmatch(raw_host.lower()) and not _canonical_ipv4(raw_host):
        raise EgressRefusedError("numeric_host", "Numeric hosts must be canonical dotted-quad IPv4 addresses.")
    try:
        host = normalize_host(raw_host)
    except ValueError:
        raise EgressRefusedError("malformed_url", "The vendor URL has no valid host.") from None
    origin = Origin("https", host, port or 443)
    allowed = set()
    for entry in allowed_hosts:
        try:
            allowed.add(normalize_host(entry))
        except ValueError:
            continue
    if host not in allowed:
        raise EgressRefusedError("host_not_allowed", f"The host {host} is not allowed for this vendor.")
    if host in policy.self_hosts or origin in policy.self_origins:
        raise EgressRefusedError("self", "A vendor URL may not point back at Steward itself.")
    return origin


def check_literal_host(origin: Origin, policy: EgressPolicy) -> None:
    """An address literal needs no lookup: refuse a non-global one at once (before a credential is read), unless
    its origin is listed for the local plane. A name passes; its addresses are checked when it is resolved.

    Raises:
        EgressRefusedError: the literal is not globally routable (the rule names which class it is in).
    """
    if origin in policy.local_origins:
        return
    try:
        literal = ipaddress.ip_address(origin.host)
    except ValueError:
        return
    check_address(literal)


def outside_origins(destination: Origin, allowed_hosts: Iterable[str], origins: Collection[Origin]) -> str | None:
    """What of a vendor target lies outside the origins its credential was stored for: the destination's origin
    (scheme, host and port must all match one), else an allowed host that is no origin's host (the registry may
    not widen where the credential could go); None when the whole target lies within them.

    An allowed host that is not a valid host name counts as outside (it could never be matched).
    """
    if destination not in origins:
        return origin_text(destination)
    hosts = {origin.host for origin in origins}
    for entry in allowed_hosts:
        try:
            host = normalize_host(entry)
        except ValueError:
            return entry[:80]
        if host not in hosts:
            return host
    return None


def _canonical_ipv4(host: str) -> bool:
    try:
        return str(ipaddress.IPv4Address(host)) == host
    except ValueError:
        return False


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries: IPv4-mapped, 6to4, Teredo (client), NAT64, IPv4-compatible."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in network for network in NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if 1 < int(address) <= 0xFFFFFFFF:  # IPv4-compatible ::a.b.c.d (deprecated, still routed by some stacks)
        return ipaddress.IPv4Address(int(address))
    return None


def address_refusal(address: IPAddress) -> str | None:
    """Why an address may not be connected to (a rule name), or None when it is globally routable."""
    if address in METADATA_ADDRESSES:
        return "metadata_address"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # the socket connects to the IPv4 address itself
            return address_refusal(address.ipv4_mapped)
        inner = embedded_ipv4(address)
        if inner is not None:
            reason = address_refusal(inner)
            if reason is not None:
                return reason
    checks = (
        (address.is_unspecified, "unspecified_address"),
        (address.is_loopback, "loopback_address"),
        (address.is_link_local, "link_local_address"),
        (address.is_multicast, "multicast_address"),
        (isinstance(address, ipaddress.IPv4Address) and address in CGNAT, "cgnat_address"),
        (address.is_reserved, "reserved_address"),
        (address.is_private, "private_address"),
        (not address.is_global, "non_global_address"),
    )
    return next((rule for failed, rule in checks if failed), None)


def check_address(address: IPAddress) -> None:
    """Raises:
    EgressRefusedError: the address is not globally routable (the rule names which class it is in).
    """
    rule = address_refusal(address)
    if rule is not None:
        raise EgressRefusedError(rule, "The vendor's host resolves to an address that is not globally routable.")


def check_secret_id(secret_id: str, prefix: str) -> str:
    """A vendor secret's id (name or ARN) that lies under ``prefix`` (``<stack>/vendor/``).

    Raises:
        EgressRefusedError: ``secret_outside_prefix``.
    """
    text = secret_id.strip()
    name = text.split(":secret:", 1)[1] if text.startswith("arn:") and ":secret:" in text else text
    if (
        not prefix
        or not name.startswith(prefix)
        or len(name) <= len(prefix)
        or any(c in name for c in "*?")
        or not text.isprintable()
    ):
        raise EgressRefusedError("secret_outside_prefix", f"Vendor secrets must be named {prefix}<name>.")
    return text


@dataclass(frozen=True, slots=True)
class AuthHeader:
    """A credential template ``Name: text {secret} text``: the header the secret is placed in."""

    name: str
    template: str

    @classmethod
    def parse(cls, text: str) -> AuthHeader:
        """Raises:
        EgressRefusedError: ``auth_header``: not ``Name: value`` with ``{secret}`` exactly once, or a header the
            transport owns.
        """
        name, sep, value = text.partition(":")
        value = value.strip()
        if (
            not sep
            or not _TOKEN.fullmatch(name.strip())
            or name != name.strip()
            or name.lower() in RESERVED_HEADERS
            or value.count(SECRET_PLACEHOLDER) != 1
            or not value.isprintable()
        ):
            raise EgressRefusedError(
                "auth_header",
                "The auth header must be 'Name: ...{secret}...' with {secret} once (e.g. "
                f"'{DEFAULT_AUTH_HEADER}'), not a header the transport sets.",
            )
        return cls(name, value)

    def render(self, secret: str) -> tuple[str, str]:
        """The header with the secret in place.

        Raises:
            EgressRefusedError: ``credential_invalid``: the secret cannot travel in a header (no value shown).
        """
        if not secret or not secret.isprintable() or not secret.isascii():
            raise EgressRefusedError("credential_invalid", "The vendor credential cannot be sent in a header.")
        return self.name, self.template.replace(SECRET_PLACEHOLDER, secret)
