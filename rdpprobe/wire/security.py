"""Standard RDP Security framing: security headers, the Security Exchange PDU and the
server certificate carried in the Server Security Data ([MS-RDPBCGR] 2.2.1.4.3, 2.2.1.10,
2.2.8.1.1.2).

Security headers precede the PDU inside the MCS Send Data Request/Indication userData::

    basic  (4):  flags(2) flagsHi(2)
    non-FIPS (12): flags(2) flagsHi(2) dataSignature(8)
    FIPS  (16): flags(2) flagsHi(2) length(2)=0x10 version(1) padlen(1) dataSignature(8)

Rules of this module:
- which header follows is decided by SEC_ENCRYPT in ``flags`` (and the FIPS method, which the
  caller knows from the Server Security Data), as FreeRDP does;
- flags are kept raw (``SecFlags`` names them); ``flagsHi`` is kept raw and never checked
  (the spec example 4.1.11 carries 0x0302 there);
- the RSA modulus and signature are little-endian and carry 8 zero bytes of padding, kept
  as part of the raw byte fields so that encode(decode(x)) == x;
- no cryptography here: see ``rdpcrypto`` for RSA, RC4, MACs and key derivation.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from rdpprobe.errors import EncodeError, InvalidField, UnexpectedType, UnsupportedVersion
from rdpprobe.wire.buffer import Reader, Writer

# --- Security header flags ([MS-RDPBCGR] 2.2.8.1.1.2.1) ---------------------------------


class SecFlags(enum.IntFlag):
    """[MS-RDPBCGR] 2.2.8.1.1.2.1 Basic Security Header flags (SEC_*)."""

    SEC_EXCHANGE_PKT = 0x0001
    SEC_TRANSPORT_REQ = 0x0002
    SEC_TRANSPORT_RSP = 0x0004
    SEC_ENCRYPT = 0x0008
    SEC_RESET_SEQNO = 0x0010
    SEC_IGNORE_SEQNO = 0x0020
    SEC_INFO_PKT = 0x0040
    SEC_LICENSE_PKT = 0x0080
    SEC_LICENSE_ENCRYPT = 0x0200  # SEC_LICENSE_ENCRYPT_CS and SEC_LICENSE_ENCRYPT_SC share the bit.
    SEC_REDIRECTION_PKT = 0x0400
    SEC_SECURE_CHECKSUM = 0x0800
    SEC_AUTODETECT_REQ = 0x1000
    SEC_AUTODETECT_RSP = 0x2000
    SEC_HEARTBEAT = 0x4000
    SEC_FLAGSHI_VALID = 0x8000


SEC_EXCHANGE_PKT = 0x0001  # [MS-RDPBCGR] 2.2.8.1.1.2.1
SEC_ENCRYPT = 0x0008  # [MS-RDPBCGR] 2.2.8.1.1.2.1
SEC_INFO_PKT = 0x0040  # [MS-RDPBCGR] 2.2.8.1.1.2.1
SEC_LICENSE_PKT = 0x0080  # [MS-RDPBCGR] 2.2.8.1.1.2.1
SEC_LICENSE_ENCRYPT = 0x0200  # [MS-RDPBCGR] 2.2.8.1.1.2.1 SEC_LICENSE_ENCRYPT_CS / _SC
SEC_REDIRECTION_PKT = 0x0400  # [MS-RDPBCGR] 2.2.8.1.1.2.1
SEC_SECURE_CHECKSUM = 0x0800  # [MS-RDPBCGR] 2.2.8.1.1.2.1

BASIC_SECURITY_HEADER_SIZE = 2 + 2  # flags + flagsHi
DATA_SIGNATURE_SIZE = 8  # [MS-RDPBCGR] 2.2.8.1.1.2.2 dataSignature
NON_FIPS_SECURITY_HEADER_SIZE = BASIC_SECURITY_HEADER_SIZE + DATA_SIGNATURE_SIZE
FIPS_HEADER_LENGTH = 0x10  # [MS-RDPBCGR] 2.2.8.1.1.2.3 length MUST be 0x10
TSFIPS_VERSION1 = 0x01  # [MS-RDPBCGR] 2.2.8.1.1.2.3 version

# --- Server certificate ([MS-RDPBCGR] 2.2.1.4.3.1) ---------------------------------------

CERT_CHAIN_VERSION_1 = 0x00000001  # [MS-RDPBCGR] 2.2.1.4.3.1 proprietary certificate
CERT_CHAIN_VERSION_2 = 0x00000002  # [MS-RDPBCGR] 2.2.1.4.3.1 X.509 certificate chain
CERT_VERSION_MASK = 0x7FFFFFFF  # [MS-RDPBCGR] 2.2.1.4.3.1 low 31 bits are the version
CERT_TEMPORARY = 0x80000000  # [MS-RDPBCGR] 2.2.1.4.3.1 t bit: temporarily issued
SIGNATURE_ALG_RSA = 0x00000001  # [MS-RDPBCGR] 2.2.1.4.3.1.1 dwSigAlgId
KEY_EXCHANGE_ALG_RSA = 0x00000001  # [MS-RDPBCGR] 2.2.1.4.3.1.1 dwKeyAlgId
BB_RSA_KEY_BLOB = 0x0006  # [MS-RDPBCGR] 2.2.1.4.3.1.1 wPublicKeyBlobType
BB_RSA_SIGNATURE_BLOB = 0x0008  # [MS-RDPBCGR] 2.2.1.4.3.1.1 wSignatureBlobType
RSA1_MAGIC = 0x31415352  # [MS-RDPBCGR] 2.2.1.4.3.1.1.1 "RSA1"
RSA_KEY_HEADER_SIZE = 4 + 4 + 4 + 4 + 4  # magic + keylen + bitlen + datalen + pubExp
RSA_PADDING_SIZE = 8  # [MS-RDPBCGR] 2.2.1.4.3.1.1.1 modulus is followed by 8 zero bytes
X509_PADDING_BASE = 8  # [MS-RDPBCGR] 2.2.1.4.3.1.2 padding is 8 + 4 * NumCertBlobs bytes
X509_PADDING_PER_CERT = 4  # [MS-RDPBCGR] 2.2.1.4.3.1.2

_SEC = "security header"


@dataclass(frozen=True, slots=True)
class BasicSecurityHeader:
    """[MS-RDPBCGR] 2.2.8.1.1.2.1 Basic Security Header (TS_SECURITY_HEADER).

    Precedes unencrypted PDUs that still need a header (Client Info, licensing)."""

    flags: int
    """flags: SEC_* bits (``SecFlags``)."""
    flags_hi: int = 0
    """flagsHi: reserved, kept raw."""


@dataclass(frozen=True, slots=True)
class NonFipsSecurityHeader:
    """[MS-RDPBCGR] 2.2.8.1.1.2.2 Non-FIPS Security Header (TS_SECURITY_HEADER1).

    Precedes RC4-encrypted PDUs; ``data_signature`` is the MAC of the plaintext."""

    flags: int
    flags_hi: int
    data_signature: bytes
    """dataSignature: 8 bytes (5.3.6.1)."""


@dataclass(frozen=True, slots=True)
class FipsSecurityHeader:
    """[MS-RDPBCGR] 2.2.8.1.1.2.3 FIPS Security Header (TS_SECURITY_HEADER2).

    Precedes 3DES-encrypted PDUs when ENCRYPTION_METHOD_FIPS is in force."""

    flags: int
    flags_hi: int
    pad_len: int
    """padlen: bytes of padding added to the plaintext before encryption."""
    data_signature: bytes
    length: int = FIPS_HEADER_LENGTH
    version: int = TSFIPS_VERSION1


SecurityHeader = BasicSecurityHeader | NonFipsSecurityHeader | FipsSecurityHeader


@dataclass(frozen=True, slots=True)
class SecuredPdu:
    """[MS-RDPBCGR] 2.2.8.1.1.2 security header followed by the (possibly encrypted) PDU.

    The userData of an MCS Send Data Request/Indication under Standard RDP Security, and of
    Client Info / licensing PDUs under Enhanced RDP Security."""

    header: SecurityHeader
    payload: bytes
    """The bytes after the header; ciphertext when SEC_ENCRYPT is set."""


def read_security_header(r: Reader, fips: bool = False) -> SecurityHeader:
    """Read the header the flags call for: basic without SEC_ENCRYPT, else non-FIPS or FIPS."""
    flags, flags_hi = r.u16le(), r.u16le()
    if not flags & SEC_ENCRYPT:
        return BasicSecurityHeader(flags, flags_hi)
    if not fips:
        return NonFipsSecurityHeader(flags, flags_hi, r.take(DATA_SIGNATURE_SIZE))
    length, version, pad_len = r.u16le(), r.u8(), r.u8()
    return FipsSecurityHeader(flags, flags_hi, pad_len, r.take(DATA_SIGNATURE_SIZE), length, version)


def write_security_header(w: Writer, header: SecurityHeader) -> None:
    w.u16le(header.flags)
    w.u16le(header.flags_hi)
    if isinstance(header, FipsSecurityHeader):
        w.u16le(header.length)
        w.u8(header.version)
        w.u8(header.pad_len)
    if not isinstance(header, BasicSecurityHeader):
        _write_fixed(w, header.data_signature, DATA_SIGNATURE_SIZE, "data signature")


def decode_secured_pdu(data: bytes, fips: bool = False) -> SecuredPdu:
    r = Reader(data, _SEC)
    header = read_security_header(r, fips)
    return SecuredPdu(header, r.rest())


def encode_secured_pdu(pdu: SecuredPdu) -> bytes:
    w = Writer()
    write_security_header(w, pdu.header)
    w.write(pdu.payload)
    return bytes(w)


# --- Security Exchange PDU ([MS-RDPBCGR] 2.2.1.10.1) --------------------------------------

_SECX = "security exchange"


@dataclass(frozen=True, slots=True)
class SecurityExchange:
    """[MS-RDPBCGR] 2.2.1.10.1 Security Exchange PDU Data (TS_SECURITY_PACKET).

    Carries the client random encrypted with the server's RSA key (5.3.4.1)."""

    encrypted_client_random: bytes
    """encryptedClientRandom without its 8 zero bytes of padding (little-endian)."""
    flags: int = SEC_EXCHANGE_PKT | SEC_LICENSE_ENCRYPT
    flags_hi: int = 0


