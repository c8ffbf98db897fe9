"""The egress function's HTTP transport: httpx with every address checked and the connection pinned to it.

A connection is opened by :class:`PinnedBackend` (an httpcore network backend): it resolves the host once,
requires every resolved address to be globally routable (:func:`~mcp_steward.domain.egress_policy.check_address`, or
the origin to be one the local plane lists), and connects to a checked address itself, so there is no second
DNS lookup to race. httpcore then starts TLS with the URL's host as SNI and certificate name, and httpx sends the
URL's host as ``Host``: only the TCP destination is pinned.

The client never follows redirects, reads no proxy or certificate settings from the environment
(``trust_env=False``), asks for an uncompressed body, and :func:`read_capped` cuts a body at the cap while
streaming it. A client that carries a vendor credential is given the origins the credential was stored for, and its
transport refuses every request to any other origin before it is sent (rule ``credential_origin``): the egress
service checks the vendor URL first; this is the same check on each request as httpx will actually send it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final

import httpcore
import httpx

from mcp_steward.domain.egress_policy import (
    CREDENTIAL_ORIGIN,
    EgressPolicy,
    EgressRefusedError,
    IPAddress,
    Origin,
    check_address,
    normalize_host,
)

MAX_RESPONSE_BYTES: Final = 1_048_576

#: ``(host, port) -> addresses``: how names are resolved (injected in tests).
type Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The system's resolver (``getaddrinfo``), TCP addresses only, in its order, without duplicates."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks every address, then connects to a checked one (and records which, for tests)."""

    def __init__(self, policy: EgressPolicy, resolver: Resolver = system_resolver) -> None:
        self._policy = policy
        self._resolver = resolver
        self._inner = httpcore.AnyIOBackend()
        self.connected: list[tuple[str, IPAddress]] = []

    async def addresses(self, host: str, port: int) -> list[IPAddress]:
        """Every address of ``host``, each checked.

        Raises:
            EgressRefusedError: the name does not resolve, or one of its addresses is not globally routable.
        """
        try:
            literal: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        else:
            try:
                addresses = await self._resolver(host, port)
            except OSError:
                raise EgressRefusedError("unresolvable_host", "The vendor's host name does not resolve.") from None
        if not addresses:
            raise EgressRefusedError("unresolvable_host", "The vendor's host name does not resolve.")
        if Origin("https", host.strip("[]").lower(), port) in self._policy.local_origins:
            return addresses  # listed exactly for the local plane: loopback allowed, nothing else is exempt
        for address in addresses:
            check_address(address)
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.addresses(host, port)
        failure: Exception | None = None
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            self.connected.append((host, address))
            return stream
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise EgressRefusedError("scheme", "Vendor calls use TCP only.")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def request_origin(url: httpx.URL) -> Origin | None:
    """The origin a request goes to, as httpx sends it (its ASCII host, the scheme's default port filled in);
    None when its host is not one :func:`~mcp_steward.domain.egress_policy.normalize_host` accepts."""
    try:
        host = normalize_host(url.raw_host.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None
    port = url.port if url.port is not None else {"https": 443, "http": 80}.get(url.scheme)
    return Origin(url.scheme, host, port) if port is not None else None


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a :class:`PinnedBackend` (no proxy, HTTP/1.1, no retries); with
    ``credential_origins``, only requests to those origins are sent."""

    def __init__(
        self, backend: PinnedBackend, ssl_context: ssl.SSLContext, credential_origins: frozenset[Origin] | None = None
    ) -> None:
        super().__init__(verify=ssl_context, trust_env=False, retries=0)
        # httpx builds its httpcore pool without a way to pass a network backend: replace the pool with an
        # equivalent one over ours (a test proves every connection goes through the backend).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context, max_connections=4, http1=True, http2=False, retries=0, network_backend=backend
        )
        self._credential_origins = credential_origins

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Raises:
        EgressRefusedError: ``credential_origin``: the request carries a credential stored for other origins
            (nothing is sent, no connection is opened).
        """
        if self._credential_origins is not None and request_origin(request.url) not in self._credential_origins:
            raise EgressRefusedError(
                CREDENTIAL_ORIGIN, "The vendor credential is sent only to the origins it was stored for."
            )
        return await super().handle_async_request(request)


def ssl_context(extra_ca_file: str | None = None) -> ssl.SSLContext:
    """The system's trust store (verification always on), plus an extra CA (the local plane's test vendors)."""
    context = ssl.create_default_context()
    if extra_ca_file:
        context.load_verify_locations(cafile=extra_ca_file)
    return context


def pinned_client(
    policy: EgressPolicy,
    *,
    timeout_s: float,
    resolver: Resolver = system_resolver,
    context: ssl.SSLContext | None = None,
    credential_origins: frozenset[Origin] | None = None,
) -> tuple[httpx.AsyncClient, PinnedBackend]:
    """An HTTP client for one vendor call: pinned connections, no redirects, no environment, no compression;
    with ``credential_origins`` (a client that carries a credential), requests to those origins only."""
    backend = PinnedBackend(policy, resolver)
    client = httpx.AsyncClient(
        transport=PinnedTransport(backend, context or ssl_context(), credential_origins),
        trust_env=False,
        follow_redirects=False,
        timeout=httpx.Timeout(max(timeout_s, 0.001)),
        headers={"Accept-Encoding": "identity", "User-Agent": "mcp-steward-egress"},
    )
    return client, backend


class ResponseTooLargeError(Exception):
    """A response body went past the cap (it was cut there, not read to the end)."""


async def read_capped(response: httpx.Response, cap: int = MAX_RESPONSE_BYTES) -> bytes:
    """The body of a streamed response, counted as it arrives (decoded bytes, so no compression bomb).

    Raises:
        ResponseTooLargeError: more than ``cap`` bytes.
    """
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > cap:
            raise ResponseTooLargeError(f"more than {cap} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
