"""The credential rule: the password leaves the client only for a server that proved who it is.

A full logon puts the password in TSCredentials ([MS-CSSP] 2.2.1.2) and in the Client Info
PDU ([MS-RDPBCGR] 2.2.1.11.1.1). Under CredSSP the server first proves it holds the key of
the TLS certificate (pubKeyAuth, [MS-CSSP] 3.1.5), and ``nla`` sends TSCredentials only after
that proof. Without CredSSP there is no such proof:
- SSL (TLS without CredSSP, [MS-RDPBCGR] 5.4.5.1): the certificate is the only evidence, so
  the password goes out only when its chain is trusted (``rdpprobe.trust``) and it names the
  host probed (or ``expected_name``); anyone could have rewritten the Connection Confirm of
  a CredSSP server to select SSL (a downgrade);
- Standard RDP Security (5.3): no server authentication at all; the proprietary certificate
  is signed with a key published in the specification (5.3.3.1.1), so it proves nothing.
Otherwise the probe stops before Client Info with ``Signal.CREDENTIALS_WITHHELD`` and
``AuthOutcome(withheld)``, unless the user opted in (``allow_unverified_credentials``).
"""

from __future__ import annotations

from rdpprobe.result import AUTH_SUCCEEDED, AUTH_WITHHELD, AuthOutcome, TlsFacts
from rdpprobe.sequence.state import ProbeState
from rdpprobe.signals import Signal
from rdpprobe.wire import nego

#: certinfo's finding for a certificate that does not name the host (kept here as text so
#: the sequence does not import certinfo, and ``cryptography``, before TLS).
NAME_MISMATCH = "name_mismatch"
STANDARD_SECURITY = (
    "the server selected Standard RDP Security, which does not authenticate the server "
    "(its proprietary certificate proves nothing)"
)


def withhold_unproven(state: ProbeState) -> bool:
    """Stop the probe before Client Info when it would carry a password the server has not
    earned; True when it stopped."""
    reason = withheld_reason(state)
    if reason is None:
        return False
    state.learn(auth=AuthOutcome(AUTH_WITHHELD, reason))
    state.fail(Signal.CREDENTIALS_WITHHELD, f"credentials withheld: {reason}")
    return True


def withheld_reason(state: ProbeState) -> str | None:
    """Why the password must not be sent on this connection; None when it may be (no full
    logon, the CredSSP proof succeeded, a trusted certificate for the name, or the opt-in)."""
    config = state.config
    if not config.full_logon or config.credentials is None or config.allow_unverified_credentials:
        return None
    auth = state.learned.get("auth")
    if isinstance(auth, AuthOutcome) and auth.status == AUTH_SUCCEEDED:
        return None  # Set only once the server's pubKeyAuth matched its TLS key.
    selected = state.selected_protocol or 0
    if nego.is_standard_rdp_security(selected):
        return STANDARD_SECURITY
    tls = state.learned.get("tls")
    name = config.expected_name or state.target.host
    protocol = state.learned.get("selected_protocol") or "TLS"
    problem = _certificate_problem(tls if isinstance(tls, TlsFacts) else None, name)
    if problem is None:
        return None
    return f"the server selected {protocol} without CredSSP and {problem}"


def _certificate_problem(tls: TlsFacts | None, name: str) -> str | None:
    """What keeps the certificate from proving the server is ``name``; None if nothing."""
    trust = tls.trust if tls is not None else None
    if trust is None:
        return "its certificate was not checked"
    if trust.trusted is None:
        return f"its certificate's chain could not be checked ({trust.error})"
    if not trust.trusted:
        return f"its certificate is not trusted for the name probed ({trust.error}; store {trust.store})"
    if NAME_MISMATCH in tls.findings:  # type: ignore[union-attr]
        return f"its certificate is trusted but not issued for {name}"
    return None
