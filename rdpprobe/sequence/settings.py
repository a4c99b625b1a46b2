"""Basic Settings Exchange and Channel Connection ([MS-RDPBCGR] 1.3.1.1, 2.2.1.3-2.2.1.9).

MCS Connect Initial carries the client's GCC blocks: core data echoing the selected
protocol (a server drops the connection otherwise) with RNS_UD_CS_SUPPORT_ERRINFO_PDU
set (without it a server never explains a disconnect), security data, and cluster data
so that a broker answers with a redirection instead of a silent failure. No static
channels are requested: the probe joins only its user channel and the I/O channel.
"""

from __future__ import annotations

from typing import TypeVar

from rdpprobe.classify import Detail
from rdpprobe.result import ChannelFacts, EncryptionFacts, ServerCoreFacts
from rdpprobe.sequence import activation, teardown
from rdpprobe.sequence.phases import Phase
from rdpprobe.sequence.state import Expect, ProbeState
from rdpprobe.signals import Signal
from rdpprobe.errors import InvalidField
from rdpprobe.wire import basic_settings, gcc_blocks, gcc_consts, gcc_fields, mcs, nego
from rdpprobe.wire.codes import flag_names, name_of

#: [MS-RDPBCGR] 2.2.1.3.3: what a probe offers on every path (40, 56, 128-bit and FIPS).
OFFERED_ENCRYPTION_METHODS = 0x01 | 0x02 | 0x08 | 0x10
#: [MS-RDPBCGR] 2.2.1.3.2 version: RDP 5.0 and later clients.
RDP_VERSION_5_PLUS = 0x00080004
#: [MS-RDPBCGR] 2.2.1.3.2 clientBuild: any value; this is the build of a current client.
CLIENT_BUILD = 22621
#: clientName holds at most 15 characters and a NUL ([MS-RDPBCGR] 2.2.1.3.2).
MAX_CLIENT_NAME = 15
SUPPORTED_DEPTHS = (
    gcc_consts.SupportedColorDepths.RNS_UD_24BPP_SUPPORT
    | gcc_consts.SupportedColorDepths.RNS_UD_16BPP_SUPPORT
    | gcc_consts.SupportedColorDepths.RNS_UD_15BPP_SUPPORT
)
#: [MS-RDPBCGR] 2.2.1.3.5: redirection supported, version 4 (as in the 4.1.3 example).
PROBE_CLUSTER_FLAGS = int(gcc_consts.ClusterFlags.REDIRECTION_SUPPORTED) | (
    gcc_consts.RedirectionVersion.REDIRECTION_VERSION4 << gcc_consts.REDIRECTION_VERSION_SHIFT
)


def client_blocks(state: ProbeState) -> list[gcc_blocks.ClientBlock]:
    """The client data blocks of the Connect Initial ([MS-RDPBCGR] 2.2.1.3.2-2.2.1.3.5)."""
    core = client_core(state.config.client_name, state.selected_protocol or 0)
    methods = state.config.encryption_methods
    offered = OFFERED_ENCRYPTION_METHODS if methods is None else methods
    security = gcc_blocks.ClientSecurityData(encryption_methods=offered)
    cluster = gcc_blocks.ClientClusterData(flags=PROBE_CLUSTER_FLAGS)
    return [core, security, cluster]


def client_core(client_name: str, selected_protocol: int) -> gcc_blocks.ClientCoreData:
    """TS_UD_CS_CORE through serverSelectedProtocol, the fields every current server reads."""
    return gcc_blocks.ClientCoreData(
        version=RDP_VERSION_5_PLUS,
        client_build=CLIENT_BUILD,
        client_name=gcc_fields.utf16_field(client_name[:MAX_CLIENT_NAME], gcc_consts.CLIENT_NAME_SIZE),
        post_beta2_color_depth=gcc_consts.ColorDepth.RNS_UD_COLOR_8BPP,
        client_product_id=1,
        serial_number=0,
        high_color_depth=gcc_consts.HighColorDepth.HIGH_COLOR_24BPP,
        supported_color_depths=int(SUPPORTED_DEPTHS),
        early_capability_flags=int(gcc_consts.ClientEarlyCapabilityFlags.RNS_UD_CS_SUPPORT_ERRINFO_PDU),
        client_dig_product_id=bytes(gcc_consts.DIG_PRODUCT_ID_SIZE),
        connection_type=0,
        pad1octet=0,
        server_selected_protocol=selected_protocol,
    )


def begin(state: ProbeState) -> None:
    state.enter(Phase.BASIC_SETTINGS_EXCHANGE)
    if not nego.is_standard_rdp_security(state.selected_protocol or 0):
        state.skip(Phase.SECURITY_COMMENCEMENT)
    state.send(basic_settings.encode_connect_initial_frame(client_blocks(state)))
    state.wait_for(Expect.MCS, on_connect_response)


def on_connect_response(state: ProbeState, frame: bytes) -> None:
    if teardown.handled_as_teardown(state, frame):
        return
    try:
        response, _conference, blocks = basic_settings.decode_connect_response(frame)
    except InvalidField as exc:
        if exc.pdu != gcc_blocks.SERVER_SECURITY_PDU:
            raise
        state.fail(Signal.BAD_SERVER_SECURITY, str(exc))  # R1: the random is unusable.
        return
    if response.result != mcs.McsResult.RT_SUCCESSFUL:
        name = name_of(mcs.McsResult, response.result)
        state.learn(mcs_result=response.result)
        state.fail(Signal.MCS_REJECTED, f"connect response result {name}", Detail(mcs_result=response.result))
        return
    for block in blocks:
        _record_block(state, block)
    if state.finished:
        return
    if state.mcs.io_channel is None:
        state.fail(Signal.DECODE_ERROR, "MCS Connect Response without Server Network Data: no I/O channel to join")
        return
    if state.stop_if_asked(Phase.BASIC_SETTINGS_EXCHANGE, "the basic settings exchange"):
        return
    _begin_channel_connection(state)