def read_security_exchange(r: Reader) -> SecurityExchange:
    flags, flags_hi = r.u16le(), r.u16le()
    if not flags & SEC_EXCHANGE_PKT:
        raise UnexpectedType(_SECX, flags, "SEC_EXCHANGE_PKT", 0)
    length = r.u32le()
    if length < RSA_PADDING_SIZE:
        raise InvalidField(_SECX, "length", f"{length} < {RSA_PADDING_SIZE}", r.offset - 4)
    value = r.take(length)
    if any(value[-RSA_PADDING_SIZE:]):
        raise InvalidField(_SECX, "encryptedClientRandom", "padding not zero", r.offset)
    return SecurityExchange(value[:-RSA_PADDING_SIZE], flags, flags_hi)


def write_security_exchange(w: Writer, pdu: SecurityExchange) -> None:
    w.u16le(pdu.flags)
    w.u16le(pdu.flags_hi)
    w.u32le(len(pdu.encrypted_client_random) + RSA_PADDING_SIZE)
    w.write(pdu.encrypted_client_random)
    w.pad(RSA_PADDING_SIZE)


def decode_security_exchange(data: bytes) -> SecurityExchange:
    r = Reader(data, _SECX)
    pdu = read_security_exchange(r)
    r.expect_end()
    return pdu


