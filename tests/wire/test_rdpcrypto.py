"""Standard RDP Security cryptography ([MS-RDPBCGR] 5.3).

What the specification gives and what is tested against it: 4.1.4 carries the server random
and a proprietary certificate whose signature is checked here with the Terminal Services
signing key (5.3.3.1.1), and re-signing reproduces it byte for byte. The spec's examples do
not publish the client random or the server's private key behind 4.1.9, so the RC4/MAC
chain of 4.1.10-4.1.12 cannot be replayed; key derivation, RC4, MACs and key updates are
tested for internal consistency (client <-> server) and against the RC4 reference vector.
"""

from __future__ import annotations

import pytest
import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from rdpprobe.errors import DecodeError, InvalidField
from rdpprobe.wire import rdpcrypto as c
from rdpprobe.wire import security as sec
from rdpprobe.wire.gcc_consts import EncryptionMethod
from tests.vectors import vector

CLIENT_RANDOM = bytes(range(32))  # Constructed, not from the specification.
BIT_40 = EncryptionMethod.ENCRYPTION_METHOD_40BIT
BIT_56 = EncryptionMethod.ENCRYPTION_METHOD_56BIT
BIT_128 = EncryptionMethod.ENCRYPTION_METHOD_128BIT


def test_the_crypto_and_the_gcc_codec_share_one_encryption_method_type() -> None:
    # The server's choice (2.2.1.4.3) is one of the client's offered flags (2.2.1.3.3).
    assert vars(c)["EncryptionMethod"] is EncryptionMethod
    assert EncryptionMethod(0x1B) == BIT_40 | BIT_128 | BIT_56 | EncryptionMethod.ENCRYPTION_METHOD_FIPS


@pytest.fixture(scope="module")
def server_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)  # cryptography refuses to generate smaller keys.


def _spec_cert() -> sec.ProprietaryCertificate:
    cert = sec.decode_server_certificate(vector("rdp_proprietary_certificate_4_1_4"))
    assert isinstance(cert, sec.ProprietaryCertificate)
    return cert


def test_spec_certificate_signature_verifies() -> None:
    assert c.verify_proprietary_certificate(_spec_cert())


def test_resigning_spec_certificate_reproduces_signature() -> None:
    cert = _spec_cert()
    assert c.sign_proprietary_certificate(cert) == cert


def test_tampered_certificate_fails_verification() -> None:
    cert = _spec_cert()
    key = cert.public_key
    bad_key = sec.RsaPublicKey(key.bit_len, key.data_len, 3, key.modulus)
    bad = sec.ProprietaryCertificate(bad_key, cert.signature)
    assert not c.verify_proprietary_certificate(bad)


def test_rc4_reference_vector() -> None:
    # RFC 6229, 40-bit key 0x0102030405, keystream at offset 0.
    assert c._rc4(bytes.fromhex("0102030405")).update(bytes(16)).hex() == "b2396305f03dc027ccc3524a0a1118a8"


def test_rsa_client_random_round_trip(server_key: rsa.RSAPrivateKey) -> None:
    cert = c.proprietary_certificate_for(server_key.public_key())
    assert c.verify_proprietary_certificate(cert)
    encrypted = c.encrypt_client_random(CLIENT_RANDOM, cert.public_key)
    assert len(encrypted) == 128
    pdu = sec.decode_security_exchange(sec.encode_security_exchange(sec.SecurityExchange(encrypted)))
    assert c.decrypt_client_random(pdu.encrypted_client_random, server_key) == CLIENT_RANDOM


def test_spec_encrypted_random_has_modulus_size() -> None:
    key = _spec_cert().public_key
    assert len(c.encrypt_client_random(CLIENT_RANDOM, key)) == key.key_size == 64


