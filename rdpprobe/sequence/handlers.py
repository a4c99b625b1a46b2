"""Entry points from the prober into the phase handlers, and the endings shared by all phases.

Each phase group has its own module (``initiation``, ``nla``, ``settings``, ``activation``);
this one routes the driver's events (TCP up, TLS up, close, failure, deadline) to them.

What only a later phase needs is imported where the probe enters that phase: ``certinfo``
and ``trust`` (``cryptography.x509``; the trust store is read at the first chain check) at TLS, ``settings`` (MCS, licensing, RDP security and their crypto)
after NLA. Most scans stop at or before NLA and never pay for those imports.
"""

from __future__ import annotations

import dataclasses

from rdpprobe.result import TlsFacts
from rdpprobe.sequence import initiation, nla
from rdpprobe.sequence.actions import TlsInfo
from rdpprobe.sequence.phases import CONNECT_PHASES, Phase
from rdpprobe.sequence.state import ProbeState
from rdpprobe.signals import Observed, Signal



def begin_connection_initiation(state: ProbeState) -> None:
    initiation.begin(state)


def tls_done(state: ProbeState, info: TlsInfo) -> None:
    """Record what TLS established, then go on with CredSSP or the basic settings exchange."""
    state.tls_certificate = info.certificate
    state.learn(tls=_tls_facts(state, info))
    if state.stop_if_asked(Phase.TLS, "the tls handshake"):
        return
    if initiation.uses_credssp(state.selected_protocol or 0):
        nla.begin(state)
    else:
        state.skip(Phase.NLA)
        nla.credentials_not_checked(state, "the server did not select CredSSP (NLA)")
        nla.begin_settings(state)


def _tls_facts(state: ProbeState, info: TlsInfo) -> TlsFacts:
    """Version, cipher, the certificate's facts and its chain's trust ([MS-RDPBCGR] 5.4.5.1)."""
    from rdpprobe import certinfo, trust  # Imported on first use: see the module docstring.

    config = state.config
    if not config.examine_certificate:
        return TlsFacts(info.version, info.cipher)
    expected = config.expected_name or state.target.host
    chain = trust.check_chain(info.certificate, info.chain, expected, state.started_at, config.ca_file, config.ca_path)
    cert = None
    if info.certificate is not None:
        cert = certinfo.analyze_certificate(info.certificate, expected, state.started_at, config.warn_days)
        if chain.trusted is False:
            cert = dataclasses.replace(cert, findings=cert.findings + (certinfo.UNTRUSTED_CHAIN,))
    findings = cert.findings if cert is not None else ()
    return TlsFacts(info.version, info.cipher, cert, findings, chain)


def transport_failed(state: ProbeState, observed: Observed) -> None:
    """A reset, an alert or any other transport failure ends the probe in the current phase.

    A reset while connecting is the exception. ``connect`` reports one only for a connection
    the server accepted and then reset (a refusal is ECONNREFUSED); a loaded client sees it
    when the reset lands before ``connect`` returns. So the TCP connection was made, and the
    reset ends the phase after it, as it does when it lands a moment later.
    """
    if state.phase is Phase.TCP_CONNECT and observed.signal is Signal.RESET:
        if state.stop_if_asked(Phase.TCP_CONNECT, "the tcp connection"):
            return
        initiation.enter(state)
    evidence = dataclasses.replace(
        nla.failure_context(state), tls_alert=observed.tls_alert, before_certificate=observed.before_certificate
    )
    state.fail(observed.signal, observed.detail, evidence)


def peer_closed(state: ProbeState) -> None:
    """An orderly close (FIN) before the probe had what it needed."""
    detail = "the server closed the connection"
    state.fail(Signal.EOF, detail, nla.failure_context(state))


def deadline_passed(state: ProbeState, overall: bool) -> None:
    if state.phase in CONNECT_PHASES:
        state.fail(Signal.TIMEOUT, "no answer to the tcp connection attempt")
        return
    if overall:
        detail = f"overall deadline of {state.config.timeouts.overall:g}s passed"
    else:
        detail = f"no answer within {state.config.timeouts.phase:g}s"
    state.fail(Signal.SILENT, detail)

