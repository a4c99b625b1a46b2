"""Slow-path PDUs after the channel connection: wrapping what the client sends on the I/O
channel, and opening what the server sends ([MS-RDPBCGR] 2.2.8.1.1, 2.2.1.12-2.2.1.13).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace

from rdpprobe.errors import DecodeError
from rdpprobe.result import CapabilityFacts, RedirectionFacts
from rdpprobe.sequence.state import ProbeState
from rdpprobe.signals import Signal
from rdpprobe.wire import errinfo, license_client, licensing, mcs, rdpcrypto, redirection, security, share
from rdpprobe.wire.codes import flag_names, name_of
from rdpprobe.wire.share import DemandActive, SetErrorInfo

LICENSE = "license"
REDIRECTION = "redirection"
SHARE = "share"
#: [MS-RDPBCGR] 2.2.8.1.1.1.1: pduType carries TS_PROTOCOL_VERSION (1) in its high nibble.
SHARE_CONTROL_VERSION = 0x10
SHARE_CONTROL_HEADER = struct.Struct("<HH")
#: pduType values a server sends ([MS-RDPBCGR] 2.2.8.1.1.1.1).
SERVER_SHARE_PDU_TYPES = frozenset({0x1, 0x6, 0x7, 0xA})


def send_io(state: ProbeState, payload: bytes) -> None:
    """Send ``payload`` on the I/O channel in an MCS Send Data Request; its bytes are kept out
    of the trace (the Client Info PDU carries the password)."""
    user_id, io_channel = state.mcs.user_id, state.mcs.io_channel
    assert user_id is not None and io_channel is not None
    frame = mcs.encode_mcs_frame(mcs.SendDataRequest(initiator=user_id, channel_id=io_channel, data=payload))
    state.send(frame, secret=True)


def secure(state: ProbeState, flags: int, payload: bytes) -> bytes:
    """A security header plus ``payload``, encrypted when Standard RDP Security is on."""
    if state.security is not None:
        return rdpcrypto.seal(state.security, flags, payload)
    header = security.BasicSecurityHeader(flags, 0)
    return security.encode_secured_pdu(security.SecuredPdu(header, payload))


def open_server_pdu(state: ProbeState, frame: bytes) -> tuple[str, bytes] | None:
    """The kind and the plaintext body of a Send Data Indication; None for other MCS PDUs."""
    pdu = mcs.decode_mcs_frame(frame)
    if not isinstance(pdu, mcs.SendDataIndication):
        return None
    data = pdu.data
    if state.security is None and looks_like_share_pdu(data):
        return SHARE, data
    secured = rdpcrypto.unseal(state.security, data)
    return _kind(secured.header.flags), secured.payload


def looks_like_share_pdu(data: bytes) -> bool:
    """A Share Control Header whose totalLength and pduType fit ([MS-RDPBCGR] 2.2.8.1.1.1.1).

    Under Enhanced RDP Security only licensing PDUs carry a security header; this tells a
    share PDU from a security header without guessing from one flag bit.
    """
    if len(data) < SHARE_CONTROL_HEADER.size:
        return False
    total, pdu_type = SHARE_CONTROL_HEADER.unpack_from(data)
    version_ok = pdu_type & 0xF0 == SHARE_CONTROL_VERSION
    return version_ok and total == len(data) and pdu_type & 0x0F in SERVER_SHARE_PDU_TYPES


def _kind(flags: int) -> str:
    if flags & security.SEC_LICENSE_PKT:
        return LICENSE
    if flags & security.SEC_REDIRECTION_PKT:
        return REDIRECTION
    return SHARE


@dataclass(frozen=True, slots=True)
class LicenseOutcome:
    name: str
    error_code: int | None
    complete: bool
    quirk: str | None = None
    """A known deviation in the message's encoding (``licensing.size_quirk``)."""


def license_outcome(body: bytes) -> LicenseOutcome:
    """What a licensing message means for the probe ([MS-RDPBCGR] 2.2.1.12)."""
    outcome = _license_outcome(licensing.decode_license_pdu(body))
    quirk = licensing.size_quirk(body)
    return outcome if quirk is None else replace(outcome, quirk=quirk)


def _license_outcome(msg: licensing.LicenseMessage) -> LicenseOutcome:
    if licensing.is_valid_client(msg):
        return LicenseOutcome("valid_client", None, True)
    if isinstance(msg, licensing.LicenseError):
        return LicenseOutcome(name_of(licensing.LicenseErrorCode, msg.error_code), msg.error_code, False)
    if isinstance(msg, licensing.LicenseRequest):
        return LicenseOutcome("license_request", None, False)
    msg_type = getattr(msg, "msg_type", 0)
    # [MS-RDPELE] 3.3.5.6, 3.3.5.7: a new or upgraded license also ends licensing.
    complete = isinstance(msg, licensing.NewLicense)
    return LicenseOutcome(name_of(licensing.LicenseMsgType, msg_type).lower(), None, complete)


def license_reply(state: ProbeState, body: bytes) -> bytes | None:
    """The client's licensing answer to ``body`` ([MS-RDPELE] 3.3.5), None when none is due."""
    if state.mcs.license_client is None:
        creds = state.config.credentials if state.config.full_logon else None
        state.mcs.license_client = license_client.LicenseClientContext(
            rng=state.rng,
            user_name=creds.user if creds else "",
            machine_name=state.config.client_name,
            fallback_key=_security_data_key(state),
        )
    msg = licensing.decode_license_pdu(body)
    return license_client.respond_to_license_message(msg, state.mcs.license_client)


def _security_data_key(state: ProbeState) -> security.RsaPublicKey | None:
    """The Server Security Data key, if the server sent a usable certificate there."""
    if not state.mcs.server_certificate:
        return None
    try:
        return rdpcrypto.server_public_key(security.decode_server_certificate(state.mcs.server_certificate))
    except DecodeError:
        return None


#: [MS-RDPBCGR] 2.2.13.3.1: PDUTYPE_SERVER_REDIR_PKT, the Enhanced Security redirection carrier.
PDUTYPE_SERVER_REDIR_PKT = 0xA


def is_enhanced_redirection(body: bytes) -> bool:
    return share.peek_share_pdu_type(body) == PDUTYPE_SERVER_REDIR_PKT


def decode_share(body: bytes) -> object:
    return share.decode_share_pdu(body)


def capability_facts(pdu: DemandActive) -> CapabilityFacts:
    names = tuple(share.capability_name(c.type) for c in pdu.capability_sets)
    size = share.desktop_size(pdu)
    return CapabilityFacts(names, size[0] if size else None, size[1] if size else None)


def error_info_name(code: int) -> str:
    return name_of(errinfo.ErrorInfo, code)


def on_redirection(state: ProbeState, body: bytes) -> None:
    """[MS-RDPBCGR] 2.2.13: the server sends the client elsewhere (a broker or load balancer)."""
    packet = redirection.decode_redirection_pdu(body)
    facts = RedirectionFacts(
        session_id=packet.session_id,
        redir_flags=packet.redir_flags,
        redir_flag_names=flag_names(redirection.RedirFlags, packet.redir_flags),
        target_address=packet.target_net_address,
        target_fqdn=packet.target_fqdn,
        load_balance_info=packet.load_balance_info,
    )
    state.learn(redirection=facts)
    state.fail(Signal.REDIRECTED, f"redirected to {packet.target_fqdn or packet.target_net_address or 'another server'}")


__all__ = ["DemandActive", "SetErrorInfo"]
