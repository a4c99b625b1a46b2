"""CredSSP: TSRequest codec and framing, TSCredentials, pubKeyAuth helpers, a full exchange."""

from __future__ import annotations

import hashlib
import warnings
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from rdpprobe.errors import DecodeError, EncodeError, InvalidField, UnexpectedType
from rdpprobe.wire import credssp, der, ntlm
from rdpprobe.wire.codes import name_of
from rdpprobe.wire.credssp import (
    MAX_TS_REQUEST_LEN,
    NtStatus,
    TsCredentials,
    TsPasswordCreds,
    TsRequest,
    client_binding_hash,
    decode_ts_credentials,
    decode_ts_password_creds,
    decode_ts_request,
    encode_ts_credentials,
    encode_ts_password_creds,
    encode_ts_request,
    increment_le,
    server_binding_hash,
    subject_public_key,
    ts_request_frame_length,
)
from tests.strategies.nla import ts_credentials, ts_password_creds, ts_requests
from tests.vectors import hexdiff, vector

NEGOTIATE = bytes.fromhex("4e544c4d5353500001000000b78208e2" + "00" * 16 + "0a0063450000000f")

# Each constructed vector and the TsRequest it holds.
TS_REQUEST_VECTORS = [
    ("cssp_ts_request_v6_negotiate", TsRequest(6, nego_tokens=(NEGOTIATE,))),
    ("cssp_ts_request_version_only", TsRequest(6)),
    ("cssp_ts_request_two_tokens", TsRequest(6, nego_tokens=(b"\x01\x02", b"\x03"))),
    ("cssp_ts_request_auth_info", TsRequest(6, auth_info=bytes(range(1, 17)))),
    ("cssp_ts_request_pub_key_auth", TsRequest(3, pub_key_auth=bytes(range(16)))),
    ("cssp_ts_request_error_logon_failure", TsRequest(6, error_code=NtStatus.STATUS_LOGON_FAILURE)),
    ("cssp_ts_request_client_nonce", TsRequest(6, client_nonce=b"\x11" * 32)),
    ("cssp_ts_request_version_96", TsRequest(96, nego_tokens=(b"",))),
]


# ---------------------------------------------------------------------------------------
# TSRequest vectors: encode, decode, size
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "req"), TS_REQUEST_VECTORS, ids=[v[0] for v in TS_REQUEST_VECTORS])
def test_ts_request_encode(name: str, req: TsRequest) -> None:
    data = encode_ts_request(req)
    assert data == vector(name), hexdiff(data, vector(name))


@pytest.mark.parametrize(("name", "req"), TS_REQUEST_VECTORS, ids=[v[0] for v in TS_REQUEST_VECTORS])
def test_ts_request_decode(name: str, req: TsRequest) -> None:
    assert decode_ts_request(vector(name)) == req


@pytest.mark.parametrize(("name", "req"), TS_REQUEST_VECTORS, ids=[v[0] for v in TS_REQUEST_VECTORS])
def test_ts_request_size(name: str, req: TsRequest) -> None:
    assert ts_request_frame_length(vector(name)) == len(vector(name)) == len(encode_ts_request(req))


def test_v6_negotiate_vector_carries_build_negotiate() -> None:
    assert decode_ts_request(vector("cssp_ts_request_v6_negotiate")).nego_tokens == (ntlm.build_negotiate(),)


def test_error_code_names() -> None:
    req = decode_ts_request(vector("cssp_ts_request_error_logon_failure"))
    assert req.error_code == 0xC000006D
    assert name_of(NtStatus, req.error_code) == "STATUS_LOGON_FAILURE"
    assert name_of(NtStatus, 0xC0000999) == "unknown(0xc0000999)"


def test_error_code_positive_on_the_wire_is_kept() -> None:
    # Constructed: errorCode written as an unsigned 5-byte INTEGER (00 c0 00 00 6d).
    data = bytes.fromhex("30 0e a0 03 02 01 06 a4 07 02 05 00 c0 00 00 6d")
    assert decode_ts_request(data).error_code == 0xC000006D


