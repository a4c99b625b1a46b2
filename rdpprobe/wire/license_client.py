"""The client side of the licensing exchange ([MS-RDPELE] 2.2.2, 3.3, 5.1).

A server that runs as an RD Session Host (and xrdp) answers the Client Info PDU with a
SERVER_LICENSE_REQUEST; the client then sends a CLIENT_NEW_LICENSE_REQUEST, may have to
answer a SERVER_PLATFORM_CHALLENGE, and licensing ends with a new license or the
"valid client" error message. Only after that does the server send Demand Active.

Message bodies (after the 4-byte preamble bMsgType, flags, wMsgSize)::

    CLIENT_NEW_LICENSE_REQUEST (2.2.2.2)      CLIENT_PLATFORM_CHALLENGE_RESPONSE (2.2.2.5)
      PreferredKeyExchangeAlg  u32le            EncryptedPlatformChallengeResponse  blob
      PlatformId               u32le            EncryptedHWID                       blob
      ClientRandom             32 bytes         MACData                             16 bytes
      EncryptedPreMasterSecret blob
      ClientUserName           blob
      ClientMachineName        blob

Rules of this module:
- codecs keep every blob as a ``LicenseBlob`` so that what a peer sent re-encodes exactly;
- each encrypted blob is RC4 from a fresh state under the licensing encryption key (5.1.3;
  the two blobs of the 4.5 example share one key stream);
- randomness comes from the caller's ``rng``; nothing here does I/O;
- a peer's bad input (unusable key, wrong MAC, challenge before request) raises
  ``DecodeError`` subclasses only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
from cryptography.hazmat.primitives.ciphers import Cipher

from rdpprobe.errors import EncodeError, InvalidField, UnexpectedType
from rdpprobe.wire import rdpcrypto, security
from rdpprobe.wire.buffer import Reader, Writer
from rdpprobe.wire.licensing import (
    EXTENDED_ERROR_MSG_SUPPORTED,
    KEY_EXCHANGE_ALG_RSA,
    LICENSE_RANDOM_SIZE,
    MAC_DATA_SIZE,
    PREAMBLE_VERSION_3_0,
    BlobType,
    LicenseBlob,
    LicenseMessage,
    LicenseMsgType,
    LicenseRequest,
    PlatformChallenge,
    UnknownLicenseMessage,
    decode_license_pdu,
    encode_license_pdu,
    read_blob,
    write_blob,
)

# --- Constants -----------------------------------------------------------------------------

CLIENT_OS_ID_WINNT_POST_52 = 0x04000000  # [MS-RDPELE] 2.2.2.2 PlatformId, OS byte
CLIENT_IMAGE_ID_MICROSOFT = 0x00010000  # [MS-RDPELE] 2.2.2.2 PlatformId, ISV byte
PLATFORM_ID = CLIENT_OS_ID_WINNT_POST_52 | CLIENT_IMAGE_ID_MICROSOFT  # as in 4.2
CLIENT_PREAMBLE_FLAGS = PREAMBLE_VERSION_3_0 | EXTENDED_ERROR_MSG_SUPPORTED  # 0x83, 4.2 and 4.5
PREMASTER_SECRET_SIZE = 48  # [MS-RDPELE] 5.1.1 premaster secret
CLIENT_RANDOM_SIZE = LICENSE_RANDOM_SIZE  # [MS-RDPELE] 2.2.2.2 ClientRandom
LICENSING_KEY_SIZE = 16  # [MS-RDPELE] 5.1.2 MAC salt key and licensing encryption key
PLATFORM_CHALLENGE_RESPONSE_VERSION = 0x0100  # [MS-RDPELE] 2.2.2.5.1 wVersion MUST
WIN32_PLATFORMCHALLENGE_TYPE = 0x0100  # [MS-RDPELE] 2.2.2.5.1 wClientType
OTHER_PLATFORMCHALLENGE_TYPE = 0xFF00  # [MS-RDPELE] 2.2.2.5.1 wClientType
LICENSE_DETAIL_DETAIL = 0x0003  # [MS-RDPELE] 2.2.2.5.1 wLicenseDetailLevel (RDP 5.0+ SHOULD)
HWID_DATA_SIZE = 4 * 4  # [MS-RDPELE] 2.2.2.3.1 Data1 + Data2 + Data3 + Data4
RESPONSE_DATA_HEADER_SIZE = 2 + 2 + 2 + 2  # wVersion + wClientType + wLicenseDetailLevel + cbChallenge
PAD1 = b"\x36" * 40  # [MS-RDPELE] 5.1.5 pad1
PAD2 = b"\x5c" * 48  # [MS-RDPELE] 5.1.5 pad2
MASTER_LABELS = (b"A", b"BB", b"CCC")  # [MS-RDPELE] 5.1.2 PreMasterHash / MasterHash labels

_NLR = "client new license request"
_PCR = "client platform challenge response"


# --- Dataclasses ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewLicenseRequest:
    """[MS-RDPELE] 2.2.2.2 Client New License Request (CLIENT_NEW_LICENSE_REQUEST).

    The client has no license and asks for one; it carries the encrypted premaster secret."""

    client_random: bytes
    """ClientRandom (32 bytes)."""
    encrypted_premaster: LicenseBlob
    """EncryptedPreMasterSecret: BB_RANDOM_BLOB, RSA output plus 8 zero bytes."""
    user_name: LicenseBlob
    """ClientUserName: BB_CLIENT_USER_NAME_BLOB, NUL-terminated ANSI."""
    machine_name: LicenseBlob
    """ClientMachineName: BB_CLIENT_MACHINE_NAME_BLOB, NUL-terminated ANSI."""
    platform_id: int = PLATFORM_ID
    """PlatformId."""
    key_exchange_alg: int = KEY_EXCHANGE_ALG_RSA
    """PreferredKeyExchangeAlg (MUST be KEY_EXCHANGE_ALG_RSA)."""
    flags: int = CLIENT_PREAMBLE_FLAGS
    """Preamble flags (version in the low nibble)."""


@dataclass(frozen=True, slots=True)
class PlatformChallengeResponseData:
    """[MS-RDPELE] 2.2.2.5.1 Platform Challenge Response Data (PLATFORM_CHALLENGE_RESPONSE_DATA)."""

    challenge: bytes
    """pbChallenge: the decrypted server platform challenge (cbChallenge bytes)."""
    client_type: int = WIN32_PLATFORMCHALLENGE_TYPE
    """wClientType."""
    detail_level: int = LICENSE_DETAIL_DETAIL
    """wLicenseDetailLevel."""
    version: int = PLATFORM_CHALLENGE_RESPONSE_VERSION
    """wVersion."""


@dataclass(frozen=True, slots=True)
class ClientHardwareId:
    """[MS-RDPELE] 2.2.2.3.1 Client Hardware Identification (CLIENT_HARDWARE_ID)."""

    platform_id: int
    """PlatformId."""
    data: bytes
    """Data1..Data4 as 16 raw bytes."""


@dataclass(frozen=True, slots=True)
class PlatformChallengeResponse:
    """[MS-RDPELE] 2.2.2.5 Client Platform Challenge Response (CLIENT_PLATFORM_CHALLENGE_RESPONSE)."""

    encrypted_response: LicenseBlob
    """EncryptedPlatformChallengeResponse: RC4 of PLATFORM_CHALLENGE_RESPONSE_DATA."""
    encrypted_hwid: LicenseBlob
    """EncryptedHWID: RC4 of CLIENT_HARDWARE_ID."""
    mac_data: bytes
    """MACData: MAC (5.1.5) over the plaintext response data followed by the plaintext HWID."""
    flags: int = CLIENT_PREAMBLE_FLAGS


@dataclass(frozen=True, slots=True)
class LicensingKeys:
    """[MS-RDPELE] 5.1.2 Licensing encryption and MAC salt keys."""

    master_secret: bytes
    """MasterSecret: 48 bytes from the premaster secret and both randoms."""
    session_key_blob: bytes
    """SessionKeyBlob: 48 bytes from the master secret."""
    mac_salt_key: bytes
    """MAC-salt-key: First128Bits(SessionKeyBlob)."""
    encryption_key: bytes
    """LicensingEncryptionKey: FinalHash(Second128Bits(SessionKeyBlob))."""


# --- Key derivation, encryption and MAC (5.1) -----------------------------------------------


def derive_licensing_keys(premaster: bytes, client_random: bytes, server_random: bytes) -> LicensingKeys:
    """The licensing keys of 5.1.2; note the swapped randoms in SaltedHash2."""
    cr, sr = client_random, server_random
    master = b"".join(rdpcrypto.salted_hash(premaster, label, cr, sr) for label in MASTER_LABELS)
    blob = b"".join(rdpcrypto.salted_hash(master, label, sr, cr) for label in MASTER_LABELS)
    mac_salt_key = blob[:LICENSING_KEY_SIZE]
    encryption_key = rdpcrypto.final_hash(blob[LICENSING_KEY_SIZE : 2 * LICENSING_KEY_SIZE], cr, sr)
    return LicensingKeys(master, blob, mac_salt_key, encryption_key)


def license_rc4(key: bytes, data: bytes) -> bytes:
    """RC4 from a fresh state (5.1.3 encrypt, 5.1.4 decrypt are the same operation)."""
    return Cipher(ARC4(key), mode=None).encryptor().update(data)


def license_mac(mac_salt_key: bytes, data: bytes) -> bytes:
    """MACData = MD5(key + pad2 + SHA-1(key + pad1 + length + data)), 16 bytes (5.1.5)."""
    length = len(data).to_bytes(4, "little")
    inner = hashlib.sha1(mac_salt_key + PAD1 + length + data, usedforsecurity=False).digest()
    return hashlib.md5(mac_salt_key + PAD2 + inner, usedforsecurity=False).digest()


def encrypt_premaster(premaster: bytes, key: security.RsaPublicKey) -> bytes:
    """RSA of the premaster secret (5.1.1.1), little-endian, with 8 zero bytes appended.

    The output is as long as the modulus (bitlen / 8, never more than the modulus field),
    as in 2.2.1.10 and example 4.2. Raises ``InvalidField`` when the key cannot hold it."""
    n = key.n
    if n == 0 or int.from_bytes(premaster, "little") >= n:
        raise InvalidField("license server certificate", "modulus", "too small for the premaster secret")
    size = max((n.bit_length() + 7) // 8, min(key.key_size, len(key.modulus)))
    encrypted = pow(int.from_bytes(premaster, "little"), key.public_exponent, n)
    return encrypted.to_bytes(size, "little") + bytes(security.RSA_PADDING_SIZE)


def ansi_z(text: str) -> bytes:
    """``text`` as a NUL-terminated ANSI string (unmappable characters become ``?``)."""
    return text.encode("cp1252", errors="replace") + b"\x00"


def license_server_key(
    request: LicenseRequest, fallback: security.RsaPublicKey | None
) -> security.RsaPublicKey:
    """The key for the premaster secret: the LICENSE_REQUEST's certificate, else ``fallback``.

    [MS-RDPELE] 2.2.2.1: a server MAY send an empty certificate when encryption already
    protects the connection; the client then uses the Server Security Data certificate."""
    if request.server_certificate.data:
        cert = security.decode_server_certificate(request.server_certificate.data)
        return rdpcrypto.server_public_key(cert)
    if fallback is None:
        raise InvalidField("server license request", "ServerCertificate", "empty, and no other server key")
    return fallback


# --- Codecs: Client New License Request ------------------------------------------------------


def new_license_request(
    client_random: bytes, encrypted_premaster: bytes, user_name: bytes, machine_name: bytes
) -> NewLicenseRequest:
    """A request with the blob types 2.2.2.2 prescribes; names are NUL-terminated ANSI bytes."""
    return NewLicenseRequest(
        client_random,
        LicenseBlob(BlobType.BB_RANDOM_BLOB, encrypted_premaster),
        LicenseBlob(BlobType.BB_CLIENT_USER_NAME_BLOB, user_name),
        LicenseBlob(BlobType.BB_CLIENT_MACHINE_NAME_BLOB, machine_name),
    )


def read_new_license_request_body(r: Reader, flags: int) -> NewLicenseRequest:
    alg, platform = r.u32le(), r.u32le()
    client_random = r.take(CLIENT_RANDOM_SIZE)
    premaster, user, machine = read_blob(r), read_blob(r), read_blob(r)
    return NewLicenseRequest(client_random, premaster, user, machine, platform, alg, flags)


def write_new_license_request_body(w: Writer, pdu: NewLicenseRequest) -> None:
    w.u32le(pdu.key_exchange_alg)
    w.u32le(pdu.platform_id)
    _write_fixed(w, pdu.client_random, CLIENT_RANDOM_SIZE, "client random")
    for blob in (pdu.encrypted_premaster, pdu.user_name, pdu.machine_name):
        write_blob(w, blob)


def decode_new_license_request(data: bytes) -> NewLicenseRequest:
    """A whole licensing message (preamble included) that must be NEW_LICENSE_REQUEST."""
    r, flags = _client_body(data, LicenseMsgType.NEW_LICENSE_REQUEST, _NLR)
    pdu = read_new_license_request_body(r, flags)
    r.expect_end()
    return pdu


def encode_new_license_request(pdu: NewLicenseRequest) -> bytes:
    w = Writer()
    write_new_license_request_body(w, pdu)
    return _wrap(LicenseMsgType.NEW_LICENSE_REQUEST, bytes(w), pdu.flags)


# --- Codecs: Client Platform Challenge Response ---------------------------------------------


def read_platform_challenge_response_data(r: Reader) -> PlatformChallengeResponseData:
    version, client_type, detail, size = r.u16le(), r.u16le(), r.u16le(), r.u16le()
    return PlatformChallengeResponseData(r.take(size), client_type, detail, version)


def write_platform_challenge_response_data(w: Writer, data: PlatformChallengeResponseData) -> None:
    for value in (data.version, data.client_type, data.detail_level, len(data.challenge)):
        w.u16le(value)
    w.write(data.challenge)


def decode_platform_challenge_response_data(data: bytes) -> PlatformChallengeResponseData:
    r = Reader(data, "platform challenge response data")
    out = read_platform_challenge_response_data(r)
    r.expect_end()
    return out


def encode_platform_challenge_response_data(data: PlatformChallengeResponseData) -> bytes:
    w = Writer()
    write_platform_challenge_response_data(w, data)
    return bytes(w)


def decode_client_hardware_id(data: bytes) -> ClientHardwareId:
    r = Reader(data, "client hardware id")
    hwid = ClientHardwareId(r.u32le(), r.take(HWID_DATA_SIZE))
    r.expect_end()
    return hwid


def encode_client_hardware_id(hwid: ClientHardwareId) -> bytes:
    w = Writer()
    w.u32le(hwid.platform_id)
    _write_fixed(w, hwid.data, HWID_DATA_SIZE, "hwid data")
    return bytes(w)


def read_platform_challenge_response_body(r: Reader, flags: int) -> PlatformChallengeResponse:
    response, hwid = read_blob(r), read_blob(r)
    return PlatformChallengeResponse(response, hwid, r.take(MAC_DATA_SIZE), flags)


def decode_platform_challenge_response(data: bytes) -> PlatformChallengeResponse:
    """A whole licensing message that must be PLATFORM_CHALLENGE_RESPONSE."""
    r, flags = _client_body(data, LicenseMsgType.PLATFORM_CHALLENGE_RESPONSE, _PCR)
    pdu = read_platform_challenge_response_body(r, flags)
    r.expect_end()
    return pdu


def encode_platform_challenge_response(pdu: PlatformChallengeResponse) -> bytes:
    w = Writer()
    write_blob(w, pdu.encrypted_response)
    write_blob(w, pdu.encrypted_hwid)
    _write_fixed(w, pdu.mac_data, MAC_DATA_SIZE, "mac data")
    return _wrap(LicenseMsgType.PLATFORM_CHALLENGE_RESPONSE, bytes(w), pdu.flags)


def _client_body(data: bytes, msg_type: int, pdu: str) -> tuple[Reader, int]:
    """A reader over the body of a client message of ``msg_type``, and its preamble flags."""
    msg = decode_license_pdu(data)
    if not isinstance(msg, UnknownLicenseMessage) or msg.msg_type != msg_type:
        got = getattr(msg, "msg_type", type(msg).__name__)
        raise UnexpectedType(pdu, got, LicenseMsgType(msg_type).name)
    return Reader(msg.body, pdu), msg.flags


def _wrap(msg_type: int, body: bytes, flags: int) -> bytes:
    return encode_license_pdu(UnknownLicenseMessage(msg_type, body, flags))


def _write_fixed(w: Writer, value: bytes, size: int, what: str) -> None:
    if len(value) != size:
        raise EncodeError(f"{what} must be {size} bytes, not {len(value)}")
    w.write(value)


# --- The client's state across messages (3.3.5) ---------------------------------------------


@dataclass(slots=True)
class LicenseClientContext:
    """What the client keeps between licensing messages ([MS-RDPELE] 3.3.1).

    Mutable: ``keys`` is set when the client answers the LICENSE_REQUEST."""

    rng: Callable[[int], bytes]
    """Random bytes for the client random and the premaster secret."""
    user_name: str = ""
    """ClientUserName (3.3.1.4)."""
    machine_name: str = ""
    """ClientMachineName (3.3.1.5); also seeds the hardware id."""
    fallback_key: security.RsaPublicKey | None = None
    """The Server Security Data key, for a LICENSE_REQUEST without a certificate."""
    platform_id: int = PLATFORM_ID
    keys: LicensingKeys | None = None


def respond_to_license_message(msg: LicenseMessage, context: LicenseClientContext) -> bytes | None:
    """The client's answer to ``msg`` as a whole licensing message, or None when none is due:
    LicenseRequest → NEW_LICENSE_REQUEST, PlatformChallenge → PLATFORM_CHALLENGE_RESPONSE."""
    if isinstance(msg, LicenseRequest):
        return _answer_request(msg, context)
    if isinstance(msg, PlatformChallenge):
        return _answer_challenge(msg, context)
    # 3.3.5.6, 3.3.5.7: after a new or upgraded license licensing is complete, and a probe
    # keeps no license; the valid-client message and errors need no answer either.
    return None


def _answer_request(msg: LicenseRequest, ctx: LicenseClientContext) -> bytes:
    """[MS-RDPELE] 3.3.5.1, 3.3.5.2: a new license request under the server's key."""
    key = license_server_key(msg, ctx.fallback_key)
    client_random = ctx.rng(CLIENT_RANDOM_SIZE)
    premaster = ctx.rng(PREMASTER_SECRET_SIZE)
    encrypted = encrypt_premaster(premaster, key)
    ctx.keys = derive_licensing_keys(premaster, client_random, msg.server_random)
    pdu = new_license_request(client_random, encrypted, ansi_z(ctx.user_name), ansi_z(ctx.machine_name))
    return encode_new_license_request(pdu)


