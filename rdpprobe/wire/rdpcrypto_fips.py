"""FIPS Standard RDP Security ([MS-RDPBCGR] 5.3.5.2, 5.3.6.2): 3DES-CBC and HMAC-SHA1.

When a server's encryption level is FIPS it selects ENCRYPTION_METHOD_FIPS, and every PDU
after the Security Exchange carries the FIPS Security Header (2.2.8.1.1.2.3) over 3DES-CBC
ciphertext padded to whole blocks. Keys come from the two randoms through SHA-1, each 168-bit
key widened to a 192-bit 3DES key with parity bits; one HMAC-SHA1 key signs both directions.

Rules of this module:
- the CBC chain of each direction runs on across PDUs from one fixed IV, as the peer's does:
  a context is the state of one connection and must see every PDU in order;
- no I/O and no randomness; a MAC that does not match raises ``InvalidField``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, modes

from rdpprobe.errors import EncodeError, InvalidField
from rdpprobe.wire.security import DATA_SIGNATURE_SIZE

FIPS_IV = bytes.fromhex("1234567890abcdef")  # [MS-RDPBCGR] 5.3.6.2 Initialization Vector
DES3_BLOCK_SIZE = 8
RANDOM_HALF = 16  # First128Bits / Last128Bits of a 32-byte random (5.3.5.2)
KEY_168_SIZE = 21  # SHA-1 output plus a copy of its first byte (5.3.5.2)
KEY_BITS_PER_BYTE = 7  # a DES key byte carries 7 key bits and 1 parity bit
SEVEN_BITS = 0x7F
_CRYPTO = "fips security"


def sha1(*parts: bytes) -> bytes:
    """SHA-1 of ``parts`` joined; also ``rdpcrypto``'s, for the non-FIPS keys."""
    return hashlib.sha1(b"".join(parts), usedforsecurity=False).digest()


def keys_for_role(client_encrypt_key: bytes, client_decrypt_key: bytes, role: str) -> tuple[bytes, bytes]:
    """(key to encrypt with, key to decrypt with) for ``role``, from keys named as the client's.

    Each side encrypts with its own key and decrypts with the peer's (5.3.5); shared with
    ``rdpcrypto.SecurityContext``."""
    if role not in ("client", "server"):
        raise EncodeError(f"role must be client or server, not {role!r}")
    if role == "server":
        return client_decrypt_key, client_encrypt_key
    return client_encrypt_key, client_decrypt_key


def _odd_parity(byte: int) -> int:
    """``byte`` with its least significant bit set so that it has an odd number of ones."""
    high = byte & 0xFE
    return high | (bin(high).count("1") + 1) % 2


def expand_des3_key(key168: bytes) -> bytes:
    """The 24-byte 3DES key for a 21-byte key (5.3.5.2).

    The specification reverses the bits of every byte, inserts a zero bit after every
    seventh bit, reverses every byte again and sets each byte's least significant bit for
    odd parity. Reversing, grouping and reversing back is the same as reading the key as one
    little-endian integer, seven bits at a time from the lowest: output byte i holds bits
    7i to 7i + 6 in its low seven bits and the inserted zero on top.
    """
    if len(key168) != KEY_168_SIZE:
        raise EncodeError(f"a fips key is {KEY_168_SIZE} bytes, not {len(key168)}")
    bits = int.from_bytes(key168, "little")
    count = KEY_168_SIZE * 8 // KEY_BITS_PER_BYTE
    return bytes(_odd_parity(bits >> (KEY_BITS_PER_BYTE * i) & SEVEN_BITS) for i in range(count))


@dataclass(frozen=True, slots=True)
class FipsKeys:
    """[MS-RDPBCGR] 5.3.5.2 keys, named from the client's side."""

    client_encrypt_key: bytes
    """ClientEncryptKey = ServerDecryptKey, as a 24-byte 3DES key."""
    client_decrypt_key: bytes
    """ClientDecryptKey = ServerEncryptKey, as a 24-byte 3DES key."""
    hmac_key: bytes
    """HMACKey = SHA(ClientDecryptKeyT + ClientEncryptKeyT), the same for both sides."""