def _record_block(state: ProbeState, block: object) -> None:
    if isinstance(block, gcc_blocks.ServerCoreData):
        _record_core(state, block)
    elif isinstance(block, gcc_blocks.ServerSecurityData):
        _record_security(state, block)
    elif isinstance(block, gcc_blocks.ServerNetworkData):
        state.mcs.io_channel = block.io_channel
        state.learn(channels=ChannelFacts(io_channel=block.io_channel))


def _record_core(state: ProbeState, core: gcc_blocks.ServerCoreData) -> None:
    flags = core.early_capability_flags
    state.learn(
        server_core=ServerCoreFacts(
            rdp_version=core.version,
            rdp_version_name=gcc_consts.rdp_version_name(core.version),
            client_requested_protocols=core.client_requested_protocols,
            early_capability_flags=flags,
            early_capability_flag_names=None if flags is None else flag_names(gcc_consts.ServerEarlyCapabilityFlags, flags),
        )
    )
    echoed = core.client_requested_protocols
    if echoed is not None and echoed != state.config.requested_protocols:
        detail = f"server echoed clientRequestedProtocols 0x{echoed:x}, sent 0x{state.config.requested_protocols:x}"
        state.fail(Signal.DOWNGRADE, detail)


def _record_security(state: ProbeState, sec: gcc_blocks.ServerSecurityData) -> None:
    mcs_state = state.mcs
    mcs_state.encryption_method = sec.encryption_method
    mcs_state.encryption_level = sec.encryption_level
    mcs_state.server_random = sec.server_random
    mcs_state.server_certificate = sec.server_certificate
    state.learn(
        encryption=EncryptionFacts(
            method=name_of(gcc_consts.EncryptionMethod, sec.encryption_method),
            level=name_of(gcc_consts.EncryptionLevel, sec.encryption_level),
        )
    )


def _begin_channel_connection(state: ProbeState) -> None:
    """Erect Domain and Attach User go out together ([MS-RDPBCGR] 1.3.1.1 step 3)."""
    state.enter(Phase.CHANNEL_CONNECTION)
    state.send(mcs.encode_mcs_frame(mcs.ErectDomainRequest()))
    state.send(mcs.encode_mcs_frame(mcs.AttachUserRequest()))
    state.wait_for(Expect.MCS, on_attach_user_confirm)


_Confirm = TypeVar("_Confirm", mcs.AttachUserConfirm, mcs.ChannelJoinConfirm)


def _confirmed(state: ProbeState, frame: bytes, kind: type[_Confirm], what: str) -> _Confirm | None:
    """The confirm in ``frame`` when it succeeded; otherwise the probe ends (M3 or teardown)."""
    if teardown.handled_as_teardown(state, frame):
        return None
    pdu = mcs.decode_mcs_frame(frame)
    if not isinstance(pdu, kind):
        state.fail(Signal.DECODE_ERROR, f"expected {what} confirm, got {type(pdu).__name__}")
        return None
    if pdu.result != mcs.McsResult.RT_SUCCESSFUL:
        name = name_of(mcs.McsResult, pdu.result)
        state.learn(mcs_result=pdu.result)
        state.fail(Signal.MCS_REJECTED, f"{what} refused: {name}", Detail(mcs_result=pdu.result))
        return None
    return pdu


def on_attach_user_confirm(state: ProbeState, frame: bytes) -> None:
    pdu = _confirmed(state, frame, mcs.AttachUserConfirm, "attach user")
    if pdu is None:
        return
    if pdu.initiator is None:
        state.fail(Signal.DECODE_ERROR, "attach user confirm without a user id")
        return
    state.mcs.user_id = pdu.initiator
    channels = [pdu.initiator]
    if state.mcs.io_channel is not None:
        channels.append(state.mcs.io_channel)
    state.mcs.pending_joins = channels
    _join_next(state)


def _join_next(state: ProbeState) -> None:
    user_id = state.mcs.user_id
    assert user_id is not None
    channel = state.mcs.pending_joins[0]
    state.send(mcs.encode_mcs_frame(mcs.ChannelJoinRequest(initiator=user_id, channel_id=channel)))
    state.wait_for(Expect.MCS, on_channel_join_confirm)


def on_channel_join_confirm(state: ProbeState, frame: bytes) -> None:
    requested = state.mcs.pending_joins[0]
    if _confirmed(state, frame, mcs.ChannelJoinConfirm, f"join of channel {requested}") is None:
        return
    state.mcs.pending_joins.pop(0)
    state.mcs.joined.append(requested)
    state.learn(
        channels=ChannelFacts(state.mcs.io_channel, state.mcs.user_id, tuple(state.mcs.joined))
    )
    if state.mcs.pending_joins:
        _join_next(state)
    elif not state.stop_if_asked(Phase.CHANNEL_CONNECTION, "the channel connection"):
        activation.begin(state)
