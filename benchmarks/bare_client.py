"""Bare CPython twin of benchmarks/c/rdpclient.c: what the interpreter itself costs per probe.

Same flags, exchange, checks and one-line JSON as rdpclient.c, written with the stdlib
(socket, select.epoll) and pyOpenSSL in socket mode only -- no rdpprobe.

  quick: non-blocking connect, TCP_NODELAY, the 43-byte X.224 Connection Request, read the
         TPKT-framed Connection Confirm, close.  ok = a well-formed CC.
  full:  quick, with an RDP_NEG_RSP selecting HYBRID (2) or HYBRID_EX (8) (rdpclient.c's
         test), then TLS (no verification), the 57-byte TSRequest with an NTLM NEGOTIATE,
         read the DER-framed answer.  ok = it holds an NTLM CHALLENGE.

rdpclient.c reads RUSAGE_SELF once after its loop, so its cpu_s starts at exec, which costs C
a millisecond or two.  The interpreter's start-up and imports cost tens of milliseconds, so
here wall_s, cpu_s, user_s and sys_s run from where rdpclient.c sets t0 (before the TLS
context) to the end of the loop, like rdpprobe's in-scan figures; startup_cpu_s is the rest.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import json
import resource
import select
import socket
import sys
import time

from OpenSSL import SSL

CR = bytes([
    0x03, 0x00, 0x00, 0x2B,                          # TPKT, length 43
    0x26, 0xE0, 0x00, 0x00, 0x00, 0x00, 0x00,        # X.224 CR, LI 39
]) + b"Cookie: mstshash=probe\r\n" + bytes([
    0x01, 0x00, 0x08, 0x00, 0x0B, 0x00, 0x00, 0x00,  # RDP_NEG_REQ SSL|HYBRID|HYBRID_EX
])  # fmt: skip
TSREQ_NEGOTIATE = bytes.fromhex(
    "3037a003020106a130302e302ca02a0428"  # TSRequest v6, negoTokens[0].negoToken (40 bytes):
    "4e544c4d5353500001000000b78208e2"  # NTLMSSP NEGOTIATE, flags 0xe20882b7,
    "00000000000000000000000000000000"  # no domain, no workstation,
    "0a0063450000000f"  # version 10.0.17763, NTLM revision 15
)
assert len(CR) == 43 and len(TSREQ_NEGOTIATE) == 57

IN_CAP = 4096  # receive buffer, as in rdpclient.c
TPKT_VERSION, X224_CC, RDP_NEG_RSP, CC_MIN_LEN, NEG_RSP_END = 0x03, 0xD0, 0x02, 11, 19
CREDSSP_PROTOCOLS = (2, 8)  # HYBRID, HYBRID_EX
DER_SEQUENCE, DER_MAX_LENGTH_BYTES = 0x30, 3
NTLM_CHALLENGE = b"NTLMSSP\0\x02\0\0\0"
MAX_EVENTS, TICK_S = 512, 0.05  # epoll batch; epoll wait and timeout sweep period
FAILURES = ("fail_connect", "fail_timeout", "fail_proto", "fail_tls", "fail_emfile")
CONNECT, WRITE_CR, READ_CC, TLS, WRITE_TSREQ, READ_TSREQ = range(6)


def cc_verdict(buf: bytearray, full: bool) -> bool | None:
    """rdpclient.c's Connection Confirm checks: None while incomplete, else pass/fail."""
    if len(buf) < 4:
        return None
    tpkt_len = buf[2] << 8 | buf[3]
    if buf[0] != TPKT_VERSION or tpkt_len < CC_MIN_LEN or tpkt_len > IN_CAP:
        return False
    if len(buf) < tpkt_len:
        return None
    if buf[5] != X224_CC:
        return False
    if not full:
        return True
    return (tpkt_len >= NEG_RSP_END and buf[11] == RDP_NEG_RSP
            and (buf[15] | buf[16] << 8) in CREDSSP_PROTOCOLS)  # fmt: skip


