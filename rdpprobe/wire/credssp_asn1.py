"""CredSSP's pyasn1 half: the reference DER codec of TSRequest, TSCredentials and TSPasswordCreds.

``credssp`` encodes and decodes TSRequest with the hand-rolled ``credssp_fast`` and comes here
only for input that is not canonical DER, and for the TSCredentials a full logon seals. The
codec lives apart so that pyasn1 loads only then: a scan never pays for importing it. Import
these names from ``credssp``, which forwards them here on first use.
"""

from __future__ import annotations

from typing import TypeVar, cast

from pyasn1.codec.der import decoder as der_decoder
from pyasn1.codec.der import encoder as der_encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import base, namedtype, tag, univ

from rdpprobe.errors import EncodeError, InvalidField
from rdpprobe.wire.credssp import (
    _PDU,
    TS_PASSWORD_CREDS,
    TsCredentials,
    TsPasswordCreds,
    TsRequest,
    _first_line,
    _signed_error_code,
    _unsigned_error_code,
    der_sequence_length,
)

# ---------------------------------------------------------------------------------------
# pyasn1 specifications (private)
# ---------------------------------------------------------------------------------------


def _ctx(n: int) -> tag.Tag:
    return tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, n)


_Asn1 = TypeVar("_Asn1", base.SimpleAsn1Type, base.ConstructedAsn1Type)


def _explicit(n: int, asn1: _Asn1) -> _Asn1:
    return cast(_Asn1, asn1.subtype(explicitTag=_ctx(n)))  # type: ignore[no-untyped-call, unused-ignore]  # typed only with types-pyasn1


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
# TSRequest
# ---------------------------------------------------------------------------------------


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
