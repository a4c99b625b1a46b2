"""Hypothesis strategies for the Standard RDP Security, Client Info, licensing, share and
redirection dataclasses."""

from __future__ import annotations

from hypothesis import strategies as st

from rdpprobe.wire import info, licensing, redirection, security, share

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
text = st.text(st.characters(codec="utf-16", exclude_characters="\0"), max_size=12)
short_bytes = st.binary(max_size=24)


def sec_header() -> st.SearchStrategy[security.SecurityHeader]:
    basic = st.builds(security.BasicSecurityHeader, u16.map(lambda f: f & ~security.SEC_ENCRYPT), u16)
    sig = st.binary(min_size=8, max_size=8)
    enc = u16.map(lambda f: f | security.SEC_ENCRYPT)
    non_fips = st.builds(security.NonFipsSecurityHeader, enc, u16, sig)
    return st.one_of(basic, non_fips)


secured_pdu = st.builds(security.SecuredPdu, sec_header(), short_bytes)
fips_header = st.builds(
    security.FipsSecurityHeader, u16.map(lambda f: f | security.SEC_ENCRYPT), u16, u8,
    st.binary(min_size=8, max_size=8), u16, u8,
)
security_exchange = st.builds(
    security.SecurityExchange, st.binary(max_size=72), u16.map(lambda f: f | security.SEC_EXCHANGE_PKT), u16
)
rsa_key = st.builds(security.RsaPublicKey, u32, u32, u32, st.binary(max_size=72))
proprietary_cert = st.builds(
    security.ProprietaryCertificate, rsa_key, st.binary(max_size=72),
    u32.map(lambda v: (v & security.CERT_TEMPORARY) | security.CERT_CHAIN_VERSION_1), u32, u32, u16, u16,
)
x509_chain = st.builds(
    security.X509CertificateChain, st.lists(short_bytes, max_size=3).map(tuple), short_bytes,
    st.sampled_from([security.CERT_CHAIN_VERSION_2, security.CERT_CHAIN_VERSION_2 | security.CERT_TEMPORARY]),
)
server_certificate = st.one_of(proprietary_cert, x509_chain)

time_zone = st.builds(
    info.TimeZoneInformation, u32, text, st.binary(min_size=16, max_size=16), u32, text,
    st.binary(min_size=16, max_size=16), u32,
)


@st.composite
def extended_info(draw: st.DrawFn) -> info.ExtendedInfo:
    tail_values = [
        draw(time_zone), draw(u32), draw(u32), draw(st.binary(max_size=28)), draw(u16),
        draw(u16), draw(st.text(st.characters(codec="utf-16"), max_size=8)), draw(u16),
    ]
    keep = draw(st.integers(0, len(tail_values)))
    tail = tail_values[:keep] + [None] * (len(tail_values) - keep)
    return info.ExtendedInfo(draw(u16), draw(text), draw(text), *tail)  # type: ignore[arg-type]


@st.composite
def client_info(draw: st.DrawFn) -> info.ClientInfo:
    flags = draw(u32)
    unicode = bool(flags & info.INFO_UNICODE)
    chars = st.characters(codec="utf-16" if unicode else "latin-1")
    strings = [draw(st.text(chars, max_size=10)) for _ in range(5)]
    extended = draw(st.none() | extended_info())
    return info.ClientInfo(draw(u32), flags, *strings, extended=extended)


blob = st.builds(licensing.LicenseBlob, u16, short_bytes)
_preamble_flags = u8
license_error = st.builds(licensing.LicenseError, u32, u32, blob, _preamble_flags)
license_request = st.builds(
    licensing.LicenseRequest, st.binary(min_size=32, max_size=32),
    st.builds(licensing.ProductInfo, u32, short_bytes, short_bytes), blob, blob,
    st.lists(blob, max_size=3).map(tuple), _preamble_flags,
)
platform_challenge = st.builds(licensing.PlatformChallenge, u32, blob, st.binary(min_size=16, max_size=16), _preamble_flags)
new_license = st.builds(
    licensing.NewLicense, st.sampled_from([licensing.LicenseMsgType.NEW_LICENSE, licensing.LicenseMsgType.UPGRADE_LICENSE]),
    blob, st.binary(min_size=16, max_size=16), _preamble_flags,
)
_known_license = {int(t) for t in (1, 2, 3, 4, 0xFF)}
unknown_license = st.builds(
    licensing.UnknownLicenseMessage, u8.filter(lambda t: t not in _known_license), short_bytes, _preamble_flags
)
license_message = st.one_of(license_error, license_request, platform_challenge, new_license, unknown_license)

capability_set = st.builds(share.CapabilitySet, u16, short_bytes)
cap_sets = st.lists(capability_set, max_size=4).map(tuple)
demand_active = st.builds(share.DemandActive, u32, short_bytes, cap_sets, st.none() | u32, u16, u16)
confirm_active = st.builds(share.ConfirmActive, u32, short_bytes, cap_sets, u16, u16, u16)
deactivate_all = st.builds(share.DeactivateAll, u32, short_bytes, u16)
set_error_info = st.builds(share.SetErrorInfo, u32, u32, u16, u8)
save_session_info = st.builds(share.SaveSessionInfo, u32, short_bytes, u32, u16, u8)
_typed2 = {share.PDUTYPE2_SET_ERROR_INFO_PDU, share.PDUTYPE2_SAVE_SESSION_INFO}


@st.composite
def share_data_pdu(draw: st.DrawFn) -> share.ShareDataPdu:
    compressed = draw(u8)
    pdu_type2 = draw(u8)
    if not compressed & share.PACKET_COMPRESSED and pdu_type2 in _typed2:
        pdu_type2 = share.PduType2.PDUTYPE2_SYNCHRONIZE
    header = share.ShareDataHeader(draw(u32), draw(u8), draw(u16), pdu_type2, compressed, draw(u16), draw(u16), draw(u8))
    return share.ShareDataPdu(header, draw(short_bytes))


_typed1 = {share.PDUTYPE_DEMANDACTIVEPDU, share.PDUTYPE_CONFIRMACTIVEPDU, share.PDUTYPE_DEACTIVATEALLPDU, share.PDUTYPE_DATAPDU}
unknown_share = st.builds(share.UnknownSharePdu, u16.filter(lambda t: t & 0xF not in _typed1), u16, short_bytes)
share_pdu = st.one_of(
    demand_active, confirm_active, deactivate_all, set_error_info, save_session_info, share_data_pdu(), unknown_share
)


@st.composite
def server_redirection(draw: st.DrawFn) -> redirection.ServerRedirection:
    flags = draw(u32)
    values: dict[str, object] = {}
    for name, bit, is_text in redirection._FIELDS:
        if flags & bit:
            values[name] = draw(text) if is_text else draw(short_bytes)
    if flags & redirection.RedirFlags.LB_TARGET_NET_ADDRESSES:
        values["target_net_addresses"] = tuple(draw(st.lists(text, max_size=3)))
    return redirection.ServerRedirection(draw(u32), flags, padding=draw(st.binary(max_size=8)), flags=draw(u16), **values)  # type: ignore[arg-type]


enhanced_redirection = st.builds(redirection.EnhancedRedirection, server_redirection(), u16, st.booleans())
