"""A TLS outcome without a certificate, on the NLA path with credentials: classified.

The driver reports the TLS outcome; the sequence does not control it. CredSSP binds its
exchange to the server's TLS public key ([MS-CSSP] 3.1.5), so with no certificate there is
nothing to bind to: the probe stops before NTLM AUTHENTICATE, reports authentication as not
performed, and never ends in an ``AssertionError`` reported as ``internal_error``.
"""

from __future__ import annotations

import dataclasses

from rdpprobe.result import AUTH_NOT_PERFORMED
from rdpprobe.sequence.actions import TlsInfo
from rdpprobe.sequence.phases import Phase
from rdpprobe.signals import Signal
from tests.sequence.replay import record, replay

USER, PASSWORD = "alice", "Passw0rd!"


def test_credentials_and_a_tls_outcome_without_certificate_are_classified() -> None:
    recording = record("windows-nla", user=USER, password=PASSWORD)
    events = [(kind, dataclasses.replace(value, certificate=None) if isinstance(value, TlsInfo) else value, now)
              for kind, value, now in recording.events]
    assert any(kind == "tls" for kind, _value, _now in events)
    result = replay(recording, events)
    assert result.signal is Signal.PUBKEY_MISMATCH, (result.signal, result.detail)
    assert result.failed_phase is Phase.NLA and result.verdict.taxonomy_id == "C5"
    assert result.facts.auth is not None and result.facts.auth.status == AUTH_NOT_PERFORMED
