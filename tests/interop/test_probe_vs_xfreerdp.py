"""rdpprobe and xfreerdp 2.11 against the same faulty servers: does the verdict name what
FreeRDP reports?

Each case starts a server on loopback (a raw listener that misbehaves in one way, xrdp
without its certificate, or the FreeRDP shadow server with NLA), runs xfreerdp against it
(under ``timeout``: xfreerdp has no timeout of its own against a silent server), then
rdpprobe, and compares ``verdict.freerdp`` with the ``ERRCONNECT_*`` name xfreerdp logged.
Where xfreerdp 2.11 is coarser or differs on purpose, the case says why and states the
relation that holds instead.

``python3 -m tests.interop.test_probe_vs_xfreerdp`` runs every case and rewrites
``tests/interop/xfreerdp_table.md``; ``pytest -s`` prints the same table.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import rdpprobe
from rdpprobe import Phase, ProbeResult, Signal
from tests.interop import harness

pytestmark = pytest.mark.interop

TABLE_PATH = Path(__file__).with_name("xfreerdp_table.md")
PROBE_OPTIONS = {"connect_timeout": 3, "timeout": 2, "deadline": 10}
XFREERDP_TIMEOUT = 4  # Seconds; longer than the probe's per-phase timeout.
XF_EXIT_TIMEOUT = 124  # `timeout` stopped xfreerdp.
USER, PASSWORD = "alice", "Passw0rd!"
SSH_BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"
HTTP_REPLY = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
ACCEPT_POLL = 0.1
READ_TIMEOUT = 2.0
TRANSPORT_FAILED = "ERRCONNECT_CONNECT_TRANSPORT_FAILED"


# ---------------------------------------------------------------------------
# Raw misbehaving listeners
# ---------------------------------------------------------------------------


def _serve_one(conn: socket.socket, behaviour: str) -> None:
    """What the listener does with one accepted connection (bounded in time)."""
    conn.settimeout(READ_TIMEOUT)
    with contextlib.suppress(OSError):
        if behaviour == "close-at-once":
            conn.close()
        elif behaviour == "reset":
            # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
        elif behaviour == "close-after-cr":
            conn.recv(4096)
            conn.shutdown(socket.SHUT_WR)  # FIN after the client's CR.
        elif behaviour == "ssh":
            # OpenSSH sends its banner first and drops a client whose identification is not SSH.
            conn.sendall(SSH_BANNER)
            conn.recv(4096)
            conn.shutdown(socket.SHUT_WR)
        elif behaviour == "http":
            conn.recv(4096)
            conn.sendall(HTTP_REPLY)
            conn.shutdown(socket.SHUT_WR)
        # "silent": accept and never answer (the connection stays open until the end).


@contextlib.contextmanager
def raw_listener(behaviour: str) -> Iterator[int]:
    """Listen on 127.0.0.1; yield the port; every connection gets ``behaviour``."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(ACCEPT_POLL)
    stop = threading.Event()
    accepted: list[socket.socket] = []

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            accepted.append(conn)
            _serve_one(conn, behaviour)

    thread = threading.Thread(target=loop, name=f"listener-{behaviour}", daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=READ_TIMEOUT + 1)
        server.close()
        for conn in accepted:
            with contextlib.suppress(OSError):
                conn.close()


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    """The configuration, as the table shows it."""
    server: str
    """``refused``, a raw listener behaviour, ``xrdp-nocert`` or ``shadow-nla``."""
    phase: Phase
    signals: frozenset[Signal]
    taxonomy: frozenset[str]
    probe_freerdp: str | None
    """What rdpprobe's verdict names."""
    xfreerdp: str | None
    """The first ERRCONNECT_* xfreerdp logs (None: none at all)."""
    xfreerdp_rc: int
    relation: str
    """``same…`` when verdict.freerdp is what xfreerdp said; otherwise why it differs."""
    user: str | None = None
    password: str | None = None
    extra: tuple[str, ...] = ()
    xfreerdp_race: tuple[str, int] | None = None
    """Another (ERRCONNECT name, exit code) xfreerdp reports when a race goes the other way."""


def _case(name: str, server: str, phase: Phase, signals: set[Signal], taxonomy: set[str],
          probe_freerdp: str | None, xfreerdp: str | None, xfreerdp_rc: int, relation: str = "same",
          **kw: object) -> Case:
    return Case(name, server, phase, frozenset(signals), frozenset(taxonomy), probe_freerdp,
                xfreerdp, xfreerdp_rc, relation, **kw)  # type: ignore[arg-type]


