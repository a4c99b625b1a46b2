"""Name resolution with a deadline."""

from __future__ import annotations

import socket

from rdpprobe.addresses import canonical_literal


def resolve(host: str, port: int, timeout: float) -> tuple[socket.AddressFamily, str]:
    """(family, address) for ``host``; literal addresses skip the resolver.

    Raises ``socket.gaierror`` when the name does not resolve. The system resolver has no
    timeout parameter; ``timeout`` is honoured by the asyncio driver, which runs it in a
    thread with a deadline.
    """
    literal = canonical_literal(host.strip("[]"))
    if literal is not None:
        return literal
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    family, _type, _proto, _name, sockaddr = infos[0]
    return family, str(sockaddr[0])

