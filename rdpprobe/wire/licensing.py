"""Licensing PDUs ([MS-RDPBCGR] 2.2.1.12, [MS-RDPELE] 2.2.2): what follows the security
header with SEC_LICENSE_PKT.

Every message starts with a 4-byte preamble: bMsgType(1) flags(1) wMsgSize(2, includes the
preamble). The probe needs to recognise the "Valid Client" shortcut (an ERROR_ALERT with
STATUS_VALID_CLIENT and ST_NO_TRANSITION), tell a real licensing exchange (LICENSE_REQUEST,
PLATFORM_CHALLENGE, NEW_LICENSE) from an error, and let the mock server emit each of them.

Rules of this module:
- wMsgSize must equal the message length (decode consumes exactly), with one known quirk
  accepted: IronRDP's encoder counts the 4-byte basic security header in wMsgSize too
  (``size_quirk`` names it, so that a probe can record it);
- blob types, error codes and state transitions are open code spaces kept raw;
- message types this module does not parse come back as ``UnknownLicenseMessage``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from rdpprobe.errors import EncodeError, InvalidField
from rdpprobe.wire.buffer import Reader, Writer


class LicenseMsgType(enum.IntEnum):
    """[MS-RDPBCGR] 2.2.1.12.1.1 LICENSE_PREAMBLE bMsgType."""

    LICENSE_REQUEST = 0x01
    PLATFORM_CHALLENGE = 0x02
    NEW_LICENSE = 0x03
    UPGRADE_LICENSE = 0x04
    LICENSE_INFO = 0x12
    NEW_LICENSE_REQUEST = 0x13
    PLATFORM_CHALLENGE_RESPONSE = 0x15
    ERROR_ALERT = 0xFF


class LicenseErrorCode(enum.IntEnum):
    """[MS-RDPBCGR] 2.2.1.12.1.3 LICENSE_ERROR_MESSAGE dwErrorCode."""

    ERR_INVALID_SERVER_CERTIFICATE = 0x00000001
    ERR_NO_LICENSE = 0x00000002
    ERR_INVALID_MAC = 0x00000003
    ERR_INVALID_SCOPE = 0x00000004
    ERR_NO_LICENSE_SERVER = 0x00000006
    STATUS_VALID_CLIENT = 0x00000007
    ERR_INVALID_CLIENT = 0x00000008
    ERR_INVALID_PRODUCTID = 0x0000000B
    ERR_INVALID_MESSAGE_LEN = 0x0000000C


class StateTransition(enum.IntEnum):
    """[MS-RDPBCGR] 2.2.1.12.1.3 LICENSE_ERROR_MESSAGE dwStateTransition."""

    ST_TOTAL_ABORT = 0x00000001
    ST_NO_TRANSITION = 0x00000002
    ST_RESET_PHASE_TO_START = 0x00000003
    ST_RESEND_LAST_MESSAGE = 0x00000004


class BlobType(enum.IntEnum):
    """[MS-RDPBCGR] 2.2.1.12.1.2 LICENSE_BINARY_BLOB wBlobType."""

    BB_ANY_BLOB = 0x0000
    BB_DATA_BLOB = 0x0001
    BB_RANDOM_BLOB = 0x0002
    BB_CERTIFICATE_BLOB = 0x0003
    BB_ERROR_BLOB = 0x0004
    BB_ENCRYPTED_DATA_BLOB = 0x0009
    BB_KEY_EXCHG_ALG_BLOB = 0x000D
    BB_SCOPE_BLOB = 0x000E
    BB_CLIENT_USER_NAME_BLOB = 0x000F
    BB_CLIENT_MACHINE_NAME_BLOB = 0x0010


PREAMBLE_VERSION_2_0 = 0x02  # [MS-RDPBCGR] 2.2.1.12.1.1 RDP 4.0
PREAMBLE_VERSION_3_0 = 0x03  # [MS-RDPBCGR] 2.2.1.12.1.1 RDP 5.0 and later
PREAMBLE_VERSION_MASK = 0x0F  # [MS-RDPBCGR] 2.2.1.12.1.1 low nibble of flags
EXTENDED_ERROR_MSG_SUPPORTED = 0x80  # [MS-RDPBCGR] 2.2.1.12.1.1 flags
PREAMBLE_SIZE = 1 + 1 + 2  # bMsgType + flags + wMsgSize
BASIC_SECURITY_HEADER_SIZE = 4  # [MS-RDPBCGR] 2.2.8.1.1.2.1 flags + flagsHi
#: wMsgSize counts the basic security header before the preamble as well as the preamble
#: and the message: IronRDP writes it so (its license error and server license request
#: vectors); 2.2.1.12.1.1, Windows and FreeRDP count the preamble and the message only.
QUIRK_SIZE_COUNTS_SECURITY_HEADER = "wmsgsize_counts_security_header"
ERROR_ALERT = 0xFF  # [MS-RDPBCGR] 2.2.1.12.1.1
STATUS_VALID_CLIENT = 0x00000007  # [MS-RDPBCGR] 2.2.1.12.1.3
ST_NO_TRANSITION = 0x00000002  # [MS-RDPBCGR] 2.2.1.12.1.3
BB_ERROR_BLOB = 0x0004  # [MS-RDPBCGR] 2.2.1.12.1.2
BB_KEY_EXCHG_ALG_BLOB = 0x000D  # [MS-RDPBCGR] 2.2.1.12.1.2
BB_CERTIFICATE_BLOB = 0x0003  # [MS-RDPBCGR] 2.2.1.12.1.2
BB_SCOPE_BLOB = 0x000E  # [MS-RDPBCGR] 2.2.1.12.1.2
BB_ENCRYPTED_DATA_BLOB = 0x0009  # [MS-RDPBCGR] 2.2.1.12.1.2
KEY_EXCHANGE_ALG_RSA = 0x00000001  # [MS-RDPELE] 2.2.2.1 KeyExchangeList entry
LICENSE_RANDOM_SIZE = 32  # [MS-RDPELE] 2.2.2.1 ServerRandom
MAC_DATA_SIZE = 16  # [MS-RDPELE] 2.2.2.4 MACData
PRODUCT_INFO_VERSION = 0x00060000  # [MS-RDPELE] 2.2.2.1.1 dwVersion (RDP 6.0+ servers)
_LIC = "licensing"


@dataclass(frozen=True, slots=True)
class LicenseBlob:
    """[MS-RDPBCGR] 2.2.1.12.1.2 Licensing Binary BLOB (LICENSE_BINARY_BLOB)."""

    blob_type: int
    """wBlobType (``BlobType``)."""
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class LicenseError:
    """[MS-RDPBCGR] 2.2.1.12.1.3 Licensing Error Message (LICENSE_ERROR_MESSAGE).

    Either a licensing failure or, with STATUS_VALID_CLIENT, the "no license needed" end."""

    error_code: int
    state_transition: int
    error_info: LicenseBlob = LicenseBlob(BB_ERROR_BLOB)
    flags: int = PREAMBLE_VERSION_3_0
    """Preamble flags (version in the low nibble)."""


@dataclass(frozen=True, slots=True)
class ProductInfo:
    """[MS-RDPELE] 2.2.2.1.1 Product Information (PRODUCT_INFO)."""

    version: int
    company_name: bytes
    """pbCompanyName, raw (UTF-16LE with NUL in practice)."""
    product_id: bytes


@dataclass(frozen=True, slots=True)
class LicenseRequest:
    """[MS-RDPELE] 2.2.2.1 Server License Request (SERVER_LICENSE_REQUEST).

    The server wants the client to run the licensing exchange."""

    server_random: bytes
    product_info: ProductInfo
    key_exchange_list: LicenseBlob
    """KeyExchangeList: BB_KEY_EXCHG_ALG_BLOB of 32-bit algorithm ids."""
    server_certificate: LicenseBlob
    """ServerCertificate: BB_CERTIFICATE_BLOB, raw server certificate (may be empty)."""
    scopes: tuple[LicenseBlob, ...]
    """ScopeList entries: BB_SCOPE_BLOB, issuer names."""
    flags: int = PREAMBLE_VERSION_3_0


@dataclass(frozen=True, slots=True)
class PlatformChallenge:
    """[MS-RDPELE] 2.2.2.4 Server Platform Challenge (SERVER_PLATFORM_CHALLENGE)."""

    connect_flags: int
    encrypted_challenge: LicenseBlob
    mac_data: bytes
    flags: int = PREAMBLE_VERSION_3_0


@dataclass(frozen=True, slots=True)
class NewLicense:
    """[MS-RDPELE] 2.2.2.6/2.2.2.7 Server New License / Upgrade License.

    ``msg_type`` tells which; the license itself stays encrypted."""

    msg_type: int
    encrypted_license_info: LicenseBlob
    mac_data: bytes
    flags: int = PREAMBLE_VERSION_3_0


@dataclass(frozen=True, slots=True)
class UnknownLicenseMessage:
    """[MS-RDPBCGR] 2.2.1.12.1.1 a licensing message this module does not parse."""

    msg_type: int
    body: bytes
    flags: int = PREAMBLE_VERSION_3_0


LicenseMessage = LicenseError | LicenseRequest | PlatformChallenge | NewLicense | UnknownLicenseMessage


def valid_client_message() -> LicenseError:
    """The License Error PDU – Valid Client the server sends to skip licensing (2.2.1.12)."""
    return LicenseError(STATUS_VALID_CLIENT, ST_NO_TRANSITION)


def is_valid_client(msg: LicenseMessage) -> bool:
    """Whether ``msg`` ends licensing successfully (STATUS_VALID_CLIENT, ST_NO_TRANSITION)."""
    return (
        isinstance(msg, LicenseError)
        and msg.error_code == STATUS_VALID_CLIENT
        and msg.state_transition == ST_NO_TRANSITION
    )


# --- Blobs ---------------------------------------------------------------------------------


def read_blob(r: Reader) -> LicenseBlob:
    blob_type, length = r.u16le(), r.u16le()
    return LicenseBlob(blob_type, r.take(length))


def write_blob(w: Writer, blob: LicenseBlob) -> None:
    w.u16le(blob.blob_type)
    w.u16le(len(blob.data))
    w.write(blob.data)


def _read_counted(r: Reader) -> bytes:
    return r.take(r.u32le())


def _write_counted(w: Writer, data: bytes) -> None:
    w.u32le(len(data))
    w.write(data)


# --- Bodies --------------------------------------------------------------------------------


def _read_error(r: Reader, flags: int) -> LicenseError:
    code, transition = r.u32le(), r.u32le()
    return LicenseError(code, transition, read_blob(r), flags)


def _read_request(r: Reader, flags: int) -> LicenseRequest:
    server_random = r.take(LICENSE_RANDOM_SIZE)
    product = ProductInfo(r.u32le(), _read_counted(r), _read_counted(r))
    key_exchange, certificate = read_blob(r), read_blob(r)
    count = r.u32le()
    # INVARIANT: each scope consumes at least 4 bytes, so the loop is bounded by input.
    scopes = tuple(read_blob(r) for _ in range(count))
    return LicenseRequest(server_random, product, key_exchange, certificate, scopes, flags)


def _read_challenge(r: Reader, flags: int) -> PlatformChallenge:
    connect_flags = r.u32le()
    return PlatformChallenge(connect_flags, read_blob(r), r.take(MAC_DATA_SIZE), flags)


def _read_new_license(r: Reader, msg_type: int, flags: int) -> NewLicense:
    return NewLicense(msg_type, read_blob(r), r.take(MAC_DATA_SIZE), flags)


def _read_body(r: Reader, msg_type: int, flags: int) -> LicenseMessage:
    if msg_type == LicenseMsgType.ERROR_ALERT:
        return _read_error(r, flags)
    if msg_type == LicenseMsgType.LICENSE_REQUEST:
        return _read_request(r, flags)
    if msg_type == LicenseMsgType.PLATFORM_CHALLENGE:
        return _read_challenge(r, flags)
    if msg_type in (LicenseMsgType.NEW_LICENSE, LicenseMsgType.UPGRADE_LICENSE):
        return _read_new_license(r, msg_type, flags)
    return UnknownLicenseMessage(msg_type, r.rest(), flags)


def _write_body(w: Writer, msg: LicenseMessage) -> int:
    """Write the body of ``msg`` and return its bMsgType."""
    if isinstance(msg, LicenseError):
        w.u32le(msg.error_code)
        w.u32le(msg.state_transition)
        write_blob(w, msg.error_info)
        return ERROR_ALERT
    if isinstance(msg, LicenseRequest):
        _write_request(w, msg)
        return LicenseMsgType.LICENSE_REQUEST
    if isinstance(msg, PlatformChallenge):
        w.u32le(msg.connect_flags)
        write_blob(w, msg.encrypted_challenge)
        _write_mac(w, msg.mac_data)
        return LicenseMsgType.PLATFORM_CHALLENGE
    if isinstance(msg, NewLicense):
        write_blob(w, msg.encrypted_license_info)
        _write_mac(w, msg.mac_data)
        return msg.msg_type
    w.write(msg.body)
    return msg.msg_type


def _write_request(w: Writer, msg: LicenseRequest) -> None:
    _write_fixed(w, msg.server_random, LICENSE_RANDOM_SIZE, "server random")
    w.u32le(msg.product_info.version)
    _write_counted(w, msg.product_info.company_name)
    _write_counted(w, msg.product_info.product_id)
    write_blob(w, msg.key_exchange_list)
    write_blob(w, msg.server_certificate)
    w.u32le(len(msg.scopes))
    for scope in msg.scopes:
        write_blob(w, scope)


def _write_mac(w: Writer, mac: bytes) -> None:
    _write_fixed(w, mac, MAC_DATA_SIZE, "mac data")


def _write_fixed(w: Writer, value: bytes, size: int, what: str) -> None:
    if len(value) != size:
        raise EncodeError(f"{what} must be {size} bytes, not {len(value)}")
    w.write(value)


# --- Top level -------------------------------------------------------------------------------


def read_license_pdu(r: Reader) -> LicenseMessage:
    start = r.offset
    msg_type, flags, size = r.u8(), r.u8(), r.u16le()
    if size < PREAMBLE_SIZE:
        raise InvalidField(_LIC, "wMsgSize", f"{size} < {PREAMBLE_SIZE}", start + 2)
    if _counts_security_header(size, PREAMBLE_SIZE + r.remaining):
        size -= BASIC_SECURITY_HEADER_SIZE  # The known quirk (see ``size_quirk``).
    body = r.sub(size - PREAMBLE_SIZE, _LIC)
    msg = _read_body(body, msg_type, flags)
    body.expect_end()
    return msg


def write_license_pdu(w: Writer, msg: LicenseMessage) -> None:
    body = Writer()
    msg_type = _write_body(body, msg)
    w.u8(msg_type)
    w.u8(msg.flags)
    w.u16le(PREAMBLE_SIZE + len(body))
    w.write(bytes(body))


def decode_license_pdu(data: bytes) -> LicenseMessage:
    """A typed licensing message, or ``UnknownLicenseMessage`` for other types."""
    r = Reader(data, _LIC)
    msg = read_license_pdu(r)
    r.expect_end()
    return msg


def _counts_security_header(size: int, available: int) -> bool:
    return size == available + BASIC_SECURITY_HEADER_SIZE


def size_quirk(data: bytes) -> str | None:
    """The known quirk in the wMsgSize of the licensing message ``data`` (preamble first),
    or None when wMsgSize is as [MS-RDPBCGR] 2.2.1.12.1.1 says (or unreadable)."""
    if len(data) < PREAMBLE_SIZE:
        return None
    size = int.from_bytes(data[2:PREAMBLE_SIZE], "little")
    return QUIRK_SIZE_COUNTS_SECURITY_HEADER if _counts_security_header(size, len(data)) else None


def encode_license_pdu(msg: LicenseMessage) -> bytes:
    w = Writer()
    write_license_pdu(w, msg)
    return bytes(w)


def key_exchange_algorithms(blob: LicenseBlob) -> tuple[int, ...]:
    """The 32-bit algorithm ids in a KeyExchangeList blob (KEY_EXCHANGE_ALG_RSA = 1)."""
    r = Reader(blob.data, "license key exchange list")
    return tuple(r.u32le() for _ in range(len(blob.data) // 4))
