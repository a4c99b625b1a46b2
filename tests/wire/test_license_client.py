"""The client side of the licensing exchange ([MS-RDPELE] 2.2.2.2, 2.2.2.5, 3.3.5, 5.1)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given
from hypothesis import strategies as st

from rdpprobe.errors import DecodeError, InvalidField, UnexpectedType
from rdpprobe.wire import licensing as lic
from rdpprobe.wire import license_client as lc
from rdpprobe.wire import rdpcrypto, security
from tests.strategies import rdp as s

# --- Golden vectors: [MS-RDPELE] v20240423 section 4 ----------------------------------------

# 4.2 Client New License Request: preamble 13 83 55 01; PreferredKeyExchangeAlg 1;
# PlatformId 0x04010000; ClientRandom; EncryptedPreMaster (BB_RANDOM_BLOB, 0x108 bytes:
# 256 bytes of RSA output and 8 zero bytes); ClientUserName "Administrator\0";
# ClientMachineName "RODENT\0".
SPEC_4_2_CLIENT_RANDOM = bytes.fromhex("dc73a0c869256b18af0b947aa9a520af8bbc0dcca395b7b9eb815dbe0a109cd8")
SPEC_4_2_ENCRYPTED_PREMASTER = bytes.fromhex(
    "da9c5da6689da3906724f33aeaa1e268ad12f5f60b7aac92b1696f42558aa0e2"
    "9b2cd0c7ee336c4779c31ebf038b957007a2beee540268f890d7fe2c08e16b2d"
    "ff9476725f7a76753255cc586163a564f16ec30781826f887362fc286591c2c8"
    "9f05b0d39312bf6a5018992d4dc47f74d3309f1678a5dfaa83654f773042e0d7"
    "69c84da573115935b9a7e2b0f6e3b939c3d4e46bca409aac66e61aa41b397e09"
    "e37299dd90625597a904c751aaa201cb5a634d1ae599c3b12a73e89a00469259"
    "39a380a1ac9052ea6381497df32d5cc3199fedfe811d8c041cd923d26d8084f3"
    "00f2b1692fcdb39f69ee603e4bb5be5a09830bbc3d3e05476596318c6bc5e6a0"
    "0000000000000000"
)
SPEC_4_2 = (
    bytes.fromhex("13835501" "01000000" "00000104")  # preamble, PreferredKeyExchangeAlg, PlatformId
    + SPEC_4_2_CLIENT_RANDOM
    + bytes.fromhex("02000801") + SPEC_4_2_ENCRYPTED_PREMASTER  # BB_RANDOM_BLOB, 0x108 bytes
    + bytes.fromhex("0f000e00") + b"Administrator\x00"  # BB_CLIENT_USER_NAME_BLOB
    + bytes.fromhex("10000700") + b"RODENT\x00"  # BB_CLIENT_MACHINE_NAME_BLOB
)

# 4.4 Server Platform Challenge; the challenge decrypts to "TEST" in UTF-16LE with a NUL.
SPEC_4_4 = bytes.fromhex(
    "02032600" "ffffffff"  # preamble, ConnectFlags
    "50f70a00" "463785548ec59134975d"  # EncryptedPlatformChallenge (wBlobType ignored)
    "7894ad3b81da8818560f3ad1f103ef35"  # MACData
)
SPEC_4_4_CHALLENGE = "TEST\0".encode("utf-16-le")

# 4.5 Client Platform Challenge Response, and the plaintexts the example gives.
SPEC_4_5 = bytes.fromhex(
    "15834200"  # preamble: PLATFORM_CHALLENGE_RESPONSE, 0x80 | 0x3, 0x42 bytes
    "01001200" "fab4e824cf56b24e8002bdb661fcdfe96c44"  # EncryptedPlatformChallengeResponse
    "01001400" "f8b5e8253d0f3f701dda601916fe731a457e0271"  # EncryptedHWID
    "3823625d108b93c3f1e4671f4ab6000a"  # MACData
)
SPEC_4_5_RESPONSE_DATA = bytes.fromhex("0001" "0001" "0300" "0a00") + SPEC_4_4_CHALLENGE
SPEC_4_5_HWID = bytes.fromhex("02000000" "f159873e" "c9d898af" "2402f8f3" "293af026")


def test_new_license_request_golden_4_2() -> None:
    pdu = lc.decode_new_license_request(SPEC_4_2)
    assert pdu.client_random == SPEC_4_2_CLIENT_RANDOM
    assert pdu.platform_id == lc.PLATFORM_ID == 0x04010000
    assert pdu.key_exchange_alg == lic.KEY_EXCHANGE_ALG_RSA
    assert pdu.flags == lc.CLIENT_PREAMBLE_FLAGS
    assert pdu.user_name.data == lc.ansi_z("Administrator")
    assert pdu.machine_name.data == lc.ansi_z("RODENT")
    built = lc.new_license_request(
        SPEC_4_2_CLIENT_RANDOM, SPEC_4_2_ENCRYPTED_PREMASTER, lc.ansi_z("Administrator"), lc.ansi_z("RODENT")
    )
    assert built == pdu
    assert lc.encode_new_license_request(built).hex() == SPEC_4_2.hex()
    assert len(SPEC_4_2) == 0x155


def test_platform_challenge_golden_4_4() -> None:
    msg = lic.decode_license_pdu(SPEC_4_4)
    assert isinstance(msg, lic.PlatformChallenge)
    assert msg.encrypted_challenge.data == bytes.fromhex("463785548ec59134975d")
    assert len(SPEC_4_4_CHALLENGE) == len(msg.encrypted_challenge.data)


def test_platform_challenge_response_golden_4_5() -> None:
    pdu = lc.decode_platform_challenge_response(SPEC_4_5)
    assert pdu.flags == lc.CLIENT_PREAMBLE_FLAGS
    assert pdu.mac_data == bytes.fromhex("3823625d108b93c3f1e4671f4ab6000a")
    assert lc.encode_platform_challenge_response(pdu).hex() == SPEC_4_5.hex()
    data = lc.decode_platform_challenge_response_data(SPEC_4_5_RESPONSE_DATA)
    assert data == lc.PlatformChallengeResponseData(SPEC_4_4_CHALLENGE)
    assert lc.encode_platform_challenge_response_data(data) == SPEC_4_5_RESPONSE_DATA
    hwid = lc.decode_client_hardware_id(SPEC_4_5_HWID)
    assert hwid.platform_id == 2
    assert lc.encode_client_hardware_id(hwid) == SPEC_4_5_HWID


def test_spec_4_5_blobs_use_a_fresh_rc4_state_each() -> None:
    # Both blobs of 4.5 XOR to the XOR of their plaintexts: one key stream, restarted per blob.
    pdu = lc.decode_platform_challenge_response(SPEC_4_5)
    n = len(SPEC_4_5_RESPONSE_DATA)
    cipher_xor = bytes(a ^ b for a, b in zip(pdu.encrypted_response.data, pdu.encrypted_hwid.data[:n]))
    plain_xor = bytes(a ^ b for a, b in zip(SPEC_4_5_RESPONSE_DATA, SPEC_4_5_HWID[:n]))
    assert cipher_xor == plain_xor
    key = bytes(range(16))
    ours = zip(lc.license_rc4(key, SPEC_4_5_RESPONSE_DATA), lc.license_rc4(key, SPEC_4_5_HWID[:n]))
    ours_xor = bytes(a ^ b for a, b in ours)
    assert ours_xor == plain_xor


# --- Key derivation and MAC (5.1.2, 5.1.5) ------------------------------------------------------


def _md5(*parts: bytes) -> bytes:
    return hashlib.md5(b"".join(parts)).digest()


def _sha1(*parts: bytes) -> bytes:
    return hashlib.sha1(b"".join(parts)).digest()


def test_key_derivation_follows_5_1_2_formulas() -> None:
    # No example in the specification gives derived keys; this spells out 5.1.2 step by step.
    premaster, cr, sr = bytes(range(48)), bytes(range(100, 132)), bytes(range(200, 232))
    master = b"".join(_md5(premaster, _sha1(i, premaster, cr, sr)) for i in (b"A", b"BB", b"CCC"))
    blob = b"".join(_md5(master, _sha1(i, master, sr, cr)) for i in (b"A", b"BB", b"CCC"))
    keys = lc.derive_licensing_keys(premaster, cr, sr)
    assert keys.master_secret == master
    assert keys.session_key_blob == blob
    assert keys.mac_salt_key == blob[:16]
    assert keys.encryption_key == _md5(blob[16:32], cr, sr)
    assert len(keys.encryption_key) == len(keys.mac_salt_key) == lc.LICENSING_KEY_SIZE


def test_mac_follows_5_1_5() -> None:
    key, data = b"k" * 16, b"some data"
    inner = _sha1(key, b"\x36" * 40, len(data).to_bytes(4, "little"), data)
    assert lc.license_mac(key, data) == _md5(key, b"\x5c" * 48, inner)


# --- A full client <-> server exchange ----------------------------------------------------------


def _rng(seed: int) -> Callable[[int], bytes]:
    state = {"n": seed}

    def rng(n: int) -> bytes:
        state["n"] += 1
        return hashlib.shake_256(state["n"].to_bytes(4, "little")).digest(n)

    return rng


@pytest.fixture(scope="module")
def server_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


def _server_decrypt(blob: bytes, key: rsa.RSAPrivateKey) -> bytes:
    """Raw little-endian RSA (5.1.1.2), the server side of ``encrypt_premaster``."""
    numbers = key.private_numbers()
    encrypted = blob[: -security.RSA_PADDING_SIZE]
    assert blob[-security.RSA_PADDING_SIZE :] == bytes(security.RSA_PADDING_SIZE)
    value = pow(int.from_bytes(encrypted, "little"), numbers.d, numbers.public_numbers.n)
    return value.to_bytes(lc.PREMASTER_SECRET_SIZE, "little")


def _license_request(server_random: bytes, certificate: bytes) -> lic.LicenseRequest:
    company, product_id = "Microsoft\0".encode("utf-16-le"), "A02\0".encode("utf-16-le")
    return lic.LicenseRequest(
        server_random,
        lic.ProductInfo(lic.PRODUCT_INFO_VERSION, company, product_id),
        lic.LicenseBlob(lic.BB_KEY_EXCHG_ALG_BLOB, lic.KEY_EXCHANGE_ALG_RSA.to_bytes(4, "little")),
        lic.LicenseBlob(lic.BB_CERTIFICATE_BLOB, certificate),
        (lic.LicenseBlob(lic.BB_SCOPE_BLOB, b"microsoft.com\0"),),
    )


def _proprietary(key: rsa.RSAPrivateKey) -> bytes:
    return security.encode_server_certificate(rdpcrypto.proprietary_certificate_for(key.public_key()))


def test_full_exchange(server_key: rsa.RSAPrivateKey) -> None:
    ctx = lc.LicenseClientContext(rng=_rng(1), user_name="probe", machine_name="rdpprobe")
    server_random = bytes(range(32))
    sent = lic.encode_license_pdu(_license_request(server_random, _proprietary(server_key)))
    request = lic.decode_license_pdu(sent)
    reply = lc.respond_to_license_message(request, ctx)
    assert reply is not None and reply[0] == lic.LicenseMsgType.NEW_LICENSE_REQUEST

    # The server decrypts the premaster secret and derives the same keys.
    nlr = lc.decode_new_license_request(reply)
    assert nlr.user_name.data == b"probe\0" and nlr.machine_name.data == b"rdpprobe\0"
    assert len(nlr.encrypted_premaster.data) == 128 + security.RSA_PADDING_SIZE
    premaster = _server_decrypt(nlr.encrypted_premaster.data, server_key)
    keys = lc.derive_licensing_keys(premaster, nlr.client_random, server_random)
    assert keys == ctx.keys

    # The server challenges; the client answers with a response the server can check.
    challenge = SPEC_4_4_CHALLENGE
    encrypted = lc.license_rc4(keys.encryption_key, challenge)
    mac = lc.license_mac(keys.mac_salt_key, challenge)
    platform = lic.PlatformChallenge(0, lic.LicenseBlob(lic.BB_ENCRYPTED_DATA_BLOB, encrypted), mac)
    answer = lc.respond_to_license_message(lic.decode_license_pdu(lic.encode_license_pdu(platform)), ctx)
    assert answer is not None
    response = lc.decode_platform_challenge_response(answer)
    data = lc.license_rc4(keys.encryption_key, response.encrypted_response.data)
    hwid = lc.license_rc4(keys.encryption_key, response.encrypted_hwid.data)
    assert lc.license_mac(keys.mac_salt_key, data + hwid) == response.mac_data
    assert lc.decode_platform_challenge_response_data(data).challenge == challenge
    assert lc.decode_client_hardware_id(hwid) == lc.client_hardware_id(ctx)

    # A new license or the valid-client message ends licensing without an answer.
    blob = lic.LicenseBlob(lic.BB_ENCRYPTED_DATA_BLOB, b"x")
    new = lic.NewLicense(lic.LicenseMsgType.NEW_LICENSE, blob, bytes(16))
    assert lc.respond_to_license_message(new, ctx) is None
    assert lc.respond_to_license_message(lic.valid_client_message(), ctx) is None


def test_empty_certificate_uses_the_security_data_key(server_key: rsa.RSAPrivateKey) -> None:
    fallback = rdpcrypto.rsa_public_key_of(server_key.public_key())
    ctx = lc.LicenseClientContext(rng=_rng(2), fallback_key=fallback)
    reply = lc.respond_to_license_message(_license_request(bytes(32), b""), ctx)
    assert reply is not None
    nlr = lc.decode_new_license_request(reply)
    premaster = _server_decrypt(nlr.encrypted_premaster.data, server_key)
    assert lc.derive_licensing_keys(premaster, nlr.client_random, bytes(32)) == ctx.keys


def test_empty_certificate_without_fallback_is_a_decode_error() -> None:
    ctx = lc.LicenseClientContext(rng=_rng(3))
    with pytest.raises(InvalidField):
        lc.respond_to_license_message(_license_request(bytes(32), b""), ctx)


def test_challenge_before_request() -> None:
    challenge = lic.PlatformChallenge(0, lic.LicenseBlob(lic.BB_ENCRYPTED_DATA_BLOB, b"abc"), bytes(16))
    with pytest.raises(UnexpectedType):
        lc.respond_to_license_message(challenge, lc.LicenseClientContext(rng=_rng(4)))


def test_challenge_with_a_wrong_mac(server_key: rsa.RSAPrivateKey) -> None:
    ctx = lc.LicenseClientContext(rng=_rng(5))
    lc.respond_to_license_message(_license_request(bytes(32), _proprietary(server_key)), ctx)
    assert ctx.keys is not None
    encrypted = lc.license_rc4(ctx.keys.encryption_key, b"challenge")
    bad = lic.PlatformChallenge(0, lic.LicenseBlob(lic.BB_ENCRYPTED_DATA_BLOB, encrypted), bytes(16))
    with pytest.raises(InvalidField):
        lc.respond_to_license_message(bad, ctx)


def test_modulus_too_small_for_the_premaster() -> None:
    tiny = security.RsaPublicKey(64, 7, 3, (0xFFFF).to_bytes(8, "little") + bytes(8))
    with pytest.raises(InvalidField):
        lc.encrypt_premaster(bytes(range(1, 49)), tiny)


def test_wrong_message_type_is_rejected() -> None:
    with pytest.raises(UnexpectedType):
        lc.decode_new_license_request(SPEC_4_5)
    with pytest.raises(UnexpectedType):
        lc.decode_platform_challenge_response(SPEC_4_4)


def test_ansi_names() -> None:
    assert lc.ansi_z("") == b"\0"
    assert lc.ansi_z("é\u4e2d") == b"\xe9?\0"


# --- Properties -----------------------------------------------------------------------------------

_blob = st.builds(lic.LicenseBlob, s.u16, st.binary(max_size=40))
_new_license_request = st.builds(
    lc.NewLicenseRequest, st.binary(min_size=32, max_size=32), _blob, _blob, _blob, s.u32, s.u32, s.u8
)
_response = st.builds(lc.PlatformChallengeResponse, _blob, _blob, st.binary(min_size=16, max_size=16), s.u8)
_response_data = st.builds(lc.PlatformChallengeResponseData, st.binary(max_size=40), s.u16, s.u16, s.u16)
_hwid = st.builds(lc.ClientHardwareId, s.u32, st.binary(min_size=16, max_size=16))


@given(_new_license_request)
def test_new_license_request_round_trip(pdu: lc.NewLicenseRequest) -> None:
    assert lc.decode_new_license_request(lc.encode_new_license_request(pdu)) == pdu


@given(_response)
def test_platform_challenge_response_round_trip(pdu: lc.PlatformChallengeResponse) -> None:
    assert lc.decode_platform_challenge_response(lc.encode_platform_challenge_response(pdu)) == pdu


@given(_response_data, _hwid)
def test_inner_structures_round_trip(
    data: lc.PlatformChallengeResponseData, hwid: lc.ClientHardwareId
) -> None:
    encoded = lc.encode_platform_challenge_response_data(data)
    assert lc.decode_platform_challenge_response_data(encoded) == data
    assert lc.decode_client_hardware_id(lc.encode_client_hardware_id(hwid)) == hwid


_DECODERS = (
    lc.decode_new_license_request,
    lc.decode_platform_challenge_response,
    lc.decode_platform_challenge_response_data,
    lc.decode_client_hardware_id,
)


@pytest.mark.parametrize("decoder", _DECODERS, ids=lambda d: d.__name__)
@given(data=st.binary(max_size=120))
def test_arbitrary_bytes_raise_only_decode_error(decoder: Callable[[bytes], object], data: bytes) -> None:
    try:
        decoder(data)
    except DecodeError:
        pass


@st.composite
def _client_message(draw: st.DrawFn) -> bytes:
    """A preamble of either client type around arbitrary body bytes."""
    types = [lic.LicenseMsgType.NEW_LICENSE_REQUEST, lic.LicenseMsgType.PLATFORM_CHALLENGE_RESPONSE]
    msg_type = draw(st.sampled_from(types))
    body = draw(st.binary(max_size=120))
    return lic.encode_license_pdu(lic.UnknownLicenseMessage(msg_type, body, lc.CLIENT_PREAMBLE_FLAGS))


@pytest.mark.parametrize("decoder", _DECODERS[:2], ids=lambda d: d.__name__)
@given(data=_client_message())
def test_well_framed_garbage_raises_only_decode_error(
    decoder: Callable[[bytes], object], data: bytes
) -> None:
    try:
        decoder(data)
    except DecodeError:
        pass


@given(s.license_message, st.none() | s.rsa_key)
def test_any_server_message_gets_an_answer_or_a_decode_error(
    msg: lic.LicenseMessage, fallback: security.RsaPublicKey | None
) -> None:
    ctx = lc.LicenseClientContext(rng=_rng(6), fallback_key=fallback)
    try:
        reply = lc.respond_to_license_message(msg, ctx)
    except DecodeError:
        return
    if reply is not None:
        expected = (lic.LicenseMsgType.NEW_LICENSE_REQUEST, lic.LicenseMsgType.PLATFORM_CHALLENGE_RESPONSE)
        assert getattr(lic.decode_license_pdu(reply), "msg_type", None) in expected
