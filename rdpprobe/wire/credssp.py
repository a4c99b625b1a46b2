"""CredSSP messages and public-key binding ([MS-CSSP] 2.2, 3.1.5).

A TSRequest travels on the TLS stream with no TPKT header: a receiver frames it by its outer
DER SEQUENCE header (``ts_request_frame_length``) and then decodes it::

    TSRequest ::= SEQUENCE {
        version     [0] INTEGER,
        negoTokens  [1] NegoData OPTIONAL,       -- SEQUENCE OF SEQUENCE { negoToken [0] OCTET STRING }
        authInfo    [2] OCTET STRING OPTIONAL,   -- sealed TSCredentials
        pubKeyAuth  [3] OCTET STRING OPTIONAL,
        errorCode   [4] INTEGER OPTIONAL,        -- NTSTATUS
        clientNonce [5] OCTET STRING OPTIONAL }  -- 32 bytes, version 5 and later

Rules of this module:
- pyasn1 objects stay inside: the public API speaks ``TsRequest``/``TsCredentials``/
  ``TsPasswordCreds`` dataclasses and bytes, and every pyasn1 error becomes ``DecodeError``;
- the pyasn1 codec lives in ``credssp_asn1`` and loads on first use: a probe that exchanges
  only canonical TSRequests (every scan) never imports pyasn1; its names are forwarded here;
- the version is an open int (2..6 today; Windows answers a client announcing 96);
- errorCode is an NTSTATUS, which Windows and FreeRDP put on the wire as a signed 32-bit
  INTEGER (``02 04 c0 00 00 6d``); ``TsRequest.error_code`` holds the unsigned value
  (0xC000006D) and the encoder writes it back in the signed form.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rdpprobe.errors import EncodeError, InvalidField, UnexpectedType
from rdpprobe.wire import credssp_fast, der
from rdpprobe.wire.ntstatus import NtStatus

if TYPE_CHECKING:
    from rdpprobe.wire.credssp_asn1 import (
        decode_ts_credentials,
        decode_ts_password_creds,
        decode_ts_request_asn1 as decode_ts_request_asn1,
        encode_ts_credentials,
        encode_ts_password_creds,
        encode_ts_request_asn1 as encode_ts_request_asn1,
        password_credentials,
    )

__all__ = [
    "CLIENT_NONCE_LEN",
    "MAX_TS_REQUEST_LEN",
    "NtStatus",
    "TsCredentials",
    "TsPasswordCreds",
    "TsRequest",
    "client_binding_hash",
    "decode_ts_credentials",
    "decode_ts_password_creds",
    "decode_ts_request",
    "encode_ts_credentials",
    "encode_ts_password_creds",
    "encode_ts_request",
    "increment_le",
    "increment_public_key",
    "password_credentials",
    "server_binding_hash",
    "subject_public_key",
    "ts_request_frame_length",
]

# [MS-CSSP] 2.2.1 and 3.1.5.1.1.
CLIENT_NONCE_LEN = 32  # clientNonce
CLIENT_BINDING_MAGIC = b"CredSSP Client-To-Server Binding Hash\x00"  # hashed with its NUL
SERVER_BINDING_MAGIC = b"CredSSP Server-To-Client Binding Hash\x00"
TS_PASSWORD_CREDS = 1  # [MS-CSSP] 2.2.1.2 credType: TSPasswordCreds
TS_SMART_CARD_CREDS = 2  # credType: TSSmartCardCreds
TS_REMOTE_GUARD_CREDS = 6  # credType: TSRemoteGuardCreds

# A TSRequest carries NTLM or Kerberos tokens and a few sealed keys: even Kerberos tickets
# with a PAC stay far below this. Anything larger is not a TSRequest worth buffering.
MAX_TS_REQUEST_LEN = 64 * 1024

_INT32_SIGN = 1 << 31
_UINT32_RANGE = 1 << 32
_PDU = "ts request"
_MAX_DETAIL = 200  # characters of an error message kept in the DecodeError
#: Names of the pyasn1 codec, forwarded to ``credssp_asn1`` on first use (PEP 562).
_ASN1_NAMES = frozenset({
    "decode_ts_credentials", "decode_ts_password_creds", "decode_ts_request_asn1", "encode_ts_credentials",
    "encode_ts_password_creds", "encode_ts_request_asn1", "password_credentials",
})  # fmt: skip


def __getattr__(name: str) -> Any:
    if name not in _ASN1_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from rdpprobe.wire import credssp_asn1

    return getattr(credssp_asn1, name)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:_MAX_DETAIL] if text else type(exc).__name__


# ---------------------------------------------------------------------------------------
# Framing
# ---------------------------------------------------------------------------------------


def ts_request_frame_length(buf: bytes | bytearray | memoryview) -> int | None:
    """Total length of the TSRequest at the start of ``buf``, or None until its header is complete.

    Raises ``UnexpectedType`` if the first byte is not a DER SEQUENCE and ``InvalidField`` for
    an indefinite, over-long or absurd (> ``MAX_TS_REQUEST_LEN``) length.
    """
    return der_sequence_length(buf, _PDU)


def der_sequence_length(buf: bytes | bytearray | memoryview, pdu: str) -> int | None:
    """Total length of the DER SEQUENCE starting ``buf`` (header included), None if incomplete."""
    if not buf:
        return None
    if buf[0] != der.SEQUENCE:
        raise UnexpectedType(pdu, buf[0], der.SEQUENCE, 0)
    if len(buf) < 2:
        return None
    first = buf[1]
    if first < der.LONG_LENGTH:
        return 2 + first
    count = der.length_octets(first, pdu, 1)
    if len(buf) < 2 + count:
        return None
    total = 2 + count + int.from_bytes(bytes(buf[2 : 2 + count]), "big")
    if total > MAX_TS_REQUEST_LEN:
        raise InvalidField(pdu, "length", f"{total} > {MAX_TS_REQUEST_LEN}", 1)
    return total


# ---------------------------------------------------------------------------------------
# TSRequest
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TsRequest:
    """[MS-CSSP] 2.2.1 TSRequest: the one message CredSSP exchanges, in both directions."""

    version: int
    """Highest CredSSP version the sender supports (2..6)."""
    nego_tokens: tuple[bytes, ...] = ()
    """negoTokens: SPNEGO or raw NTLM tokens; empty when the field is absent."""
    auth_info: bytes | None = None
    """authInfo: the sealed TSCredentials."""
    pub_key_auth: bytes | None = None
    """pubKeyAuth: the sealed public key (v2-4) or binding hash (v5+)."""
    error_code: int | None = None
    """errorCode: an NTSTATUS as an unsigned 32-bit value (``NtStatus`` names it)."""
    client_nonce: bytes | None = None
    """clientNonce: 32 random bytes from a v5+ client."""


def _signed_error_code(value: int) -> int:
    """An NTSTATUS in the signed 32-bit form Windows writes (0xC000006D → -0x3FFFFF93)."""
    if not 0 <= value < _UINT32_RANGE:
        raise EncodeError(f"error code out of range for an ntstatus: {value}")
    return value - _UINT32_RANGE if value >= _INT32_SIGN else value


def _unsigned_error_code(value: int) -> int:
    return value + _UINT32_RANGE if -_INT32_SIGN <= value < 0 else value


def encode_ts_request(req: TsRequest) -> bytes:
    """The DER TSRequest, through the hand-rolled codec (identical bytes to pyasn1's)."""
    error_code = None if req.error_code is None else _signed_error_code(req.error_code)
    return credssp_fast.encode_fields(
        req.version, req.nego_tokens, req.auth_info, req.pub_key_auth, error_code, req.client_nonce
    )


def decode_ts_request(data: bytes) -> TsRequest:
    """Decode one DER TSRequest occupying all of ``data``.

    Canonical input takes the hand-rolled fast path; anything else goes to pyasn1.
    """
    fields = credssp_fast.decode_fields(bytes(data))
    if fields is None:
        from rdpprobe.wire import credssp_asn1

        return credssp_asn1.decode_ts_request_asn1(data)
    version, tokens, auth_info, pub_key_auth, error_code, nonce = fields
    unsigned = None if error_code is None else _unsigned_error_code(error_code)
    return TsRequest(version, tokens, auth_info, pub_key_auth, unsigned, nonce)


# ---------------------------------------------------------------------------------------
# TSCredentials and TSPasswordCreds
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TsCredentials:
    """[MS-CSSP] 2.2.1.2 TSCredentials: typed user credentials, sealed into authInfo."""

    cred_type: int
    """credType: 1 password, 2 smart card, 6 Remote Credential Guard."""
    credentials: bytes = field(repr=False)
    """credentials: the DER encoding of the structure ``cred_type`` names."""


@dataclass(frozen=True, slots=True)
class TsPasswordCreds:
    """[MS-CSSP] 2.2.1.2.1 TSPasswordCreds: domain, user and password (UTF-16LE on the wire)."""

    domain: str
    """domainName."""
    user: str
    """userName."""
    password: str = field(repr=False)
    """password; kept out of repr so it never lands in logs or tracebacks."""


# ---------------------------------------------------------------------------------------
# pubKeyAuth ([MS-CSSP] 3.1.5)
# ---------------------------------------------------------------------------------------


def client_binding_hash(nonce: bytes, public_key: bytes) -> bytes:
    """[MS-CSSP] 3.1.5 v5+: SHA-256(ClientServerHashMagic ‖ clientNonce ‖ SubjectPublicKey)."""
    return hashlib.sha256(CLIENT_BINDING_MAGIC + nonce + public_key).digest()


def server_binding_hash(nonce: bytes, public_key: bytes) -> bytes:
    """[MS-CSSP] 3.1.5 v5+: SHA-256(ServerClientHashMagic ‖ clientNonce ‖ SubjectPublicKey)."""
    return hashlib.sha256(SERVER_BINDING_MAGIC + nonce + public_key).digest()


def increment_le(data: bytes) -> bytes:
    """[MS-CSSP] 3.1.5 v2-4: the server's echo, ``data`` read as a little-endian integer plus one.

    The carry wraps around silently, as in every implementation (FreeRDP ``ap_integer_increment_le``).
    """
    if not data:
        return b""
    value = (int.from_bytes(data, "little") + 1) % (1 << (8 * len(data)))
    return value.to_bytes(len(data), "little")


def increment_public_key(public_key: bytes) -> bytes:
    """[MS-CSSP] 3.1.5 v2-4: what the server seals back, SubjectPublicKey plus one (``increment_le``)."""
    return increment_le(public_key)


def subject_public_key(cert_der: bytes) -> bytes:
    """The contents of the certificate's SubjectPublicKeyInfo BIT STRING ([MS-CSSP] 3.1.5).

    For RSA this is the DER ``RSAPublicKey`` (what OpenSSL ``i2d_PublicKey`` returns), not the
    whole SPKI. Read from the DER (``der.public_key_info``); raises ``DecodeError`` when the
    bytes are not laid out as a certificate.
    """
    return der.public_key_info(cert_der).key

