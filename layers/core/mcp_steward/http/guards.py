"""HTTP checks run before anything else, in the order of docs/design.md section 3 (step 0): method, Host and
Origin, media types, size."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import urlsplit

from mcp_steward.protocol.errors import HttpRefusalError

LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1"})
EXECUTE_API_HOST: Final = re.compile(r"[a-z0-9]{1,32}\.execute-api\.[a-z0-9-]{1,32}\.amazonaws\.com(?:\.cn)?")
#: The syntax of a ``Host`` header: a DNS name or IPv4 address, or a bracketed IPv6 address, then an optional port.
#: Anything else is refused, so a host that passed the policy can be written into a URL (or a header) as it is.
HOST_HEADER: Final = re.compile(r"(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?")


def _hostname(host_header: str) -> str | None:
    """The host part of a ``Host`` header (``name``, ``name:port``, ``[v6]:port``), lower-cased."""
    host_header = host_header.strip()
    if HOST_HEADER.fullmatch(host_header) is None:
        return None
    try:
        return urlsplit("//" + host_header).hostname
    except ValueError:
        return None


class HostPolicy:
    """Which ``Host`` and ``Origin`` values may reach the endpoint (DNS-rebinding protection)."""

    def __init__(self, allowed_hosts: Iterable[str], *, allow_loopback: bool, allow_execute_api: bool) -> None:
        self._allowed = frozenset(h.lower() for h in allowed_hosts)
        self._loopback = allow_loopback
        self._execute_api = allow_execute_api

    def host_allowed(self, hostname: str | None) -> bool:
        if not hostname:
            return False
        if hostname in self._allowed or (self._loopback and hostname in LOOPBACK_HOSTS):
            return True
        return self._execute_api and EXECUTE_API_HOST.fullmatch(hostname) is not None

    def check(self, host: str | None, origin: str | None) -> None:
        """Raises :class:`HttpRefusalError` (403) for a Host or Origin that is not ours."""
        if host is None or not self.host_allowed(_hostname(host)):
            raise HttpRefusalError(403, "Forbidden: unexpected Host header")
        if origin is not None:
            try:
                parts = urlsplit(origin.strip())
                scheme, origin_host = parts.scheme, parts.hostname
            except ValueError:
                scheme, origin_host = "", None
            if scheme not in ("http", "https") or not self.host_allowed(origin_host):
                raise HttpRefusalError(403, "Forbidden: unexpected Origin header")


def check_media_types(accept: str | None, content_type: str | None) -> None:
    """406 unless the client accepts JSON; 415 unless it sends JSON."""
    if accept is not None:
        ranges = {part.split(";", 1)[0].strip().lower() for part in accept.split(",")}
        if not ranges & {"application/json", "application/*", "*/*"}:
            raise HttpRefusalError(406, "Not Acceptable: the client must accept application/json")
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise HttpRefusalError(415, "Unsupported Media Type: the body must be application/json")
