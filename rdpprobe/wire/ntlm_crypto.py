"""NTLMv2 cryptography and NTLM session security ([MS-NLMP] 3.3.2, 3.4).

The primitives the NTLM exchange needs: MD4 (NTOWFv1), HMAC-MD5, RC4, NTOWFv2, the NTLMv2
response, the key derivation of 3.4.5 and ``NtlmSession``, the stateful seal/unseal pair
CredSSP wraps its pubKeyAuth and authInfo fields in.

Rules of this module:
- only extended session security is implemented (NTLMv2 always negotiates it); the
  NTLMv1-style CRC32 signature of 3.4.4.1 is not;
- MD4 is computed in pure Python because OpenSSL 3 ships it only in the legacy provider;
- RC4 comes from ``cryptography`` and keeps its key stream across messages, as 3.4.3 requires;
  its modules load on the first RC4 use, which a probe without credentials never reaches;
- ``unseal`` checks the sequence number before touching the RC4 state, so a replayed or
  out-of-order message is rejected without harming the session. A message whose signature
  does not verify has consumed key stream: the session must then be abandoned, exactly as
  every real peer abandons the exchange.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import struct
from typing import TYPE_CHECKING

from rdpprobe.errors import InvalidField, NotEnoughData

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers import CipherContext

# [MS-NLMP] 2.2.2.5 NEGOTIATE flags that change the session-security algorithms.
_FLAG_SIGN = 0x00000010  # NTLMSSP_NEGOTIATE_SIGN
_FLAG_SEAL = 0x00000020  # NTLMSSP_NEGOTIATE_SEAL
_FLAG_ESS = 0x00080000  # NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY
_FLAG_128 = 0x20000000  # NTLMSSP_NEGOTIATE_128
_FLAG_KEY_EXCH = 0x40000000  # NTLMSSP_NEGOTIATE_KEY_EXCH
_FLAG_56 = 0x80000000  # NTLMSSP_NEGOTIATE_56

# [MS-NLMP] 3.4.5.2 SIGNKEY and 3.4.5.3 SEALKEY magic constants (the trailing NUL is hashed).
CLIENT_SIGN_MAGIC = b"session key to client-to-server signing key magic constant\x00"
SERVER_SIGN_MAGIC = b"session key to server-to-client signing key magic constant\x00"
CLIENT_SEAL_MAGIC = b"session key to client-to-server sealing key magic constant\x00"
SERVER_SEAL_MAGIC = b"session key to server-to-client sealing key magic constant\x00"

# [MS-NLMP] 3.4.5.3: key bytes kept for 56-bit and 40-bit sealing keys.
SEAL_KEY_LEN_56 = 7
SEAL_KEY_LEN_40 = 5

# [MS-NLMP] 2.2.2.9.1 NTLMSSP_MESSAGE_SIGNATURE with extended session security.
SIGNATURE_VERSION = 1  # Version, always 1
CHECKSUM_LEN = 8  # Checksum: the first 8 bytes of the HMAC-MD5
SIGNATURE_LEN = 4 + CHECKSUM_LEN + 4  # Version + Checksum + SeqNum

# [MS-NLMP] 2.2.2.7 NTLMv2_CLIENT_CHALLENGE.
NTLMV2_RESP_TYPE = 1  # RespType and HiRespType, both 1
NTLMV2_PROOF_LEN = 16  # NTProofStr
CHALLENGE_LEN = 8  # ServerChallenge and ChallengeFromClient
SESSION_KEY_LEN = 16  # every NTLMv2 key

_MASK32 = 0xFFFFFFFF
_SEQ_LIMIT = 1 << 32


# ---------------------------------------------------------------------------------------
# MD4 (RFC 1320), needed by NTOWFv1 ([MS-NLMP] 3.3.1)
# ---------------------------------------------------------------------------------------

_MD4_INIT = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476)  # RFC 1320 3.3
_MD4_ROUNDS = (  # RFC 1320 3.4: (word order, shifts, additive constant)
    (tuple(range(16)), (3, 7, 11, 19), 0),
    ((0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), (3, 5, 9, 13), 0x5A827999),
    ((0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15), (3, 9, 11, 15), 0x6ED9EBA1),
)


def _md4_f(round_no: int, x: int, y: int, z: int) -> int:
    if round_no == 0:
        return (x & y) | (~x & z)
    if round_no == 1:
        return (x & y) | (x & z) | (y & z)
    return x ^ y ^ z


def _md4_block(state: tuple[int, int, int, int], words: tuple[int, ...]) -> tuple[int, ...]:
    regs = list(state)
    for round_no, (order, shifts, const) in enumerate(_MD4_ROUNDS):
        for i, k in enumerate(order):
            t = -i % 4  # a, d, c, b, a, ...
            x, y, z = regs[(t + 1) % 4], regs[(t + 2) % 4], regs[(t + 3) % 4]
            v = (regs[t] + _md4_f(round_no, x, y, z) + words[k] + const) & _MASK32
            s = shifts[i % 4]
            regs[t] = ((v << s) | (v >> (32 - s))) & _MASK32
    return tuple((a + b) & _MASK32 for a, b in zip(state, regs))


def md4(data: bytes) -> bytes:
    """The RFC 1320 MD4 digest of ``data``."""
    msg = bytearray(data)
    msg.append(0x80)
    msg += bytes((56 - len(msg)) % 64)
    msg += struct.pack("<Q", (8 * len(data)) & 0xFFFFFFFFFFFFFFFF)
    state: tuple[int, ...] = _MD4_INIT
    for off in range(0, len(msg), 64):
        state = _md4_block(state, struct.unpack_from("<16I", msg, off))  # type: ignore[arg-type]
    return struct.pack("<4I", *state)


# ---------------------------------------------------------------------------------------
# HMAC-MD5, RC4 and the NTLMv2 response ([MS-NLMP] 3.3.2, 6)
# ---------------------------------------------------------------------------------------


def hmac_md5(key: bytes, data: bytes) -> bytes:
    """[MS-NLMP] 6 HMAC_MD5(K, M)."""
    return hmac.new(key, data, hashlib.md5).digest()


def rc4_stream(key: bytes) -> CipherContext:
    """An RC4 key stream that keeps its state across ``update`` calls ([MS-NLMP] 6 RC4Init)."""
    try:  # cryptography >= 43 keeps RC4 among the "decrepit" algorithms.
        from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
    except ImportError:  # pragma: no cover - older cryptography
        from cryptography.hazmat.primitives.ciphers.algorithms import ARC4
    from cryptography.hazmat.primitives.ciphers import Cipher

    return Cipher(ARC4(key), mode=None).encryptor()


def rc4(key: bytes, data: bytes) -> bytes:
    """[MS-NLMP] 6 RC4K(K, D): one-shot RC4 with a fresh key stream."""
    return rc4_stream(key).update(data)


def nt_hash(password: str) -> bytes:
    """[MS-NLMP] 3.3.1 NTOWFv1: MD4 of the UTF-16LE password."""
    return md4(password.encode("utf-16-le", "surrogatepass"))


def ntowfv2(password: str, user: str, domain: str) -> bytes:
    """[MS-NLMP] 3.3.2 NTOWFv2: HMAC_MD5(NTOWFv1, UTF-16LE(Uppercase(User) ‖ UserDom))."""
    identity = (user.upper() + domain).encode("utf-16-le", "surrogatepass")
    return hmac_md5(nt_hash(password), identity)


def ntlmv2_client_blob(timestamp: int, client_challenge: bytes, av_pairs: bytes) -> bytes:
    """[MS-NLMP] 3.3.2 ``temp``: the NTLMv2_CLIENT_CHALLENGE the NTProofStr is computed over.

    ``av_pairs`` is the encoded AV_PAIR list including MsvAvEOL; the trailing Z(4) of 3.3.2
    is appended here.
    """
    header = struct.pack("<BBHIQ", NTLMV2_RESP_TYPE, NTLMV2_RESP_TYPE, 0, 0, timestamp)
    return header + client_challenge + bytes(4) + av_pairs + bytes(4)


def nt_proof_str(response_key: bytes, server_challenge: bytes, blob: bytes) -> bytes:
    """[MS-NLMP] 3.3.2 NTProofStr = HMAC_MD5(ResponseKeyNT, ServerChallenge ‖ temp)."""
    return hmac_md5(response_key, server_challenge + blob)


def lmv2_response(response_key: bytes, server_challenge: bytes, client_challenge: bytes) -> bytes:
    """[MS-NLMP] 3.3.2 LmChallengeResponse for NTLMv2 (24 bytes)."""
    return hmac_md5(response_key, server_challenge + client_challenge) + client_challenge


def session_base_key(response_key: bytes, proof: bytes) -> bytes:
    """[MS-NLMP] 3.3.2 SessionBaseKey = HMAC_MD5(ResponseKeyNT, NTProofStr); also KXKEY (3.4.5.1)."""
    return hmac_md5(response_key, proof)


def compute_mic(exported_session_key: bytes, negotiate: bytes, challenge: bytes, auth: bytes) -> bytes:
    """[MS-NLMP] 3.1.5.1.2 MIC over the three messages, the AUTHENTICATE's MIC field zeroed."""
    return hmac_md5(exported_session_key, negotiate + challenge + auth)


