"""NTLM for CredSSP, both ends: NEGOTIATE, CHALLENGE, NTLMv2 AUTHENTICATE and its check ([MS-NLMP]).

Client: ``build_negotiate`` → (server's CHALLENGE) → ``build_authenticate``, which returns the
AUTHENTICATE bytes and the client's ``NtlmSession``. Server (the mock): ``encode_challenge`` →
(client's AUTHENTICATE) → ``verify_authenticate``, which returns an ``AuthOutcome`` carrying the
server's ``NtlmSession`` on success or an NTSTATUS on failure.

Rules of this module:
- randomness is injected as ``rng(n) -> bytes``: ``build_authenticate`` asks for the 8-byte
  client challenge first and then the 16-byte random session key; time is never read, the
  NTLMv2 timestamp comes from the CHALLENGE (or the caller);
- when the CHALLENGE carries MsvAvTimestamp (every Windows since Vista) the client behaves as
  Windows and FreeRDP do: MsvAvFlags with the MIC bit, MsvAvChannelBindings, an optional
  MsvAvTargetName, LmChallengeResponse Z(24) and a MIC. Without it the target info is echoed
  unchanged with an LMv2 response and no MIC, which is the [MS-NLMP] 4.2.4 example;
- ``verify_authenticate`` raises ``DecodeError`` only when a message cannot be parsed at all;
  anything parseable but wrong (NTLMv1, unknown user, bad proof, bad MIC) is a failure
  ``AuthOutcome``.
"""

from __future__ import annotations

import functools

import hmac
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from rdpprobe.errors import DecodeError, InvalidField, ProbeUsageError
from rdpprobe.wire.buffer import Reader
from rdpprobe.wire.ntlm_crypto import (
    CHALLENGE_LEN,
    NTLMV2_PROOF_LEN,
    SESSION_KEY_LEN,
    NtlmSession,
    Role,
    compute_mic,
    lmv2_response,
    nt_proof_str,
    ntlmv2_client_blob,
    ntowfv2,
    rc4,
    session_base_key,
    session_flags_supported,
    uses_key_exchange,
)
from rdpprobe.wire.ntlm_fields import (
    AUTHENTICATE_HEADER_LEN,
    AUTHENTICATE_MIC_OFFSET,
    DEFAULT_VERSION,
    MIC_LEN,
    MSV_AV_FLAG_MIC,
    AvId,
    AvPair,
    NegotiateFlags,
    NtlmVersion,
    datetime_to_filetime,
    encode_av_pairs,
    filetime_to_datetime,
    find_av,
    read_av_pairs,
    utf16,
)
from rdpprobe.wire.ntlm_messages import (
    DEFAULT_CHALLENGE_FLAGS,
    AuthenticateMessage,
    ChallengeInfo,
    NegotiateMessage,
    decode_authenticate,
    decode_challenge,
    decode_negotiate,
    encode_authenticate,
    encode_challenge,
    encode_negotiate,
)
from rdpprobe.wire.ntstatus import NtStatus

__all__ = [
    "DEFAULT_CHALLENGE_FLAGS",
    "DEFAULT_FLAGS",
    "DEFAULT_VERSION",
    "AuthOutcome",
    "AuthenticateMessage",
    "AvId",
    "AvPair",
    "ChallengeInfo",
    "NegotiateFlags",
    "NegotiateMessage",
    "NtStatus",
    "NtlmSession",
    "NtlmVersion",
    "Role",
    "build_authenticate",
    "build_negotiate",
    "datetime_to_filetime",
    "decode_authenticate",
    "decode_challenge",
    "decode_negotiate",
    "encode_challenge",
    "filetime_to_datetime",
    "verify_authenticate",
]

Rng = Callable[[int], bytes]
PasswordLookup = Callable[[str, str], str | None]

