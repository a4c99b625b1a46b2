"""Network Level Authentication: CredSSP over TLS with NTLM ([MS-CSSP] 3.1.5, [MS-NLMP] 3.1).

Without credentials the probe sends NTLM NEGOTIATE, reads the CHALLENGE (names, OS build,
CredSSP version) and stops: nothing that could be logged as a logon attempt is sent.
With credentials it sends AUTHENTICATE and a pubKeyAuth bound to the server's TLS key,
verifies the server's proof, and stops before TSCredentials unless a full logon was asked
for: the password itself is never sent to a server whose identity proof failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rdpprobe.classify import Detail
from rdpprobe.result import AUTH_FAILED, AUTH_NOT_PERFORMED, AUTH_SUCCEEDED, AuthOutcome, NtlmFacts
from rdpprobe.sequence.phases import Phase
from rdpprobe.sequence.state import Expect, ProbeState
from rdpprobe.signals import Signal
from rdpprobe.wire import credssp, ntlm
from rdpprobe.wire.codes import name_of

#: The CredSSP versions this client implements ([MS-CSSP] 2.2.1).
CREDSSP_VERSIONS = range(2, 7)
#: [MS-CSSP] 2.2.1: clientNonce is 32 bytes.
CLIENT_NONCE_SIZE = 32
#: Versions from which pubKeyAuth is a hash over the nonce ([MS-CSSP] 3.1.5).
HASH_BINDING_MIN_VERSION = 5
#: [MS-RDPBCGR] 2.2.10.2 authorizationResult values.
AUTHZ_SUCCESS = 0x00000000
AUTHZ_ACCESS_DENIED = 0x00000005


@dataclass(slots=True)
class NlaState:
    """What CredSSP has exchanged so far on this connection."""

    negotiate: bytes
    nonce: bytes | None
    version: int
    """The version this client announces; the exchange runs at min(ours, the server's)."""
    server_version: int | None = None
    session: Any = None
    sent_authenticate: bool = False


def begin(state: ProbeState) -> None:
    """Send TSRequest{NEGOTIATE} and wait for the CHALLENGE."""
    state.enter(Phase.NLA)
    negotiate = ntlm.build_negotiate()
    version = state.config.credssp_version
    nonce = state.rng(CLIENT_NONCE_SIZE) if version >= HASH_BINDING_MIN_VERSION else None
    state.nla = NlaState(negotiate, nonce, version)
    request = credssp.TsRequest(version, nego_tokens=(negotiate,), client_nonce=nonce)
    state.send(credssp.encode_ts_request(request))
    state.wait_for(Expect.TS_REQUEST, on_challenge)


def on_challenge(state: ProbeState, frame: bytes) -> None:
    request = credssp.decode_ts_request(frame)
    nla: NlaState = state.nla
    nla.server_version = request.version
    state.learn(credssp_version=request.version, client_credssp_version=nla.version)
    if request.error_code is not None:
        _credssp_error(state, request.error_code)
        return
    if not request.nego_tokens:
        state.fail(Signal.DECODE_ERROR, "credssp: the server's TSRequest carries no NTLM token")
        return
    challenge = ntlm.decode_challenge(request.nego_tokens[0])
    state.learn(ntlm=_ntlm_facts(challenge))
    if state.config.credentials is None:
        state.succeed("stopped after the ntlm challenge: no credentials were given")
        return
    _send_authenticate(state, request.nego_tokens[0])


def _send_authenticate(state: ProbeState, challenge: bytes) -> None:
    creds = state.config.credentials
    assert creds is not None  # on_challenge returned without credentials
    if state.tls_certificate is None:
        # [MS-CSSP] 3.1.5: pubKeyAuth binds the exchange to the server's TLS key; without a
        # certificate there is no key for the server to prove, so nothing more goes out.
        _set_auth(state, AUTH_NOT_PERFORMED, "the server presented no tls certificate to bind credssp to")
        state.fail(Signal.PUBKEY_MISMATCH, "credssp: no server certificate, so no public key to bind to")
        return
    nla: NlaState = state.nla
    authenticate, nla.session = ntlm.build_authenticate(
        challenge, creds.user, creds.password, creds.domain, state.config.client_name.upper(),
        state.rng, nla.negotiate,
    )
    proof = nla.session.seal(_client_binding(state))
    request = credssp.TsRequest(
        nla.version, nego_tokens=(authenticate,), pub_key_auth=proof, client_nonce=nla.nonce
    )
    nla.sent_authenticate = True
    state.send(credssp.encode_ts_request(request), secret=True)  # The NTLMv2 response.
    state.wait_for(Expect.TS_REQUEST, on_server_proof)


def _public_key(state: ProbeState) -> bytes:
    assert state.tls_certificate is not None
    return credssp.subject_public_key(state.tls_certificate)


def _hash_binding(nla: NlaState) -> bool:
    """[MS-CSSP] 3.1.5: from version 5 on, pubKeyAuth is a hash over the client nonce."""
    return nla.nonce is not None and min(nla.version, nla.server_version or 0) >= HASH_BINDING_MIN_VERSION


def _client_binding(state: ProbeState) -> bytes:
    nla: NlaState = state.nla
    if _hash_binding(nla):
        assert nla.nonce is not None
        return credssp.client_binding_hash(nla.nonce, _public_key(state))
    return _public_key(state)


def _expected_server_binding(state: ProbeState) -> bytes:
    nla: NlaState = state.nla
    if _hash_binding(nla):
        assert nla.nonce is not None
        return credssp.server_binding_hash(nla.nonce, _public_key(state))
    return credssp.increment_public_key(_public_key(state))


def on_server_proof(state: ProbeState, frame: bytes) -> None:
    """The server's pubKeyAuth proves it holds the TLS key; or errorCode says why not."""
    request = credssp.decode_ts_request(frame)
    if request.error_code is not None:
        _credssp_error(state, request.error_code)
        return
    nla: NlaState = state.nla
    if request.pub_key_auth is None or nla.session.unseal(request.pub_key_auth) != _expected_server_binding(state):
        _set_auth(state, AUTH_FAILED, "the server's pubKeyAuth proof did not match its tls key")
        state.fail(Signal.PUBKEY_MISMATCH, "credssp: server public key proof mismatch")
        return
    _set_auth(state, AUTH_SUCCEEDED, "ntlm authentication and the server's key proof succeeded")
    if not state.config.full_logon or state.wants_to_stop_after(Phase.NLA):
        state.succeed("credentials verified; stopped before sending TSCredentials")
        return
    _send_credentials(state)


def _send_credentials(state: ProbeState) -> None:
    creds = state.config.credentials
    assert creds is not None
    nla: NlaState = state.nla
    ts_creds = credssp.encode_ts_credentials(credssp.TsPasswordCreds(creds.domain, creds.user, creds.password))
    request = credssp.TsRequest(nla.version, auth_info=nla.session.seal(ts_creds), client_nonce=nla.nonce)
    state.send(credssp.encode_ts_request(request), secret=True)
    if (state.selected_protocol or 0) & 0x8:  # PROTOCOL_HYBRID_EX ([MS-RDPBCGR] 2.2.1.1.1)
        state.wait_for(Expect.EARLY_AUTHZ, on_early_authz)
    else:
        begin_settings(state)


def on_early_authz(state: ProbeState, frame: bytes) -> None:
    """[MS-RDPBCGR] 2.2.10.2 Early User Authorization Result PDU."""
    result = int.from_bytes(frame, "little")
    if result != AUTHZ_SUCCESS:
        _set_auth(state, AUTH_FAILED, f"early user authorization denied (0x{result:08x})")
        state.learn(authz_result=result)
        state.fail(Signal.AUTHZ_DENIED, f"authorizationResult 0x{result:08x}", Detail(authz_result=result))
        return
    begin_settings(state)


def begin_settings(state: ProbeState) -> None:
    """On to the Basic Settings Exchange: after CredSSP, or where the protocol has none.

    The one place ``settings`` (MCS, licensing, RDP security) is imported: on first use,
    since most scans stop at or before NLA (see ``sequence.handlers``).
    """
    from rdpprobe.sequence import settings

    settings.begin(state)


def _credssp_error(state: ProbeState, code: int) -> None:
    status = code & 0xFFFFFFFF
    name = name_of(credssp.NtStatus, status)
    if state.config.credentials is not None:
        _set_auth(state, AUTH_FAILED, name)
    state.fail(Signal.CREDSSP_ERROR, name, Detail(ntstatus=status))


def _set_auth(state: ProbeState, status: str, reason: str) -> None:
    state.learn(auth=AuthOutcome(status, reason))


def credentials_not_checked(state: ProbeState, reason: str) -> None:
    """Credentials were given but the server never ran CredSSP: never report success."""
    if state.config.credentials is not None:
        _set_auth(state, AUTH_NOT_PERFORMED, reason)


def failure_context(state: ProbeState) -> Detail:
    """Refinements for a transport failure during NLA (did AUTHENTICATE go out?)."""
    nla = state.nla
    if state.phase is not Phase.NLA or not isinstance(nla, NlaState):
        return Detail()
    if nla.sent_authenticate:
        _set_auth(state, AUTH_FAILED, "the server closed the connection after NTLM AUTHENTICATE")
    return Detail(
        after_authenticate=nla.sent_authenticate,
        credssp_version=nla.server_version,
        client_credssp_version=nla.version,
    )


def _ntlm_facts(info: ntlm.ChallengeInfo) -> NtlmFacts:
    version = info.version
    product = f"{version.major}.{version.minor}.{version.build}" if version is not None else None
    moment = info.server_time()
    return NtlmFacts(
        netbios_domain=info.netbios_domain,
        netbios_computer=info.netbios_computer,
        dns_domain=info.dns_domain,
        dns_computer=info.dns_computer,
        dns_tree=info.dns_tree,
        product_version=product,
        build=version.build if version is not None else None,
        timestamp=moment.isoformat() if moment is not None else None,
    )
