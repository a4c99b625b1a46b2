"""IP address literals, read cheaply: a scan reads one or more per target.

``ipaddress.ip_address`` parses text in Python (a few microseconds); the C library's
``inet_pton`` reads the common case, dotted-quad IPv4, in a fraction of that. Anything it
rejects goes to ``ipaddress`` (IPv6, scoped addresses), except text that holds a character
no address has (a host name), so the answers are the same.
"""

from __future__ import annotations

import functools
import ipaddress
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: The only characters of an IP address that ``ipaddress`` accepts, scope ids aside.
ADDRESS_CHARS = frozenset("0123456789abcdefABCDEF.:")
SCOPE_MARK = "%"  # Starts an IPv6 scope id (RFC 4007 11.2), which may hold any character.
SNI_CACHE_SIZE = 4096  # server names remembered by ``sni_name``
IPV4_MAPPED_PREFIX = 96  # RFC 4291 2.5.5.2: ::ffff:0:0/96 holds IPv4 addresses in IPv6

#: Networks that hold no unicast host's address, from RFC 6890's registry. A TCP connection
#: to one reaches no server, or this machine: Linux connects 0.0.0.0 to itself. A scan
#: leaves them out of its targets unless asked, and a name that resolves only to them is a
#: name that does not resolve (a DNS sinkhole answers 0.0.0.0 and ::).
NON_UNICAST_NETWORKS: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = tuple(
    ipaddress.ip_network(network) for network in (
        "0.0.0.0/8",    # RFC 1122 3.2.1.3 (a): "this host on this network", a source only
        "224.0.0.0/4",  # RFC 5771: multicast
        "240.0.0.0/4",  # RFC 1112 4: reserved, holding 255.255.255.255 (RFC 919 7: broadcast)
        "::/128",       # RFC 4291 2.5.2: the unspecified address
        "ff00::/8",     # RFC 4291 2.7: multicast
    )
)  # fmt: skip


def _packed_ipv4(text: str) -> bytes | None:
    """The four bytes of a dotted-quad literal; None for anything else.

    glibc's ``inet_pton`` accepts exactly the canonical form (four decimal octets, no
    leading zeros), the one ``ipaddress`` prints, so the text needs no rewriting.
    """
    try:
        return socket.inet_pton(socket.AF_INET, text)
    except (OSError, ValueError):  # ValueError: a NUL or a lone surrogate in the text.
        return None


def _other_literal(text: str) -> IPAddress | None:
    """What ``ipaddress`` reads from ``text``, for text that is not a dotted quad."""
    if SCOPE_MARK not in text and not ADDRESS_CHARS.issuperset(text):
        return None  # A host name, refused without the two exceptions ``ipaddress`` raises.
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def ip_literal(text: str) -> IPAddress | None:
    """The address ``text`` spells, or None when it is not an IP literal (e.g. a name)."""
    packed = _packed_ipv4(text)
    return ipaddress.IPv4Address(packed) if packed is not None else _other_literal(text)


def canonical_literal(text: str) -> tuple[socket.AddressFamily, str] | None:
    """The address family and canonical text of an IP literal; None for a name.

    The canonical text is ``text`` itself when it already is canonical, so callers that
    keep it do not hold a second copy.
    """
    if _packed_ipv4(text) is not None:
        return socket.AF_INET, text
    address = _other_literal(text)
    if address is None:
        return None
    canonical = str(address)
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    return family, text if canonical == text else canonical


def host_port(host: str, port: int | str) -> str:
    """``host:port`` as a target is written, an IPv6 address in brackets so that its port
    stays apart from it (RFC 3986 3.2.2): ``[::1]:3389``."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@functools.lru_cache(maxsize=SNI_CACHE_SIZE)
def sni_name(server_name: str | None) -> str | None:
    """The name to send as TLS SNI: names only, never an address literal (RFC 6066 3)."""
    if not server_name or ip_literal(server_name.strip("[]")) is not None:
        return None
    return server_name


def _with_mapped(
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``networks`` and the IPv4-mapped IPv6 form of each IPv4 one, which an IPv6 socket
    connects to as the IPv4 address (RFC 4291 2.5.5.2)."""
    mapped = (
        ipaddress.ip_network(f"::ffff:{net.network_address}/{IPV4_MAPPED_PREFIX + net.prefixlen}")
        for net in networks if net.version == 4
    )  # fmt: skip
    return (*networks, *mapped)


@functools.cache
def non_unicast_spans(version: int) -> tuple[tuple[int, int], ...]:
    """The ``NON_UNICAST_NETWORKS`` of IP ``version`` (mapped IPv4 included in 6) as
    (first, last) integer pairs."""
    return tuple(
        (int(net.network_address), int(net.broadcast_address))
        for net in _with_mapped(NON_UNICAST_NETWORKS) if net.version == version
    )  # fmt: skip


def is_non_unicast(address: str) -> bool:
    """Whether the IP literal ``address`` is in ``NON_UNICAST_NETWORKS`` (mapped IPv4 too)."""
    parsed = ip_literal(address.split(SCOPE_MARK, 1)[0])
    return parsed is not None and is_non_unicast_value(parsed.version, int(parsed))


def is_non_unicast_value(version: int, value: int) -> bool:
    """``is_non_unicast`` for an address already read: its IP ``version`` and integer ``value``."""
    return any(first <= value <= last for first, last in non_unicast_spans(version))