# The NEGOTIATE flags of nmap's rdp-ntlm-info and of Windows RDP clients (0xE20882B7):
# NTLMv2 with extended session security, 128-bit keys, key exchange, sign and seal.
DEFAULT_FLAGS = (
    NegotiateFlags.UNICODE
    | NegotiateFlags.OEM
    | NegotiateFlags.REQUEST_TARGET
    | NegotiateFlags.SIGN
    | NegotiateFlags.SEAL
    | NegotiateFlags.LM_KEY
    | NegotiateFlags.NTLM
    | NegotiateFlags.ALWAYS_SIGN
    | NegotiateFlags.EXTENDED_SESSIONSECURITY
    | NegotiateFlags.VERSION
    | NegotiateFlags.NEGOTIATE_128
    | NegotiateFlags.KEY_EXCH
    | NegotiateFlags.NEGOTIATE_56
)

# [MS-NLMP] 2.2.2.7: NTLMv2_CLIENT_CHALLENGE up to AvPairs.
_BLOB_HEADER_LEN = 1 + 1 + 2 + 4 + 8 + CHALLENGE_LEN + 4  # types, reserved, time, challenge, reserved
_NTLMV1_RESPONSE_LEN = 24  # [MS-NLMP] 2.2.2.6 NTLM v1 response
_CHANNEL_BINDINGS_LEN = 16  # [MS-NLMP] 2.2.2.1 MsvAvChannelBindings, an MD5 hash
_NO_CHANNEL_BINDINGS = bytes(_CHANNEL_BINDINGS_LEN)  # Z(16): no bindings (CredSSP)
_NO_LM_RESPONSE = bytes(24)  # [MS-NLMP] 3.1.5.1.2: Z(24) when the MIC is sent (Windows, FreeRDP)


@functools.lru_cache(maxsize=16)
def build_negotiate(flags: int = DEFAULT_FLAGS, version: NtlmVersion | None = DEFAULT_VERSION) -> bytes:
    """[MS-NLMP] 2.2.1.1 a client NEGOTIATE_MESSAGE (no domain or workstation, with VERSION).

    Cached: the message has no random part, and a scan sends the same one to every server.
    """
    if version is None:
        flags &= ~NegotiateFlags.VERSION
    return encode_negotiate(NegotiateMessage(flags, version=version))


# ---------------------------------------------------------------------------------------
# Client
# ---------------------------------------------------------------------------------------


def _random(rng: Rng, n: int) -> bytes:
    value = rng(n)
    if len(value) != n:
        raise ProbeUsageError(f"rng returned {len(value)} bytes, expected {n}")
    return value


def _client_av_pairs(info: ChallengeInfo, target_spn: str | None, bindings: bytes) -> bytes:
    """[MS-NLMP] 3.1.5.1.2 the server's target info plus the client's MIC flag, bindings and SPN."""
    flags = find_av(info.av_pairs, AvId.FLAGS)
    old_flags = struct.unpack("<I", flags)[0] if flags is not None and len(flags) == 4 else 0
    replaced = {AvId.FLAGS, AvId.CHANNEL_BINDINGS, AvId.TARGET_NAME}
    pairs = [p for p in info.av_pairs if p.av_id not in replaced]
    pairs.append(AvPair(AvId.FLAGS, struct.pack("<I", old_flags | MSV_AV_FLAG_MIC)))
    pairs.append(AvPair(AvId.CHANNEL_BINDINGS, bindings))
    if target_spn is not None:
        pairs.append(AvPair(AvId.TARGET_NAME, utf16(target_spn)))
    return encode_av_pairs(pairs)


def _with_mic(data: bytes, mic: bytes) -> bytes:
    return data[:AUTHENTICATE_MIC_OFFSET] + mic + data[AUTHENTICATE_HEADER_LEN:]


def _client_target_info(
    info: ChallengeInfo, filetime: int, target_spn: str | None, bindings: bytes
) -> tuple[int, bytes, bool]:
    """(timestamp, target info, modern): what the NTLMv2 response is computed over."""
    if info.timestamp is None:
        return filetime, info.target_info, False
    return info.timestamp, _client_av_pairs(info, target_spn, bindings), True


def _session_key(flags: int, key_exchange_key: bytes, random_key: bytes) -> tuple[bytes, bytes]:
    """(ExportedSessionKey, EncryptedRandomSessionKey) per [MS-NLMP] 3.1.5.1.2."""
    if uses_key_exchange(flags):
        return random_key, rc4(key_exchange_key, random_key)
    return key_exchange_key, b""