def tsrequest_verdict(buf: bytearray) -> bool | None:
    """rdpclient.c's TSRequest checks: DER framing, then an NTLM CHALLENGE inside."""
    if len(buf) < 2:
        return None
    if buf[0] != DER_SEQUENCE:
        return False
    if buf[1] < 0x80:
        total = 2 + buf[1]
    else:
        k = buf[1] & 0x7F
        if k == 0 or k > DER_MAX_LENGTH_BYTES:
            return False
        if len(buf) < 2 + k:
            return None
        total = 2 + k + int.from_bytes(buf[2 : 2 + k], "big")
    if total > IN_CAP:
        return False
    if len(buf) < total:
        return None
    return buf.find(NTLM_CHALLENGE, 0, total) >= 0


class Probe:
    __slots__ = ("sock", "fd", "state", "events", "conn", "deadline", "buf", "outoff")

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock, self.fd, self.deadline = sock, sock.fileno(), deadline
        self.state, self.events, self.conn, self.buf, self.outoff = CONNECT, 0, None, bytearray(), 0


class Client:
    """The epoll loop: at most ``concurrency`` probes in flight, kept in start order."""

    def __init__(self, addr: tuple[str, int], ctx: SSL.Context | None, timeout: float, verbose: bool) -> None:
        self.addr, self.ctx, self.timeout, self.verbose = addr, ctx, timeout, verbose
        self.epoll = select.epoll()
        self.inflight: dict[int, Probe] = {}  # by descriptor; insertion order = start order
        self.counts = dict.fromkeys(("ok", *FAILURES), 0)
        self.started = self.peak_inflight = 0

    def run(self, count: int, concurrency: int) -> None:
        last_sweep = time.monotonic()
        while self.started < count or self.inflight:
            while self.started < count and len(self.inflight) < concurrency:
                self.start_one()
            if not self.inflight:
                continue
            for fd, _ in self.epoll.poll(TICK_S, MAX_EVENTS):
                probe = self.inflight.get(fd)
                if probe is not None:
                    self.drive(probe)
            now = time.monotonic()
            if now - last_sweep >= TICK_S:
                last_sweep = now
                self.sweep(now)

    def start_one(self) -> None:
        self.started += 1
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
        except OSError as exc:
            self.counts["fail_emfile" if exc.errno in (errno.EMFILE, errno.ENFILE) else "fail_connect"] += 1
            return
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        probe = Probe(sock, time.monotonic() + self.timeout)
        self.inflight[probe.fd] = probe
        self.peak_inflight = max(self.peak_inflight, len(self.inflight))
        rc = sock.connect_ex(self.addr)
        if rc not in (0, errno.EINPROGRESS):
            return self.finish(probe, "fail_connect")
        probe.state, probe.events = (WRITE_CR if rc == 0 else CONNECT), select.EPOLLOUT
        try:
            self.epoll.register(probe.fd, select.EPOLLOUT)
        except OSError:
            return self.finish(probe, "fail_connect")
        if rc == 0:
            self.drive(probe)

    def drive(self, probe: Probe) -> None:
        outcome = self.step(probe)
        if outcome is not None:
            self.finish(probe, outcome)

    def finish(self, probe: Probe, outcome: str) -> None:
        self.counts[outcome] += 1
        probe.conn = None  # SSL_free, no shutdown (as rdpclient.c)
        probe.sock.close()  # also leaves the epoll set
        del self.inflight[probe.fd]

    def sweep(self, now: float) -> None:
        """All timeouts are equal, so expired probes are a prefix of the start order."""
        expired = []
        for probe in self.inflight.values():
            if probe.deadline > now:
                break
            expired.append(probe)
        for probe in expired:
            self.finish(probe, "fail_timeout")

    def wait_for(self, probe: Probe, events: int) -> None:
        if probe.events != events:
            try:
                self.epoll.modify(probe.fd, events)
                probe.events = events
            except OSError:
                pass

    def step(self, p: Probe) -> str | None:
        """Advance one probe as far as it goes: None = waiting, else "ok" or a failure."""
        while True:
            if p.state == CONNECT:
                if p.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    return "fail_connect"
                p.state = WRITE_CR
            elif p.state == WRITE_CR:
                try:
                    p.outoff += p.sock.send(CR[p.outoff :])
                except BlockingIOError:
                    return self.wait_for(p, select.EPOLLOUT)
                except OSError:
                    return "fail_connect"
                if p.outoff == len(CR):
                    p.state = READ_CC
            elif p.state == READ_CC:
                try:
                    data = p.sock.recv(IN_CAP - len(p.buf))
                except BlockingIOError:
                    return self.wait_for(p, select.EPOLLIN)
                except OSError:
                    return "fail_proto"
                if not data:
                    return "fail_proto"
                p.buf += data
                verdict = cc_verdict(p.buf, self.ctx is not None)
                if verdict is None:
                    continue
                if not verdict or self.ctx is None:
                    return "ok" if verdict else "fail_proto"
                p.buf = bytearray()
                p.conn = SSL.Connection(self.ctx, p.sock)
                p.conn.set_connect_state()
                p.state = TLS
            else:
                try:
                    if p.state == TLS:
                        p.conn.do_handshake()
                        p.state = WRITE_TSREQ
                        continue
                    if p.state == WRITE_TSREQ:
                        p.conn.send(TSREQ_NEGOTIATE)
                        p.state = READ_TSREQ
                        continue
                    p.buf += p.conn.recv(IN_CAP - len(p.buf))
                except SSL.WantReadError:
                    return self.wait_for(p, select.EPOLLIN)
                except SSL.WantWriteError:
                    return self.wait_for(p, select.EPOLLOUT)
                except (SSL.Error, OSError) as exc:
                    if self.verbose:
                        print(f"fd {p.fd}: {exc!r}", file=sys.stderr)
                    return "fail_tls" if p.state == TLS else "fail_proto"
                verdict = tsrequest_verdict(p.buf)
                if verdict is not None:
                    return "ok" if verdict else "fail_proto"


