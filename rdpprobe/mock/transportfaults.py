"""The phase-independent faults: how a planned misbehaviour changes what is sent.

These act on *encoded* bytes only (truncate, replace, split in time) or on the transport
(FIN, RST, silence); the PDUs themselves always come from ``rdpprobe.wire``. Banners are
the first bytes other protocols send, so a probe can be tested against "wrong service on
the port" (taxonomy §4.1 X4).
"""

from __future__ import annotations

import hashlib

from rdpprobe.mock.actions import Action as Step
from rdpprobe.mock.actions import Close, Pause, Send
from rdpprobe.mock.faults import Action, Fault

# RFC 4253 4.2: the SSH identification string.
SSH_BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"
# RFC 9112 4: an HTTP/1.1 status line; a web server answers a non-HTTP request with 400.
HTTP_RESPONSE = (b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Length: 0\r\n"
                 b"Connection: close\r\n\r\n")
# RFC 6143 7.1.1: the RFB ProtocolVersion handshake of a VNC server.
VNC_BANNER = b"RFB 003.008\n"
# RFC 8446 5.1/6: a TLS record (type 21 alert, version 3.3, length 2) + level fatal (2).
TLS_RECORD_ALERT = 21
TLS_RECORD_HEADER_SIZE = 1 + 2 + 2  # content type + legacy version + length
TLS_LEGACY_VERSION = b"\x03\x03"
TLS_ALERT_FATAL = 2
TLS_ALERT_PROTOCOL_VERSION = 70  # RFC 8446 6.2
TLS_ALERT_INTERNAL_ERROR = 80  # RFC 8446 6.2


def tls_alert_record(description: int) -> bytes:
    """One plaintext TLS alert record (fatal, ``description``)."""
    body = bytes((TLS_ALERT_FATAL, description))
    return bytes((TLS_RECORD_ALERT,)) + TLS_LEGACY_VERSION + len(body).to_bytes(2, "big") + body


def tls_record_length(buf: bytes) -> int | None:
    """Length of the TLS record at the start of ``buf``, or None until its header is there."""
    if len(buf) < TLS_RECORD_HEADER_SIZE:
        return None
    return TLS_RECORD_HEADER_SIZE + int.from_bytes(buf[3:5], "big")


_BANNERS = {
    "ssh": (SSH_BANNER, False),
    "vnc": (VNC_BANNER, False),
    "http": (HTTP_RESPONSE, True),
    "tls": (tls_alert_record(TLS_ALERT_PROTOCOL_VERSION), True),
}


def banner(kind: str) -> list[Step]:
    """What a server of another protocol sends (and whether it then closes)."""
    data, closes = _BANNERS[kind]
    return [Send(data), Close()] if closes else [Send(data)]


def garbage(fault: Fault, seed: bytes) -> bytes:
    """Deterministic non-RDP bytes: ``hex`` if given, else ``size`` bytes from SHA-256."""
    if fault.param("hex"):
        return bytes.fromhex(str(fault.param("hex")))
    size = int(fault.param("size"))
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(seed + counter.to_bytes(4, "little")).digest()
        counter += 1
    # INVARIANT: the first byte is never 0x03, so the bytes can never be read as TPKT.
    return bytes((out[0] | 0x80,)) + out[1:size]


def hang_up(fault: Fault, data: bytes) -> list[Step]:
    """CLOSE / RESET: optionally send the first ``after_bytes`` bytes of ``data`` first."""
    cut = int(fault.param("after_bytes"))
    steps: list[Step] = [Send(data[:cut])] if cut > 0 and data else []
    return steps + [Close(reset=fault.action is Action.RESET)]


def timed(timing: tuple[Fault, ...], data: bytes) -> list[Step]:
    """``data`` as sends, shaped by the delay and trickle faults of the phase."""
    steps: list[Step] = []
    trickle: Fault | None = None
    for fault in timing:
        if fault.action is Action.DELAY:
            steps.append(Pause(float(fault.param("seconds"))))
        else:
            trickle = fault
    if trickle is None or not data:
        return steps + ([Send(data)] if data else [])
    chunk = max(1, int(trickle.param("chunk")))
    interval = float(trickle.param("interval"))
    for i in range(0, len(data), chunk):
        steps += [Pause(interval)] if i else []
        steps.append(Send(data[i : i + chunk]))
    return steps