def encode_security_exchange(pdu: SecurityExchange) -> bytes:
    w = Writer()
    write_security_exchange(w, pdu)
    return bytes(w)


# --- Server certificates ([MS-RDPBCGR] 2.2.1.4.3.1) --------------------------------------

_CERT = "server certificate"


@dataclass(frozen=True, slots=True)
class RsaPublicKey:
    """[MS-RDPBCGR] 2.2.1.4.3.1.1.1 RSA Public Key (RSA_PUBLIC_KEY).

    The server's key exchange key; ``modulus`` holds all keylen bytes (little-endian, with
    the trailing zero padding)."""

    bit_len: int
    """bitlen: size of the modulus in bits."""
    data_len: int
    """datalen: maximum number of bytes that can be encoded (bitlen / 8 - 1)."""
    public_exponent: int
    """pubExp."""
    modulus: bytes
    """modulus: keylen bytes, little-endian, padding included."""

    @property
    def n(self) -> int:
        """The modulus as an integer."""
        return int.from_bytes(self.modulus, "little")

    @property
    def key_size(self) -> int:
        """Bytes of RSA output: bitlen / 8."""
        return (self.bit_len + 7) // 8


@dataclass(frozen=True, slots=True)
class ProprietaryCertificate:
    """[MS-RDPBCGR] 2.2.1.4.3.1.1 Server Proprietary Certificate (PROPRIETARYSERVERCERTIFICATE).

    An RSA key signed with the Terminal Services signing key (5.3.3.1)."""

    public_key: RsaPublicKey
    signature: bytes
    """SignatureBlob: RSA signature, little-endian, 8 zero bytes of padding included."""
    dw_version: int = CERT_CHAIN_VERSION_1
    """dwVersion raw, including the t (temporary) bit."""
    sig_alg_id: int = SIGNATURE_ALG_RSA
    key_alg_id: int = KEY_EXCHANGE_ALG_RSA
    public_key_blob_type: int = BB_RSA_KEY_BLOB
    signature_blob_type: int = BB_RSA_SIGNATURE_BLOB


@dataclass(frozen=True, slots=True)
class X509CertificateChain:
    """[MS-RDPBCGR] 2.2.1.4.3.1.2 X.509 Certificate Chain (SERVER_CERTIFICATE, version 2).

    DER certificates, root first; the last one holds the server's RSA key."""

    certificates: tuple[bytes, ...]
    """CertBlobArray: each abCert as DER bytes."""
    padding: bytes
    """The bytes after the last blob (8 + 4 * NumCertBlobs zero bytes when well-formed)."""
    dw_version: int = CERT_CHAIN_VERSION_2


