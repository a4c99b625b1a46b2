"""Receive buffer and framing: is a whole PDU here yet?

Framing answers None ("need more") rather than raising; a DecodeError means the bytes
cannot be the start of what is expected. Every frame length is capped by its format
(TPKT 65535, fast-path 32767, TSRequest ``MAX_TS_REQUEST_SIZE``), so the buffer stays
bounded whatever the peer sends.
"""

from __future__ import annotations

from rdpprobe.errors import DecodeError
from rdpprobe.sequence.state import Expect
from rdpprobe.wire import credssp, tpkt

#: [MS-RDPBCGR] 2.2.10.2 Early User Authorization Result PDU: a raw 4-byte result.
EARLY_AUTHZ_SIZE = 4
#: Leading bytes that give away another protocol (taxonomy X4).
FOREIGN_BANNERS = (
    (b"SSH-", "ssh"),
    (b"HTTP/", "http"),
    (b"RFB ", "vnc"),
    (b"\x16\x03", "tls"),
    (b"\x15\x03", "tls"),
    (b"<", "html"),
    (b"220", "ftp_or_smtp"),
)


def frame_size(expect: Expect, buf: bytearray) -> int | None:
    """The size of the first frame in ``buf`` for ``expect`` once all of it is there, or None."""
    size = _declared_size(expect, buf)
    return size if size is not None and size <= len(buf) else None


def _declared_size(expect: Expect, buf: bytearray) -> int | None:
    """The frame size the header announces, as soon as the header is complete."""
    if expect is Expect.TS_REQUEST:
        return credssp.ts_request_frame_length(buf)
    if expect is Expect.EARLY_AUTHZ:
        return EARLY_AUTHZ_SIZE if len(buf) >= EARLY_AUTHZ_SIZE else None
    if expect is Expect.MCS and buf and tpkt.is_fastpath(buf[0]):
        return tpkt.fastpath_frame_length(buf)
    if expect in (Expect.CONNECTION_CONFIRM, Expect.MCS):
        return tpkt.frame_length(buf)
    raise DecodeError("framing", f"no input expected while waiting for {expect.value}")


def foreign_protocol(head: bytes) -> str | None:
    """The name of the protocol ``head`` looks like, when it cannot be TPKT."""
    if not head or head[0] == tpkt.TPKT_VERSION:
        return None
    for prefix, name in FOREIGN_BANNERS:
        if head[: len(prefix)] == prefix[: len(head)]:
            return name
    return "unknown"