CASES = [
    _case("port closed (refused)", "refused", Phase.TCP_CONNECT, {Signal.REFUSED}, {"T1"},
          "ERRCONNECT_CONNECT_FAILED", TRANSPORT_FAILED, 147,
          # FreeRDP 2.11 connects non-blocking; the refusal surfaces on the first write as
          # EPIPE ("BIO_should_retry returned a system error 32: Broken pipe"), reported as a
          # transport failure. rdpprobe names CONNECT_FAILED, what tcp.c raises for a
          # connect() that fails (taxonomy T1); a refused port is not a transport failure.
          relation="xfreerdp 2.11 reports a refused connect as a broken pipe on first write"),
    # Closing at once races the client's CR: the CR reaches a closed socket, whose kernel
    # answers RST, so the probe sees either the FIN (X1) or the RST (X2); both are 0x0D.
    _case("accept, close at once", "close-at-once", Phase.CONNECTION_INITIATION,
          {Signal.EOF, Signal.RESET}, {"X1", "X2"}, TRANSPORT_FAILED, TRANSPORT_FAILED, 147),
    _case("accept, read CR, close (FIN)", "close-after-cr", Phase.CONNECTION_INITIATION,
          {Signal.EOF}, {"X1"}, TRANSPORT_FAILED, TRANSPORT_FAILED, 147),
    _case("accept, reset (RST)", "reset", Phase.CONNECTION_INITIATION,
          {Signal.RESET}, {"X2"}, TRANSPORT_FAILED, TRANSPORT_FAILED, 147,
          # When the RST arrives before xfreerdp has checked its non-blocking connect, 2.11
          # reports CONNECT_FAILED (rc 141), as for a refused port: on loopback it may.
          xfreerdp_race=("ERRCONNECT_CONNECT_FAILED", 141),
          relation="same (racy: xfreerdp may say CONNECT_FAILED, rc 141, if the RST beats its connect check)"),
    _case("accept, stay silent", "silent", Phase.CONNECTION_INITIATION,
          {Signal.SILENT}, {"X3"}, TRANSPORT_FAILED, None, XF_EXIT_TIMEOUT,
          # xfreerdp waits for the Connection Confirm forever; only `timeout` ends it.
          relation="xfreerdp never gives up (killed by timeout, nothing logged)"),
    _case("SSH banner", "ssh", Phase.CONNECTION_INITIATION, {Signal.NOT_RDP}, {"X4"},
          TRANSPORT_FAILED, TRANSPORT_FAILED, 147,
          # xfreerdp reads "SSH-" as a fast-path header, waits for the rest and fails only
          # when the peer closes; against a peer that keeps the connection open it hangs
          # like the silent case. It never recognises a foreign protocol.
          relation="same name; xfreerdp cannot tell a foreign protocol from a peer that closes"),
    _case("HTTP server", "http", Phase.CONNECTION_INITIATION, {Signal.NOT_RDP}, {"X4"},
          TRANSPORT_FAILED, TRANSPORT_FAILED, 147,
          relation="same name; xfreerdp cannot tell a foreign protocol from a peer that closes"),
    _case("xrdp tls, certificate missing (RDP_NEG_FAILURE 3)", "xrdp-nocert",
          Phase.CONNECTION_INITIATION, {Signal.NEG_FAILURE}, {"N3"},
          "ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED", "ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED", 133,
          # FreeRDP 2.11 falls back 3 -> 1 -> 0, gets FAILURE 3 each time and ends with
          # SECURITY_NEGO_CONNECT_FAILED, as 3.x releases do (up to 3.30.0); only FreeRDP's
          # unreleased master maps SSL_CERT_NOT_ON_SERVER to TLS_CONNECT_FAILED.
          relation="same name: 2.11 and 3.x end in the generic 0x0C after falling back"),
    _case("shadow /sec:nla, wrong password", "shadow-nla", Phase.NLA, {Signal.EOF}, {"C3"},
          TRANSPORT_FAILED, TRANSPORT_FAILED, 147, user=USER, password="wrong", extra=("+auth-only",)),
    _case("shadow /sec:nla, unknown user", "shadow-nla", Phase.NLA, {Signal.EOF}, {"C3"},
          TRANSPORT_FAILED, TRANSPORT_FAILED, 147, user="bob", password=PASSWORD, extra=("+auth-only",)),
    _case("shadow /sec:nla, right password", "shadow-nla", Phase.NLA, {Signal.OK}, {"OK"},
          None, "ERRCONNECT_CONNECT_CANCELLED", 0, user=USER, password=PASSWORD, extra=("+auth-only",),
          # +auth-only stops on purpose after authenticating and logs CONNECT_CANCELLED
          # with exit code 0; rdpprobe, which also stops after the proof, has no error.
          relation="success: xfreerdp exits 0 (its CONNECT_CANCELLED is the deliberate +auth-only stop)"),
]


