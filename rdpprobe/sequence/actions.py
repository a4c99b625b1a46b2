"""What the prober asks its driver to do next.

The driver drains ``Prober.next_action()`` after every call that feeds the prober, and
performs each action in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from rdpprobe.result import ProbeResult


@dataclass(frozen=True, slots=True)
class SendBytes:
    """Write ``data`` to the connection (through TLS once TLS is up)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class StartTls:
    """Run a TLS client handshake on the connection now; report with ``tls_established``."""

    server_name: str | None
    received: bytes = b""
    """Bytes that arrived after the Connection Confirm: the start of the server's TLS stream."""


@dataclass(frozen=True, slots=True)
class CloseConnection:
    """Close the connection (the probe has what it needs, or gave up)."""


@dataclass(frozen=True, slots=True)
class Finished:
    """The probe is over; ``result`` is final."""

    result: ProbeResult


@dataclass(frozen=True, slots=True)
class TlsInfo:
    """What a completed TLS handshake established, as the driver reports it."""

    version: str | None
    cipher: str | None
    certificate: bytes | None
    """The server certificate, DER."""
    chain: tuple[bytes, ...] | None = None
    """The certificates the server sent after its own (intermediates, RFC 8446 4.4.2), DER;
    None when the TLS library could not show them."""


Action = Union[SendBytes, StartTls, CloseConnection, Finished]
