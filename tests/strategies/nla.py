"""Hypothesis strategies for the CredSSP and NTLM wire dataclasses."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from rdpprobe.wire.credssp import TsCredentials, TsPasswordCreds, TsRequest
from rdpprobe.wire.ntlm_fields import AvId, AvPair, NtlmVersion
from rdpprobe.wire.ntlm_messages import AuthenticateMessage, NegotiateMessage

# Names the NTLM and CredSSP encoders accept: any text without lone surrogates.
names = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
latin1_names = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=20)
u32 = st.integers(0, 0xFFFFFFFF)
small_bytes = st.binary(max_size=64)

ts_requests = st.builds(
    TsRequest,
    version=st.integers(0, 2**31),
    nego_tokens=st.lists(small_bytes, max_size=3).map(tuple),
    auth_info=st.none() | small_bytes,
    pub_key_auth=st.none() | small_bytes,
    error_code=st.none() | u32,
    client_nonce=st.none() | st.binary(min_size=32, max_size=32),
)

ts_password_creds = st.builds(TsPasswordCreds, domain=names, user=names, password=names)
ts_credentials = st.builds(TsCredentials, cred_type=st.integers(0, 2**31), credentials=small_bytes)

ntlm_versions = st.builds(
    NtlmVersion, major=st.integers(0, 255), minor=st.integers(0, 255), build=st.integers(0, 0xFFFF),
    revision=st.integers(0, 255),
)

# Pairs an encoder may add after the names (never MsvAvEOL, never a name id).
extra_av_pairs = st.lists(
    st.builds(AvPair, av_id=st.sampled_from([AvId.FLAGS, AvId.SINGLE_HOST, 0x00FF, 0x1234]), value=small_bytes),
    max_size=3,
).map(tuple)


@st.composite
def challenge_params(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments for ``encode_challenge`` (plus the server challenge under ``server_challenge``)."""
    optional = st.none() | names
    return {
        "server_challenge": draw(st.binary(min_size=8, max_size=8)),
        "target_name": draw(names),
        "netbios_computer": draw(optional),
        "netbios_domain": draw(optional),
        "dns_computer": draw(optional),
        "dns_domain": draw(optional),
        "dns_tree": draw(optional),
        "timestamp": draw(st.none() | st.integers(0, 2**64 - 1)),
        "version": draw(st.none() | ntlm_versions),
        "flags": draw(u32) | 0x00000001,  # UNICODE, so the target name round-trips
        "extra_av_pairs": draw(extra_av_pairs),
    }


negotiate_messages = st.builds(
    NegotiateMessage,
    flags=u32.map(lambda f: f | 0x02000000),  # VERSION set, version present
    domain=latin1_names,
    workstation=latin1_names,
    version=ntlm_versions,
)


@st.composite
def authenticate_messages(draw: st.DrawFn) -> AuthenticateMessage:
    version = draw(st.none() | ntlm_versions)
    flags = draw(u32) | 0x00000001  # UNICODE
    flags = flags | 0x02000000 if version is not None else flags & ~0x02000000
    return AuthenticateMessage(
        flags=flags,
        lm_response=draw(small_bytes),
        nt_response=draw(st.binary(max_size=300)),
        domain=draw(names),
        user=draw(names),
        workstation=draw(names),
        encrypted_session_key=draw(st.sampled_from([b"", bytes(range(16))])),
        version=version,
        mic=draw(st.none() | st.binary(min_size=16, max_size=16)),
    )
