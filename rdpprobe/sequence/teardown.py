"""A server's explanation of a teardown, whatever phase it arrives in.

[MS-RDPBCGR] 1.3.1.4.2: Windows tears a connection down with Set Error Info, (Deactivate
All), Disconnect Provider Ultimatum and a TCP close; other servers may send an X.224
Disconnect Request instead.
"""

from __future__ import annotations

from rdpprobe.classify import Detail
from rdpprobe.sequence.state import ProbeState
from rdpprobe.signals import Signal
from rdpprobe.wire import mcs, x224
from rdpprobe.wire.codes import name_of

#: Offset of the TPDU code in a TPKT frame (after the 4-byte header and the LI octet).
TPDU_CODE_OFFSET = 4 + 1
#: Offset of the MCS PDU in a TPKT + X.224 Data frame.
MCS_OFFSET = 4 + 3


def handled_as_teardown(state: ProbeState, frame: bytes) -> bool:
    """True when ``frame`` is a Disconnect Request or Ultimatum; the probe then ends."""
    if len(frame) > TPDU_CODE_OFFSET and frame[TPDU_CODE_OFFSET] & 0xF0 == x224.TpduCode.DISCONNECT_REQUEST:
        state.fail(Signal.EOF, "the server sent an x.224 disconnect request")
        return True
    if len(frame) > MCS_OFFSET and frame[MCS_OFFSET] >> mcs.CHOICE_SHIFT == mcs.DomainPduType.DISCONNECT_PROVIDER_ULTIMATUM:
        pdu = mcs.decode_mcs_frame(frame)
        if not isinstance(pdu, mcs.DisconnectProviderUltimatum):
            return False  # The byte at MCS_OFFSET was not the PDU's first (a longer X.224 header).
        disconnected(state, pdu.reason)
        return True
    return False


def disconnected(state: ProbeState, reason: int) -> None:
    """A Disconnect Provider Ultimatum: explained by an earlier Set Error Info, if one came."""
    error_info = state.mcs.error_info
    if error_info:
        state.fail(Signal.SET_ERROR_INFO, f"errorInfo 0x{error_info:08x}", Detail(error_info=error_info, dpum_reason=reason))
        return
    name = name_of(mcs.DisconnectReason, reason)
    state.fail(Signal.DISCONNECT_ULTIMATUM, f"disconnect provider ultimatum ({name})", Detail(dpum_reason=reason))
