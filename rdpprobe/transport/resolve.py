"""Name resolution with a deadline."""

from __future__ import annotations

import socket

from rdpprobe.addresses import canonical_literal, is_non_unicast


#: ``ProbeConfig.prefer``'s values and the family each names.
FAMILIES = {"ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}


class UnresolvableName(socket.gaierror):
    """A name the system resolver refused before any lookup: one the idna codec cannot
    encode (a label over 63 characters, an empty label), a NUL byte, a lone surrogate.

    It is a ``socket.gaierror`` (``EAI_NONAME``), so every driver reports it as the
    ``dns_failure`` it is, never as a crash.
    """

    def __init__(self, host: str, cause: BaseException) -> None:
        super().__init__(socket.EAI_NONAME, f"cannot look up {host[:80]!r}: {cause}")


class NoHostAddress(socket.gaierror):
    """A name whose every address is one no host has (``NON_UNICAST_NETWORKS``): 0.0.0.0
    and :: are what DNS sinkholes and placeholder records answer. Connecting there would
    reach nothing, or this machine, and report it as the named server.

    A ``socket.gaierror`` (``EAI_NONAME``): the name gives no host to connect to.
    """

    def __init__(self, host: str, addresses: list[str]) -> None:
        shown = " and ".join(dict.fromkeys(addresses))
        self.detail = f"resolves only to {shown}, where no host can be (a DNS sinkhole or a placeholder record)"
        super().__init__(socket.EAI_NONAME, f"{host[:80]!r} {self.detail}")


def resolve(host: str, port: int, timeout: float, prefer: str | None = None) -> tuple[socket.AddressFamily, str]:
    """(family, address) for ``host``; literal addresses skip the resolver.

    A name's first answer that is a host's address wins, or its first of the ``prefer``red
    family (``"ipv4"``, ``"ipv6"``) when it has one; a name with none does not resolve
    (``NoHostAddress``). Raises ``socket.gaierror`` when the name does not resolve, whatever
    ``getaddrinfo`` raised. The system resolver has no timeout parameter; ``timeout`` is
    honoured by the asyncio driver, which runs it in a thread with a deadline.
    """
    try:
        return _lookup(host, port, FAMILIES.get(prefer or ""))
    except OSError:  # gaierror, or a local shortage the drivers classify themselves
        raise
    except Exception as exc:  # noqa: BLE001 - UnicodeError, ValueError …: still a name that does not resolve
        raise UnresolvableName(host, exc) from exc


def _lookup(host: str, port: int, prefer: socket.AddressFamily | None) -> tuple[socket.AddressFamily, str]:
    literal = canonical_literal(host.strip("[]"))
    if literal is not None:
        return literal
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    answers = [(family, str(sockaddr[0])) for family, _type, _proto, _name, sockaddr in infos]
    hosts = [(family, address) for family, address in answers if not is_non_unicast(address)]
    if not hosts:
        raise NoHostAddress(host, [address for _family, address in answers])
    return next((answer for answer in hosts if answer[0] == prefer), hosts[0])
