"""Outbound HTTP that cannot be pointed at the server's own network (SSRF guard).

URLs that tenants give us (SCIM photo URLs) are fetched through :func:`guarded_client`:
every connection, including each redirect's, resolves the host name itself and refuses
it unless *every* address is globally routable — loopback, private, link-local (cloud
metadata at 169.254.169.254 included), carrier-grade NAT, multicast, reserved and
unspecified addresses, IPv4-mapped forms of those — except networks listed in the
setting ``fetch_allow_networks``. The connection then goes to the address that was
checked, so a DNS answer cannot change between the check and the connection. Proxies
from the environment are not used.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class FetchRefused(httpcore.ConnectError):
    """The host resolves to an address that outbound fetches may not reach."""


def parse_networks(values: Iterable[str]) -> list[IPNetwork]:
    return [ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip()]


def permitted(ip: IPAddress, allow: list[IPNetwork]) -> bool:
    if any(ip.version == net.version and ip in net for net in allow):
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return permitted(ip.ipv4_mapped, allow)
    return ip.is_global and not ip.is_multicast


class GuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, allow: list[IPNetwork]) -> None:
        self.allow = allow
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError) as e:
            raise httpcore.ConnectError(f"cannot resolve {host}") from e
        addresses: list[IPAddress] = []
        for info in infos:
            ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if ip not in addresses:
                addresses.append(ip)
        if not addresses or not all(permitted(ip, self.allow) for ip in addresses):
            raise FetchRefused("address not allowed")
        return await self.inner.connect_tcp(
            str(addresses[0]),
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise FetchRefused("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, allow: list[IPNetwork]) -> None:
        super().__init__(trust_env=False)
        context: ssl.SSLContext = httpx.create_ssl_context(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context, network_backend=GuardedBackend(allow)
        )


def guarded_client(
    allow_networks: Iterable[str] = (), *, timeout: float = 10.0, max_redirects: int = 5
) -> httpx.AsyncClient:
    """An httpx client whose every connection passes the guard."""
    return httpx.AsyncClient(
        transport=GuardedTransport(parse_networks(allow_networks)),
        timeout=timeout,
        follow_redirects=True,
        max_redirects=max_redirects,
        trust_env=False,
    )
