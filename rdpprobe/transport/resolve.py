"""Name resolution with a deadline."""

from __future__ import annotations

import ipaddress
import socket


def resolve(host: str, port: int, timeout: float) -> tuple[socket.AddressFamily, str]:
    """(family, address) for ``host``; literal addresses skip the resolver.

    Raises ``socket.gaierror`` when the name does not resolve. The system resolver has no
    timeout parameter; ``timeout`` is honoured by the asyncio driver, which runs it in a
    thread with a deadline.
    """
    literal = _literal(host)
    if literal is not None:
        family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
        return family, str(literal)
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    family, _type, _proto, _name, sockaddr = infos[0]
    return family, str(sockaddr[0])


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