ServerCertificate = ProprietaryCertificate | X509CertificateChain


def x509_chain(certificates: tuple[bytes, ...], dw_version: int = CERT_CHAIN_VERSION_2) -> X509CertificateChain:
    """A chain with the padding the specification prescribes."""
    pad = X509_PADDING_BASE + X509_PADDING_PER_CERT * len(certificates)
    return X509CertificateChain(certificates, bytes(pad), dw_version)


def read_rsa_public_key(r: Reader) -> RsaPublicKey:
    magic = r.u32le()
    if magic != RSA1_MAGIC:
        raise InvalidField(r.pdu, "magic", f"0x{magic:08x} is not RSA1", r.offset - 4)
    key_len, bit_len, data_len, exponent = r.u32le(), r.u32le(), r.u32le(), r.u32le()
    return RsaPublicKey(bit_len, data_len, exponent, r.take(key_len))


def write_rsa_public_key(w: Writer, key: RsaPublicKey) -> None:
    for value in (RSA1_MAGIC, len(key.modulus), key.bit_len, key.data_len, key.public_exponent):
        w.u32le(value)
    w.write(key.modulus)


def _read_blob_header(r: Reader, what: str) -> tuple[int, Reader]:
    blob_type, blob_len = r.u16le(), r.u16le()
    return blob_type, r.sub(blob_len, f"{_CERT} {what}")


def read_proprietary_certificate(r: Reader, dw_version: int) -> ProprietaryCertificate:
    sig_alg, key_alg = r.u32le(), r.u32le()
    key_type, key_r = _read_blob_header(r, "public key")
    key = read_rsa_public_key(key_r)
    key_r.expect_end()
    sig_type, sig_r = _read_blob_header(r, "signature")
    return ProprietaryCertificate(key, sig_r.rest(), dw_version, sig_alg, key_alg, key_type, sig_type)


def proprietary_signed_bytes(cert: ProprietaryCertificate) -> bytes:
    """The first six fields, over which the MD5 of the signature is computed (5.3.3.1.2)."""
    w = Writer()
    w.u32le(cert.dw_version)
    w.u32le(cert.sig_alg_id)
    w.u32le(cert.key_alg_id)
    w.u16le(cert.public_key_blob_type)
    w.u16le(RSA_KEY_HEADER_SIZE + len(cert.public_key.modulus))
    write_rsa_public_key(w, cert.public_key)
    return bytes(w)


def write_proprietary_certificate(w: Writer, cert: ProprietaryCertificate) -> None:
    w.write(proprietary_signed_bytes(cert))
    w.u16le(cert.signature_blob_type)
    w.u16le(len(cert.signature))
    w.write(cert.signature)


def read_x509_chain(r: Reader, dw_version: int) -> X509CertificateChain:
    count = r.u32le()
    certs: list[bytes] = []
    for _ in range(count):
        # INVARIANT: each iteration consumes at least 4 bytes, so the loop is bounded by input.
        certs.append(r.take(r.u32le()))
    return X509CertificateChain(tuple(certs), r.rest(), dw_version)


def write_x509_chain(w: Writer, chain: X509CertificateChain) -> None:
    w.u32le(chain.dw_version)
    w.u32le(len(chain.certificates))
    for cert in chain.certificates:
        w.u32le(len(cert))
        w.write(cert)
    w.write(chain.padding)


def is_temporary(cert: ServerCertificate) -> bool:
    """The t bit of dwVersion: the certificate was issued temporarily."""
    return bool(cert.dw_version & CERT_TEMPORARY)


def read_server_certificate(r: Reader) -> ServerCertificate:
    dw_version = r.u32le()
    version = dw_version & CERT_VERSION_MASK
    if version == CERT_CHAIN_VERSION_1:
        return read_proprietary_certificate(r, dw_version)
    if version == CERT_CHAIN_VERSION_2:
        return read_x509_chain(r, dw_version)
    raise UnsupportedVersion(_CERT, version, 0)


def write_server_certificate(w: Writer, cert: ServerCertificate) -> None:
    if isinstance(cert, ProprietaryCertificate):
        write_proprietary_certificate(w, cert)
    else:
        write_x509_chain(w, cert)


def decode_server_certificate(data: bytes) -> ServerCertificate:
    r = Reader(data, _CERT)
    cert = read_server_certificate(r)
    r.expect_end()
    return cert


def encode_server_certificate(cert: ServerCertificate) -> bytes:
    w = Writer()
    write_server_certificate(w, cert)
    return bytes(w)


def _write_fixed(w: Writer, value: bytes, size: int, what: str) -> None:
    if len(value) != size:
        raise EncodeError(f"{what} must be {size} bytes, not {len(value)}")
    w.write(value)