def test_error_code_out_of_range_is_refused() -> None:
    with pytest.raises(EncodeError):
        encode_ts_request(TsRequest(6, error_code=-1))


@given(ts_requests)
def test_ts_request_round_trip(req: TsRequest) -> None:
    data = encode_ts_request(req)
    assert decode_ts_request(data) == req
    assert ts_request_frame_length(data) == len(data)


def test_large_nego_token_uses_long_form_length() -> None:
    req = TsRequest(6, nego_tokens=(bytes(3000),))
    data = encode_ts_request(req)
    assert data[1] == 0x82
    assert decode_ts_request(data) == req


# ---------------------------------------------------------------------------------------
# Framing: whole buffer, byte by byte, trailing bytes
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [v[0] for v in TS_REQUEST_VECTORS])
def test_frame_whole_buffer(name: str) -> None:
    assert ts_request_frame_length(vector(name)) == len(vector(name))


def test_frame_byte_by_byte() -> None:
    data = encode_ts_request(TsRequest(6, nego_tokens=(bytes(300),)))  # long-form length 0x82
    header = 4
    for n in range(header):
        assert ts_request_frame_length(data[:n]) is None
    for n in range(header, len(data) + 1):
        assert ts_request_frame_length(data[:n]) == len(data)


def test_frame_with_trailing_bytes() -> None:
    data = vector("cssp_ts_request_v6_negotiate")
    stream = data + b"\x30\x05trailing"
    length = ts_request_frame_length(stream)
    assert length == len(data)
    assert stream[length:] == b"\x30\x05trailing"
    assert decode_ts_request(stream[:length]) == TS_REQUEST_VECTORS[0][1]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"\x03\x00\x00\x13", UnexpectedType),  # a TPKT header, not a TSRequest
        (b"\x31", UnexpectedType),
        (b"\x30\x80", InvalidField),  # indefinite length: not DER
        (b"\x30\x85\x00\x00\x00\x00\x01", InvalidField),  # five length octets
        (b"\x30\x84\x7f\xff\xff\xff", InvalidField),  # 2 GiB
        (b"\x30\x83" + (MAX_TS_REQUEST_LEN).to_bytes(3, "big"), InvalidField),
    ],
)
def test_frame_rejects(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        ts_request_frame_length(data)


def test_frame_accepts_the_cap() -> None:
    assert ts_request_frame_length(b"\x30\x83" + (MAX_TS_REQUEST_LEN - 5).to_bytes(3, "big")) == MAX_TS_REQUEST_LEN


@given(st.binary(max_size=64))
def test_frame_length_raises_only_decode_errors(data: bytes) -> None:
    try:
        length = ts_request_frame_length(data)
    except DecodeError:
        return
    assert length is None or 2 <= length <= MAX_TS_REQUEST_LEN


# ---------------------------------------------------------------------------------------
# Hostile input
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x30\x00",  # version missing
        b"\x30\x05\xa0\x03\x02\x01",  # truncated
        b"\x30\x05\xa0\x03\x04\x01\x06",  # version is an OCTET STRING
        b"\x30\x07\xa0\x03\x02\x01\x06\x00\x00",  # junk inside the sequence
        b"\x30\x05\xa0\x03\x02\x01\x06\x00",  # trailing byte
        b"\x30\x07\xa6\x05\xa0\x03\x02\x01\x06",  # unknown [6]
    ],
)
def test_malformed_ts_requests(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_ts_request(data)


@given(st.binary(max_size=200))
def test_decoders_raise_only_decode_errors(data: bytes) -> None:
    for decode in (decode_ts_request, decode_ts_credentials, decode_ts_password_creds):
        try:
            decode(data)
        except DecodeError:
            pass


@given(ts_requests, st.data())
def test_mutated_ts_requests_raise_only_decode_errors(req: TsRequest, data: st.DataObject) -> None:
    buf = bytearray(encode_ts_request(req))
    for _ in range(data.draw(st.integers(1, 4))):
        buf[data.draw(st.integers(0, len(buf) - 1))] = data.draw(st.integers(0, 255))
    try:
        decode_ts_request(bytes(buf[: data.draw(st.integers(0, len(buf)))]))
    except DecodeError:
        pass


# ---------------------------------------------------------------------------------------
# TSCredentials
# ---------------------------------------------------------------------------------------


def test_password_credentials_vector() -> None:
    creds = TsPasswordCreds("D", "u", "p")
    assert encode_ts_credentials(creds) == vector("cssp_ts_credentials_password")
    assert credssp.password_credentials(creds) == vector("cssp_ts_credentials_password")
    outer = decode_ts_credentials(vector("cssp_ts_credentials_password"))
    assert outer.cred_type == credssp.TS_PASSWORD_CREDS
    assert decode_ts_password_creds(outer.credentials) == creds


def test_password_is_not_in_repr() -> None:
    text = repr(TsPasswordCreds("LAB", "alice", "s3cret!"))
    assert "s3cret" not in text and "alice" in text


@given(ts_password_creds)
def test_password_creds_round_trip(creds: TsPasswordCreds) -> None:
    assert decode_ts_password_creds(encode_ts_password_creds(creds)) == creds


@given(ts_credentials)
def test_ts_credentials_round_trip(creds: TsCredentials) -> None:
    assert decode_ts_credentials(encode_ts_credentials(creds)) == creds


def test_password_creds_with_odd_utf16_is_invalid() -> None:
    # Constructed: userName of 3 bytes.
    data = bytes.fromhex("30 13 a0 04 04 02 44 00 a1 05 04 03 75 00 00 a2 04 04 02 70 00")
    with pytest.raises(InvalidField):
        decode_ts_password_creds(data)


# ---------------------------------------------------------------------------------------
# pubKeyAuth helpers
# ---------------------------------------------------------------------------------------


def self_signed(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rdpprobe.test")])
    now = datetime(2025, 1, 1, tzinfo=UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def test_subject_public_key_rsa_is_the_pkcs1_key() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    expected = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    assert subject_public_key(self_signed(key)) == expected
    assert expected[0] == 0x30  # RSAPublicKey SEQUENCE, not the SPKI


def test_subject_public_key_ec_is_the_point() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    assert subject_public_key(self_signed(key)) == point


@pytest.mark.parametrize("data", [b"", b"\x30\x00", b"not a certificate"])
def test_subject_public_key_rejects_garbage(data: bytes) -> None:
    with pytest.raises(DecodeError):
        subject_public_key(data)


def test_binding_hashes() -> None:
    nonce, key = bytes(range(32)), b"\x30\x0a" + bytes(10)
    assert credssp.CLIENT_BINDING_MAGIC == b"CredSSP Client-To-Server Binding Hash\x00"
    assert len(credssp.SERVER_BINDING_MAGIC) == 38
    assert client_binding_hash(nonce, key) == hashlib.sha256(credssp.CLIENT_BINDING_MAGIC + nonce + key).digest()
    assert server_binding_hash(nonce, key) == hashlib.sha256(credssp.SERVER_BINDING_MAGIC + nonce + key).digest()
    assert client_binding_hash(nonce, key) != server_binding_hash(nonce, key)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x30\x82", b"\x31\x82"),  # in practice: first byte + 1
        (b"\xff\x00\x01", b"\x00\x01\x01"),  # little-endian carry
        (b"\xff\xff", b"\x00\x00"),  # wraps
        (b"", b""),
    ],
)
def test_increment_le(data: bytes, expected: bytes) -> None:
    assert increment_le(data) == expected
    assert credssp.increment_public_key(data) == expected


# ---------------------------------------------------------------------------------------
# A whole CredSSP v6 exchange over NTLM, in memory
# ---------------------------------------------------------------------------------------


def test_credssp_v6_exchange() -> None:
    public_key = subject_public_key(self_signed(rsa.generate_private_key(public_exponent=65537, key_size=1024)))
    nonce = bytes(range(32))
    counter = iter(range(1, 256))

    def rng(n: int) -> bytes:
        return hashlib.sha256(bytes([next(counter)])).digest()[:n]

    # Client: NEGOTIATE.
    negotiate = ntlm.build_negotiate()
    msg1 = decode_ts_request(encode_ts_request(TsRequest(6, (negotiate,), client_nonce=nonce)))
    # Server: CHALLENGE.
    challenge = ntlm.encode_challenge(
        rng(8), target_name="LAB", netbios_computer="SRV", netbios_domain="LAB",
        timestamp=ntlm.datetime_to_filetime(datetime(2025, 1, 1, tzinfo=UTC)),
    )
    msg2 = decode_ts_request(encode_ts_request(TsRequest(6, (challenge,))))
    # Client: AUTHENTICATE + pubKeyAuth.
    auth, client = ntlm.build_authenticate(msg2.nego_tokens[0], "alice", "pw", "LAB", "WS", rng, negotiate)
    proof = client.seal(client_binding_hash(nonce, public_key))
    msg3 = decode_ts_request(encode_ts_request(TsRequest(6, (auth,), pub_key_auth=proof, client_nonce=nonce)))
    # Server: verify, check the client proof, answer with its own.
    outcome = ntlm.verify_authenticate(msg1.nego_tokens[0], challenge, msg3.nego_tokens[0], lambda u, d: "pw")
    assert outcome.ok and outcome.session is not None
    server = outcome.session
    assert msg3.pub_key_auth is not None and msg3.client_nonce is not None
    assert server.unseal(msg3.pub_key_auth) == client_binding_hash(msg3.client_nonce, public_key)
    server_proof = server.seal(server_binding_hash(nonce, public_key))
    msg4 = decode_ts_request(encode_ts_request(TsRequest(6, pub_key_auth=server_proof)))
    # Client: verify the server proof, send the credentials.
    assert msg4.pub_key_auth is not None
    assert client.unseal(msg4.pub_key_auth) == server_binding_hash(nonce, public_key)
    sealed = client.seal(encode_ts_credentials(TsPasswordCreds("LAB", "alice", "pw")))
    msg5 = decode_ts_request(encode_ts_request(TsRequest(6, auth_info=sealed, client_nonce=nonce)))
    assert msg5.auth_info is not None
    creds = decode_ts_credentials(server.unseal(msg5.auth_info))
    assert decode_ts_password_creds(creds.credentials) == TsPasswordCreds("LAB", "alice", "pw")


def _with_serial(cert_der: bytes, old: bytes, new: bytes) -> bytes:
    """``cert_der`` with its serialNumber INTEGER contents ``old`` replaced by ``new`` (same
    length, so no length changes; the signature no longer verifies, which CredSSP never checks)."""
    field = bytes([der.INTEGER, len(old)]) + old
    assert cert_der.count(field) == 1
    return cert_der.replace(field, bytes([der.INTEGER, len(new)]) + new)


@pytest.mark.parametrize("serial", [b"\xff", b"\x00"], ids=["negative", "zero"])
def test_subject_public_key_of_a_certificate_a_strict_parser_refuses(serial: bytes) -> None:
    """RFC 5280 wants a positive serial; some servers' self-signed certificates carry another,
    and clients still connect to them. The key is read from the DER, not from a parsed
    certificate, so NLA works against them whatever the X.509 parser thinks."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    expected = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    odd = _with_serial(self_signed(key), b"\x01", serial)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # cryptography warns of such serials, and will refuse them.
        assert subject_public_key(odd) == expected


def _der(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + body


def test_subject_public_key_without_the_optional_version() -> None:
    """A v1 certificate has no [0] version: the walk starts at the serial number."""
    key = ec.generate_private_key(ec.SECP256R1())
    tbs = x509.load_der_x509_certificate(self_signed(key)).tbs_certificate_bytes
    header = 2 + (tbs[1] & 0x7F if tbs[1] & 0x80 else 0)
    version = bytes.fromhex("a003020102")  # [0] EXPLICIT INTEGER 2 (v3)
    assert tbs[header : header + len(version)] == version
    v1 = _der(0x30, _der(0x30, tbs[header + len(version) :]))  # Certificate { tbsCertificate } is enough.
    point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    assert subject_public_key(v1) == point