@dataclass(frozen=True)
class Row:
    case: Case
    result: ProbeResult
    xf: harness.XfreerdpResult

    @property
    def xf_name(self) -> str | None:
        return next((n for n in self.xf.errconnect if n.startswith("ERRCONNECT_")), None)

    def cells(self) -> list[str]:
        v = self.result.verdict
        xf = f"rc {self.xf.rc}" + (f", {self.xf_name}" if self.xf_name else ", nothing logged")
        return [self.case.name, self.result.phase_reached.value if self.result.phase_reached else "-",
                self.result.signal.value, f"{v.category} ({v.taxonomy_id})", v.freerdp or "-", xf,
                self.case.relation]


HEADER = ["configuration", "phase reached", "signal", "verdict", "verdict.freerdp", "xfreerdp 2.11",
          "relation"]


class Endpoints:
    """The servers the cases need: raw listeners, xrdp without a certificate, shadow NLA."""

    def __init__(self, stack: contextlib.ExitStack, tmp: Path, shadow: harness.Daemon | None) -> None:
        self._stack = stack
        self._tmp = tmp
        self._shadow = shadow
        self._ports: dict[str, int] = {}

    def port(self, server: str) -> int:
        if server not in self._ports:
            self._ports[server] = self._start(server)
        return self._ports[server]

    def _start(self, server: str) -> int:
        if server == "refused":
            return harness.free_port()
        if server == "xrdp-nocert":
            missing = self._tmp / "missing.pem"
            return self._stack.enter_context(harness.xrdp_server("tls", cert=missing, key=missing)).port
        if server == "shadow-nla":
            if self._shadow is None:
                self._shadow = self._stack.enter_context(
                    harness.shadow_server("nla", user=USER, password=PASSWORD))
            return self._shadow.port
        return self._stack.enter_context(raw_listener(server))


def run_case(case: Case, endpoints: Endpoints, display: str) -> Row:
    port = endpoints.port(case.server)
    xf = harness.run_xfreerdp("127.0.0.1", port, case.user, case.password, extra=case.extra,
                              timeout=XFREERDP_TIMEOUT, display=display)
    options: dict[str, Any] = dict(PROBE_OPTIONS)
    if case.user is not None:
        options.update(user=case.user, password=case.password)
    result = rdpprobe.probe(f"127.0.0.1:{port}", **options)  # type: ignore[arg-type]
    return Row(case, result, xf)


def markdown(rows: list[Row]) -> str:
    lines = [
        "# rdpprobe and xfreerdp 2.11.7 against the same servers",
        "",
        "Generated by `python3 -m tests.interop.test_probe_vs_xfreerdp` (loopback; xrdp 0.9.21,",
        "FreeRDP shadow server 2.11.7). \"relation\" is `same` when rdpprobe's `verdict.freerdp`",
        "is the `ERRCONNECT_*` xfreerdp logged, otherwise why they differ.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row.cells()) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# The test
# ---------------------------------------------------------------------------

_ROWS: dict[str, Row] = {}


@pytest.fixture(scope="module")
def endpoints(shadow_nla: harness.Daemon, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoints]:
    with contextlib.ExitStack() as stack:
        yield Endpoints(stack, tmp_path_factory.mktemp("xf"), shadow_nla)
    if _ROWS:
        print("\n" + markdown([_ROWS[c.name] for c in CASES if c.name in _ROWS]))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_probe_matches_xfreerdp(case: Case, endpoints: Endpoints, x_display: str) -> None:
    row = run_case(case, endpoints, x_display)
    _ROWS[case.name] = row
    result, xf = row.result, row.xf
    assert result.phase_reached is case.phase, result.detail
    assert result.signal in case.signals, result.detail
    assert result.verdict.taxonomy_id in case.taxonomy
    assert result.verdict.freerdp == case.probe_freerdp
    if case.xfreerdp_race is not None and (row.xf_name, xf.rc) == case.xfreerdp_race:
        return  # xfreerdp lost the race documented in the case; rdpprobe was checked above.
    assert xf.rc == case.xfreerdp_rc, xf.output[-2000:]
    assert row.xf_name == case.xfreerdp, xf.errconnect
    if case.relation.startswith("same"):
        assert result.verdict.freerdp == row.xf_name
    if case.server == "shadow-nla":
        assert result.facts.auth is not None
        assert result.facts.auth.status == ("succeeded" if result.signal is Signal.OK else "failed")
        assert "CONNECTION_STATE_NLA" in xf.states


def test_table_file_is_current() -> None:
    """The committed table lists every case (regenerate it with the module's main)."""
    text = TABLE_PATH.read_text()
    for case in CASES:
        assert f"| {case.name} |" in text, case.name


def main() -> int:
    rows = []
    with harness.xvfb() as display, contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(__import__("tempfile").TemporaryDirectory(prefix="rdpprobe-xf-")))
        endpoints = Endpoints(stack, tmp, None)
        for case in CASES:
            rows.append(run_case(case, endpoints, display))
    text = markdown(rows)
    TABLE_PATH.write_text(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
