"""The pyOpenSSL pump's key shares: one X25519 share, and any other offered group still works."""

from __future__ import annotations

import ssl

import pytest
from OpenSSL import SSL
from OpenSSL._util import lib

from rdpprobe.mock.certs import certificate_variant
from rdpprobe.signals import Signal
from rdpprobe.transport.errors import observe
from rdpprobe.transport.tls_openssl import OpenSslPump, observe_failure, openssl_context

#: TLS record type and handshake type of a ClientHello (RFC 8446 5.1, 4).
HANDSHAKE_RECORD, CLIENT_HELLO = 0x16, 0x01
KEY_SHARE_EXTENSION = 51  # RFC 8446 4.2.8
GROUP_IDS = {"X25519": 0x001D, "P-256": 0x0017, "P-384": 0x0018}
#: Round trips allowed before a handshake between the two memory pumps counts as stuck.
MAX_FLIGHTS = 10


def _extensions(hello: bytes) -> dict[int, bytes]:
    """The extensions of a ClientHello record, by type (RFC 8446 4.1.2)."""
    assert hello[0] == HANDSHAKE_RECORD and hello[5] == CLIENT_HELLO
    at = 9 + 2 + 32  # record header, handshake header, legacy_version, random
    at += 1 + hello[at]  # session id
    at += 2 + int.from_bytes(hello[at : at + 2], "big")  # cipher suites
    at += 1 + hello[at]  # compression methods
    end = at + 2 + int.from_bytes(hello[at : at + 2], "big")
    at += 2
    found = {}
    while at < end:
        kind, size = int.from_bytes(hello[at : at + 2], "big"), int.from_bytes(hello[at + 2 : at + 4], "big")
        found[kind] = hello[at + 4 : at + 4 + size]
        at += 4 + size
    return found


def _shared_groups(key_share: bytes) -> list[int]:
    at, groups = 2, []
    while at < len(key_share):
        groups.append(int.from_bytes(key_share[at : at + 2], "big"))
        at += 4 + int.from_bytes(key_share[at + 2 : at + 4], "big")
    return groups


def test_client_hello_carries_one_x25519_key_share() -> None:
    pump = OpenSslPump(openssl_context(True, None), None)
    assert pump.handshake() is False
    extensions = _extensions(pump.data_to_send())
    assert _shared_groups(extensions[KEY_SHARE_EXTENSION]) == [GROUP_IDS["X25519"]]


def _server(group: str, version: int) -> SSL.Connection:
    bundle = certificate_variant("self-signed")
    ctx = SSL.Context(SSL.TLS_METHOD)
    ctx.use_certificate(bundle.certificate)
    ctx.use_privatekey(bundle.key)
    ctx.set_min_proto_version(version)
    ctx.set_max_proto_version(version)
    assert lib.SSL_CTX_set1_curves_list(ctx._context, group.encode()) == 1
    server = SSL.Connection(ctx, None)
    server.set_accept_state()
    return server


def _server_flight(server: SSL.Connection, data: bytes) -> bytes:
    server.bio_write(data)
    try:
        server.do_handshake()
    except SSL.WantReadError:
        pass
    try:
        return server.bio_read(65536)
    except SSL.WantReadError:
        return b""


@pytest.mark.parametrize("group", ["X25519", "P-256", "P-384"])
@pytest.mark.parametrize("version", [SSL.TLS1_3_VERSION, SSL.TLS1_2_VERSION])
def test_handshake_reaches_a_server_that_allows_one_group(group: str, version: int) -> None:
    pump = OpenSslPump(openssl_context(True, None), None)
    server = _server(group, version)
    done = pump.handshake()
    for _ in range(MAX_FLIGHTS):
        if done:
            break
        reply = _server_flight(server, pump.data_to_send())
        pump.feed(reply)
        done = pump.handshake()
    assert done
    info = pump.info()
    assert info.version == ("TLSv1.3" if version == SSL.TLS1_3_VERSION else "TLSv1.2")
    assert info.certificate == certificate_variant("self-signed").cert_der


def test_an_error_with_nothing_queued_is_the_peers_end_of_stream() -> None:
    """OpenSSL fails a write after ``bio_shutdown`` with an empty queue; ssl says SSLEOFError."""
    assert observe_failure(SSL.Error([])).signal is Signal.TLS_EOF
    assert observe_failure(SSL.Error([])) == observe(ssl.SSLEOFError())
