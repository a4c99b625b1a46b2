"""A hand-rolled DER codec for TSRequest ([MS-CSSP] 2.2.1), the hot path of an NLA probe.

``credssp`` keeps the pyasn1 codec as the reference: the encoder here is byte-for-byte the
same DER (property-tested), and the decoder accepts only the canonical DER shape of a
TSRequest, returning None on anything else so that the caller falls back to pyasn1, which
then decodes it or raises the proper ``DecodeError``. Layout (all tags explicit)::

    30 len                      TSRequest SEQUENCE
       a0 len 02 len INT        [0] version
       a1 len 30 len            [1] negoTokens: SEQUENCE OF
              30 len a0 len 04 len OCTETS     NegoDataItem { [0] negoToken }
       a2 len 04 len OCTETS     [2] authInfo
       a3 len 04 len OCTETS     [3] pubKeyAuth
       a4 len 02 len INT        [4] errorCode (signed 32-bit on the wire)
       a5 len 04 len OCTETS     [5] clientNonce

This module imports nothing from ``credssp`` and speaks plain values, so ``credssp`` can use
it without an import cycle; X.690's constants and element encoder are ``der``'s.
"""

from __future__ import annotations

from rdpprobe.wire.der import CONTEXT_CONSTRUCTED, INTEGER, LONG_LENGTH, MAX_LENGTH_OCTETS, OCTET_STRING, SEQUENCE, tlv

SIGN_BIT = 0x80
# TSRequest field numbers ([MS-CSSP] 2.2.1).
VERSION, NEGO_TOKENS, AUTH_INFO, PUB_KEY_AUTH, ERROR_CODE, CLIENT_NONCE = range(6)
OCTET_FIELDS = (AUTH_INFO, PUB_KEY_AUTH, CLIENT_NONCE)

Fields = tuple[int, tuple[bytes, ...], "bytes | None", "bytes | None", "int | None", "bytes | None"]
"""(version, nego_tokens, auth_info, pub_key_auth, error_code as signed, client_nonce)."""


class _Unusual(Exception):
    """Internal: not canonical DER of a TSRequest; the caller falls back to pyasn1."""


# --- Encoding ------------------------------------------------------------------------------


def _integer(value: int) -> bytes:
    """X.690 8.3: minimal two's complement."""
    size = ((value if value >= 0 else ~value).bit_length() + 8) // 8
    return tlv(INTEGER, value.to_bytes(size, "big", signed=True))


def _explicit(number: int, inner: bytes) -> bytes:
    return tlv(CONTEXT_CONSTRUCTED | number, inner)


def encode_fields(
    version: int,
    nego_tokens: tuple[bytes, ...] = (),
    auth_info: bytes | None = None,
    pub_key_auth: bytes | None = None,
    error_code: int | None = None,
    client_nonce: bytes | None = None,
) -> bytes:
    """The DER TSRequest; ``error_code`` is already in its signed wire form."""
    parts = [_explicit(VERSION, _integer(version))]
    if nego_tokens:
        items = b"".join(tlv(SEQUENCE, _explicit(0, tlv(OCTET_STRING, token))) for token in nego_tokens)
        parts.append(_explicit(NEGO_TOKENS, tlv(SEQUENCE, items)))
    for number, value in ((AUTH_INFO, auth_info), (PUB_KEY_AUTH, pub_key_auth)):
        if value is not None:
            parts.append(_explicit(number, tlv(OCTET_STRING, value)))
    if error_code is not None:
        parts.append(_explicit(ERROR_CODE, _integer(error_code)))
    if client_nonce is not None:
        parts.append(_explicit(CLIENT_NONCE, tlv(OCTET_STRING, client_nonce)))
    return tlv(SEQUENCE, b"".join(parts))


# --- Decoding ------------------------------------------------------------------------------


def _read(data: bytes, pos: int, end: int, tag: int) -> tuple[int, int]:
    """(body start, body end) of the TLV at ``pos`` with identifier ``tag``, canonical only."""
    if pos + 2 > end or data[pos] != tag:
        raise _Unusual
    first = data[pos + 1]
    start = pos + 2
    if first >= LONG_LENGTH:
        count = first & ~LONG_LENGTH
        if not 0 < count <= MAX_LENGTH_OCTETS or start + count > end or data[start] == 0:
            raise _Unusual
        size = int.from_bytes(data[start : start + count], "big")
        start += count
        if size < LONG_LENGTH:
            raise _Unusual
    else:
        size = first
    if start + size > end:
        raise _Unusual
    return start, start + size


def _only(data: bytes, pos: int, end: int, tag: int) -> tuple[int, int]:
    """The single TLV filling ``data[pos:end]`` exactly."""
    start, stop = _read(data, pos, end, tag)
    if stop != end:
        raise _Unusual
    return start, stop


def _int_body(body: bytes) -> int:
    if not body:
        raise _Unusual
    if len(body) > 1 and body[0] in (0x00, 0xFF) and (body[0] == 0xFF) == (body[1] >= SIGN_BIT):
        raise _Unusual  # X.690 8.3.2: the first nine bits must not be all zeros or all ones.
    return int.from_bytes(body, "big", signed=True)


def _tokens(data: bytes, start: int, end: int) -> tuple[bytes, ...]:
    inner, stop = _only(data, start, end, SEQUENCE)
    tokens = []
    while inner < stop:
        item, item_end = _read(data, inner, stop, SEQUENCE)
        wrapped, _ = _only(data, item, item_end, CONTEXT_CONSTRUCTED)
        body, body_end = _only(data, wrapped, item_end, OCTET_STRING)
        tokens.append(data[body:body_end])
        inner = item_end
    if not tokens:
        raise _Unusual
    return tuple(tokens)


def _field(data: bytes, number: int, start: int, end: int) -> object:
    if number == NEGO_TOKENS:
        return _tokens(data, start, end)
    if number in OCTET_FIELDS:
        body, body_end = _only(data, start, end, OCTET_STRING)
        return data[body:body_end]
    body, body_end = _only(data, start, end, INTEGER)
    return _int_body(data[body:body_end])


def decode_fields(data: bytes) -> Fields | None:
    """The fields of the canonical DER TSRequest filling ``data``, or None (use pyasn1)."""
    try:
        return _decode(data)
    except _Unusual:
        return None


def _decode(data: bytes) -> Fields:
    pos, end = _only(data, 0, len(data), SEQUENCE)
    values: list[object] = [None] * 6
    last = -1
    while pos < end:
        number = data[pos] - CONTEXT_CONSTRUCTED
        if not last < number <= CLIENT_NONCE:
            raise _Unusual
        start, stop = _read(data, pos, end, CONTEXT_CONSTRUCTED | number)
        values[number] = _field(data, number, start, stop)
        last, pos = number, stop
    if values[VERSION] is None:
        raise _Unusual
    tokens = values[NEGO_TOKENS] or ()
    return (values[0], tokens, values[2], values[3], values[4], values[5])  # type: ignore[return-value]