# ---------------------------------------------------------------------------------------
# Session keys and NtlmSession ([MS-NLMP] 3.4)
# ---------------------------------------------------------------------------------------


def sign_key(exported_session_key: bytes, magic: bytes) -> bytes:
    """[MS-NLMP] 3.4.5.2 SIGNKEY with extended session security."""
    return hashlib.md5(exported_session_key + magic).digest()


def seal_key(exported_session_key: bytes, flags: int, magic: bytes) -> bytes:
    """[MS-NLMP] 3.4.5.3 SEALKEY with extended session security (128, 56 or 40 bits)."""
    if flags & _FLAG_128:
        key = exported_session_key
    elif flags & _FLAG_56:
        key = exported_session_key[:SEAL_KEY_LEN_56]
    else:
        key = exported_session_key[:SEAL_KEY_LEN_40]
    return hashlib.md5(key + magic).digest()


class Role(enum.Enum):
    """Which end of the NTLM context a session belongs to."""

    CLIENT = "client"
    SERVER = "server"


class _Direction:
    """Signing key, RC4 key stream and sequence number of one direction of traffic."""

    __slots__ = ("sign_key", "rc4", "seq", "key_exch")

    def __init__(self, exported_session_key: bytes, flags: int, sign_magic: bytes, seal_magic: bytes) -> None:
        self.sign_key = sign_key(exported_session_key, sign_magic)
        self.rc4 = rc4_stream(seal_key(exported_session_key, flags, seal_magic))
        self.seq = 0
        self.key_exch = bool(flags & _FLAG_KEY_EXCH)

    def next_seq(self) -> int:
        seq = self.seq
        self.seq = (seq + 1) % _SEQ_LIMIT
        return seq

    def checksum(self, seq: int, message: bytes) -> bytes:
        # [MS-NLMP] 3.4.4.2: the checksum is RC4-encrypted only when KEY_EXCH was negotiated.
        mac = hmac_md5(self.sign_key, struct.pack("<I", seq) + message)[:CHECKSUM_LEN]
        return self.rc4.update(mac) if self.key_exch else mac


