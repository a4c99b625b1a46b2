"""X.690 DER elements (8.1): their identifier and length octets, read and written, and the
few walks the probe makes in a server's X.509 certificate (RFC 5280 4.1).

The elements serve CredSSP's TSRequest framing and codec (``credssp``, ``credssp_fast``)
and the mock's certificates. CredSSP binds to the server's public key ([MS-CSSP] 3.1.5) and Standard RDP Security
encrypts the client random with it ([MS-RDPBCGR] 5.3.4): both need the key and nothing else.
It is found by walking the DER instead of parsing the certificate, because a strict X.509
parser refuses certificates that servers present and clients accept (a serial number that
is not positive, for one). The certificate's other fields are ``rdpprobe.certinfo``'s.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdpprobe.errors import InvalidField, UnexpectedType
from rdpprobe.wire.buffer import Reader

# X.690 8.1.2 identifier octets.
SEQUENCE = 0x30  # universal, constructed, tag 16
BIT_STRING = 0x03  # universal, primitive, tag 3
INTEGER = 0x02  # universal, primitive, tag 2
OCTET_STRING = 0x04  # universal, primitive, tag 4
OBJECT_IDENTIFIER = 0x06  # universal, primitive, tag 6
CONTEXT_CONSTRUCTED = 0xA0  # [n] EXPLICIT is CONTEXT_CONSTRUCTED | n
VERSION_TAG = CONTEXT_CONSTRUCTED | 0  # tbsCertificate's version: [0] EXPLICIT, optional
# X.690 8.1.3 length octets.
LONG_LENGTH = 0x80  # bit 8 set: long form, low bits count the length octets
MAX_LENGTH_OCTETS = 4  # the most this codebase reads: lengths up to 4 GiB
#: RFC 5280 4.1: what tbsCertificate holds between its version and subjectPublicKeyInfo
#: (serialNumber, signature, issuer, validity, subject).
TBS_FIELDS_BEFORE_KEY = (INTEGER, SEQUENCE, SEQUENCE, SEQUENCE, SEQUENCE)
#: rsaEncryption, 1.2.840.113549.1.1.1 (RFC 8017 A.1), as the contents of its OID.
RSA_ENCRYPTION_OID = bytes.fromhex("2a864886f70d010101")


@dataclass(frozen=True, slots=True)
class PublicKeyInfo:
    """X.509 SubjectPublicKeyInfo: the algorithm's OID (its DER contents) and the key's bits."""

    algorithm: bytes
    key: bytes
    """The BIT STRING's contents: for RSA the DER ``RSAPublicKey``, for EC the point."""


def length_octets(first: int, pdu: str, offset: int) -> int:
    """How many length octets follow ``first``, a long-form first length octet (X.690
    8.1.3.5); the indefinite form (0x80, 8.1.3.6), which DER forbids, and lengths of more
    than ``MAX_LENGTH_OCTETS`` are refused."""
    count = first & ~LONG_LENGTH
    if count == 0 or count > MAX_LENGTH_OCTETS:
        raise InvalidField(pdu, "length", f"unsupported length form 0x{first:02x}", offset)
    return count


def read_length(r: Reader) -> int:
    """The length octets at ``r`` (X.690 8.1.3): the short form or the long form."""
    first = r.u8()
    if first < LONG_LENGTH:
        return first
    return int.from_bytes(r.take(length_octets(first, r.pdu, r.offset - 1)), "big")


def element(r: Reader, expected_tag: int) -> Reader:
    """The contents of the next DER element, which must carry ``expected_tag``."""
    got = r.u8()
    if got != expected_tag:
        raise UnexpectedType(r.pdu, got, expected_tag, r.offset - 1)
    return r.sub(read_length(r))


def children(encoded: bytes, pdu: str) -> list[bytes]:
    """The elements inside the constructed element ``encoded``, each whole (identifier,
    length and contents), in order."""
    r = Reader(encoded, pdu)
    r.u8()
    contents = r.take(read_length(r))
    body = Reader(contents, pdu)
    found: list[bytes] = []
    while body.remaining:
        start = body.offset
        body.u8()
        body.skip(read_length(body))
        found.append(contents[start : body.offset])
    return found


def tlv(tag: int, contents: bytes) -> bytes:
    """One DER element: ``tag``, the minimal definite length (X.690 10.1) and ``contents``."""
    size = len(contents)
    if size < LONG_LENGTH:
        return bytes((tag, size)) + contents
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, LONG_LENGTH | len(octets))) + octets + contents


def public_key_info(cert_der: bytes) -> PublicKeyInfo:
    """The certificate's SubjectPublicKeyInfo; ``DecodeError`` when the bytes are not laid
    out as a certificate."""
    tbs = element(element(Reader(cert_der, "x509 certificate"), SEQUENCE), SEQUENCE)
    if tbs.remaining and tbs.peek_u8() == VERSION_TAG:
        element(tbs, VERSION_TAG)
    for tag in TBS_FIELDS_BEFORE_KEY:
        element(tbs, tag)
    spki = element(tbs, SEQUENCE)
    algorithm = element(element(spki, SEQUENCE), OBJECT_IDENTIFIER).rest()
    bits = element(spki, BIT_STRING)
    unused = bits.u8()
    if unused:
        raise InvalidField(bits.pdu, "bit string", f"{unused} unused bits")
    return PublicKeyInfo(algorithm, bits.rest())


def rsa_public_key(info: PublicKeyInfo) -> tuple[int, int]:
    """The modulus and public exponent of an rsaEncryption key (RFC 8017 A.1.1 RSAPublicKey)."""
    if info.algorithm != RSA_ENCRYPTION_OID:
        raise InvalidField("subject public key info", "algorithm", "not rsaEncryption")
    body = element(Reader(info.key, "rsa public key"), SEQUENCE)
    modulus = int.from_bytes(element(body, INTEGER).rest(), "big", signed=True)
    exponent = int.from_bytes(element(body, INTEGER).rest(), "big", signed=True)
    if modulus <= 0 or exponent <= 0:
        raise InvalidField("rsa public key", "modulus or exponent", "not positive")
    return modulus, exponent
