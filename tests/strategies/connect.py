"""Hypothesis strategies for the connection-initiation and basic-settings codecs."""

from __future__ import annotations

from hypothesis import strategies as st

from rdpprobe.errors import EncodeError
from rdpprobe.wire import gcc, gcc_blocks as gb, mcs, mcs_connect as mc, nego, x224

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
user_ids = st.integers(mcs.USER_ID_BASE, mcs.USER_ID_MAX)


def _blob(max_size: int = 64) -> st.SearchStrategy[bytes]:
    return st.binary(max_size=max_size)


cr_tpdus = st.builds(x224.ConnectionRequestTpdu, _blob(200), u16, u16, u8, st.integers(0, 15))
cc_tpdus = st.builds(x224.ConnectionConfirmTpdu, _blob(200), u16, u16, u8, st.integers(0, 15))
dr_tpdus = st.builds(x224.DisconnectRequestTpdu, u8, u16, u16, _blob(100))
er_tpdus = st.builds(x224.ErrorTpdu, u8, u16, _blob(100))
dt_tpdus = st.builds(x224.DataTpdu, _blob(300), u8)
tpdus = st.one_of(cr_tpdus, cc_tpdus, dr_tpdus, er_tpdus, dt_tpdus)

neg_reqs = st.builds(nego.NegReq, u32, u8)
neg_rsps = st.builds(nego.NegRsp, u32, u8)
neg_failures = st.builds(nego.NegFailure, u32, u8)
correlations = st.builds(nego.CorrelationInfo, st.binary(min_size=16, max_size=16), u8, st.binary(min_size=16, max_size=16))
_line = st.binary(max_size=40).filter(lambda b: b"\r\n" not in b)
_tokens = _line.filter(lambda b: not b.startswith(nego.COOKIE_PREFIX) and b[:1] != b"\x01")


@st.composite
def connection_requests(draw: st.DrawFn) -> nego.ConnectionRequest:
    which = draw(st.sampled_from(["cookie", "token", "none"]))
    cookie = draw(_line) if which == "cookie" else None
    token = draw(_tokens) if which == "token" else None
    neg = draw(st.none() | neg_reqs)
    corr = draw(st.none() | correlations) if neg is not None else None
    return nego.ConnectionRequest(cookie, token, neg, corr, draw(u16), draw(u16), draw(u8))


connection_confirms = st.builds(
    nego.ConnectionConfirm, st.none() | neg_rsps | neg_failures, u16, u16, u8
)

domain_parameters = st.builds(mc.DomainParameters, u32, u32, u32, u32, u32, u32, u32, u32, st.booleans())
connect_initials = st.builds(
    mc.ConnectInitial, domain_parameters, domain_parameters, domain_parameters, _blob(300),
    _blob(8), _blob(8), st.booleans(),
)
connect_responses = st.one_of(
    st.builds(mc.ConnectResponse, u8),
    st.builds(mc.ConnectResponse, u8, u32, domain_parameters, _blob(300)),
)
domain_pdus = st.one_of(
    st.builds(mcs.ErectDomainRequest, u32, u32),
    st.just(mcs.AttachUserRequest()),
    st.builds(mcs.AttachUserConfirm, u8, st.none() | user_ids),
    st.builds(mcs.ChannelJoinRequest, user_ids, u16),
    st.builds(mcs.ChannelJoinConfirm, u8, user_ids, u16, st.none() | u16),
    st.builds(mcs.DisconnectProviderUltimatum, st.integers(0, 7)),
    st.builds(mcs.SendDataRequest, user_ids, u16, _blob(300), st.integers(0, 3), st.integers(0, 3)),
    st.builds(mcs.SendDataIndication, user_ids, u16, _blob(300), st.integers(0, 3), st.integers(0, 3)),
)
mcs_pdus = st.one_of(connect_initials, connect_responses, domain_pdus)

_numeric = st.text(alphabet="0123456789", min_size=1, max_size=20)
conference_requests = st.builds(
    gcc.ConferenceCreateRequest, _blob(300), st.binary(min_size=4, max_size=8), _numeric, st.none()
)
def _encodable(rsp: gcc.ConferenceCreateResponse) -> bool:
    try:
        gcc.encode_conference_create_response(rsp)
    except EncodeError:
        return False
    return True


conference_responses = st.builds(
    gcc.ConferenceCreateResponse, user_ids, u32, u8, _blob(300), st.binary(min_size=4, max_size=8),
    st.none() | st.integers(0, 0x7FFF),
).filter(_encodable)


@st.composite
def client_core_data(draw: st.DrawFn) -> gb.ClientCoreData:
    fixed = {}
    for name, size in gb._CORE_FIELDS:
        fixed[name] = draw(st.binary(min_size=size, max_size=size)) if size > 4 else draw(st.integers(0, (1 << 8 * size) - 1))
    count = draw(st.integers(0, len(gb._CORE_OPTIONAL_FIELDS)))
    optional = {}
    for name, size in gb._CORE_OPTIONAL_FIELDS[:count]:
        optional[name] = draw(st.binary(min_size=size, max_size=size)) if size > 4 else draw(st.integers(0, (1 << 8 * size) - 1))
    extra = draw(_blob(8)) if count == len(gb._CORE_OPTIONAL_FIELDS) else b""
    return gb.ClientCoreData(**fixed, **optional, extra=extra)


@st.composite
def server_core_data(draw: st.DrawFn) -> gb.ServerCoreData:
    count = draw(st.integers(0, 2))
    opt = [draw(u32) for _ in range(count)] + [None] * (2 - count)
    extra = draw(_blob(8)) if count == 2 else b""
    return gb.ServerCoreData(draw(u32), opt[0], opt[1], extra)


channel_defs = st.builds(gb.ChannelDef, st.binary(min_size=8, max_size=8), u32)
client_blocks = st.one_of(
    client_core_data(),
    st.builds(gb.ClientSecurityData, u32, u32),
    st.builds(gb.ClientNetworkData, st.lists(channel_defs, max_size=5).map(tuple)),
    st.builds(gb.ClientClusterData, u32, u32),
    st.builds(gb.UnknownBlock, st.sampled_from([0xC005, 0xC006, 0xC00A, 0x1234]), _blob(40)),
)
server_blocks = st.one_of(
    server_core_data(),
    st.builds(gb.ServerSecurityData, u32, u32),
    st.builds(gb.ServerSecurityData, u32, u32, st.binary(min_size=32, max_size=32), _blob(200)),  # 2.2.1.4.3
    st.builds(gb.ServerNetworkData, u16, st.lists(u16, max_size=7).map(tuple)),
    st.builds(gb.UnknownBlock, st.sampled_from([0x0C04, 0x0C08, 0x4321]), _blob(40)),
)
