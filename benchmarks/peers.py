"""Run the reference client and the peer tools against a local responder.

Every runner takes a loopback port (and a probe/target count), runs one child
process with a timeout, and returns either a :class:`PeerResult` or an
:class:`Unavailable` (which is falsy, so ``if not result:`` treats it like
``None`` while still carrying the reason).

CPU time is the child's user+sys time, taken from
``resource.getrusage(RUSAGE_CHILDREN)`` before and after the child is reaped.
That delta is only meaningful when runners are called one at a time from a
single thread, and when nothing else reaps children in between.

Peers and where they come from:

* ``c_client``            benchmarks/c/build/rdpclient (``benchmarks/c/build.sh``)
* ``bare_python``         benchmarks/bare_client.py: rdpclient's exchange in bare CPython
                          (stdlib + pyOpenSSL), run with this interpreter
* ``openssl_s_time``      Debian ``openssl``; needs the responder in ``plain-tls`` mode
* ``nmap_rdp_ntlm_info``  Debian ``nmap``
* ``ardpscan_caps``       PyPI ``aardwolf`` (entry point ``ardpscan``)
* ``rdp_check``           PyPI ``impacket`` (script ``rdp_check.py``); needs credentials

Executables are found on ``PATH`` or through the environment variables
``RDPPROBE_BENCH_ARDPSCAN`` and ``RDPPROBE_BENCH_RDP_CHECK`` (a path to the
``ardpscan`` entry point or to ``rdp_check.py``), so the Python peers can live
in a separate virtual environment.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import random
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
C_DIR = HERE / "c"
BUILD_DIR = C_DIR / "build"
RDPCLIENT = BUILD_DIR / "rdpclient"
BARE_CLIENT = HERE / "bare_client.py"
RDPRESPONDER = BUILD_DIR / "rdpresponder"
CERT = BUILD_DIR / "cert.pem"
KEY = BUILD_DIR / "key.pem"

LOOPBACK = "127.0.0.1"
START_ATTEMPTS = 3  # responder start-ups, each on a fresh port unless one was given
EXCERPT_CHARS = 2000

__all__ = [
    "PeerResult",
    "Unavailable",
    "Responder",
    "build_c",
    "free_port",
    "c_client",
    "bare_python",
    "openssl_s_time",
    "nmap_rdp_ntlm_info",
    "ardpscan_caps",
    "rdp_check",
]


@dataclass
class PeerResult:
    """One timed run of a peer against the local responder."""

    name: str
    targets: int  # probes / targets attempted
    wall_s: float  # wall time of the child, process start included
    cpu_s: float  # child user+sys (RUSAGE_CHILDREN delta)
    ok: int  # probes / targets that got the expected answer
    excerpt: str  # head and tail of the child's output
    # peak RSS of the child from RUSAGE_CHILDREN; None unless it exceeded both
    # earlier children and this process (see _run).  The C client reports its
    # own exact figure in extra["maxrss_kib"] (VmHWM).
    child_maxrss_kib: int | None = None
    timed_out: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def per_s(self) -> float:
        return self.targets / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def cpu_us_per_target(self) -> float:
        return self.cpu_s / self.targets * 1e6 if self.targets else 0.0

    def __bool__(self) -> bool:
        return True


@dataclass
class Unavailable:
    """A peer that cannot run here; falsy so callers may treat it like None."""

    name: str
    reason: str

    def __bool__(self) -> bool:
        return False


@dataclass
class _Run:
    rc: int | None
    output: str
    wall_s: float
    cpu_s: float
    child_maxrss_kib: int | None
    timed_out: bool


def _excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return text[:half] + "\n...\n" + text[-half:]


def _run(
    cmd: Sequence[str],
    timeout: float,
    cwd: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
) -> _Run:
    """Run ``cmd`` to completion (or kill its process group at ``timeout``)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    timed_out = False
    with tempfile.TemporaryFile() as out:
        t0 = time.monotonic()
        proc = subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        wall = time.monotonic() - t0
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # Linux keeps the high-water mark of the image that called exec, so a
    # child's ru_maxrss is never below this process's own RSS at spawn time:
    # only a value above both the previous maximum and our own peak says
    # something about this child.
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    maxrss = after.ru_maxrss if after.ru_maxrss > max(before.ru_maxrss, own) else None
    return _Run(proc.returncode, text, wall, cpu, maxrss, timed_out)


