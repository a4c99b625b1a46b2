"""What the sans-IO acceptor asks its driver to do.

The acceptor never touches a socket, a clock or ``ssl``: it returns a list of these
actions, in order, and the driver (``session.MockSession`` under ``server`` and ``pair``)
performs them. After ``StartTls`` every ``Send`` travels inside TLS.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdpprobe.mock.certs import CertBundle


@dataclass(frozen=True, slots=True)
class Send:
    """Write ``data`` to the peer (through TLS once it is up)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Pause:
    """Wait ``seconds`` before performing the next action (delay and trickle faults)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class StartTls:
    """Run the server side of a TLS handshake with ``bundle`` ([MS-RDPBCGR] 5.4.5.1).

    ``tls_version`` pins both the minimum and maximum version ("1.0" .. "1.3") when set;
    ``ciphers`` (an OpenSSL cipher list) limits the TLS 1.2-and-earlier suites, chosen in the
    client's order of preference when ``client_order``, else in the server's.
    """

    bundle: CertBundle
    tls_version: str | None = None
    ciphers: str | None = None
    client_order: bool = False


@dataclass(frozen=True, slots=True)
class Close:
    """End the connection: FIN, or RST when ``reset`` (SO_LINGER 0)."""

    reset: bool = False


Action = Send | Pause | StartTls | Close
