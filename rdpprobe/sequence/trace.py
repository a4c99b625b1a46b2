"""The trace of one probe (``ProbeConfig.trace``): phases entered and left, PDUs sent and
received, for a driver or the command line to log; the sequence itself never logs.

Rules of this module:
- an event names a PDU by its framing and type (``rdpprobe.wire.describe``) and its length;
- ``data`` is None for what the client sent that carries credentials or what is derived from
  them (the NTLM AUTHENTICATE, TSCredentials, the PDUs of the I/O channel, Client Info among
  them): their bytes are never recorded, so no log level can show them.
"""

from __future__ import annotations

from dataclasses import dataclass

PHASE_STARTED = "phase_started"
PHASE_ENDED = "phase_ended"
SENT = "sent"
RECEIVED = "received"
TLS = "tls_established"
CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """One thing that happened, ``at`` seconds after the connection's probe started."""

    at: float
    event: str
    phase: str | None
    summary: str
    data: bytes | None = None
    """The PDU's bytes; None for an event that is no PDU, or a PDU withheld (see the rules)."""

    def line(self) -> str:
        """The event as one log line: ``+0.012s tls: sent X.224 Connection Request, 19 bytes``."""
        where = f" {self.phase}" if self.phase else ""
        return f"+{self.at:.3f}s{where}: {self.event.replace('_', ' ')} {self.summary}".rstrip()
