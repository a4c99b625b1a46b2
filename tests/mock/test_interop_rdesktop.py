"""rdesktop 1.9 accepts the mock: Standard RDP Security (RC4) and TLS sessions go active.

rdesktop runs headless on a private Xvfb display with a hard timeout; exit code 124 means
it was still connected when the timeout stopped it. The server's records say how far the
session went: ACTIVE means rdesktop sent its Font List, after the server's Synchronize,
Control Cooperate and Granted Control PDUs.

What rdesktop needs from a server, which the mock now does as Windows does:
- a Conference Create Response whose connectPDU length is the one octet 0x2a (rdesktop
  skips a fixed 21-byte T.124 header, [MS-RDPBCGR] 4.1.4);
- server data blocks in the order core, network, security (rdesktop reads the proprietary
  certificate's tags up to the end of the response);
- acceptance of its Erect Domain Request, whose subHeight and subInterval are raw 16-bit
  values rather than PER integers (3.3.5.3.5: the server ignores them);
- Synchronize, Cooperate and Granted Control sent before the client's Font List.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rdpprobe.mock import MockRdpServer, ServerPhase
from tests.interop import harness

pytestmark = pytest.mark.interop

STAY = 6.0  # seconds rdesktop must stay connected
STILL_RUNNING = 124  # coreutils `timeout` stopped it


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    harness.require("rdesktop")
    with harness.xvfb() as disp:
        yield disp


def _errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if "(error)" in line.lower() or "Error" in line]


def test_rdesktop_connects_with_standard_rdp_security(display: str) -> None:
    with MockRdpServer("windows-rdp-security") as server:
        rc, out, _ = harness.run_rdesktop(*server.address, timeout=STAY, display=display)
    records = server.records  # complete once the server stopped
    # The personality refuses TLS with RDP_NEG_FAILURE SSL_NOT_ALLOWED_BY_SERVER, as a Windows
    # host with SecurityLayer 0 does; rdesktop then reconnects without RDP_NEG_REQ. It prints
    # "Connection established using ..." only after a successful negotiation, so not here.
    assert "SSL not allowed by server" in out and "Retrying with plain RDP." in out
    assert rc == STILL_RUNNING, out
    assert not _errors(out), out
    assert [r.selected_protocol for r in records] == [None, 0]
    assert records[1].phase_reached is ServerPhase.ACTIVE, records[1].notes
    assert "client active" in records[1].notes


def test_rdesktop_connects_with_tls_after_accepting_the_certificate(display: str) -> None:
    with MockRdpServer("windows-tls") as server:
        rc, out, connected = harness.run_rdesktop(*server.address, timeout=STAY, display=display)
    records = server.records
    assert "Do you trust this certificate (yes/no)?" in out  # answered "yes"
    assert connected and "Connection established using SSL." in out
    assert rc == STILL_RUNNING, out
    assert not _errors(out), out
    assert len(records) == 1 and records[0].selected_protocol == 1
    assert records[0].phase_reached is ServerPhase.ACTIVE, records[0].notes