def _check_loopback(host: str) -> None:
    if not host.startswith("127."):
        raise ValueError(f"only loopback targets are allowed, got {host!r}")


#: Ports a responder with several listeners takes from: below Linux's ephemeral range
#: (32768 and up), so that the scan's own connections never hold one of them.
LISTENER_PORTS = (10000, 32768)


def free_ports(count: int, host: str = LOOPBACK) -> int:
    """The first of ``count`` consecutive ports for a responder's listeners, drawn at random
    from ``LISTENER_PORTS`` (loopback only); if one is taken the responder fails to bind and
    ``Responder.start`` draws again."""
    if count == 1:
        return free_port(host)
    _check_loopback(host)
    low, high = LISTENER_PORTS
    return random.randrange(low, high - count)


def free_port(host: str = LOOPBACK) -> int:
    """A currently free TCP port on ``host`` (loopback only)."""
    _check_loopback(host)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------
# C reference client and responder
# --------------------------------------------------------------------------


def build_c(timeout: float = 120) -> Unavailable | None:
    """Run benchmarks/c/build.sh; returns Unavailable on failure."""
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        return Unavailable("c", "no C compiler (Debian: gcc)")
    r = _run(["sh", str(C_DIR / "build.sh")], timeout=timeout)
    if r.rc != 0:
        return Unavailable("c", "build.sh failed: " + _excerpt(r.output, 600))
    return None