def build_authenticate(
    challenge_bytes: bytes,
    user: str,
    password: str,
    domain: str,
    workstation: str,
    rng: Rng,
    negotiate_bytes: bytes,
    *,
    filetime: int = 0,
    target_spn: str | None = None,
    channel_bindings: bytes = _NO_CHANNEL_BINDINGS,
) -> tuple[bytes, NtlmSession]:
    """[MS-NLMP] 3.1.5.1.2 the NTLMv2 AUTHENTICATE_MESSAGE answering ``challenge_bytes``.

    ``negotiate_bytes`` is the NEGOTIATE this client sent (the MIC covers it). ``filetime`` is
    used only when the CHALLENGE has no MsvAvTimestamp. ``target_spn`` (e.g. ``TERMSRV/host``)
    becomes MsvAvTargetName. Raises ``DecodeError`` if the CHALLENGE is malformed or does not
    offer extended session security.
    """
    info = decode_challenge(challenge_bytes)
    if not session_flags_supported(info.flags):
        raise InvalidField("ntlm challenge", "negotiate flags", "extended session security not offered", 20)
    flags = info.flags | NegotiateFlags.VERSION
    client_challenge, random_key = _random(rng, CHALLENGE_LEN), _random(rng, SESSION_KEY_LEN)
    timestamp, target_info, modern = _client_target_info(info, filetime, target_spn, channel_bindings)
    key = ntowfv2(password, user, domain)
    blob = ntlmv2_client_blob(timestamp, client_challenge, target_info)
    proof = nt_proof_str(key, info.server_challenge, blob)
    exported, encrypted_key = _session_key(flags, session_base_key(key, proof), random_key)
    lm = _NO_LM_RESPONSE if modern else lmv2_response(key, info.server_challenge, client_challenge)
    mic = bytes(MIC_LEN) if modern else None
    msg = AuthenticateMessage(
        flags, lm, proof + blob, domain, user, workstation, encrypted_key, DEFAULT_VERSION, mic
    )
    data = encode_authenticate(msg)
    if modern:
        data = _with_mic(data, compute_mic(exported, negotiate_bytes, challenge_bytes, data))
    return data, NtlmSession(exported, flags, Role.CLIENT)


# ---------------------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthOutcome:
    """[MS-NLMP] 3.2.5.1.2 what the server concluded from an AUTHENTICATE_MESSAGE."""

    ok: bool
    """True when the NTLMv2 response and (if announced) the MIC verified."""
    status: int
    """NTSTATUS: STATUS_SUCCESS, or why it failed (``NtStatus`` names it)."""
    user: str
    """UserName as the client sent it."""
    domain: str
    """DomainName as the client sent it."""
    workstation: str = ""
    """Workstation as the client sent it."""
    reason: str = ""
    """A short lowercase explanation of a failure, empty on success."""
    mic_checked: bool = False
    """Whether the client announced a MIC (MsvAvFlags bit 0x2) and it verified."""
    session: NtlmSession | None = field(default=None, compare=False, repr=False)
    """The server's session-security context, on success."""


def _fail(msg: AuthenticateMessage, status: NtStatus, reason: str) -> AuthOutcome:
    return AuthOutcome(False, int(status), msg.user, msg.domain, msg.workstation, reason)


def _blob_av_pairs(blob: bytes) -> tuple[AvPair, ...]:
    r = Reader(blob, "ntlmv2 client challenge")
    r.skip(_BLOB_HEADER_LEN)
    return read_av_pairs(r)


def _announces_mic(pairs: tuple[AvPair, ...]) -> bool:
    value = find_av(pairs, AvId.FLAGS)
    return value is not None and len(value) == 4 and bool(struct.unpack("<I", value)[0] & MSV_AV_FLAG_MIC)


def _exported_key(msg: AuthenticateMessage, key_exchange_key: bytes) -> bytes | None:
    if not uses_key_exchange(msg.flags):
        return key_exchange_key
    if len(msg.encrypted_session_key) != SESSION_KEY_LEN:
        return None
    return rc4(key_exchange_key, msg.encrypted_session_key)


