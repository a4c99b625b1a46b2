"""Each transport / negotiation / TLS scenario, checked with hand-made bytes over loopback."""

from __future__ import annotations

import socket
import ssl
import time

import pytest

from rdpprobe.mock.certs import WRONG_NAME
from rdpprobe.mock.pair import client_context
from rdpprobe.mock.server import MockRdpServer
from rdpprobe.wire import nego

from .conftest import cr_bytes, recv_all

SSL, HYBRID = 1, 2


def connect(server: MockRdpServer) -> socket.socket:
    return socket.create_connection(server.address, timeout=3)


def exchange_cr(name: str, requested: int | None = SSL | HYBRID, timeout: float = 3.0) -> tuple[bytes, str]:
    with MockRdpServer(name) as server, connect(server) as sock:
        sock.sendall(cr_bytes(requested))
        return recv_all(sock, timeout)


def test_refused_has_nothing_listening() -> None:
    with MockRdpServer("refused") as server, pytest.raises(ConnectionRefusedError):
        socket.create_connection(server.address, timeout=3)


def test_connect_timeout_drops_syns() -> None:
    with MockRdpServer("connect-timeout") as server, pytest.raises(TimeoutError):
        socket.create_connection(server.address, timeout=0.5)


@pytest.mark.parametrize(("name", "outcome"), [("fin-after-cr", "eof"), ("rst-after-cr", "reset"),
                                               ("blackhole", "timeout")])
def test_no_answer_to_the_cr(name: str, outcome: str) -> None:
    data, how = exchange_cr(name, timeout=1.0)
    assert (data, how) == (b"", outcome)


def test_rst_on_accept() -> None:
    with MockRdpServer("rst-on-accept") as server:
        try:
            with connect(server) as sock:
                assert recv_all(sock) == (b"", "reset")
        except ConnectionResetError:
            pass  # The RST can beat connect() itself back to the client: the same fault.


def test_rst_mid_cc_sends_five_bytes_then_resets() -> None:
    assert exchange_cr("rst-mid-cc") == (bytes.fromhex("030000130e"), "reset")


def test_wedged_listener_serves_first_connection_then_resets() -> None:
    with MockRdpServer("wedged-listener") as server:
        with connect(server) as first:
            first.sendall(cr_bytes(SSL))
            first.settimeout(3)
            assert first.recv(100)[:2] == b"\x03\x00"
        with connect(server) as second:
            assert recv_all(second) == (b"", "reset")


def test_slow_cc_arrives_after_the_delay() -> None:
    start = time.monotonic()
    data, _ = exchange_cr("slow-cc", timeout=2.0)
    assert time.monotonic() - start >= 0.5
    assert isinstance(nego.decode_connection_confirm(data).neg, nego.NegRsp)


def test_slowloris_cc_trickles_one_byte() -> None:
    with MockRdpServer("slowloris-cc") as server, connect(server) as sock:
        sock.sendall(cr_bytes(SSL))
        assert recv_all(sock, 1.0) == (b"\x03", "timeout")


@pytest.mark.parametrize(("name", "prefix", "outcome"), [
    ("http-server", b"HTTP/1.1 400", "eof"),
    ("tls-first", bytes.fromhex("1503030002"), "eof"),
])
def test_non_rdp_answer_to_the_cr(name: str, prefix: bytes, outcome: str) -> None:
    data, how = exchange_cr(name)
    assert data.startswith(prefix) and how == outcome


@pytest.mark.parametrize(("name", "prefix"), [("ssh-banner", b"SSH-2.0-"), ("vnc-banner", b"RFB 003.008\n")])
def test_banner_on_accept(name: str, prefix: bytes) -> None:
    with MockRdpServer(name) as server, connect(server) as sock:
        data, how = recv_all(sock, 0.5)
    assert data.startswith(prefix) and how == "timeout"


def test_garbage_cc_is_not_tpkt() -> None:
    data, how = exchange_cr("garbage-cc", timeout=0.5)
    assert len(data) == 64 and data[0] != 0x03 and how == "timeout"