class NtlmSession:
    """[MS-NLMP] 3.4 NTLM session security with extended session security, for one role.

    ``seal`` and ``unseal`` implement GSS_WrapEx / GSS_UnwrapEx (3.4.6, 3.4.7) in the wire form
    CredSSP uses: the 16-byte NTLMSSP_MESSAGE_SIGNATURE followed by the sealed data. Each
    direction has its own signing key, RC4 key stream and sequence number (starting at 0).
    """

    __slots__ = ("role", "flags", "exported_session_key", "_out", "_in")

    def __init__(self, exported_session_key: bytes, flags: int, role: Role) -> None:
        self.role = role
        self.flags = flags
        self.exported_session_key = exported_session_key
        client = _Direction(exported_session_key, flags, CLIENT_SIGN_MAGIC, CLIENT_SEAL_MAGIC)
        server = _Direction(exported_session_key, flags, SERVER_SIGN_MAGIC, SERVER_SEAL_MAGIC)
        self._out, self._in = (client, server) if role is Role.CLIENT else (server, client)

    def __repr__(self) -> str:
        return f"NtlmSession(role={self.role.value}, flags=0x{self.flags:08x})"

    @property
    def send_seq(self) -> int:
        """The sequence number the next ``seal`` uses."""
        return self._out.seq

    @property
    def recv_seq(self) -> int:
        """The sequence number the next ``unseal`` expects."""
        return self._in.seq

    def seal(self, plaintext: bytes) -> bytes:
        """[MS-NLMP] 3.4.3 SEAL: signature (16 bytes) ‖ RC4-encrypted ``plaintext``."""
        seq = self._out.next_seq()
        sealed = self._out.rc4.update(plaintext)
        return self._signature(seq, self._out.checksum(seq, plaintext)) + sealed

    def unseal(self, data: bytes) -> bytes:
        """Decrypt and verify a sealed message; ``InvalidField`` on a bad signature or sequence."""
        if len(data) < SIGNATURE_LEN:
            raise NotEnoughData("ntlm sealed message", SIGNATURE_LEN, len(data), 0)
        version, checksum, seq = struct.unpack_from("<I8sI", data)
        if version != SIGNATURE_VERSION:
            raise InvalidField("ntlm sealed message", "signature", f"version {version} != 1", 0)
        if seq != self._in.seq:
            raise InvalidField(
                "ntlm sealed message", "signature", f"sequence number {seq}, expected {self._in.seq}", 12
            )
        self._in.next_seq()
        plaintext = self._in.rc4.update(data[SIGNATURE_LEN:])
        if not hmac.compare_digest(self._in.checksum(seq, plaintext), checksum):
            raise InvalidField("ntlm sealed message", "signature", "checksum mismatch", 4)
        return plaintext

    def _signature(self, seq: int, checksum: bytes) -> bytes:
        return struct.pack("<I8sI", SIGNATURE_VERSION, checksum, seq)


def session_flags_supported(flags: int) -> bool:
    """Whether ``flags`` select the session security this module implements (3.4 with ESS)."""
    return bool(flags & _FLAG_ESS)


def uses_key_exchange(flags: int) -> bool:
    """[MS-NLMP] 3.1.5.1.2: a random session key is exchanged when KEY_EXCH and SIGN or SEAL are set."""
    return bool(flags & _FLAG_KEY_EXCH) and bool(flags & (_FLAG_SIGN | _FLAG_SEAL))
