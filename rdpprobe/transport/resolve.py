"""Name resolution with a deadline."""

from __future__ import annotations

import socket

from rdpprobe.addresses import canonical_literal


class UnresolvableName(socket.gaierror):
    """A name the system resolver refused before any lookup: one the idna codec cannot
    encode (a label over 63 characters, an empty label), a NUL byte, a lone surrogate.

    It is a ``socket.gaierror`` (``EAI_NONAME``), so every driver reports it as the
    ``dns_failure`` it is, never as a crash.
    """

    def __init__(self, host: str, cause: BaseException) -> None:
        super().__init__(socket.EAI_NONAME, f"cannot look up {host[:80]!r}: {cause}")


def resolve(host: str, port: int, timeout: float) -> tuple[socket.AddressFamily, str]:
    """(family, address) for ``host``; literal addresses skip the resolver.

    Raises ``socket.gaierror`` when the name does not resolve, whatever ``getaddrinfo``
    raised. The system resolver has no timeout parameter; ``timeout`` is honoured by the
    asyncio driver, which runs it in a thread with a deadline.
    """
    try:
        return _lookup(host, port)
    except OSError:  # gaierror, or a local shortage the drivers classify themselves
        raise
    except Exception as exc:  # noqa: BLE001 - UnicodeError, ValueError …: still a name that does not resolve
        raise UnresolvableName(host, exc) from exc


def _lookup(host: str, port: int) -> tuple[socket.AddressFamily, str]:
    literal = canonical_literal(host.strip("[]"))
    if literal is not None:
        return literal
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    family, _type, _proto, _name, sockaddr = infos[0]
    return family, str(sockaddr[0])
