"""Security headers, Security Exchange and server certificates ([MS-RDPBCGR] 2.2.1.4.3.1, 2.2.1.10, 2.2.8.1.1.2)."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from rdpprobe.errors import DecodeError, NotEnoughData, UnsupportedVersion
from rdpprobe.wire import security as sec
from tests.strategies import rdp as s
from tests.vectors import hexdiff, vector

SDRQ_SHORT = 4 + 3 + 7  # TPKT + X.224 DT + MCS SDrq with a 1-byte PER length
SD_LONG = 4 + 3 + 8  # TPKT + X.224 DT + MCS SDrq/SDin with a 2-byte PER length


def test_proprietary_certificate_golden() -> None:
    data = vector("rdp_proprietary_certificate_4_1_4")
    cert = sec.decode_server_certificate(data)
    assert isinstance(cert, sec.ProprietaryCertificate)
    assert cert.public_key.bit_len == 512
    assert cert.public_key.data_len == 63
    assert cert.public_key.public_exponent == 65537
    assert len(cert.public_key.modulus) == 72 and len(cert.signature) == 72
    assert not sec.is_temporary(cert)
    assert sec.encode_server_certificate(cert) == data, hexdiff(sec.encode_server_certificate(cert), data)


def test_security_exchange_golden() -> None:
    data = vector("rdp_security_exchange_4_1_9")[SDRQ_SHORT:]
    pdu = sec.decode_security_exchange(data)
    assert pdu.flags == sec.SEC_EXCHANGE_PKT | sec.SEC_LICENSE_ENCRYPT
    assert len(pdu.encrypted_client_random) == 64
    assert pdu.encrypted_client_random[:4] == bytes.fromhex("91ac0c8f")
    assert sec.encode_security_exchange(pdu) == data


@pytest.mark.parametrize(
    ("name", "prefix", "flags", "signature"),
    [
        ("rdp_client_info_wire_4_1_10", SD_LONG, 0x0048, "45ca46fa5ea7bebc"),
        ("rdp_license_valid_client_wire_4_1_11", SDRQ_SHORT, 0x0288, "8d439aabd52a3139"),
        ("rdp_demand_active_wire_4_1_12", SD_LONG, 0x0008, "5602e147ac5c50d9"),
    ],
)
def test_non_fips_header_golden(name: str, prefix: int, flags: int, signature: str) -> None:
    data = vector(name)[prefix:]
    pdu = sec.decode_secured_pdu(data)
    assert isinstance(pdu.header, sec.NonFipsSecurityHeader)
    assert pdu.header.flags == flags
    assert pdu.header.data_signature.hex() == signature
    assert sec.encode_secured_pdu(pdu) == data


def test_basic_header_for_tls_client_info() -> None:
    payload = vector("rdp_ts_info_packet_4_1_10")
    pdu = sec.decode_secured_pdu(b"\x40\x00\x00\x00" + payload)
    assert pdu.header == sec.BasicSecurityHeader(sec.SEC_INFO_PKT, 0)
    assert pdu.payload == payload


def test_fips_header_round_trip() -> None:
    header = sec.FipsSecurityHeader(sec.SEC_ENCRYPT, 0, 3, bytes(range(8)))
    data = sec.encode_secured_pdu(sec.SecuredPdu(header, b"abc"))
    assert len(data) == 16 + 3
    assert sec.decode_secured_pdu(data, fips=True) == sec.SecuredPdu(header, b"abc")


def test_security_exchange_truncated_one_byte_at_a_time() -> None:
    data = vector("rdp_security_exchange_4_1_9")[SDRQ_SHORT:]
    for n in range(len(data)):
        with pytest.raises(NotEnoughData):
            sec.decode_security_exchange(data[:n])


def test_security_exchange_rejects_trailing_and_bad_padding() -> None:
    data = vector("rdp_security_exchange_4_1_9")[SDRQ_SHORT:]
    with pytest.raises(DecodeError):
        sec.decode_security_exchange(data + b"\x00")
    with pytest.raises(DecodeError):
        sec.decode_security_exchange(data[:-1] + b"\x01")


def test_unknown_certificate_version() -> None:
    with pytest.raises(UnsupportedVersion):
        sec.decode_server_certificate(b"\x03\x00\x00\x00")


def test_x509_chain_padding_helper() -> None:
    chain = sec.x509_chain((b"a", b"bc"))
    assert chain.padding == bytes(16)
    assert sec.decode_server_certificate(sec.encode_server_certificate(chain)) == chain


@given(s.secured_pdu)
def test_secured_pdu_round_trip(pdu: sec.SecuredPdu) -> None:
    assert sec.decode_secured_pdu(sec.encode_secured_pdu(pdu)) == pdu


@given(s.security_exchange)
def test_security_exchange_round_trip(pdu: sec.SecurityExchange) -> None:
    assert sec.decode_security_exchange(sec.encode_security_exchange(pdu)) == pdu


@given(s.server_certificate)
def test_server_certificate_round_trip(cert: sec.ServerCertificate) -> None:
    assert sec.decode_server_certificate(sec.encode_server_certificate(cert)) == cert


@given(st.binary(max_size=300), st.booleans())
def test_decoders_raise_only_decode_errors(data: bytes, fips: bool) -> None:
    for decode in (sec.decode_security_exchange, sec.decode_server_certificate):
        try:
            decode(data)
        except DecodeError:
            pass
    try:
        sec.decode_secured_pdu(data, fips)
    except DecodeError:
        pass
