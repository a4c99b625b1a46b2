"""Security Commencement, Secure Settings Exchange, Licensing and Capabilities Exchange.

[MS-RDPBCGR] 1.3.1.1 steps 4-9: under Standard RDP Security the client sends its random
encrypted with the server's key (2.2.1.10) and every later PDU is encrypted; then the
Client Info PDU (2.2.1.11, empty credentials unless a full logon was asked for), the
licensing exchange (2.2.1.12) and, as the success criterion of a probe, the server's
Demand Active PDU (2.2.1.13.1): the logon screen would appear.
"""

from __future__ import annotations

from rdpprobe.classify import Detail
from rdpprobe.errors import DecodeError
from rdpprobe.sequence import credentials, pdus, teardown
from rdpprobe.sequence.phases import Phase
from rdpprobe.sequence.state import Expect, ProbeState
from rdpprobe.signals import Signal
from rdpprobe.wire import info, nego, rdpcrypto, security, tpkt

#: INFO_* flags of a probe's Client Info ([MS-RDPBCGR] 2.2.1.11.1.1): the four every client
#: sends (mouse, no Ctrl+Alt+Del, Unicode, maximized shell; xrdp rejects a Client Info
#: without them), and requests for logon notifications and logon errors.
PROBE_INFO_FLAGS = (
    info.InfoFlags.INFO_MOUSE
    | info.InfoFlags.INFO_DISABLECTRLALTDEL
    | info.InfoFlags.INFO_UNICODE
    | info.InfoFlags.INFO_MAXIMIZESHELL
    | info.InfoFlags.INFO_LOGONNOTIFY
    | info.InfoFlags.INFO_LOGONERRORS
)
#: [MS-RDPBCGR] 2.2.1.4.3: encryption level NONE means no security header on most PDUs.
ENCRYPTION_LEVEL_NONE = 0


def begin(state: ProbeState) -> None:
    if _uses_rdp_encryption(state):
        if not _security_commencement(state):
            return
    else:
        state.skip(Phase.SECURITY_COMMENCEMENT)
    state.enter(Phase.SECURE_SETTINGS_EXCHANGE)
    if credentials.withhold_unproven(state):
        return
    pdus.send_io(state, pdus.secure(state, security.SEC_INFO_PKT, info.encode_client_info(_client_info(state))))
    if state.stop_if_asked(Phase.SECURE_SETTINGS_EXCHANGE, "the client info pdu"):
        return
    state.enter(Phase.LICENSING)
    state.wait_for(Expect.MCS, on_server_pdu)


def _uses_rdp_encryption(state: ProbeState) -> bool:
    standard = nego.is_standard_rdp_security(state.selected_protocol or 0)
    return standard and state.mcs.encryption_level != ENCRYPTION_LEVEL_NONE


def _security_commencement(state: ProbeState) -> bool:
    """[MS-RDPBCGR] 2.2.1.10: send the client random under the server's RSA key."""
    state.enter(Phase.SECURITY_COMMENCEMENT)
    server_random = state.mcs.server_random or b""
    try:
        if len(server_random) != rdpcrypto.SERVER_RANDOM_SIZE:
            raise DecodeError("server security data", f"server random is {len(server_random)} bytes, not 32")
        _check_method(state.mcs.encryption_method)
        cert = security.decode_server_certificate(state.mcs.server_certificate or b"")
        if isinstance(cert, security.ProprietaryCertificate) and not rdpcrypto.verify_proprietary_certificate(cert):
            raise DecodeError("server certificate", "signature does not verify with the terminal services key")
        key = rdpcrypto.server_public_key(cert)
    except DecodeError as exc:
        state.fail(Signal.BAD_SERVER_SECURITY, str(exc))
        return False
    client_random = state.rng(rdpcrypto.CLIENT_RANDOM_SIZE)
    exchange = security.SecurityExchange(rdpcrypto.encrypt_client_random(client_random, key))
    pdus.send_io(state, security.encode_security_exchange(exchange))
    state.security = rdpcrypto.new_security_context(
        client_random, server_random, state.mcs.encryption_method, "client"
    )
    return True


def _check_method(method: int | None) -> None:
    """Under an encryption level above none the server chose one method the client offered
    ([MS-RDPBCGR] 2.2.1.4.3); every one of those has keys (5.3.5)."""
    if method not in rdpcrypto.SEALING_METHODS:
        chosen = f"0x{method:x}" if method else "none"
        raise DecodeError("server security data", f"encryption method {chosen} is not 40-bit, 56-bit, 128-bit or FIPS")


def _client_info(state: ProbeState) -> info.ClientInfo:
    creds = state.config.credentials if state.config.full_logon else None
    flags = PROBE_INFO_FLAGS | (info.InfoFlags.INFO_AUTOLOGON if creds else 0)
    return info.ClientInfo(
        flags=int(flags),
        domain=creds.domain if creds else "",
        user_name=creds.user if creds else "",
        password=creds.password if creds else "",
        extended=info.ExtendedInfo(client_address="0.0.0.0", client_dir="C:\\Windows\\System32\\mstscax.dll"),
    )


def on_server_pdu(state: ProbeState, frame: bytes) -> None:
    """Anything the server sends after Client Info, until Demand Active or a teardown."""
    if tpkt.is_fastpath(frame[0]) or teardown.handled_as_teardown(state, frame):
        return
    opened = pdus.open_server_pdu(state, frame)
    if opened is None:
        return
    kind, body = opened
    if kind == pdus.LICENSE:
        _on_license(state, body)
    elif kind == pdus.REDIRECTION:
        pdus.on_redirection(state, body)
    else:
        _on_share(state, body)


def _on_license(state: ProbeState, body: bytes) -> None:
    outcome = pdus.license_outcome(body)
    state.learn(licensing=outcome.name)
    if outcome.quirk is not None:
        state.learn(licensing_quirk=outcome.quirk)
    if outcome.error_code is not None:
        detail = f"license error {outcome.name}"
        state.fail(Signal.LICENSE_ERROR, detail, Detail(license_error_code=outcome.error_code))
    elif outcome.complete:
        state.enter(Phase.CAPABILITIES_EXCHANGE)
        state.stop_if_asked(Phase.LICENSING, "licensing")
    else:
        reply = pdus.license_reply(state, body)
        if reply is None:
            state.succeed(f"unexpected licensing message {outcome.name}; the probe stops here")
        else:
            pdus.send_io(state, pdus.secure(state, security.SEC_LICENSE_PKT, reply))


def _on_share(state: ProbeState, body: bytes) -> None:
    if pdus.is_enhanced_redirection(body):
        pdus.on_redirection(state, body)
        return
    pdu = pdus.decode_share(body)
    if isinstance(pdu, pdus.DemandActive):
        if state.phase is not Phase.CAPABILITIES_EXCHANGE:
            state.enter(Phase.CAPABILITIES_EXCHANGE)
        state.learn(capabilities=pdus.capability_facts(pdu))
        state.succeed("demand active received: the logon screen would appear")
    elif isinstance(pdu, pdus.SetErrorInfo) and pdu.error_info:
        state.mcs.error_info = pdu.error_info
        name = pdus.error_info_name(pdu.error_info)
        state.fail(Signal.SET_ERROR_INFO, f"errorInfo 0x{pdu.error_info:08x} {name}", Detail(error_info=pdu.error_info))

