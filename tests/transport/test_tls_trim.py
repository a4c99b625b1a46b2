"""``TlsPump.trim``: after the handshake the pump sheds what only the handshake needed and the
session goes on working both ways."""

from __future__ import annotations

import pytest
from OpenSSL import SSL

from rdpprobe.mock.certs import certificate_variant
from rdpprobe.transport.tls import TlsPump, client_context
from rdpprobe.transport.tls_openssl import OpenSslPump, openssl_context

#: Round trips allowed before a handshake between the two memory ends counts as stuck.
MAX_FLIGHTS = 10
REQUEST, ANSWER = b"ping" * 100, b"pong" * 300


def _server() -> SSL.Connection:
    bundle = certificate_variant("self-signed")
    ctx = SSL.Context(SSL.TLS_METHOD)
    ctx.use_certificate(bundle.certificate)
    ctx.use_privatekey(bundle.key)
    server = SSL.Connection(ctx, None)
    server.set_accept_state()
    return server


def _pump_out(server: SSL.Connection) -> bytes:
    try:
        return server.bio_read(65536)
    except SSL.WantReadError:
        return b""


def _handshake(pump: TlsPump, server: SSL.Connection) -> None:
    done = pump.handshake()
    for _ in range(MAX_FLIGHTS):
        server.bio_write(pump.data_to_send())
        try:
            server.do_handshake()
        except SSL.WantReadError:
            pass
        if done:
            return
        pump.feed(_pump_out(server))
        done = pump.handshake()
    raise AssertionError("handshake did not complete")


@pytest.fixture(params=["openssl", "stdlib"])
def pump(request: pytest.FixtureRequest) -> TlsPump:
    if request.param == "openssl":
        return OpenSslPump(openssl_context(True, None), None)
    return TlsPump(client_context(True, None), None)


def test_session_works_both_ways_after_trim(pump: TlsPump) -> None:
    server = _server()
    _handshake(pump, server)
    pump.trim()
    pump.write(REQUEST)
    server.bio_write(pump.data_to_send())
    assert server.recv(65536) == REQUEST
    server.sendall(ANSWER)
    pump.feed(_pump_out(server))
    assert pump.read() == ANSWER
    assert pump.read() is None


def test_trim_forgets_the_watched_record_head(pump: TlsPump) -> None:
    _handshake(pump, _server())
    pump.trim()
    assert pump._head == b""
