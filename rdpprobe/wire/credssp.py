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
- the version is an open int (2..6 today; Windows answers a client announcing 96);
- errorCode is an NTSTATUS, which Windows and FreeRDP put on the wire as a signed 32-bit
  INTEGER (``02 04 c0 00 00 6d``); ``TsRequest.error_code`` holds the unsigned value
  (0xC000006D) and the encoder writes it back in the signed form.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TypeVar, cast

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from pyasn1.codec.der import decoder as der_decoder
from pyasn1.codec.der import encoder as der_encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import base, namedtype, tag, univ

from rdpprobe.errors import EncodeError, InvalidField, UnexpectedType
from rdpprobe.wire import credssp_fast
from rdpprobe.wire.buffer import Reader
from rdpprobe.wire.ntstatus import NtStatus

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

# X.690 8.1 identifier and length octets used for framing.
DER_SEQUENCE = 0x30  # universal, constructed, tag 16
DER_BIT_STRING = 0x03  # universal, primitive, tag 3
DER_LONG_LENGTH = 0x80  # bit 8 set: long form, low bits count the length octets
MAX_LENGTH_OCTETS = 4
# A TSRequest carries NTLM or Kerberos tokens and a few sealed keys: even Kerberos tickets
# with a PAC stay far below this. Anything larger is not a TSRequest worth buffering.
MAX_TS_REQUEST_LEN = 64 * 1024

_INT32_SIGN = 1 << 31
_UINT32_RANGE = 1 << 32
_PDU = "ts request"


# ---------------------------------------------------------------------------------------
# pyasn1 specifications (private)
# ---------------------------------------------------------------------------------------


def _ctx(n: int) -> tag.Tag:
    return tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, n)


_Asn1 = TypeVar("_Asn1", base.SimpleAsn1Type, base.ConstructedAsn1Type)


def _explicit(n: int, asn1: _Asn1) -> _Asn1:
    return cast(_Asn1, asn1.subtype(explicitTag=_ctx(n)))  # type: ignore[no-untyped-call]


class _NegoDataItem(univ.Sequence):
    componentType = namedtype.NamedTypes(namedtype.NamedType("negoToken", _explicit(0, univ.OctetString())))


class _NegoData(univ.SequenceOf):
    componentType = _NegoDataItem()


class _TSRequest(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("version", _explicit(0, univ.Integer())),
        namedtype.OptionalNamedType("negoTokens", _explicit(1, _NegoData())),
        namedtype.OptionalNamedType("authInfo", _explicit(2, univ.OctetString())),
        namedtype.OptionalNamedType("pubKeyAuth", _explicit(3, univ.OctetString())),
        namedtype.OptionalNamedType("errorCode", _explicit(4, univ.Integer())),
        namedtype.OptionalNamedType("clientNonce", _explicit(5, univ.OctetString())),
    )


class _TSCredentials(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("credType", _explicit(0, univ.Integer())),
        namedtype.NamedType("credentials", _explicit(1, univ.OctetString())),
    )


class _TSPasswordCreds(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("domainName", _explicit(0, univ.OctetString())),
        namedtype.NamedType("userName", _explicit(1, univ.OctetString())),
        namedtype.NamedType("password", _explicit(2, univ.OctetString())),
    )


# pyasn1 signals bad input with PyAsn1Error; the others guard against its internals.
_PYASN1_FAILURES = (PyAsn1Error, ValueError, TypeError, IndexError, KeyError, OverflowError, RecursionError)
_MAX_DETAIL = 200  # characters of a pyasn1 message kept in the DecodeError


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:_MAX_DETAIL] if text else type(exc).__name__


def _der_decode(data: bytes, spec: univ.Sequence, pdu: str) -> univ.Sequence:
    """Decode exactly ``data`` with pyasn1, turning every failure into ``DecodeError``."""
    frame = der_sequence_length(data, pdu)
    if frame is None or frame != len(data):
        raise InvalidField(pdu, "length", f"der sequence of {frame} bytes in {len(data)} bytes", 0)
    try:
        value, rest = der_decoder.decode(data, asn1Spec=spec)
    except _PYASN1_FAILURES as exc:
        raise InvalidField(pdu, "der", _first_line(exc)) from exc
    if rest:
        raise InvalidField(pdu, "length", f"{len(rest)} trailing bytes", len(data) - len(rest))
    return cast(univ.Sequence, value)


def _der_encode(value: univ.Sequence) -> bytes:
    try:
        return bytes(der_encoder.encode(value))
    except PyAsn1Error as exc:
        raise EncodeError(f"der encoding failed: {exc}") from exc


def _optional_bytes(seq: univ.Sequence, name: str) -> bytes | None:
    item = seq[name]
    return bytes(item) if item.isValue else None


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
    if buf[0] != DER_SEQUENCE:
        raise UnexpectedType(pdu, buf[0], DER_SEQUENCE, 0)
    if len(buf) < 2:
        return None
    first = buf[1]
    if first < DER_LONG_LENGTH:
        return 2 + first
    count = first & ~DER_LONG_LENGTH
    if count == 0 or count > MAX_LENGTH_OCTETS:
        raise InvalidField(pdu, "length", f"unsupported length form 0x{first:02x}", 1)
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


