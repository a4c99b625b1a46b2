"""Run real RDP implementations on loopback for interop tests.

Rules of this module:

* Every process is started by this module in a new session (its own process
  group), and its PID is recorded.  Stopping sends signals to that group only,
  so nothing this module did not start is ever touched.
* Every wait, loop and subprocess is bounded in time.
* Everything binds and connects to 127.0.0.1 or ::1 only.
* The container's PID 1 may not reap orphans: a process that has become a
  zombie counts as stopped.
* Nothing outside temporary directories is modified, with one exception:
  ``/etc/xrdp/rsakeys.ini`` is generated when missing (see ``_ensure_rsakeys``).

The behaviour of each implementation (what it answers, how it fails) is
recorded in the project's notes on real servers; the helpers only start,
drive and stop them.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# Time budgets, in seconds.
STARTUP_TIMEOUT = 10.0
START_ATTEMPTS = 3  # server start-ups tried, each on a fresh port unless one is given
CONFIRM_GRACE = 0.2  # without /proc: how long a server must survive its port answering
STOP_TIMEOUT = 5.0
POLL_INTERVAL = 0.02
XDPYINFO_TIMEOUT = 3.0
TSHARK_READ_TIMEOUT = 60.0
CAPTURE_SETTLE = 0.3
CAPTURE_READY_MARGIN = 0.05

XRDP = "/usr/sbin/xrdp"
XRDP_RSAKEYS = Path("/etc/xrdp/rsakeys.ini")

# tshark: 6291456 is the expert severity "Warning" (epan/proto.h PI_WARN).
EXPERT_WARNING = 6291456
LINT_FILTER = f"_ws.malformed || _ws.expert.severity >= {EXPERT_WARNING}"
# Expert groups (epan/proto.h) left out of the lint: PI_SEQUENCE covers TCP's own
# analysis (RST, retransmissions, D-SACK), which says nothing about RDP encoding.
PI_SEQUENCE = 0x02000000
LINT_IGNORED_GROUPS = frozenset({PI_SEQUENCE})
_AGGREGATOR = "\x1f"  # Joins several occurrences of a field; never in tshark's text.
COTP_TYPE_CR = 0x0E  # X.224 13.3 Connection Request TPDU code.
COTP_CR_FIXED_LI = 6  # X.224 CR length indicator without variable part or user data.

_NAME_RE = re.compile(r"\b(?:ERRCONNECT|ERRINFO)_[A-Z0-9_]+\b")
_STATE_RE = re.compile(r"\bCONNECTION_STATE_[A-Z0-9_]+\b")


# ---------------------------------------------------------------------------
# Tools and processes
# ---------------------------------------------------------------------------

def require(tool: str) -> str:
    """Return the path of ``tool``; fail under CI, skip elsewhere, if it is missing."""
    path = tool if os.path.isabs(tool) and os.access(tool, os.X_OK) else shutil.which(tool)
    if path:
        return path
    message = f"{tool} is not installed (install the Debian packages listed in the CI script)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
    raise AssertionError("unreachable")  # pytest.skip raises.


def is_running(pid: int) -> bool:
    """Return whether ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state follows the parenthesised command name, which may contain spaces.
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _start(argv: Sequence[str], *, env: dict[str, str] | None = None,
           log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new session, stdout and stderr appended to ``log``."""
    if log is None:
        return subprocess.Popen(list(argv), env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                start_new_session=True)
    with open(log, "ab", buffering=0) as out:
        return subprocess.Popen(list(argv), env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def stop_process(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM,
                 timeout: float = STOP_TIMEOUT) -> None:
    """Stop ``proc`` and its process group (which this module created), bounded in time."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=timeout)
    # Descendants left in the group (for example a child of `timeout`) are killed too;
    # orphans that become zombies under a non-reaping PID 1 count as stopped.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _run(argv: Sequence[str], *, timeout: float, env: dict[str, str] | None = None,
         input_: bytes | None = None) -> tuple[int, str]:
    """Run ``argv`` in its own process group; return (rc, stdout+stderr). Bounded in time."""
    proc = subprocess.Popen(
        list(argv), env=env, stdin=subprocess.PIPE if input_ is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        out, _ = proc.communicate(input=input_, timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_process(proc, signal.SIGKILL)
        out, _ = proc.communicate(timeout=STOP_TIMEOUT)
    finally:
        stop_process(proc, signal.SIGKILL)
    return proc.returncode, out.decode("utf-8", "replace")


# ---------------------------------------------------------------------------
# Ports
# ---------------------------------------------------------------------------

def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` right now.

    Another process may take it before a server binds it: servers are started
    through ``_attempt_ports`` and ``await_listening``, which detect that and retry.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _attempt_ports(host: str, port: int | None) -> Iterator[int]:
    """The port of each start-up attempt: ``port`` if given, else a fresh free port each time."""
    for _attempt in range(START_ATTEMPTS):
        yield port or free_port(host)


#: One start-up attempt on a port: a context that yields the server process and why it is
#: not listening (None when it is), and releases what it set up around the process.
Attempt = Callable[[int], AbstractContextManager["tuple[subprocess.Popen[bytes], str | None]"]]


@contextlib.contextmanager
def _first_listening(name: str, host: str, port: int | None, workdir: Path, logfile: Path,
                     attempt: Attempt, tail: Callable[[], str]) -> Iterator[Daemon]:
    """Start a server with ``attempt`` on fresh ports until one listens (START_ATTEMPTS in
    all); yield it as a Daemon and stop it afterwards. Every failed attempt is stopped too,
    and the error lists each one's reason, then ``tail()`` of the server's logs."""
    failures: list[str] = []
    for attempt_port in _attempt_ports(host, port):
        with attempt(attempt_port) as (proc, reason):
            try:
                if reason is None:
                    yield Daemon(host, attempt_port, logfile, proc.pid, workdir, proc)
                    return
            finally:
                stop_process(proc)
        failures.append(f"port {attempt_port}: {reason}")
    raise RuntimeError(f"{name} did not listen on {host} ({'; '.join(failures)}): {tail()}")


def _listeners(port: int) -> set[int] | None:
    """Return the inodes of the TCP sockets listening on local ``port``, or None without /proc/net."""
    inodes: set[int] = set()
    found = False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        found = True
        for line in lines:
            cols = line.split()
            # local_address is cols[1], st cols[3] (0A = TCP_LISTEN), inode cols[9].
            if len(cols) > 9 and cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(int(cols[9]))
    return inodes if found else None


def _socket_inodes(pid: int) -> set[int] | None:
    """Return the inodes of the sockets ``pid`` holds, or None if its descriptors are unreadable."""
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    inodes: set[int] = set()
    for name in names:
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{name}")
            if target.startswith("socket:["):
                inodes.add(int(target[len("socket:["):-1]))
    return inodes


def await_listening(host: str, port: int, proc: subprocess.Popen[bytes] | None = None,
                    timeout: float = STARTUP_TIMEOUT) -> str | None:
    """Wait until ``proc`` (or, without one, anything) listens on ``host``:``port``.

    Returns None once it does, else why not: ``proc`` exited, another process
    listens on the port (which ``proc`` then cannot have), or the time ran out.
    Where /proc is readable the listening sockets are matched against ``proc``'s
    descriptors, so a foreign listener never passes for the server, and the server
    sees no probe connection; elsewhere a connect is attempted and ``proc`` must
    still run a moment later.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return f"exited with status {proc.returncode}"
        listeners = _listeners(port)
        if listeners is None:  # No /proc/net: connect; the server must outlive that a moment.
            with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
                if proc is None:
                    return None
                time.sleep(CONFIRM_GRACE)
                if proc.poll() is None:
                    return None
        elif listeners:
            ours = _socket_inodes(proc.pid) if proc is not None else None
            if ours is None or listeners <= ours:  # Unreadable descriptors: proc runs, that will do.
                return None
            return f"port {port} is taken by another process"
        time.sleep(POLL_INTERVAL)
    return f"did not listen within {timeout:g} s"


def wait_listening(host: str, port: int, timeout: float = STARTUP_TIMEOUT,
                   proc: subprocess.Popen[bytes] | None = None) -> bool:
    """Whether ``proc`` (or anything) came to listen on ``host``:``port``; see ``await_listening``."""
    return await_listening(host, port, proc, timeout) is None


def _tail(path: Path, limit: int = 1500) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


# ---------------------------------------------------------------------------
# X.224 Connection Request over a plain socket
# ---------------------------------------------------------------------------

# [MS-RDPBCGR] 2.2.1.1: TPKT header, X.224 CR TPDU (no cookie), RDP_NEG_REQ prefix.
CR_WITHOUT_NEG_REQ = bytes.fromhex("0300000b06e00000000000")
CR_NEG_REQ_PREFIX = bytes.fromhex("030000130ee0000000000001000800")
TPKT_HEADER_SIZE = 4


def connection_request(requested: int | None) -> bytes:
    """Return a hand-made X.224 CR, with RDP_NEG_REQ(requestedProtocols) unless None."""
    if requested is None:
        return CR_WITHOUT_NEG_REQ
    return CR_NEG_REQ_PREFIX + requested.to_bytes(4, "little")


def exchange_cr(host: str, port: int, requested: int | None, timeout: float = 3.0) -> bytes:
    """Send a hand-made CR and return the server's first TPKT (b"" if it closed first)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(connection_request(requested))
        data = b""
        deadline = time.monotonic() + timeout
        while len(data) < TPKT_HEADER_SIZE or len(data) < int.from_bytes(data[2:4], "big"):
            sock.settimeout(max(deadline - time.monotonic(), 0.01))
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        if len(data) >= TPKT_HEADER_SIZE:
            # Only the first: xrdp may follow a failure with a Disconnect Provider Ultimatum
            # that arrives in the same read.
            return data[: int.from_bytes(data[2:4], "big")]
        return data


# ---------------------------------------------------------------------------
# Xvfb
# ---------------------------------------------------------------------------

def _display_free(number: int) -> bool:
    return not (Path(f"/tmp/.X{number}-lock").exists()
                or Path(f"/tmp/.X11-unix/X{number}").exists())


def _try_xvfb(number: int, logdir: Path) -> subprocess.Popen[bytes] | None:
    display = f":{number}"
    proc = _start(["Xvfb", display, "-nolisten", "tcp", "-screen", "0", "1024x768x24"],
                  log=logdir / f"xvfb{number}.log")
    env = dict(os.environ, DISPLAY=display)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline and proc.poll() is None:
        rc, _ = _run(["xdpyinfo"], timeout=XDPYINFO_TIMEOUT, env=env)
        if rc == 0:
            return proc
        time.sleep(0.05)
    stop_process(proc)
    return None


@contextlib.contextmanager
def xvfb() -> Iterator[str]:
    """Start a private Xvfb; yield its DISPLAY string (":N") once ``xdpyinfo`` works.

    Retries once with another display number.
    """
    require("Xvfb")
    require("xdpyinfo")
    with tempfile.TemporaryDirectory(prefix="rdpprobe-xvfb-") as tmp:
        proc = None
        for _attempt in range(2):
            number = random.randrange(100, 60000)
            if _display_free(number):
                proc = _try_xvfb(number, Path(tmp))
                if proc is not None:
                    break
        if proc is None:
            raise RuntimeError("Xvfb did not start (two attempts)")
        try:
            yield f":{number}"
        finally:
            stop_process(proc)


# ---------------------------------------------------------------------------
# Certificates
# ---------------------------------------------------------------------------

def make_cert(directory: str | Path, name: str = "server", cn: str = "localhost",
              expired: bool = False) -> tuple[Path, Path]:
    """Write a self-signed RSA certificate and key (PEM); return (cert path, key path).

    SANs: DNS ``cn`` and IP 127.0.0.1 / ::1.  ``expired`` makes it end yesterday.
    """
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = ((now - datetime.timedelta(days=30), now - datetime.timedelta(days=1))
                  if expired else (now - datetime.timedelta(days=1), now + datetime.timedelta(days=365)))
    san = x509.SubjectAlternativeName([
        x509.DNSName(cn),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end).add_extension(san, critical=False)
            .sign(key, hashes.SHA256()))
    directory = Path(directory)
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


# ---------------------------------------------------------------------------
# xrdp
# ---------------------------------------------------------------------------

XRDP_MODES = ("rdp", "tls", "negotiate")


@dataclass
class Daemon:
    """A server started by this module."""

    host: str
    port: int
    logfile: Path
    pid: int
    workdir: Path
    proc: subprocess.Popen[bytes] = field(repr=False)

    def log(self) -> str:
        """Return the server's log so far."""
        try:
            return self.logfile.read_text(errors="replace")
        except OSError:
            return ""

    def running(self) -> bool:
        return self.proc.poll() is None


def _ensure_rsakeys() -> None:
    # xrdp reads the RSA key pair for Standard RDP Security from a path compiled
    # into the binary (/etc/xrdp/rsakeys.ini); no xrdp.ini option moves it.  The
    # Debian package creates it in its postinst, which does not run in images
    # that unpack packages without maintainer scripts, so create it here if needed.
    if XRDP_RSAKEYS.exists():
        return
    require("xrdp-keygen")
    rc, out = _run(["xrdp-keygen", "xrdp", str(XRDP_RSAKEYS), "2048"], timeout=60)
    if rc != 0 or not XRDP_RSAKEYS.exists():
        raise RuntimeError(f"xrdp-keygen failed (rc {rc}): {out}")


def _xrdp_ini(mode: str, crypt_level: str, port_spec: str, cert: str, key: str,
              logfile: Path) -> str:
    return f"""\
[Globals]
ini_version=1
fork=false
port={port_spec}
use_vsock=false
tcp_nodelay=true
tcp_keepalive=true
security_layer={mode}
crypt_level={crypt_level}
certificate={cert}
key_file={key}
ssl_protocols=TLSv1.2, TLSv1.3
autorun=
allow_channels=true
allow_multimon=true
bitmap_cache=true
bitmap_compression=true
bulk_compression=true
max_bpp=32
new_cursors=true
use_fastpath=both
blue=009cb5
grey=dedede
ls_top_window_bg_color=009cb5
ls_width=350
ls_height=430
ls_bg_color=dedede
ls_logo_filename=
ls_logo_x_pos=55
ls_logo_y_pos=50
ls_label_x_pos=30
ls_label_width=65
ls_input_x_pos=110
ls_input_width=210
ls_input_y_pos=220
ls_btn_ok_x_pos=142
ls_btn_ok_y_pos=370
ls_btn_ok_width=85
ls_btn_ok_height=30
ls_btn_cancel_x_pos=237
ls_btn_cancel_y_pos=370
ls_btn_cancel_width=85
ls_btn_cancel_height=30

[Logging]
LogFile={logfile}
LogLevel=DEBUG
EnableSyslog=false
EnableConsole=false

[Channels]
rdpdr=true
rdpsnd=true
drdynvc=true
cliprdr=true
rail=true
xrdpvr=true
tcutils=true

[Xorg]
name=Xorg
lib=libxup.so
username=ask
password=ask
ip=127.0.0.1
port=-1
code=20
"""


def _xrdp_port_spec(host: str, port: int) -> str:
    # xrdp 0.9.21 reads "tcp6://.:PORT" as the IPv6 loopback; "tcp6://::1:PORT"
    # and "tcp6://[::1]:PORT" would listen on every address or not at all.
    if host == "::1":
        return f"tcp6://.:{port}"
    if ":" in host:
        raise ValueError(f"invalid xrdp host: {host!r} (only ::1 is supported for IPv6)")
    return f"tcp://{host}:{port}"


@contextlib.contextmanager
def xrdp_server(mode: str, crypt_level: str = "high", cert: str | Path | None = None,
                key: str | Path | None = None, port: int | None = None,
                host: str = "127.0.0.1") -> Iterator[Daemon]:
    """Run ``xrdp --nodaemon`` with its own xrdp.ini; yield a Daemon once it listens.

    ``mode``: rdp / tls / negotiate (xrdp's ``security_layer``).  Without
    ``cert``/``key`` a fresh self-signed pair (CN localhost) is used; pass a
    path that does not exist to get xrdp's "no certificate" behaviour.
    ``host="::1"`` listens on IPv6 loopback.  A start-up that fails (the port
    taken meanwhile, an early exit) is retried on a fresh port, START_ATTEMPTS
    times in all.
    """
    if mode not in XRDP_MODES:
        raise ValueError(f"invalid xrdp mode: {mode!r} (expected one of {XRDP_MODES})")
    require(XRDP)
    _ensure_rsakeys()
    with tempfile.TemporaryDirectory(prefix="rdpprobe-xrdp-") as tmp:
        workdir = Path(tmp)
        if cert is None or key is None:
            made_cert, made_key = make_cert(workdir)
            cert, key = cert or made_cert, key or made_key
        logfile, out, ini = workdir / "xrdp.log", workdir / "xrdp.out", workdir / "xrdp.ini"

        @contextlib.contextmanager
        def attempt(attempt_port: int) -> Iterator[tuple[subprocess.Popen[bytes], str | None]]:
            logfile.unlink(missing_ok=True)
            out.unlink(missing_ok=True)
            ini.write_text(_xrdp_ini(mode, crypt_level, _xrdp_port_spec(host, attempt_port),
                                     str(cert), str(key), logfile))
            proc = _start([XRDP, "--nodaemon", "--config", str(ini)], log=out)
            yield proc, await_listening(host, attempt_port, proc)

        with _first_listening("xrdp", host, port, workdir, logfile, attempt,
                              lambda: _tail(out) + _tail(logfile)) as daemon:
            yield daemon


# ---------------------------------------------------------------------------
# FreeRDP shadow server
# ---------------------------------------------------------------------------

SHADOW_MODES = {
    "nla": ["/sec:nla"],
    "tls": ["/sec:tls"],
    "rdp": ["/sec:rdp"],
    "ext": ["/sec:ext"],
    "all": ["+sec-nla", "+sec-tls", "+sec-rdp"],
    "default": [],
}


def make_sam(path: str | Path, user: str, password: str, domain: str | None = None) -> Path:
    """Write a SAM file for ``user`` with ``winpr-hash``; return its path."""
    require("winpr-hash")
    argv = ["winpr-hash", "-u", user, "-p", password]
    if domain:
        argv += ["-d", domain]
    rc, out = _run(argv + ["-f", "sam"], timeout=10)
    line = next((ln for ln in out.splitlines() if ln.startswith(f"{user}:")), None)
    if rc != 0 or line is None:
        raise RuntimeError(f"winpr-hash failed (rc {rc}): {out}")
    Path(path).write_text(line + "\n")
    return Path(path)


def _start_shadow(argv: list[str], workdir: Path, display: str, logfile: Path,
                  host: str, port: int) -> tuple[subprocess.Popen[bytes], str | None]:
    env = dict(os.environ, DISPLAY=display, HOME=str(workdir / "home"),
               XDG_CONFIG_HOME=str(workdir / "config"), WLOG_LEVEL="INFO")
    logfile.unlink(missing_ok=True)
    proc = _start(argv, env=env, log=logfile)
    return proc, await_listening(host, port, proc)


@contextlib.contextmanager
def shadow_server(mode: str, user: str = "alice", password: str = "Passw0rd!",
                  domain: str | None = None, port: int | None = None,
                  host: str = "127.0.0.1", cert: str | Path | None = None,
                  key: str | Path | None = None) -> Iterator[Daemon]:
    """Run ``freerdp-shadow-cli`` on its own Xvfb; yield a Daemon once it listens.

    ``mode``: nla / tls / rdp / all (+sec-nla +sec-tls +sec-rdp) / ext / default.
    Credentials go into a SAM file made by ``winpr-hash``.  ``cert``/``key``
    pre-place the TLS identity; otherwise the server generates its own.  A
    start-up that fails is retried on a fresh port and a fresh Xvfb,
    START_ATTEMPTS times in all.
    """
    if mode not in SHADOW_MODES:
        raise ValueError(f"invalid shadow mode: {mode!r} (expected one of {sorted(SHADOW_MODES)})")
    require("freerdp-shadow-cli")
    require("stdbuf")
    with tempfile.TemporaryDirectory(prefix="rdpprobe-shadow-") as tmp:
        workdir = Path(tmp)
        (workdir / "home").mkdir()
        shadow_dir = workdir / "config" / "freerdp" / "shadow"
        shadow_dir.mkdir(parents=True)
        if cert is not None and key is not None:
            shutil.copy(cert, shadow_dir / "shadow.crt")
            shutil.copy(key, shadow_dir / "shadow.key")
        sam = make_sam(workdir / "sam", user, password, domain)
        bind = f"[{host}]" if ":" in host else host
        logfile = workdir / "shadow.log"

        # Besides the port race, a rare one lets the server fail to open a display
        # that xdpyinfo just reached; each attempt has a fresh Xvfb for that.
        @contextlib.contextmanager
        def attempt(attempt_port: int) -> Iterator[tuple[subprocess.Popen[bytes], str | None]]:
            argv = ["stdbuf", "-oL", "-eL", "freerdp-shadow-cli", f"/bind-address:{bind}",
                    f"/port:{attempt_port}", *SHADOW_MODES[mode], f"/sam-file:{sam}"]
            with xvfb() as display:
                yield _start_shadow(argv, workdir, display, logfile, host, attempt_port)

        with _first_listening("freerdp-shadow-cli", host, port, workdir, logfile, attempt,
                              lambda: _tail(logfile, 2000)) as daemon:
            yield daemon


# ---------------------------------------------------------------------------
# Clients: xfreerdp and rdesktop
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class XfreerdpResult:
    """What one xfreerdp run did."""

    rc: int
    """Exit code (XF_EXIT_*: 0 success, 131 CONN_FAILED, 147 CONNECT_TRANSPORT_FAILED, ...;
    124 when ``timeout`` stopped it)."""
    errconnect: list[str]
    """ERRCONNECT_* and ERRINFO_* names seen in the output, in order, without repeats."""
    states: list[str]
    """CONNECTION_STATE_* names seen in the output, in order, without repeats."""
    active: bool
    """Whether the client reached CONNECTION_STATE_ACTIVE."""
    output: str


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _target_args(host: str, port: int) -> list[str]:
    # xfreerdp 2.11 mis-parses /v:[::1]:PORT (port 0); /v:[::1] /port:PORT works.
    if ":" in host:
        return [f"/v:[{host}]", f"/port:{port}"]
    return [f"/v:{host}:{port}"]


@contextlib.contextmanager
def _display(display: str | None) -> Iterator[str]:
    if display:
        yield display
    else:
        with xvfb() as fresh:
            yield fresh


def run_xfreerdp(host: str, port: int, user: str | None = None, password: str | None = None,
                 extra: Sequence[str] = (), timeout: float = 15, domain: str | None = None,
                 display: str | None = None) -> XfreerdpResult:
    """Run xfreerdp against ``host``:``port`` under ``timeout``; return what it did.

    ``/cert:ignore`` is passed unless ``extra`` has its own ``/cert`` option.
    Each run gets a fresh HOME (no certificate store carried over) and the given
    X ``display``, or a private Xvfb when None.
    """
    require("xfreerdp")
    require("timeout")
    argv = ["timeout", "-k", "2", str(timeout), "xfreerdp", *_target_args(host, port)]
    if user is not None:
        argv.append(f"/u:{user}")
    if password is not None:
        argv.append(f"/p:{password}")
    if domain is not None:
        argv.append(f"/d:{domain}")
    if not any(arg.startswith(("/cert", "-cert", "+cert")) for arg in extra):
        argv.append("/cert:ignore")
    argv += ["/log-level:DEBUG", *extra]
    with tempfile.TemporaryDirectory(prefix="rdpprobe-xfreerdp-") as home, \
            _display(display) as disp:
        env = dict(os.environ, DISPLAY=disp, HOME=home, XDG_CONFIG_HOME=f"{home}/.config")
        rc, out = _run(argv, timeout=timeout + 10, env=env)
    states = _unique(_STATE_RE.findall(out))
    return XfreerdpResult(rc, _unique(_NAME_RE.findall(out)), states,
                          "CONNECTION_STATE_ACTIVE" in states, out)


def run_rdesktop(host: str, port: int, timeout: float = 8, extra: Sequence[str] = (),
                 display: str | None = None) -> tuple[int, str, bool]:
    """Run rdesktop for at most ``timeout`` seconds; return (rc, output, connected).

    Answers "yes" to its certificate prompt.  ``connected`` is whether it
    printed "Connection established"; rc is 124 when it was still connected
    at the deadline.
    """
    require("rdesktop")
    require("timeout")
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    argv = ["timeout", "-k", "2", str(timeout), "rdesktop", *extra, target]
    with tempfile.TemporaryDirectory(prefix="rdpprobe-rdesktop-") as home, \
            _display(display) as disp:
        env = dict(os.environ, DISPLAY=disp, HOME=home)
        rc, out = _run(argv, timeout=timeout + 10, env=env, input_=b"yes\n")
    return rc, out, "Connection established" in out


# ---------------------------------------------------------------------------
# tshark
# ---------------------------------------------------------------------------

@contextlib.contextmanager
def tshark_capture(port: int, path: str | Path | None = None,
                   interface: str = "lo") -> Iterator[Path]:
    """Capture ``tcp port PORT`` on loopback while the block runs; yield the capture path.

    Capturing has started when the block begins.  Without ``path`` the file
    goes to a new temporary directory that is left in place for the caller.
    """
    require("tshark")
    out = Path(path) if path else Path(tempfile.mkdtemp(prefix="rdpprobe-cap-")) / "capture.pcapng"
    errlog = out.with_suffix(".tshark.log")
    out.unlink(missing_ok=True)  # Its reappearance tells that the capture has started.
    errlog.unlink(missing_ok=True)
    proc = _start(["tshark", "-i", interface, "-f", f"tcp port {port}", "-w", str(out)],
                  log=errlog)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        # tshark prints "Capturing on" before dumpcap has attached the filter;
        # dumpcap creates the output file only after that, so wait for both.
        while ("Capturing on" not in errlog.read_text(errors="replace")
               or not out.exists() or out.stat().st_size == 0):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"tshark did not start: {errlog.read_text(errors='replace')}")
            time.sleep(POLL_INTERVAL)
        time.sleep(CAPTURE_READY_MARGIN)
        yield out
        time.sleep(CAPTURE_SETTLE)  # Let the last packets reach the file.
    finally:
        # SIGINT lets tshark stop dumpcap and finish the file.
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=STOP_TIMEOUT)
        stop_process(proc)


def _decode_args(port: int, keylog: str | Path | None) -> list[str]:
    # Wireshark only maps RDP to port 3389, so the port is decoded explicitly.
    if keylog is None:
        return ["-d", f"tcp.port=={port},tpkt"]
    return ["-d", f"tcp.port=={port},tls", "-d", f"tls.port=={port},tpkt",
            "-o", f"tls.keylog_file:{keylog}"]


def _tshark_rows(pcap: str | Path, port: int, fields: Sequence[str],
                 keylog: str | Path | None, extra: Sequence[str] = ()) -> list[list[str]]:
    require("tshark")
    argv = ["tshark", "-n", "-r", str(pcap), *_decode_args(port, keylog), *extra,
            "-T", "fields", "-E", "separator=/t", "-E", "quote=n", "-E", "occurrence=a",
            "-E", f"aggregator={_AGGREGATOR}"]
    for name in fields:
        argv += ["-e", name]
    proc = subprocess.run(argv, capture_output=True, timeout=TSHARK_READ_TIMEOUT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"tshark failed (rc {proc.returncode}): "
                           f"{proc.stderr.decode(errors='replace')}")
    lines = [line for line in proc.stdout.decode("utf-8", "replace").split("\n") if line]
    return [(line.split("\t") + [""] * len(fields))[:len(fields)] for line in lines]


def tshark_fields(pcap_path: str | Path, port: int, fields: list[str],
                  keylog: str | Path | None = None, all_frames: bool = False) -> list[dict[str, str]]:
    """Return, per frame, the values tshark decoded for ``fields`` (plus ``frame.number``).

    Missing fields are ""; several occurrences are joined with ",".  Frames
    where none of ``fields`` is present are left out unless ``all_frames``.
    """
    names = ["frame.number", *fields]
    rows = [{name: value.replace(_AGGREGATOR, ",") for name, value in zip(names, row)}
            for row in _tshark_rows(pcap_path, port, names, keylog)]
    if all_frames:
        return rows
    return [row for row in rows if any(row[name] for name in fields)]


def _expert_problems(pcap: str | Path, port: int, keylog: str | Path | None,
                     extra: Sequence[str]) -> list[tuple[int, str]]:
    cols = ["frame.number", "_ws.expert.message", "_ws.expert.group", "_ws.expert.severity",
            "_ws.col.Info"]
    problems: list[tuple[int, str]] = []
    for number, messages, groups, severities, info in _tshark_rows(
            pcap, port, cols, keylog, ["-Y", LINT_FILTER, *extra]):
        found = [
            message for message, group, severity in zip(
                messages.split(_AGGREGATOR), groups.split(_AGGREGATOR),
                severities.split(_AGGREGATOR))
            if severity and int(severity) >= EXPERT_WARNING
            and int(group) not in LINT_IGNORED_GROUPS
        ]
        if not found and "Malformed" in messages:
            found = [info or "malformed packet"]
        problems += [(int(number), message) for message in _unique(found)]
    return problems


def _layer_problems(pcap: str | Path, port: int,
                    keylog: str | Path | None) -> tuple[list[tuple[int, str]], set[int]]:
    """Return (problems, numbers of the frames carrying X.224) from a two-pass read."""
    cols = ["frame.number", "tcp.len", "tcp.reassembled_in", "frame.protocols", "cotp.type",
            "cotp.li"]
    problems: list[tuple[int, str]] = []
    x224: set[int] = set()
    for number, tcp_len, reassembled, protocols, cotp_type, cotp_li in _tshark_rows(
            pcap, port, cols, keylog, ["-2"]):
        layers = set(protocols.split(":"))
        if "cotp" in layers:
            x224.add(int(number))
        if tcp_len and int(tcp_len) > 0 and not reassembled and not {
                "tpkt", "cotp", "tls"} & layers:
            problems.append((int(number), "tcp payload never dissected"))
        types = [int(t, 0) for t in cotp_type.split(_AGGREGATOR) if t]
        lis = [int(li) for li in cotp_li.split(_AGGREGATOR) if li]
        if (COTP_TYPE_CR in types and any(li > COTP_CR_FIXED_LI for li in lis)
                and "rdp" not in layers):
            problems.append((int(number), "x.224 connection request not parsed as rdp"))
    return problems, x224


def tshark_lint(pcap_path: str | Path, port: int, keylog: str | Path | None = None,
                strict: bool = False) -> list[str]:
    """Return what tshark finds wrong in the RDP conversation on ``port`` (empty = clean).

    Each entry reads ``"frame N: message"``.  Checks: malformed packets and
    expert infos of severity Warning or above (TCP's own sequence analysis
    excepted); TCP payload that no RDP-layer dissector consumed (for example
    a PDU still incomplete at the end of the stream); an X.224 CR carrying
    user data that is not parsed as RDP.  With ``keylog`` (a TLS key log
    file) the TLS part is decrypted and dissected as TPKT, and the clear
    X.224 negotiation before it is checked by a separate clear pass.
    ``strict`` adds a pass without TCP reassembly, which also reports PDUs
    split over several segments.
    """
    found: list[tuple[int, str]] = []
    passes: list[list[str]] = [[]]
    if strict:
        passes.append(["-o", "tcp.desegment_tcp_streams:FALSE"])
    for extra in passes:
        found += _expert_problems(pcap_path, port, keylog, extra)
    layer_found, _ = _layer_problems(pcap_path, port, keylog)
    found += layer_found
    if keylog is not None:
        # The TLS decoding shows the clear X.224 CR/CC as TLS continuation data.
        clear_found, x224 = _layer_problems(pcap_path, port, None)
        clear_found += _expert_problems(pcap_path, port, None, [])
        found += [(number, message) for number, message in clear_found if number in x224]
    return [f"frame {number}: {message}" for number, message in sorted(_unique_pairs(found))]


def _unique_pairs(items: list[tuple[int, str]]) -> list[tuple[int, str]]:
    return list(dict.fromkeys(items))