def _mic_ok(msg: AuthenticateMessage, exported: bytes, messages: tuple[bytes, bytes, bytes]) -> bool:
    negotiate, challenge, authenticate = messages
    if msg.mic is None:
        return False
    zeroed = _with_mic(authenticate, bytes(MIC_LEN))
    return hmac.compare_digest(compute_mic(exported, negotiate, challenge, zeroed), msg.mic)


def verify_authenticate(
    negotiate_bytes: bytes,
    challenge_bytes: bytes,
    authenticate_bytes: bytes,
    lookup: PasswordLookup,
) -> AuthOutcome:
    """[MS-NLMP] 3.2.5.1.2 check an NTLMv2 AUTHENTICATE against ``lookup(user, domain)``.

    ``lookup`` returns the password, or None for an unknown user. Failures map to
    STATUS_NO_SUCH_USER (unknown user), STATUS_WRONG_PASSWORD (NTProofStr mismatch) and
    STATUS_LOGON_FAILURE (anything else: NTLMv1 or anonymous responses, a bad MIC, a missing
    session key). Raises ``DecodeError`` only when the CHALLENGE or AUTHENTICATE cannot be parsed.
    """
    info = decode_challenge(challenge_bytes)
    msg = decode_authenticate(authenticate_bytes)
    if len(msg.nt_response) <= _NTLMV1_RESPONSE_LEN:
        return _fail(msg, NtStatus.STATUS_LOGON_FAILURE, "not an ntlmv2 response")
    password = lookup(msg.user, msg.domain)
    if password is None:
        return _fail(msg, NtStatus.STATUS_NO_SUCH_USER, "unknown user")
    proof, blob = msg.nt_response[:NTLMV2_PROOF_LEN], msg.nt_response[NTLMV2_PROOF_LEN:]
    expected, session_base = _server_keys(password, msg, info.server_challenge, blob)
    if not hmac.compare_digest(expected, proof):
        return _fail(msg, NtStatus.STATUS_WRONG_PASSWORD, "ntproofstr mismatch")
    messages = (negotiate_bytes, challenge_bytes, authenticate_bytes)
    return _check_session(msg, session_base, blob, messages)


def _server_keys(
    password: str, msg: AuthenticateMessage, server_challenge: bytes, blob: bytes
) -> tuple[bytes, bytes]:
    """(expected NTProofStr, SessionBaseKey) computed by impacket's NTLM ([MS-NLMP] 3.3.2).

    The server side deliberately uses a second implementation: the client's NTLMv2 comes
    from ``ntlm_crypto``, so a mock and a client sharing one mistake would not both pass.
    impacket only computes here; it never parses the peer's bytes. It is imported here
    because only a server needs it and it pulls in pycryptodome: probes never load it.
    """
    from impacket import ntlm as impacket_ntlm

    response_key = impacket_ntlm.NTOWFv2(msg.user, password, msg.domain)
    expected = impacket_ntlm.hmac_md5(response_key, server_challenge + blob)
    return expected, impacket_ntlm.hmac_md5(response_key, expected)


def _check_session(
    msg: AuthenticateMessage, key_exchange_key: bytes, blob: bytes, messages: tuple[bytes, bytes, bytes]
) -> AuthOutcome:
    try:
        pairs = _blob_av_pairs(blob)
    except DecodeError:
        return _fail(msg, NtStatus.STATUS_LOGON_FAILURE, "malformed ntlmv2 client challenge")
    exported = _exported_key(msg, key_exchange_key)
    if exported is None:
        return _fail(msg, NtStatus.STATUS_LOGON_FAILURE, "missing encrypted session key")
    wants_mic = _announces_mic(pairs)
    if wants_mic and not _mic_ok(msg, exported, messages):
        return _fail(msg, NtStatus.STATUS_LOGON_FAILURE, "mic mismatch")
    if not session_flags_supported(msg.flags):
        return _fail(msg, NtStatus.STATUS_LOGON_FAILURE, "extended session security not negotiated")
    session = NtlmSession(exported, msg.flags, Role.SERVER)
    success = int(NtStatus.STATUS_SUCCESS)
    return AuthOutcome(True, success, msg.user, msg.domain, msg.workstation, "", wants_mic, session)