@pytest.mark.parametrize(("name", "code"), [
    ("ssl-required", 1), ("ssl-not-allowed", 2), ("ssl-cert-not-on-server", 3),
    ("inconsistent-flags", 4), ("hybrid-required", 5), ("ssl-with-user-auth-required", 6),
])
def test_negotiation_failure_codes(name: str, code: int) -> None:
    data, how = exchange_cr(name)
    cc = nego.decode_connection_confirm(data)
    assert cc.neg == nego.NegFailure(code) and how == "eof"


def test_legacy_cc_has_no_negotiation_data() -> None:
    data, _ = exchange_cr("legacy-cc", timeout=0.5)
    assert data == bytes.fromhex("0300000b06d00000123400")


@pytest.mark.parametrize(("name", "requested", "expected"), [
    ("windows-nla", SSL | HYBRID, nego.NegRsp(HYBRID, 0x1F)),
    ("windows-nla", SSL, nego.NegFailure(5)),
    ("windows-tls", SSL | HYBRID, nego.NegRsp(SSL, 0x1F)),
    ("windows-tls", 0, nego.NegFailure(1)),
    ("windows-rdp-security", SSL, nego.NegFailure(2)),
    ("xrdp-like", HYBRID, nego.NegRsp(0, 0x01)),
    ("xrdp-like", None, None),
    ("freerdp-like", None, nego.NegRsp(0, 0x03)),
    ("legacy-no-negotiation", SSL | HYBRID, None),
])
def test_personality_negotiation(name: str, requested: int | None, expected: object) -> None:
    data, _ = exchange_cr(name, requested, timeout=0.3)
    assert nego.decode_connection_confirm(data).neg == expected


def tls_handshake(name: str) -> tuple[ssl.SSLSocket | None, Exception | None, bytes]:
    with MockRdpServer(name) as server, connect(server) as sock:
        sock.sendall(cr_bytes(SSL))
        cc = sock.recv(19)
        try:
            tls = client_context().wrap_socket(sock, do_handshake_on_connect=True)
        except (ssl.SSLError, OSError) as exc:
            return None, exc, cc
        der = tls.getpeercert(binary_form=True) or b""
        tls.close()
        return None, None, der


@pytest.mark.parametrize(("name", "reason"), [
    ("tls-handshake-failure", "HANDSHAKE_FAILURE"),
    ("tls-cannot-use-key", "INTERNAL_ERROR"),
])
def test_tls_alert_before_certificate(name: str, reason: str) -> None:
    _, exc, _ = tls_handshake(name)
    assert isinstance(exc, ssl.SSLError) and reason in str(exc)


@pytest.mark.parametrize("name", ["tls-close-after-hello", "tls-reset-after-hello"])
def test_tls_close_before_certificate(name: str) -> None:
    _, exc, _ = tls_handshake(name)
    assert isinstance(exc, (ssl.SSLEOFError, ConnectionResetError, ssl.SSLError))


def test_tls_1_0_only_is_refused_by_a_tls_1_2_client() -> None:
    with MockRdpServer("tls-1.0-only") as server, connect(server) as sock:
        sock.sendall(cr_bytes(SSL))
        sock.recv(19)
        ctx = client_context()
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        with pytest.raises(ssl.SSLError):
            ctx.wrap_socket(sock)


@pytest.mark.parametrize(("name", "check"), [
    ("cert-self-signed", lambda c: c.issuer == c.subject),
    ("cert-expired", lambda c: c.not_valid_after_utc.timestamp() < time.time()),
    ("cert-not-yet-valid", lambda c: c.not_valid_before_utc.timestamp() > time.time()),
    ("cert-wrong-name", lambda c: WRONG_NAME in c.subject.rfc4514_string()),
    ("cert-weak-key", lambda c: c.public_key().key_size < 2048),
    ("cert-sha1", lambda c: c.signature_hash_algorithm.name == "sha1"),
    ("cert-ca-signed", lambda c: c.issuer != c.subject),
])
def test_certificate_variants(name: str, check: object) -> None:
    from cryptography import x509

    _, exc, der = tls_handshake(name)
    assert exc is None
    assert check(x509.load_der_x509_certificate(der))  # type: ignore[operator]
