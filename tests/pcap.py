"""A small pure-Python writer of classic pcap files.

``write_pcap`` turns a list of TCP payload chunks, each tagged with its
direction, into one complete IPv4/TCP conversation on an Ethernet link: a
three-way handshake, the data segments with correct sequence and
acknowledgement numbers, a FIN from each side and the last ACK.  All IPv4 and
TCP checksums are correct, so tshark dissects the result as it would a real
capture and reports nothing about the framing itself.  Tests use it to hand
the PDUs rdpprobe encodes to tshark's dissectors without opening a socket.

Layout of one record (libpcap file format, classic, microsecond timestamps)::

    pcap header     magic a1b2c3d4, version 2.4, snaplen, LINKTYPE_ETHERNET
    record header   ts_sec, ts_usec, incl_len, orig_len
    Ethernet II     dst MAC, src MAC, ethertype 0x0800
    IPv4            20 bytes, no options, DF set, TTL 64
    TCP             20 bytes, no options, window 65535
    payload         at most MAX_SEGMENT bytes
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from pathlib import Path

# libpcap file format (https://www.tcpdump.org/manpages/pcap-savefile.5.html).
PCAP_MAGIC = 0xA1B2C3D4
PCAP_VERSION_MAJOR = 2
PCAP_VERSION_MINOR = 4
PCAP_SNAPLEN = 65535
LINKTYPE_ETHERNET = 1

# Ethernet II (IEEE 802.3) and IPv4 (RFC 791).
ETHERTYPE_IPV4 = 0x0800
CLIENT_MAC = bytes.fromhex("020000000001")  # Locally administered addresses.
SERVER_MAC = bytes.fromhex("020000000002")
IPV4_VERSION_IHL = 0x45  # Version 4, header length 5 words.
IPV4_FLAG_DF = 0x4000
IPV4_TTL = 64
IPPROTO_TCP = 6
IPV4_HEADER_SIZE = 20
CLIENT_ADDR = bytes([127, 0, 0, 1])
SERVER_ADDR = bytes([127, 0, 0, 1])

# TCP (RFC 9293).
TCP_HEADER_SIZE = 20
TCP_DATA_OFFSET = (TCP_HEADER_SIZE // 4) << 12
TCP_FIN = 0x01
TCP_SYN = 0x02
TCP_PSH = 0x08
TCP_ACK = 0x10
TCP_WINDOW = 65535
MAX_SEGMENT = 1460  # Ethernet MTU 1500 minus the IPv4 and TCP headers.
CLIENT_ISN = 0x1000_0000
SERVER_ISN = 0x2000_0000

# Timestamps: a fixed start so the output is deterministic.
START_TIME = 1_700_000_000
STEP_USEC = 1000

C2S = "c2s"
S2C = "s2c"


def _checksum(data: bytes) -> int:
    """Return the RFC 1071 ones' complement checksum of ``data``."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


def _tcp_segment(
    src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int, flags: int, payload: bytes
) -> bytes:
    header = struct.pack(
        "!HHIIHHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
        TCP_DATA_OFFSET | flags, TCP_WINDOW, 0, 0,
    )
    pseudo = src + dst + struct.pack("!BBH", 0, IPPROTO_TCP, len(header) + len(payload))
    csum = _checksum(pseudo + header + payload)
    return header[:16] + struct.pack("!H", csum) + header[18:] + payload


def _ipv4_packet(src: bytes, dst: bytes, ident: int, tcp: bytes) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s", IPV4_VERSION_IHL, 0, IPV4_HEADER_SIZE + len(tcp), ident & 0xFFFF,
        IPV4_FLAG_DF, IPV4_TTL, IPPROTO_TCP, 0, src, dst,
    )
    csum = _checksum(header)
    return header[:10] + struct.pack("!H", csum) + header[12:] + tcp


class _Conversation:
    """Sequence-number bookkeeping for one TCP connection."""

    def __init__(self, client_port: int, server_port: int) -> None:
        self.ports = {C2S: (client_port, server_port), S2C: (server_port, client_port)}
        self.next_seq = {C2S: CLIENT_ISN, S2C: SERVER_ISN}
        self.frames: list[bytes] = []

    def send(self, direction: str, flags: int, payload: bytes = b"") -> None:
        other = S2C if direction == C2S else C2S
        sport, dport = self.ports[direction]
        src, dst = (CLIENT_ADDR, SERVER_ADDR) if direction == C2S else (SERVER_ADDR, CLIENT_ADDR)
        macs = SERVER_MAC + CLIENT_MAC if direction == C2S else CLIENT_MAC + SERVER_MAC
        seq = self.next_seq[direction]
        ack = self.next_seq[other] if flags & TCP_ACK else 0
        tcp = _tcp_segment(src, dst, sport, dport, seq, ack, flags, payload)
        ip = _ipv4_packet(src, dst, len(self.frames) + 1, tcp)
        self.frames.append(macs + struct.pack("!H", ETHERTYPE_IPV4) + ip)
        # SYN and FIN each consume one sequence number (RFC 9293 3.4).
        self.next_seq[direction] = seq + len(payload) + (1 if flags & (TCP_SYN | TCP_FIN) else 0)


def _segments(payload: bytes) -> Iterable[bytes]:
    for start in range(0, len(payload), MAX_SEGMENT):
        yield payload[start:start + MAX_SEGMENT]


def build_frames(
    chunks: Sequence[tuple[str, bytes]], client_port: int = 50000, server_port: int = 3389
) -> list[bytes]:
    """Return the Ethernet frames of a complete TCP conversation carrying ``chunks``."""
    conv = _Conversation(client_port, server_port)
    conv.send(C2S, TCP_SYN)
    conv.send(S2C, TCP_SYN | TCP_ACK)
    conv.send(C2S, TCP_ACK)
    for direction, payload in chunks:
        if direction not in (C2S, S2C):
            raise ValueError(f"invalid direction: {direction!r} (expected 'c2s' or 's2c')")
        for segment in _segments(bytes(payload)):
            conv.send(direction, TCP_PSH | TCP_ACK, segment)
    conv.send(C2S, TCP_FIN | TCP_ACK)
    conv.send(S2C, TCP_FIN | TCP_ACK)
    conv.send(C2S, TCP_ACK)
    return conv.frames


def write_pcap(
    path: str | Path,
    chunks: Sequence[tuple[str, bytes]],
    client_port: int = 50000,
    server_port: int = 3389,
) -> Path:
    """Write ``chunks`` ("c2s"/"s2c", TCP payload) as a classic pcap file at ``path``.

    Payloads longer than ``MAX_SEGMENT`` are split into several segments;
    an empty payload is skipped.  Returns the path written.
    """
    frames = build_frames(chunks, client_port, server_port)
    out = [struct.pack(
        "<IHHiIII", PCAP_MAGIC, PCAP_VERSION_MAJOR, PCAP_VERSION_MINOR, 0, 0,
        PCAP_SNAPLEN, LINKTYPE_ETHERNET,
    )]
    for index, frame in enumerate(frames):
        usec = index * STEP_USEC
        ts_sec, ts_usec = START_TIME + usec // 1_000_000, usec % 1_000_000
        out.append(struct.pack("<IIII", ts_sec, ts_usec, len(frame), len(frame)))
        out.append(frame)
    target = Path(path)
    target.write_bytes(b"".join(out))
    return target
