"""Secure Settings Exchange, Licensing, Capabilities Exchange, Finalization and teardown.

[MS-RDPBCGR] 2.2.1.11-2.2.1.22 and 3.3.5.3.11-3.3.5.3.22, server side: the Client Info PDU
is answered with the License Error PDU - Valid Client and the Demand Active; after the
Confirm Active the server answers the client's Synchronize, Control Cooperate and Control
Request Control PDUs with Synchronize, Control Cooperate and Control Granted Control as each
arrives (3.3.5.3.19-3.3.5.3.21; rdesktop waits for them before its Font List), and the Font
List with whichever of those it did not send yet plus the Font Map, which makes the client
active.
Teardown follows 1.3.1.4.2: Set Error Info, Disconnect Provider Ultimatum, close.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdpprobe.mock import capsets
from rdpprobe.mock.actions import Action as Step
from rdpprobe.mock.faults import Action, Fault, ServerPhase
from rdpprobe.mock.mcsserver import SERVER_USER_ID
from rdpprobe.mock.states import State
from rdpprobe.wire import info, licensing, rdpcrypto, redirection, security, share
from rdpprobe.wire.security import BasicSecurityHeader, SecuredPdu, SecFlags
from rdpprobe.wire.share import PduType2, ShareDataHeader, ShareDataPdu

if TYPE_CHECKING:
    from rdpprobe.mock.acceptor import Acceptor

SHARE_ID = 0x000103EA  # [MS-RDPBCGR] 4.1.12 shareID
DEFAULT_DESKTOP = (1024, 768)
RNS_UD_CS_SUPPORT_ERRINFO_PDU = 0x0001  # [MS-RDPBCGR] 2.2.1.3.2 earlyCapabilityFlags
MCS_USER_REQUESTED = 3  # T.125 Reason rn-user-requested ([MS-RDPBCGR] 2.2.2.3)
MCS_PROVIDER_INITIATED = 1  # T.125 Reason rn-provider-initiated
STREAM_LOW = 1  # [MS-RDPBCGR] 2.2.8.1.1.1.2 streamId
CONTROL_ACTION_SIZE = 2  # [MS-RDPBCGR] 2.2.1.15.1 TS_CONTROL_PDU action
# Terminal faults the Secure Settings / Licensing / Active phases understand.
_TEARDOWN = (Action.ERROR_INFO, Action.ULTIMATUM, Action.LICENSE_ERROR, Action.REDIRECT)


class Activation:
    """Per-connection state from the Client Info PDU to the active session."""

    def __init__(self, acceptor: Acceptor) -> None:
        self.a = acceptor
        self.client_user: str | None = None
        self.desktop = DEFAULT_DESKTOP
        self.answered: set[str] = set()
        """Client finalization PDUs the server has answered already."""

    # -- Client Info (2.2.1.11) -> licensing (2.2.1.12) -> Demand Active (2.2.1.13.1) ------

    def on_client_info(self, frame: bytes) -> list[Step]:
        pdu = self._unseal(self.a.mcs.user_data(frame))
        if not pdu.header.flags & SecFlags.SEC_INFO_PKT:
            raise ValueError(f"expected client info pdu, security flags 0x{pdu.header.flags:04x}")
        client = info.decode_client_info(pdu.payload)
        self.client_user = client.user_name
        self.a.note(f"client info: user={client.domain}\\{client.user_name}")
        steps = self._phase(ServerPhase.SECURE_SETTINGS_EXCHANGE, b"")
        if self.a.state is not State.WAIT_CLIENT_INFO:
            return steps
        steps += self._phase(ServerPhase.LICENSING, self._license(licensing.valid_client_message()))
        if self.a.state is not State.WAIT_CLIENT_INFO:
            return steps
        return steps + self.a.respond(ServerPhase.CAPABILITIES_EXCHANGE, self._demand_active(),
                                      State.WAIT_CONFIRM_ACTIVE)

    def _phase(self, phase: ServerPhase, data: bytes) -> list[Step]:
        """``data`` as the answer of ``phase`` unless one of its teardown faults fires."""
        f = self.a.fault(phase, *_TEARDOWN)
        if f is None:
            return self.a.respond(phase, data)
        self.a.reach(phase)
        return self.teardown(f)

    def _demand_active(self) -> bytes:
        width, height = self.desktop
        pdu = share.DemandActive(SHARE_ID, share.SOURCE_DESCRIPTOR_RDP,
                                 capsets.server_capability_sets(width, height), 0, SERVER_USER_ID)
        return self._share(share.encode_share_pdu(pdu))

    # -- Confirm Active (2.2.1.13.2) and finalization (2.2.1.14-2.2.1.22) -----------------

    def on_confirm_active(self, frame: bytes) -> list[Step]:
        pdu = share.decode_share_pdu(self._plain(frame))
        if not isinstance(pdu, share.ConfirmActive):
            self.a.note(f"ignored {type(pdu).__name__} before confirm active")
            return []
        self.a.reach(ServerPhase.FINALIZATION)
        self.a.state = State.WAIT_FINALIZATION
        return []

    def on_finalization(self, frame: bytes) -> list[Step]:
        pdu = share.decode_share_pdu(self._plain(frame))
        if not isinstance(pdu, ShareDataPdu):
            return []
        if pdu.header.pdu_type2 != PduType2.PDUTYPE2_FONTLIST:
            return self._answer_finalization(_finalization_key(pdu))
        pdus = [p for p in self._finalization_pdus() if p[0] not in self.answered]
        frames = b"".join(self._data_pdu(t, body) for _, t, body in pdus)
        steps = self.a.respond(ServerPhase.FINALIZATION, frames, State.ACTIVE)
        if self.a.state is State.ACTIVE:
            self.a.reach(ServerPhase.ACTIVE)
            self.a.note("client active")
            f = self.a.fault(ServerPhase.ACTIVE, *_TEARDOWN, Action.CLOSE, Action.RESET)
            steps += self.teardown(f) if f is not None and f.action in _TEARDOWN else (
                self.a.respond(ServerPhase.ACTIVE, b"") if f is not None else [])
        return steps

    def _answer_finalization(self, key: str | None) -> list[Step]:
        """The server PDU that answers the client PDU ``key``, once (none for other PDUs)."""
        pdu = next((p for p in self._finalization_pdus() if p[0] == key), None)
        if pdu is None or key in self.answered:
            return []
        self.answered.add(pdu[0])
        return self.a.respond(ServerPhase.FINALIZATION, self._data_pdu(pdu[1], pdu[2]))

    def _finalization_pdus(self) -> list[tuple[str, int, bytes]]:
        """(client PDU answered, pduType2, body) of the server's finalization PDUs, in order."""
        user = self.a.mcs.user_id
        return [
            ("synchronize", PduType2.PDUTYPE2_SYNCHRONIZE, capsets.synchronize_body(user)),
            ("cooperate", PduType2.PDUTYPE2_CONTROL, capsets.control_body(capsets.CTRLACTION_COOPERATE)),
            ("request_control", PduType2.PDUTYPE2_CONTROL,
             capsets.control_body(capsets.CTRLACTION_GRANTED_CONTROL, user, SERVER_USER_ID)),
            ("font_list", PduType2.PDUTYPE2_FONTMAP, capsets.font_map_body()),
        ]

    def on_active(self, frame: bytes) -> list[Step]:
        """Input and other client PDUs of an active session are read and ignored."""
        return []

    # -- teardown (1.3.1.4.2, 2.2.5.1, 2.2.2.3, 2.2.1.12.1.3) ------------------------------

    def teardown(self, f: Fault) -> list[Step]:
        data = b""
        if f.action is Action.ERROR_INFO:
            data = self._error_info(int(f.param("code")))
            data += self.a.mcs.ultimatum(MCS_PROVIDER_INITIATED)
        elif f.action is Action.ULTIMATUM:
            data = self.a.mcs.ultimatum(int(f.param("reason")))
        elif f.action is Action.LICENSE_ERROR:
            msg = licensing.LicenseError(int(f.param("code")), int(f.param("transition")))
            data = self._license(msg)
        elif f.action is Action.REDIRECT:
            data = self._redirect(f)
        self.a.note(f"teardown: {f.action.value} {dict(f.params)}")
        return self.a.respond(f.phase, data) + self.a.close()

    def _error_info(self, code: int) -> bytes:
        """2.2.5.1: only if the client announced RNS_UD_CS_SUPPORT_ERRINFO_PDU (the spec's MUST)."""
        if not self.a.mcs.early_flags & RNS_UD_CS_SUPPORT_ERRINFO_PDU:
            self.a.note("client did not announce errinfo support; set error info not sent")
            return b""
        pdu = share.SetErrorInfo(code, SHARE_ID, SERVER_USER_ID)
        return self._share(share.encode_share_pdu(pdu))

    def _redirect(self, f: Fault) -> bytes:
        """2.2.13.3.1 Enhanced Security Server Redirection to ``target`` (+ LoadBalanceInfo)."""
        lb_info = str(f.param("lb_info")).encode()
        flags = redirection.RedirFlags.LB_TARGET_NET_ADDRESS
        if lb_info:
            flags |= redirection.RedirFlags.LB_LOAD_BALANCE_INFO
        packet = redirection.ServerRedirection(0, int(flags), str(f.param("target")), lb_info or None)
        crypto = self.a.mcs.crypto
        if crypto is not None:
            body = redirection.encode_redirection_packet(packet)
            return self.a.mcs.indication(rdpcrypto.seal(crypto, SecFlags.SEC_REDIRECTION_PKT, body))
        pdu = redirection.EnhancedRedirection(packet, SERVER_USER_ID)
        return self.a.mcs.indication(redirection.encode_enhanced_redirection(pdu))

    # -- framing helpers ---------------------------------------------------------------------

    def _data_pdu(self, pdu_type2: int, body: bytes) -> bytes:
        total = share.SHARE_DATA_HEADER_SIZE + len(body)
        header = ShareDataHeader(SHARE_ID, STREAM_LOW, total - share.UNCOMPRESSED_LENGTH_BIAS,
                                 pdu_type2, 0, 0, SERVER_USER_ID)
        return self._share(share.encode_share_pdu(ShareDataPdu(header, body)))

    def _share(self, payload: bytes) -> bytes:
        """A share PDU on the I/O channel: encrypted under Standard RDP Security, bare otherwise."""
        crypto = self.a.mcs.crypto
        if crypto is not None:
            payload = rdpcrypto.seal(crypto, 0, payload)
        return self.a.mcs.indication(payload)

    def _license(self, msg: licensing.LicenseMessage) -> bytes:
        body = licensing.encode_license_pdu(msg)
        crypto = self.a.mcs.crypto
        if crypto is not None:
            return self.a.mcs.indication(rdpcrypto.seal(crypto, SecFlags.SEC_LICENSE_PKT, body))
        header = BasicSecurityHeader(SecFlags.SEC_LICENSE_PKT)
        return self.a.mcs.indication(security.encode_secured_pdu(SecuredPdu(header, body)))

    def _unseal(self, data: bytes) -> SecuredPdu:
        return rdpcrypto.unseal(self.a.mcs.crypto, data)

    def _plain(self, frame: bytes) -> bytes:
        """The share PDU of a client frame, decrypted under Standard RDP Security."""
        data = self.a.mcs.user_data(frame)
        if self.a.mcs.crypto is None:
            return data
        return self._unseal(data).payload


def _finalization_key(pdu: ShareDataPdu) -> str | None:
    """Which client finalization PDU ``pdu`` is (2.2.1.14-2.2.1.16), or None."""
    if pdu.header.pdu_type2 == PduType2.PDUTYPE2_SYNCHRONIZE:
        return "synchronize"
    if pdu.header.pdu_type2 == PduType2.PDUTYPE2_CONTROL and len(pdu.payload) >= CONTROL_ACTION_SIZE:
        action = int.from_bytes(pdu.payload[:CONTROL_ACTION_SIZE], "little")
        return {capsets.CTRLACTION_COOPERATE: "cooperate",
                capsets.CTRLACTION_REQUEST_CONTROL: "request_control"}.get(action)
    return None