class Responder:
    """Context manager running benchmarks/c/build/rdpresponder on loopback.

    >>> with Responder(mode="hybrid") as r:
    ...     c_client(r.port, count=100, concurrency=10)
    """

    def __init__(
        self,
        mode: str = "hybrid",
        port: int | None = None,
        tls13: bool = False,
        max_seconds: float = 900,
        host: str = LOOPBACK,
        listeners: int = 1,
    ) -> None:
        _check_loopback(host)
        self.mode = mode
        self.listeners = listeners
        """Listening ports, ``port`` .. ``port + listeners - 1``: distinct targets for a scanner
        that drops duplicates."""
        self.host = host
        self.fixed_port = port is not None
        self.port = port or free_ports(listeners, host)
        self.tls13 = tls13
        self.max_seconds = max_seconds
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = b""
        self._head = b""  # stderr read while waiting for the "listening on" line

    def start(self) -> Responder:
        """Start the responder once it says it listens.

        Another program may take a port from ``free_port`` before the responder
        binds it; then the responder exits, and is started again on a fresh port.
        """
        if not RDPRESPONDER.exists():
            err = build_c()
            if err is not None:
                raise RuntimeError(err.reason)
        for attempt in range(START_ATTEMPTS):
            if attempt and not self.fixed_port:
                self.port = free_ports(self.listeners, self.host)
            self.proc = subprocess.Popen(
                self._argv(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            if self._listening(deadline=time.monotonic() + 5):
                return self
            self.stop()
        raise RuntimeError(f"rdpresponder did not start listening: {self.log.decode(errors='replace')}")

    def _listening(self, deadline: float) -> bool:
        """Wait for the responder's own "listening on" line (printed after listen())."""
        assert self.proc is not None and self.proc.stderr is not None
        fd, self._head = self.proc.stderr.fileno(), b""
        while (left := deadline - time.monotonic()) > 0 and select.select([fd], [], [], left)[0]:
            chunk = os.read(fd, 4096)
            self._head += chunk
            if b"rdpresponder: listening on" in self._head:
                return True
            if not chunk:
                return False
        return False

    def _argv(self) -> list[str]:
        cmd = [
            str(RDPRESPONDER),
            "--host", self.host,
            "--port", str(self.port),
            "--mode", self.mode,
            "--cert", str(CERT),
            "--key", str(KEY),
            "--max-seconds", str(self.max_seconds),
            "--listeners", str(self.listeners),
        ]
        if self.tls13:
            cmd.append("--tls13")
        return cmd

    def stop(self) -> str:
        """Stop the responder and return its final log line(s)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc is not None and self.proc.stderr is not None and not self.proc.stderr.closed:
            self.log = self._head + self.proc.stderr.read()
            self.proc.stderr.close()
        return self.log.decode(errors="replace")

    def __enter__(self) -> Responder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _client_args(
    host: str, port: int, count: int, concurrency: int, depth: str, probe_timeout: float, tls13: bool
) -> list[str]:
    """The command-line flags rdpclient and bare_client.py share."""
    args = [
        "--host", host,
        "--port", str(port),
        "--count", str(count),
        "--concurrency", str(concurrency),
        "--depth", depth,
        "--timeout", str(probe_timeout),
    ]
    return args + ["--tls13"] if tls13 else args


def _probe_client(
    name: str,
    cmd: Sequence[str],
    count: int,
    concurrency: int,
    probe_timeout: float,
    timeout: float | None,
) -> PeerResult:
    """Run a client that prints rdpclient's one-line JSON report; the report goes in extra."""
    if timeout is None:
        timeout = 60 + probe_timeout * (count / max(concurrency, 1) + 1)
    r = _run(cmd, timeout=timeout)
    data: dict[str, Any] = {}
    for line in r.output.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                data = json.loads(line)
    return PeerResult(
        name=name,
        targets=count,
        wall_s=r.wall_s,
        cpu_s=r.cpu_s,
        ok=int(data.get("ok", 0)),
        excerpt=_excerpt(r.output),
        child_maxrss_kib=r.child_maxrss_kib,
        timed_out=r.timed_out,
        extra=data,
    )


def c_client(
    port: int,
    count: int = 2000,
    concurrency: int = 50,
    depth: str = "full",
    tls13: bool = False,
    host: str = LOOPBACK,
    probe_timeout: float = 10,
    timeout: float | None = None,
) -> PeerResult | Unavailable:
    """The C epoll + OpenSSL client: the physical limit on this machine."""
    _check_loopback(host)
    name = f"c-epoll-openssl/{depth}"
    if not RDPCLIENT.exists():
        err = build_c()
        if err is not None:
            return Unavailable(name, err.reason)
    cmd = [str(RDPCLIENT), *_client_args(host, port, count, concurrency, depth, probe_timeout, tls13)]
    return _probe_client(name, cmd, count, concurrency, probe_timeout, timeout)


def bare_python(
    port: int,
    count: int = 2000,
    concurrency: int = 50,
    depth: str = "full",
    tls13: bool = False,
    host: str = LOOPBACK,
    probe_timeout: float = 10,
    timeout: float | None = None,
) -> PeerResult | Unavailable:
    """rdpclient's exchange in bare CPython (benchmarks/bare_client.py): the interpreter's cost.

    Unlike ``c_client``, ``wall_s`` and ``cpu_s`` are the script's own figures around its
    probing loop, as rdpprobe's in-scan figures are: the interpreter's start-up and the
    pyOpenSSL import (tens of milliseconds, nothing to do with probing) are left out.  The
    whole-process figures are kept in ``extra["process_wall_s"]`` and
    ``extra["process_cpu_s"]`` (the latter from RUSAGE_CHILDREN, like ``c_client``'s cpu_s).
    """
    _check_loopback(host)
    name = f"bare-python-epoll-pyopenssl/{depth}"
    if importlib.util.find_spec("OpenSSL") is None:
        return Unavailable(name, "pyOpenSSL is not installed for this interpreter (PyPI: pyOpenSSL)")
    cmd = [sys.executable, str(BARE_CLIENT),
           *_client_args(host, port, count, concurrency, depth, probe_timeout, tls13)]  # fmt: skip
    result = _probe_client(name, cmd, count, concurrency, probe_timeout, timeout)
    if "cpu_s" in result.extra and "wall_s" in result.extra:
        result.extra["process_wall_s"], result.extra["process_cpu_s"] = result.wall_s, result.cpu_s
        result.wall_s, result.cpu_s = float(result.extra["wall_s"]), float(result.extra["cpu_s"])
    return result


# --------------------------------------------------------------------------
# openssl s_time
# --------------------------------------------------------------------------

_S_TIME_RE = re.compile(
    r"(\d+) connections in ([\d.]+)s; ([\d.]+) connections/user sec"
)


def openssl_s_time(
    port: int, seconds: int = 5, host: str = LOOPBACK, timeout: float | None = None
) -> PeerResult | Unavailable:
    """``openssl s_time -new``: sequential full TLS handshakes, no RDP.

    The responder must run in ``plain-tls`` mode (TLS straight after accept).
    ``extra`` holds s_time's own figures: connections, user_s (user CPU only)
    and conn_per_user_s.
    """
    _check_loopback(host)
    name = "openssl-s_time-new"
    exe = shutil.which("openssl")
    if exe is None:
        return Unavailable(name, "openssl CLI not found (Debian: openssl)")
    cmd = [exe, "s_time", "-connect", f"{host}:{port}", "-new", "-time", str(seconds)]
    r = _run(cmd, timeout=timeout or seconds + 30)
    m = _S_TIME_RE.search(r.output)
    if m is None:
        return PeerResult(name, 0, r.wall_s, r.cpu_s, 0, _excerpt(r.output),
                          r.child_maxrss_kib, r.timed_out)
    conns = int(m.group(1))
    return PeerResult(
        name=name,
        targets=conns,
        wall_s=r.wall_s,
        cpu_s=r.cpu_s,
        ok=conns,
        excerpt=_excerpt(r.output[-600:]),
        child_maxrss_kib=r.child_maxrss_kib,
        timed_out=r.timed_out,
        extra={
            "connections": conns,
            "user_s": float(m.group(2)),
            "conn_per_user_s": float(m.group(3)),
            "seconds": seconds,
        },
    )


# --------------------------------------------------------------------------
# nmap rdp-ntlm-info
# --------------------------------------------------------------------------


def nmap_rdp_ntlm_info(
    port: int, n: int = 1, host: str = LOOPBACK, timeout: float | None = None
) -> PeerResult | Unavailable:
    """``nmap -p PORT --script +rdp-ntlm-info -Pn -n -iL <n copies of host>``.

    nmap scans a host listed n times n times, so one process covers n targets.
    The ``+`` forces the script on a port nmap does not recognise as
    ms-wbt-server.  ok = number of NTLM answers (``Target_Name`` lines).
    """
    _check_loopback(host)
    name = "nmap-rdp-ntlm-info"
    exe = shutil.which("nmap")
    if exe is None:
        return Unavailable(name, "nmap not installed (Debian: nmap)")
    with tempfile.TemporaryDirectory(prefix="rdpprobe-nmap-") as tmp:
        targets = Path(tmp) / "targets.txt"
        targets.write_text((host + "\n") * n)
        cmd = [exe, "-p", str(port), "--script", "+rdp-ntlm-info", "-Pn", "-n",
               "-iL", str(targets)]
        r = _run(cmd, timeout=timeout or 60 + 2.0 * n, cwd=tmp)
    ok = len(re.findall(r"^\|\s+Target_Name: ", r.output, re.M))
    fields = {}
    for key in ("Target_Name", "NetBIOS_Domain_Name", "NetBIOS_Computer_Name",
                "DNS_Domain_Name", "DNS_Computer_Name", "Product_Version", "System_Time"):
        m = re.search(rf"{key}: (\S+)", r.output)
        if m:
            fields[key] = m.group(1)
    return PeerResult(name, n, r.wall_s, r.cpu_s, ok, _excerpt(r.output),
                      r.child_maxrss_kib, r.timed_out, extra={"ntlm": fields})


# --------------------------------------------------------------------------
# aardwolf ardpscan -s caps
# --------------------------------------------------------------------------


def _find_exe(env_var: str, names: Sequence[str]) -> str | None:
    p = os.environ.get(env_var)
    if p and Path(p).exists():
        return p
    for n in names:
        found = shutil.which(n)
        if found:
            return found
        cand = Path(sys.prefix) / "bin" / n
        if cand.exists():
            return str(cand)
    return None


def ardpscan_caps(
    port: int,
    n: int = 1,
    host: str = LOOPBACK,
    workers: int = 100,
    host_timeout: int = 10,
    timeout: float | None = None,
) -> PeerResult | Unavailable:
    """``ardpscan --no-progress -e -s caps -w W rdp://HOST:PORT <file of n copies>``.

    aardwolf opens 7 X.224 connections per target (5 protocol sets plus the
    two restricted-mode flags) and writes ``RDPCapabilitiesRes_*.tsv`` into
    the working directory (a temporary directory here).  ok = result rows.
    """
    _check_loopback(host)
    name = "aardwolf-ardpscan-caps"
    exe = _find_exe("RDPPROBE_BENCH_ARDPSCAN", ["ardpscan"])
    if exe is None:
        return Unavailable(name, "ardpscan not found (PyPI: aardwolf; or set RDPPROBE_BENCH_ARDPSCAN)")
    with tempfile.TemporaryDirectory(prefix="rdpprobe-ardp-") as tmp:
        targets = Path(tmp) / "targets.txt"
        targets.write_text((host + "\n") * n)
        cmd = [exe, "--no-progress", "-e", "-s", "caps", "-w", str(workers),
               "-t", str(host_timeout), f"rdp://{host}:{port}", str(targets)]
        r = _run(cmd, timeout=timeout or 60 + host_timeout * (n / max(workers, 1) + 1), cwd=tmp)
        rows: list[str] = []
        errors: list[str] = []
        for f in sorted(Path(tmp).glob("*.tsv")):
            lines = [ln for ln in f.read_text(errors="replace").splitlines() if ln.strip()]
            if f.name.startswith("RDPCapabilitiesRes"):
                rows += lines
            else:
                errors += lines
    excerpt = _excerpt(r.output + "".join(f"\n{ln}" for ln in (rows[:3] + errors[:3])))
    return PeerResult(name, n, r.wall_s, r.cpu_s, len(rows), excerpt,
                      r.child_maxrss_kib, r.timed_out,
                      extra={"errors": len(errors), "connections_per_target": 7,
                             "sample_row": rows[0] if rows else None})


# --------------------------------------------------------------------------
# impacket rdp_check.py
# --------------------------------------------------------------------------

# rdp_check.py hard-codes port 3389.  For another port this shim redirects
# connect() to (host, 3389) before running the unmodified script.
_PORT_SHIM = (
    "import runpy, socket, sys\n"
    "port = int(sys.argv[1]); script = sys.argv[2]\n"
    "_c = socket.socket.connect\n"
    "def connect(self, addr):\n"
    "    if isinstance(addr, tuple) and len(addr) >= 2 and addr[1] == 3389:\n"
    "        addr = (addr[0], port) + tuple(addr[2:])\n"
    "    return _c(self, addr)\n"
    "socket.socket.connect = connect\n"
    "sys.argv = [script] + sys.argv[3:]\n"
    "runpy.run_path(script, run_name='__main__')\n"
)


def _script_python(script: str) -> str:
    with open(script, "rb") as f:
        first = f.readline().decode(errors="replace").strip()
    if first.startswith("#!"):
        interp = first[2:].strip().split()
        if interp and interp[0].endswith("env") and len(interp) > 1:
            found = shutil.which(interp[1])
            if found:
                return found
        elif interp and Path(interp[0]).exists():
            return interp[0]
    return sys.executable


def rdp_check(
    port: int,
    n: int = 1,
    host: str = LOOPBACK,
    user: str = "user",
    password: str = "pass",
    per_run_timeout: float = 30,
) -> PeerResult | Unavailable:
    """impacket ``rdp_check.py user:pass@HOST``, run n times (one target per run).

    Applies only as a credentialed check: X.224 (SSL|HYBRID) -> TLS -> NTLM
    NEGOTIATE/CHALLENGE -> AUTHENTICATE + pubKeyAuth; it needs a user name and
    password and prints "Access Granted"/"Access Denied", or "[-] <error>" when
    the server drops the connection (which is what rdpresponder does after an
    AUTHENTICATE).  ok = runs that ended with such a verdict, not a traceback.
    """
    _check_loopback(host)
    name = "impacket-rdp_check"
    script = _find_exe("RDPPROBE_BENCH_RDP_CHECK", ["rdp_check.py"])
    if script is None:
        return Unavailable(name, "rdp_check.py not found (PyPI: impacket; or set RDPPROBE_BENCH_RDP_CHECK)")
    py = _script_python(script)
    target = f"{user}:{password}@{host}"
    if port == 3389:
        cmd = [py, script, target]
    else:
        cmd = [py, "-c", _PORT_SHIM, str(port), script, target]
    wall = cpu = 0.0
    ok = 0
    outputs: list[str] = []
    timed_out = False
    maxrss: int | None = None
    for _ in range(n):
        r = _run(cmd, timeout=per_run_timeout)
        wall += r.wall_s
        cpu += r.cpu_s
        timed_out |= r.timed_out
        maxrss = r.child_maxrss_kib or maxrss
        verdict = re.search(r"^\[([*+-])\] ?(.*)$", r.output, re.M)
        if verdict and "Traceback" not in r.output and not r.timed_out:
            ok += 1
        if len(outputs) < 2:
            outputs.append(r.output)
    return PeerResult(name, n, wall, cpu, ok, _excerpt("\n".join(outputs)), maxrss,
                      timed_out, extra={"port_shim": port != 3389, "credentials": True})


if __name__ == "__main__":  # pragma: no cover - manual smoke run
    import argparse

    ap = argparse.ArgumentParser(description="Smoke-run every peer once against rdpresponder")
    ap.add_argument("-n", type=int, default=20, help="targets per peer")
    args = ap.parse_args()
    err = build_c()
    if err is not None:
        sys.exit(err.reason)
    with Responder(mode="hybrid") as resp:
        runs: list[PeerResult | Unavailable] = [
            c_client(resp.port, count=args.n, concurrency=min(args.n, 50), depth="quick"),
            c_client(resp.port, count=args.n, concurrency=min(args.n, 50), depth="full"),
            bare_python(resp.port, count=args.n, concurrency=min(args.n, 50), depth="quick"),
            bare_python(resp.port, count=args.n, concurrency=min(args.n, 50), depth="full"),
            nmap_rdp_ntlm_info(resp.port, n=args.n),
            ardpscan_caps(resp.port, n=args.n),
            rdp_check(resp.port, n=min(args.n, 3)),
        ]
    with Responder(mode="plain-tls") as resp:
        runs.append(openssl_s_time(resp.port, seconds=2))
    for res in runs:
        if isinstance(res, PeerResult):
            print(f"{res.name:28} targets={res.targets:6} ok={res.ok:6} wall={res.wall_s:8.3f}s "
                  f"cpu={res.cpu_s:7.3f}s  {res.per_s:9.1f}/s  {res.cpu_us_per_target:9.1f} us/target")
        else:
            print(f"{res.name:28} unavailable: {res.reason}")
