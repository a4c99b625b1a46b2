"""IP literals read through ``inet_pton`` give exactly what ``ipaddress`` gives."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdpprobe.addresses import canonical_literal, host_port, ip_literal, is_non_unicast


def reference(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def reference_canonical(text: str) -> tuple[int, str] | None:
    address = reference(text)
    if address is None:
        return None
    return (socket.AF_INET6 if address.version == 6 else socket.AF_INET), str(address)


#: Text near the IPv4 grammar: digits, dots and the odd sign, space or letter.
near_ipv4 = st.text(alphabet="0123456789.x -+", max_size=20)
quads = st.tuples(*[st.integers(0, 300)] * 4).map(lambda q: ".".join(map(str, q)))


@pytest.mark.parametrize(
    "text",
    ["1.2.3.4", "0.0.0.0", "255.255.255.255", "01.2.3.4", "1.2.3", "1.2.3.4.5", "256.1.1.1",
     "1.2.3.4 ", " 1.2.3.4", "0x1.2.3.4", "", "::1", "::ffff:1.2.3.4", "fe80::1%eth0",
     "2001:DB8::1", "host.example", "1e1.2.3.4", "\x00", "1.2.3.4\x00", "\udc80"],
)  # fmt: skip
def test_known_literals_agree_with_ipaddress(text: str) -> None:
    assert ip_literal(text) == reference(text)
    assert canonical_literal(text) == reference_canonical(text)


@given(st.one_of(near_ipv4, quads, st.ip_addresses().map(str), st.text(max_size=40)))
def test_any_text_agrees_with_ipaddress(text: str) -> None:
    assert ip_literal(text) == reference(text)
    assert canonical_literal(text) == reference_canonical(text)


def test_a_canonical_literal_is_returned_as_the_same_string() -> None:
    text = "".join(["10.0.0.", "7"])  # built at run time: not an interned constant
    literal = canonical_literal(text)
    assert literal is not None and literal[1] is text


# --- Addresses no host has ------------------------------------------------------------------


def reference_non_unicast(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """The same question asked of ``ipaddress``'s own registry flags (RFC 6890)."""
    if address.version == 6:
        mapped = address.ipv4_mapped  # type: ignore[union-attr]
        if mapped is not None:
            return reference_non_unicast(mapped)
        return address.is_multicast or address.is_unspecified
    in_this_network = address in ipaddress.ip_network("0.0.0.0/8")
    return in_this_network or address.is_multicast or address.is_reserved or address == ipaddress.IPv4Address("255.255.255.255")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.0.0.0", True), ("0.255.255.255", True), ("1.0.0.0", False), ("127.0.0.1", False),
        ("223.255.255.255", False), ("224.0.0.1", True), ("239.255.255.250", True),
        ("240.0.0.1", True), ("255.255.255.255", True), ("10.0.0.255", False),
        ("::", True), ("::1", False), ("ff02::1", True), ("ff02::1%eth0", True), ("fe80::1%eth0", False),
        ("::ffff:0.0.0.0", True), ("::ffff:224.0.0.1", True), ("::ffff:10.0.0.1", False),
        ("2001:db8::1", False), ("host.example", False),
    ],
)  # fmt: skip
def test_non_unicast_addresses(text: str, expected: bool) -> None:
    assert is_non_unicast(text) is expected


@given(st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)))
def test_non_unicast_agrees_with_ipaddress_flags(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    assert is_non_unicast(str(address)) is reference_non_unicast(address)


@pytest.mark.parametrize(
    ("host", "written"),
    [("10.0.0.1", "10.0.0.1:3389"), ("dc01.corp.example", "dc01.corp.example:3389"),
     ("::1", "[::1]:3389"), ("fe80::1%eth0", "[fe80::1%eth0]:3389")],
)
def test_host_port_brackets_ipv6_only(host: str, written: str) -> None:
    assert host_port(host, 3389) == written