def derive_fips_keys(client_random: bytes, server_random: bytes) -> FipsKeys:
    """Both 3DES keys and the HMAC key from the two 32-byte randoms (5.3.5.2)."""
    encrypt_t = sha1(client_random[RANDOM_HALF:], server_random[RANDOM_HALF:])
    decrypt_t = sha1(client_random[:RANDOM_HALF], server_random[:RANDOM_HALF])
    return FipsKeys(
        client_encrypt_key=expand_des3_key(encrypt_t + encrypt_t[:1]),
        client_decrypt_key=expand_des3_key(decrypt_t + decrypt_t[:1]),
        hmac_key=sha1(decrypt_t, encrypt_t),
    )


def _cbc(key: bytes) -> Cipher[modes.CBC]:
    return Cipher(TripleDES(key), modes.CBC(FIPS_IV))


class FipsSecurityContext:
    """Keys and CBC states of one side of a FIPS Standard RDP Security connection (5.3.6.2).

    ``role`` is "client" or "server"; each side encrypts with its own key and decrypts with
    the peer's. Mutable: every call advances a CBC chain and a packet counter."""

    __slots__ = ("keys", "role", "_encryptor", "_decryptor", "_encrypted", "_decrypted")

    def __init__(self, keys: FipsKeys, role: str = "client") -> None:
        out_key, in_key = keys_for_role(keys.client_encrypt_key, keys.client_decrypt_key, role)
        self.keys = keys
        self.role = role
        self._encryptor: CipherContext = _cbc(out_key).encryptor()
        self._decryptor: CipherContext = _cbc(in_key).decryptor()
        self._encrypted = 0
        self._decrypted = 0

    @classmethod
    def from_randoms(cls, client_random: bytes, server_random: bytes, role: str = "client") -> FipsSecurityContext:
        return cls(derive_fips_keys(client_random, server_random), role)

    @property
    def encrypt_count(self) -> int:
        """Packets encrypted so far."""
        return self._encrypted

    @property
    def decrypt_count(self) -> int:
        """Packets decrypted so far."""
        return self._decrypted

    def encrypt(self, data: bytes) -> tuple[int, bytes, bytes]:
        """(padding length, dataSignature, ciphertext) for ``data``; the MAC covers the
        plaintext without its padding (5.3.6.2)."""
        signature = self._sign(data, self._encrypted)
        pad_len = -len(data) % DES3_BLOCK_SIZE
        self._encrypted += 1
        return pad_len, signature, self._encryptor.update(data + bytes(pad_len))

    def decrypt(self, pad_len: int, signature: bytes, ciphertext: bytes) -> bytes:
        """The plaintext; raises ``InvalidField`` on a ragged length, a bad padding length or
        a MAC that does not match."""
        if len(ciphertext) % DES3_BLOCK_SIZE or not 0 <= pad_len < DES3_BLOCK_SIZE or pad_len > len(ciphertext):
            raise InvalidField(_CRYPTO, "padlen", f"{pad_len} padding bytes in {len(ciphertext)} bytes of ciphertext")
        count = self._decrypted
        self._decrypted += 1
        padded = self._decryptor.update(ciphertext)
        plaintext = padded[: len(padded) - pad_len]
        if not hmac.compare_digest(self._sign(plaintext, count), signature):
            raise InvalidField(_CRYPTO, "dataSignature", "mac mismatch")
        return plaintext

    def _sign(self, data: bytes, count: int) -> bytes:
        """First64Bits(HMAC-SHA1(HMACKey, Data + EncryptionCount)) (5.3.6.2)."""
        count_le = (count & 0xFFFFFFFF).to_bytes(4, "little")
        return hmac.digest(self.keys.hmac_key, data + count_le, "sha1")[:DATA_SIGNATURE_SIZE]
