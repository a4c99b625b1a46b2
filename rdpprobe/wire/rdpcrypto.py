"""Standard RDP Security cryptography ([MS-RDPBCGR] 5.3): RSA exchange of the client
random, session key derivation, RC4 with key updates, MAC signatures, and the proprietary
certificate signature made with the publicly documented Terminal Services signing key.

Rules of this module:
- RSA here is raw textbook RSA on little-endian integers, as 5.3.4.1 and 5.3.3.1 specify;
  it is not PKCS#1 and must never be used for anything else;
- keys are derived per 5.3.5.1 here and per 5.3.5.2 (FIPS: 3DES, HMAC-SHA1) in
  ``rdpcrypto_fips``; ``new_security_context`` picks one by the encryption method;
- no I/O and no randomness: callers pass the client random in;
- failures caused by peer data raise ``DecodeError`` subclasses; cryptography exceptions are
  never let out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext

from rdpprobe.errors import EncodeError, InvalidField
from rdpprobe.wire import der
from rdpprobe.wire.gcc_consts import EncryptionMethod
from rdpprobe.wire.security import (
    DATA_SIGNATURE_SIZE,
    BasicSecurityHeader,
    RSA_PADDING_SIZE,
    SEC_ENCRYPT,
    SEC_SECURE_CHECKSUM,
    FipsSecurityHeader,
    NonFipsSecurityHeader,
    ProprietaryCertificate,
    RsaPublicKey,
    SecuredPdu,
    ServerCertificate,
    X509CertificateChain,
    decode_secured_pdu,
    encode_secured_pdu,
    proprietary_signed_bytes,
)
from rdpprobe.wire.rdpcrypto_fips import FipsSecurityContext, keys_for_role, sha1

CLIENT_RANDOM_SIZE = 32  # [MS-RDPBCGR] 5.3.4 client random
SERVER_RANDOM_SIZE = 32  # [MS-RDPBCGR] 2.2.1.4.3 serverRandom
KEY_UPDATE_INTERVAL = 4096  # [MS-RDPBCGR] 5.3.7 keys change after 4096 packets
#: The encryptionMethod values a server may choose (2.2.1.4.3), each with keys of its own (5.3.5).
SEALING_METHODS = frozenset({
    EncryptionMethod.ENCRYPTION_METHOD_40BIT, EncryptionMethod.ENCRYPTION_METHOD_56BIT,
    EncryptionMethod.ENCRYPTION_METHOD_128BIT, EncryptionMethod.ENCRYPTION_METHOD_FIPS,
})
SALT_40BIT = bytes.fromhex("d1269e")  # [MS-RDPBCGR] 5.3.5.1 40-bit key salt
SALT_56BIT = bytes.fromhex("d1")  # [MS-RDPBCGR] 5.3.5.1 56-bit key salt
PAD1 = b"\x36" * 40  # [MS-RDPBCGR] 5.3.6.1 Pad1
PAD2 = b"\x5c" * 48  # [MS-RDPBCGR] 5.3.6.1 Pad2
KEY_64_SIZE = 8  # [MS-RDPBCGR] 5.3.5.1 40- and 56-bit methods use 64-bit RC4 keys
KEY_128_SIZE = 16  # [MS-RDPBCGR] 5.3.5.1 128-bit RC4 keys

# --- Terminal Services signing key ([MS-RDPBCGR] 5.3.3.1.1), little-endian ----------------

TSSK_MODULUS = bytes.fromhex(
    "3d3a5ebd72433ec94dbbc11e4aba5fcb3e882087eff5c1e2d7b76b9af2524595"
    "ce63656b583afeef7ce7bffe3df65c7d6c5e06091af561bb2093095f056dea87"
)
TSSK_PUBLIC_EXPONENT = 0xC0887B5B  # [MS-RDPBCGR] 5.3.3.1.1 (bytes 5b 7b 88 c0)
TSSK_PRIVATE_EXPONENT = bytes.fromhex(
    "87a71932da11875558001616256568f8243ee6fae9674994cf92cc3399e80860"
    "179a129f24ddb12499c73ab80a7b0ddd350779170b519bb3c7100113e73ff35f"
)
TSSK_KEY_SIZE = 64  # [MS-RDPBCGR] 5.3.3.1.1 modulus bytes
SIGNATURE_HASH_SIZE = 16  # [MS-RDPBCGR] 5.3.3.1.2 MD5 digest at the start of the block
SIGNATURE_BLOCK_SIZE = TSSK_KEY_SIZE - 1  # [MS-RDPBCGR] 5.3.3.1.2 63-byte block
SIGNATURE_LAST_BYTE = 0x01  # [MS-RDPBCGR] 5.3.3.1.2 the 63rd byte is 0x01

_CRYPTO = "standard rdp security"


# --- RSA (5.3.4.1) -------------------------------------------------------------------------


def _rsa_le(value: bytes, exponent: int, modulus: int, size: int) -> bytes:
    result = pow(int.from_bytes(value, "little"), exponent, modulus)
    return result.to_bytes(size, "little")


def encrypt_client_random(client_random: bytes, key: RsaPublicKey) -> bytes:
    """RSA-encrypt the client random as a little-endian integer (5.3.4.1), unpadded."""
    n = key.n
    if n == 0 or int.from_bytes(client_random, "little") >= n:
        raise EncodeError("client random does not fit the server modulus")
    return _rsa_le(client_random, key.public_exponent, n, max(key.key_size, 1))


def decrypt_client_random(encrypted: bytes, private_key: rsa.RSAPrivateKey) -> bytes:
    """The server side of 5.3.4.1: recover the 32-byte client random."""
    numbers = private_key.private_numbers()
    n = numbers.public_numbers.n
    value = pow(int.from_bytes(encrypted, "little"), numbers.d, n)
    if value >= 1 << (8 * CLIENT_RANDOM_SIZE):
        raise InvalidField(_CRYPTO, "encryptedClientRandom", "does not decrypt to 32 bytes")
    return value.to_bytes(CLIENT_RANDOM_SIZE, "little")


def rsa_public_key_of(key: rsa.RSAPublicKey) -> RsaPublicKey:
    """The RSA_PUBLIC_KEY form of a ``cryptography`` public key (for the mock server)."""
    numbers = key.public_numbers()
    size = (key.key_size + 7) // 8
    modulus = numbers.n.to_bytes(size, "little") + bytes(RSA_PADDING_SIZE)
    return RsaPublicKey(key.key_size, size - 1, numbers.e, modulus)


def x509_chain_public_key(chain: X509CertificateChain) -> RsaPublicKey:
    """The RSA key of the last certificate in the chain (the server's own), read from its DER
    (``der.public_key_info``) as CredSSP reads it."""
    if not chain.certificates:
        raise InvalidField("x509 certificate chain", "NumCertBlobs", "no certificates")
    modulus, exponent = der.rsa_public_key(der.public_key_info(chain.certificates[-1]))
    try:
        key = rsa.RSAPublicNumbers(exponent, modulus).public_key()
    except ValueError as exc:  # A key cryptography will not use (an even modulus, say).
        raise InvalidField("x509 certificate chain", "abCert", "unusable rsa key") from exc
    return rsa_public_key_of(key)


def server_public_key(cert: ServerCertificate) -> RsaPublicKey:
    """The key-exchange key of either certificate form."""
    if isinstance(cert, ProprietaryCertificate):
        return cert.public_key
    return x509_chain_public_key(cert)


# --- Proprietary certificate signature (5.3.3.1.2, 5.3.3.1.3) -----------------------------


def _signature_block(cert: ProprietaryCertificate) -> bytes:
    digest = hashlib.md5(proprietary_signed_bytes(cert), usedforsecurity=False).digest()
    filler = b"\xff" * (SIGNATURE_BLOCK_SIZE - SIGNATURE_HASH_SIZE - 2)
    return digest + b"\x00" + filler + bytes([SIGNATURE_LAST_BYTE])


def sign_proprietary_certificate(cert: ProprietaryCertificate) -> ProprietaryCertificate:
    """``cert`` with a valid signature made with the Terminal Services signing key."""
    d = int.from_bytes(TSSK_PRIVATE_EXPONENT, "little")
    n = int.from_bytes(TSSK_MODULUS, "little")
    signature = _rsa_le(_signature_block(cert), d, n, TSSK_KEY_SIZE)
    return _replace_signature(cert, signature + bytes(RSA_PADDING_SIZE))


def proprietary_certificate_for(key: rsa.RSAPublicKey) -> ProprietaryCertificate:
    """A signed proprietary certificate for a ``cryptography`` RSA key (for the mock)."""
    unsigned = ProprietaryCertificate(rsa_public_key_of(key), b"")
    return sign_proprietary_certificate(unsigned)


def verify_proprietary_certificate(cert: ProprietaryCertificate) -> bool:
    """Whether the signature checks against the Terminal Services public signing key."""
    sig = cert.signature[:TSSK_KEY_SIZE]
    if len(sig) != TSSK_KEY_SIZE:
        return False
    n = int.from_bytes(TSSK_MODULUS, "little")
    if int.from_bytes(sig, "little") >= n:
        return False
    block = _rsa_le(sig, TSSK_PUBLIC_EXPONENT, n, TSSK_KEY_SIZE)
    return block[:SIGNATURE_BLOCK_SIZE] == _signature_block(cert) and block[-1] == 0


def _replace_signature(cert: ProprietaryCertificate, signature: bytes) -> ProprietaryCertificate:
    return ProprietaryCertificate(
        cert.public_key, signature, cert.dw_version, cert.sig_alg_id, cert.key_alg_id,
        cert.public_key_blob_type, cert.signature_blob_type,
    )


# --- Session keys (5.3.5.1) ----------------------------------------------------------------


def _md5(*parts: bytes) -> bytes:
    return hashlib.md5(b"".join(parts), usedforsecurity=False).digest()


def salted_hash(secret: bytes, i: bytes, client_random: bytes, server_random: bytes) -> bytes:
    """SaltedHash(S, I) = MD5(S + SHA(I + S + ClientRandom + ServerRandom)) (5.3.5.1)."""
    return _md5(secret, sha1(i, secret, client_random, server_random))


def _triple_hash(secret: bytes, labels: tuple[bytes, ...], cr: bytes, sr: bytes) -> bytes:
    return b"".join(salted_hash(secret, label, cr, sr) for label in labels)


def final_hash(key: bytes, client_random: bytes, server_random: bytes) -> bytes:
    """FinalHash(K) = MD5(K + ClientRandom + ServerRandom) (5.3.5.1)."""
    return _md5(key, client_random, server_random)


def _reduce(key128: bytes, method: int) -> bytes:
    if method == EncryptionMethod.ENCRYPTION_METHOD_128BIT:
        return key128
    first64 = key128[:KEY_64_SIZE]
    if method == EncryptionMethod.ENCRYPTION_METHOD_40BIT:
        return SALT_40BIT + first64[len(SALT_40BIT):]
    if method == EncryptionMethod.ENCRYPTION_METHOD_56BIT:
        return SALT_56BIT + first64[len(SALT_56BIT):]
    raise EncodeError(f"unsupported encryption method 0x{method:x}")


@dataclass(frozen=True, slots=True)
class SessionKeys:
    """[MS-RDPBCGR] 5.3.5.1 Non-FIPS session keys, named from the client's side."""

    mac_key: bytes
    """MACKey (40, 56 or 128 bits as the method says)."""
    client_encrypt_key: bytes
    """InitialClientEncryptKey = InitialServerDecryptKey."""
    client_decrypt_key: bytes
    """InitialClientDecryptKey = InitialServerEncryptKey."""
    method: int


def derive_session_keys(client_random: bytes, server_random: bytes, method: int) -> SessionKeys:
    """Derive MAC and RC4 keys from both randoms (5.3.5.1)."""
    cr, sr = client_random, server_random
    pre_master = cr[:24] + sr[:24]
    master = _triple_hash(pre_master, (b"A", b"BB", b"CCC"), cr, sr)
    blob = _triple_hash(master, (b"X", b"YY", b"ZZZ"), cr, sr)
    decrypt128 = final_hash(blob[16:32], cr, sr)
    encrypt128 = final_hash(blob[32:48], cr, sr)
    return SessionKeys(
        _reduce(blob[:16], method), _reduce(encrypt128, method), _reduce(decrypt128, method), method
    )


def update_key(initial: bytes, current: bytes, method: int) -> bytes:
    """The next RC4 key after KEY_UPDATE_INTERVAL packets (5.3.7.1)."""
    sha = sha1(initial, PAD1, current)
    temp = _md5(initial, PAD2, sha)[: len(initial)]
    new = _rc4(temp).update(temp)
    return _reduce(new + bytes(KEY_128_SIZE - len(new)), method)[: len(initial)]


def _rc4(key: bytes) -> CipherContext:
    return Cipher(ARC4(key), mode=None).encryptor()


# --- MAC signatures (5.3.6.1, 5.3.6.1.1) ---------------------------------------------------


def mac_signature(mac_key: bytes, data: bytes) -> bytes:
    """MACSignature = First64Bits(MD5(MACKey + Pad2 + SHA(MACKey + Pad1 + Length + Data)))."""
    sha = sha1(mac_key, PAD1, len(data).to_bytes(4, "little"), data)
    return _md5(mac_key, PAD2, sha)[:DATA_SIGNATURE_SIZE]


def salted_mac_signature(mac_key: bytes, data: bytes, count: int) -> bytes:
    """The salted MAC (5.3.6.1.1): the encryption count joins the SHA-1 input."""
    count_le = (count & 0xFFFFFFFF).to_bytes(4, "little")
    sha = sha1(mac_key, PAD1, len(data).to_bytes(4, "little"), data, count_le)
    return _md5(mac_key, PAD2, sha)[:DATA_SIGNATURE_SIZE]


# --- One direction of RC4 with key updates (5.3.6, 5.3.7) ----------------------------------


@dataclass(slots=True)
class _Rc4Direction:
    initial_key: bytes
    method: int
    key: bytes = b""
    uses: int = 0
    total: int = 0
    _cipher: CipherContext | None = field(default=None, repr=False)

    def process(self, data: bytes) -> bytes:
        if self._cipher is None:
            self.key = self.initial_key
            self._cipher = _rc4(self.key)
        elif self.uses >= KEY_UPDATE_INTERVAL:
            self.key = update_key(self.initial_key, self.key, self.method)
            self._cipher = _rc4(self.key)
            self.uses = 0
        self.uses += 1
        self.total += 1
        return self._cipher.update(data)


class SecurityContext:
    """Keys and RC4 states of one side of a Standard RDP Security connection (5.3.6).

    ``role`` is "client" or "server"; each side encrypts with its own key and decrypts
    with the peer's. Mutable: every call advances the RC4 stream and the packet counters."""

    __slots__ = ("keys", "role", "_enc", "_dec")

    def __init__(self, keys: SessionKeys, role: str = "client") -> None:
        if keys.method == EncryptionMethod.ENCRYPTION_METHOD_FIPS:
            raise EncodeError("fips encryption runs in FipsSecurityContext (new_security_context)")
        out_key, in_key = keys_for_role(keys.client_encrypt_key, keys.client_decrypt_key, role)
        self.keys = keys
        self.role = role
        self._enc = _Rc4Direction(out_key, keys.method)
        self._dec = _Rc4Direction(in_key, keys.method)

    @classmethod
    def from_randoms(cls, client_random: bytes, server_random: bytes, method: int, role: str = "client") -> SecurityContext:
        return cls(derive_session_keys(client_random, server_random, method), role)

    @property
    def encrypt_count(self) -> int:
        """Packets encrypted so far."""
        return self._enc.total

    @property
    def decrypt_count(self) -> int:
        """Packets decrypted so far."""
        return self._dec.total

    def encrypt(self, data: bytes, salted: bool = False) -> tuple[bytes, bytes]:
        """(dataSignature, ciphertext) for ``data``; MAC over the plaintext (5.3.6.1)."""
        sig = self._sign(data, salted, self._enc.total)
        return sig, self._enc.process(data)

    def decrypt(self, signature: bytes, ciphertext: bytes, salted: bool = False) -> bytes:
        """The plaintext; raises ``InvalidField`` when the MAC does not match."""
        count = self._dec.total
        plaintext = self._dec.process(ciphertext)
        if self._sign(plaintext, salted, count) != signature:
            raise InvalidField(_CRYPTO, "dataSignature", "mac mismatch")
        return plaintext

    def _sign(self, data: bytes, salted: bool, count: int) -> bytes:
        if salted:
            return salted_mac_signature(self.keys.mac_key, data, count)
        return mac_signature(self.keys.mac_key, data)


AnySecurityContext = SecurityContext | FipsSecurityContext


def new_security_context(
    client_random: bytes, server_random: bytes, method: int, role: str = "client"
) -> AnySecurityContext:
    """The context for ``method``: RC4 (5.3.6.1) or, for ENCRYPTION_METHOD_FIPS, 3DES (5.3.6.2)."""
    if method == EncryptionMethod.ENCRYPTION_METHOD_FIPS:
        return FipsSecurityContext.from_randoms(client_random, server_random, role)
    return SecurityContext.from_randoms(client_random, server_random, method, role)


# --- Sealing whole PDUs ------------------------------------------------------------------------


def seal(ctx: AnySecurityContext, flags: int, payload: bytes, flags_hi: int = 0, salted: bool = False) -> bytes:
    """Security header (SEC_ENCRYPT set; FIPS or non-FIPS as ``ctx`` is) + encrypted ``payload``.

    ``salted`` (SEC_SECURE_CHECKSUM) applies to the non-FIPS MAC only."""
    if isinstance(ctx, FipsSecurityContext):
        pad_len, sig, ciphertext = ctx.encrypt(payload)
        return encode_secured_pdu(SecuredPdu(FipsSecurityHeader(flags | SEC_ENCRYPT, flags_hi, pad_len, sig), ciphertext))
    flags |= SEC_ENCRYPT | (SEC_SECURE_CHECKSUM if salted else 0)
    sig, ciphertext = ctx.encrypt(payload, salted)
    return encode_secured_pdu(SecuredPdu(NonFipsSecurityHeader(flags, flags_hi, sig), ciphertext))


def unseal(ctx: AnySecurityContext | None, data: bytes) -> SecuredPdu:
    """Decode the security header and decrypt the payload when SEC_ENCRYPT is set.

    With ``ctx`` None an encrypted PDU raises ``InvalidField``."""
    pdu = decode_secured_pdu(data, fips=isinstance(ctx, FipsSecurityContext))
    header = pdu.header
    if isinstance(header, BasicSecurityHeader):
        return pdu
    if ctx is None:
        raise InvalidField("security header", "flags", "encrypted pdu without session keys")
    if isinstance(header, FipsSecurityHeader):
        assert isinstance(ctx, FipsSecurityContext)  # the header was read as FIPS for this ctx
        return SecuredPdu(header, ctx.decrypt(header.pad_len, header.data_signature, pdu.payload))
    assert isinstance(ctx, SecurityContext)
    salted = bool(header.flags & SEC_SECURE_CHECKSUM)
    return SecuredPdu(header, ctx.decrypt(header.data_signature, pdu.payload, salted))