def make_context(tls13: bool) -> SSL.Context:
    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    ctx.set_verify(SSL.VERIFY_NONE)
    ctx.set_min_proto_version(SSL.TLS1_VERSION)
    ctx.set_max_proto_version(SSL.TLS1_3_VERSION if tls13 else SSL.TLS1_2_VERSION)
    ctx.set_session_cache_mode(SSL.SESS_CACHE_OFF)
    ctx.set_mode(SSL.MODE_RELEASE_BUFFERS)
    return ctx


def raise_nofile(concurrency: int) -> None:
    want = concurrency + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= want:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def peak_rss_kib(fallback: int) -> int:
    """VmHWM, like procstat.h: ru_maxrss may be the exec'ing parent's."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return fallback


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", type=ipaddress.IPv4Address, default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--depth", choices=("quick", "full"), default="quick")
    ap.add_argument("--tls13", action="store_true")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    if not 0 < args.port <= 65535 or args.count < 0 or args.concurrency < 1:
        ap.error("need 0 < port <= 65535, count >= 0, concurrency >= 1")
    if not args.host.is_loopback:  # 127.0.0.0/8
        ap.error(f"refusing target {args.host}: only 127.0.0.0/8 is allowed")
    return args


def main() -> int:
    args = parse_args()
    raise_nofile(args.concurrency)
    full = args.depth == "full"
    before, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    client = Client((str(args.host), args.port), make_context(args.tls13) if full else None, args.timeout, args.verbose)
    client.run(args.count, args.concurrency)
    wall, after = time.monotonic() - t0, resource.getrusage(resource.RUSAGE_SELF)
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    counts = client.counts
    report = {
        "probes": args.count, "ok": counts["ok"], "failed": sum(counts[f] for f in FAILURES),
        "wall_s": wall, "cpu_s": user + system, "maxrss_kib": peak_rss_kib(after.ru_maxrss),
        "depth": args.depth, "concurrency": args.concurrency, "tls_max": "1.3" if args.tls13 else "1.2",
        "peak_inflight": client.peak_inflight, **{f: counts[f] for f in FAILURES},
        "user_s": user, "sys_s": system, "startup_cpu_s": before.ru_utime + before.ru_stime,
    }  # fmt: skip
    print(json.dumps({k: round(v, 6) if isinstance(v, float) else v for k, v in report.items()}, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