def _self_signed(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mock")])
    now = datetime.datetime(2024, 1, 1)
    return (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
        .public_bytes(Encoding.DER)
    )


def test_x509_chain_public_key(server_key: rsa.RSAPrivateKey) -> None:
    der = _self_signed(server_key)
    chain = sec.decode_server_certificate(sec.encode_server_certificate(sec.x509_chain((b"root", der))))
    assert isinstance(chain, sec.X509CertificateChain)
    assert c.server_public_key(chain) == c.rsa_public_key_of(server_key.public_key())
    negative_serial = der.replace(bytes.fromhex("020101"), bytes.fromhex("0201ff"), 1)  # Serial -1.
    assert c.x509_chain_public_key(sec.x509_chain((negative_serial,))) == c.rsa_public_key_of(server_key.public_key())
    with pytest.raises(DecodeError):
        c.x509_chain_public_key(sec.x509_chain((b"not der",)))


def test_x509_chain_public_key_must_be_rsa() -> None:
    """Standard RDP Security encrypts the client random with RSA (5.3.4): an EC key is refused."""
    with pytest.raises(InvalidField, match="not rsaEncryption"):
        c.x509_chain_public_key(sec.x509_chain((_self_signed(ec.generate_private_key(ec.SECP256R1())),)))


@pytest.mark.parametrize(
    ("method", "size", "salt"),
    [(BIT_40, 8, "d1269e"), (BIT_56, 8, "d1"), (BIT_128, 16, "")],
)
def test_key_sizes_and_salts(method: int, size: int, salt: str) -> None:
    keys = c.derive_session_keys(CLIENT_RANDOM, bytes(32), method)
    for key in (keys.mac_key, keys.client_encrypt_key, keys.client_decrypt_key):
        assert len(key) == size and key.hex().startswith(salt)
        assert len(c.update_key(key, key, method)) == size


def test_client_and_server_keys_mirror() -> None:
    cli = c.SecurityContext.from_randoms(CLIENT_RANDOM, bytes(32), BIT_128, "client")
    srv = c.SecurityContext.from_randoms(CLIENT_RANDOM, bytes(32), BIT_128, "server")
    sig, ct = srv.encrypt(b"server says hi")
    assert cli.decrypt(sig, ct) == b"server says hi"


@pytest.mark.parametrize("method", [BIT_40, BIT_56, BIT_128])
@pytest.mark.parametrize("salted", [False, True])
def test_round_trip_across_key_update(method: int, salted: bool) -> None:
    cli = c.SecurityContext.from_randoms(CLIENT_RANDOM, b"\x55" * 32, method, "client")
    srv = c.SecurityContext.from_randoms(CLIENT_RANDOM, b"\x55" * 32, method, "server")
    first_key = cli._enc.key
    for i in range(c.KEY_UPDATE_INTERVAL + 3):  # Bounded loop through one key update.
        data = i.to_bytes(4, "little")
        sig, ct = cli.encrypt(data, salted)
        assert srv.decrypt(sig, ct, salted) == data
    assert cli._enc.key != first_key
    assert cli.encrypt_count == srv.decrypt_count == c.KEY_UPDATE_INTERVAL + 3


def test_bad_mac_raises_decode_error() -> None:
    cli = c.SecurityContext.from_randoms(CLIENT_RANDOM, bytes(32), BIT_128, "client")
    srv = c.SecurityContext.from_randoms(CLIENT_RANDOM, bytes(32), BIT_128, "server")
    sig, ct = cli.encrypt(b"hello")
    with pytest.raises(DecodeError):
        srv.decrypt(bytes(8), ct)


def test_seal_and_unseal() -> None:
    cli = c.SecurityContext.from_randoms(CLIENT_RANDOM, bytes(32), BIT_56, "client")
    srv = c.SecurityContext.from_randoms(CLIENT_RANDOM, bytes(32), BIT_56, "server")
    payload = vector("rdp_ts_info_packet_4_1_10")
    wire = c.seal(cli, sec.SEC_INFO_PKT, payload, salted=True)
    opened = c.unseal(srv, wire)
    assert opened.payload == payload
    assert opened.header.flags & sec.SEC_SECURE_CHECKSUM
    plain = c.unseal(None, b"\x80\x00\x00\x00abc")
    assert plain.payload == b"abc"
    with pytest.raises(InvalidField):
        c.unseal(None, wire)


def test_mac_matches_definition() -> None:
    key = bytes(16)
    sig = c.mac_signature(key, b"data")
    assert len(sig) == 8 and sig != c.salted_mac_signature(key, b"data", 0)


@settings(max_examples=50)
@given(st.binary(max_size=200), st.binary(min_size=8, max_size=8))
def test_decrypt_arbitrary_raises_only_decode_error(data: bytes, sig: bytes) -> None:
    srv = c.SecurityContext.from_randoms(CLIENT_RANDOM, bytes(32), BIT_128, "server")
    try:
        srv.decrypt(sig, data)
    except DecodeError:
        pass
    try:
        c.unseal(srv, data)
    except DecodeError:
        pass