def _answer_challenge(msg: PlatformChallenge, ctx: LicenseClientContext) -> bytes:
    """[MS-RDPELE] 3.3.5.4, 3.3.5.5: prove the keys by echoing the decrypted challenge."""
    if ctx.keys is None:
        raise UnexpectedType("licensing", "PLATFORM_CHALLENGE", "LICENSE_REQUEST")
    challenge = license_rc4(ctx.keys.encryption_key, msg.encrypted_challenge.data)
    if license_mac(ctx.keys.mac_salt_key, challenge) != msg.mac_data:
        raise InvalidField("server platform challenge", "MACData", "mac mismatch")
    return encode_platform_challenge_response(platform_challenge_response(challenge, ctx))


def client_hardware_id(ctx: LicenseClientContext) -> ClientHardwareId:
    """A stable hardware id: the platform id and 16 bytes hashed from the machine name."""
    digest = hashlib.md5(ansi_z(ctx.machine_name), usedforsecurity=False).digest()
    return ClientHardwareId(ctx.platform_id, digest[:HWID_DATA_SIZE])


def platform_challenge_response(challenge: bytes, ctx: LicenseClientContext) -> PlatformChallengeResponse:
    """Encrypt response data and hardware id and MAC both plaintexts (2.2.2.5)."""
    assert ctx.keys is not None
    data = encode_platform_challenge_response_data(PlatformChallengeResponseData(challenge))
    hwid = encode_client_hardware_id(client_hardware_id(ctx))
    key = ctx.keys.encryption_key
    return PlatformChallengeResponse(
        LicenseBlob(BlobType.BB_ENCRYPTED_DATA_BLOB, license_rc4(key, data)),
        LicenseBlob(BlobType.BB_ENCRYPTED_DATA_BLOB, license_rc4(key, hwid)),
        license_mac(ctx.keys.mac_salt_key, data + hwid),
    )