def encode_ts_request_asn1(req: TsRequest) -> bytes:
    """The reference pyasn1 encoder of ``encode_ts_request``."""
    asn = _TSRequest()
    asn["version"] = req.version
    if req.nego_tokens:
        tokens = asn["negoTokens"]
        for i, token in enumerate(req.nego_tokens):
            tokens[i]["negoToken"] = token
    for name, value in (("authInfo", req.auth_info), ("pubKeyAuth", req.pub_key_auth)):
        if value is not None:
            asn[name] = value
    if req.error_code is not None:
        asn["errorCode"] = _signed_error_code(req.error_code)
    if req.client_nonce is not None:
        asn["clientNonce"] = req.client_nonce
    return _der_encode(asn)


def decode_ts_request(data: bytes) -> TsRequest:
    """Decode one DER TSRequest occupying all of ``data``.

    Canonical input takes the hand-rolled fast path; anything else goes to pyasn1.
    """
    fields = credssp_fast.decode_fields(bytes(data))
    if fields is None:
        return decode_ts_request_asn1(data)
    version, tokens, auth_info, pub_key_auth, error_code, nonce = fields
    unsigned = None if error_code is None else _unsigned_error_code(error_code)
    return TsRequest(version, tokens, auth_info, pub_key_auth, unsigned, nonce)


def decode_ts_request_asn1(data: bytes) -> TsRequest:
    """The reference pyasn1 decoder of ``decode_ts_request``."""
    asn = _der_decode(bytes(data), _TSRequest(), _PDU)
    tokens = asn["negoTokens"]
    error_code = asn["errorCode"]
    return TsRequest(
        version=int(asn["version"]),
        nego_tokens=tuple(bytes(item["negoToken"]) for item in tokens) if tokens.isValue else (),
        auth_info=_optional_bytes(asn, "authInfo"),
        pub_key_auth=_optional_bytes(asn, "pubKeyAuth"),
        error_code=_unsigned_error_code(int(error_code)) if error_code.isValue else None,
        client_nonce=_optional_bytes(asn, "clientNonce"),
    )


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


def encode_ts_credentials(creds: TsCredentials | TsPasswordCreds) -> bytes:
    """TSCredentials; a ``TsPasswordCreds`` is wrapped with credType 1 (``password_credentials``)."""
    if isinstance(creds, TsPasswordCreds):
        creds = TsCredentials(TS_PASSWORD_CREDS, encode_ts_password_creds(creds))
    asn = _TSCredentials()
    asn["credType"] = creds.cred_type
    asn["credentials"] = creds.credentials
    return _der_encode(asn)


def decode_ts_credentials(data: bytes) -> TsCredentials:
    asn = _der_decode(bytes(data), _TSCredentials(), "ts credentials")
    return TsCredentials(int(asn["credType"]), bytes(asn["credentials"]))


def _utf16le(value: str) -> bytes:
    try:
        return value.encode("utf-16-le")
    except UnicodeEncodeError as exc:
        raise EncodeError(f"string not encodable as utf-16: {exc.reason}") from exc


def encode_ts_password_creds(creds: TsPasswordCreds) -> bytes:
    asn = _TSPasswordCreds()
    asn["domainName"] = _utf16le(creds.domain)
    asn["userName"] = _utf16le(creds.user)
    asn["password"] = _utf16le(creds.password)
    return _der_encode(asn)


def _text(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-16-le")
    except UnicodeDecodeError as exc:
        raise InvalidField("ts password creds", name, "not utf-16le") from exc


def decode_ts_password_creds(data: bytes) -> TsPasswordCreds:
    asn = _der_decode(bytes(data), _TSPasswordCreds(), "ts password creds")
    return TsPasswordCreds(
        domain=_text(bytes(asn["domainName"]), "domain name"),
        user=_text(bytes(asn["userName"]), "user name"),
        password=_text(bytes(asn["password"]), "password"),
    )


def password_credentials(creds: TsPasswordCreds) -> bytes:
    """The complete TSCredentials (credType 1) for ``creds``: what a client seals into authInfo."""
    return encode_ts_credentials(creds)


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
    whole SPKI. Raises ``DecodeError`` for anything that is not a parseable certificate.
    """
    try:
        cert = x509.load_der_x509_certificate(cert_der)
        spki = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    except (ValueError, TypeError) as exc:
        raise InvalidField("x509 certificate", "der", _first_line(exc)) from exc
    except UnsupportedAlgorithm as exc:
        raise InvalidField("x509 certificate", "public key", _first_line(exc)) from exc
    return _spki_bit_string(spki)


def _der_tlv(r: Reader, expected_tag: int) -> Reader:
    """The contents of the next DER element, which must carry ``expected_tag``."""
    got = r.u8()
    if got != expected_tag:
        raise UnexpectedType(r.pdu, got, expected_tag, r.offset - 1)
    first = r.u8()
    if first < DER_LONG_LENGTH:
        return r.sub(first)
    count = first & ~DER_LONG_LENGTH
    if count == 0 or count > MAX_LENGTH_OCTETS:
        raise InvalidField(r.pdu, "length", f"unsupported length form 0x{first:02x}", r.offset - 1)
    return r.sub(int.from_bytes(r.take(count), "big"))


def _spki_bit_string(spki: bytes) -> bytes:
    """X.509 SubjectPublicKeyInfo ::= SEQUENCE { algorithm SEQUENCE, subjectPublicKey BIT STRING }."""
    body = _der_tlv(Reader(spki, "subject public key info"), DER_SEQUENCE)
    _der_tlv(body, DER_SEQUENCE)  # algorithm
    bits = _der_tlv(body, DER_BIT_STRING)
    unused = bits.u8()
    if unused:
        raise InvalidField(bits.pdu, "bit string", f"{unused} unused bits")
    return bits.rest()

