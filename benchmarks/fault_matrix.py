"""Hostile servers on real sockets: a reset and a half-close at every byte offset of recorded
conversations, through ``probe``, ``probe_many`` and ``rdpprobe scan``; then a slowloris
server, a giant length field and a flood of fast-path PDUs through ``rdpprobe check``.

    python benchmarks/fault_matrix.py [--stride N] [--output FILE]

Loopback only. The mock server plays each conversation (``windows-tls``, ``windows-nla``);
an asyncio proxy in front of it, one listener per (offset, ending), forwards exactly
``offset`` bytes of the server's stream and then resets (RST) or half-closes (FIN) the
client's connection. What it reports, per driver: targets and results (each target exactly
once), results that are not classified (``internal_error`` or no verdict row), the longest
probe against its deadline, the process's peak RSS, and its open descriptors before and
after. ``scan`` and ``check`` run as child processes, whose own peak RSS is given.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import rdpprobe  # noqa: E402
from rdpprobe.mock import MockRdpServer  # noqa: E402
from rdpprobe.mock.faults import Action, Fault, ServerPhase  # noqa: E402
from rdpprobe.mock.scenarios import builtin_scenarios  # noqa: E402

LOOPBACK = "127.0.0.1"
CONVERSATIONS = ("windows-tls", "windows-nla")
ENDINGS = ("reset", "close")
CONNECT_S, PHASE_S, DEADLINE_S = 2.0, 2.0, 5.0
CONCURRENCY = 64
RELAY_CHUNK = 65536
#: Seconds a relayed connection may live; every wait here is bounded.
HOLD_S = 10.0
TIME = "/usr/bin/time"
CHILD_TIMEOUT_S = 600
#: What must never reach a child's stderr.
NOISE = ("Warning", "Traceback", "Error")
#: [MS-RDPBCGR] 2.2.9.1.2: a fast-path update PDU of two bytes.
FASTPATH_PDU = b"\x00\x02"


# -- the cutting proxy ------------------------------------------------------------------------

class CutProxy:
    """Listeners on loopback, each relaying to ``upstream`` and cutting at its own offset."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.loop = asyncio.new_event_loop()
        self.servers: list[asyncio.base_events.Server] = []
        self.most_server_bytes = 0
        self.active = 0
        """Relayed connections still open: the proxy's own descriptors, not the client's."""
        """The most bytes one relayed connection carried from the server (see ``listen``)."""
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def listen(self, cut: int | None, ending: str) -> int:
        """A new listener cutting at ``cut`` (None: relay everything, count it); its port."""
        async def start() -> asyncio.base_events.Server:
            return await asyncio.start_server(lambda r, w: self._relay(r, w, cut, ending), LOOPBACK, 0, backlog=64)

        server = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        self.servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, cut: int | None,
                     ending: str) -> None:
        self.active += 1
        try:
            await self._relay_open(reader, writer, cut, ending)
        finally:
            self.active -= 1

    async def _relay_open(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, cut: int | None,
                          ending: str) -> None:
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(*self.upstream), HOLD_S)
        except (OSError, TimeoutError):
            writer.close()
            return
        client_to_server = asyncio.ensure_future(self._pump(reader, up_writer))
        try:
            await asyncio.wait_for(self._server_to_client(up_reader, writer, cut, ending), HOLD_S)
            if cut is not None and ending == "close":
                await asyncio.wait_for(client_to_server, HOLD_S)  # the client's own close
        except (OSError, TimeoutError):
            pass
        finally:
            client_to_server.cancel()
            up_writer.close()
            with contextlib.suppress(OSError):
                writer.close()

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """The client's bytes to the server; the client's close, passed on as a FIN."""
        with contextlib.suppress(OSError):
            while data := await reader.read(RELAY_CHUNK):
                writer.write(data)
                await writer.drain()
            writer.write_eof()

    async def _server_to_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, cut: int | None,
                                ending: str) -> int:
        sent = 0
        while cut is None or sent < cut:
            data = await reader.read(RELAY_CHUNK if cut is None else min(RELAY_CHUNK, cut - sent))
            if not data:
                break
            sent += len(data)
            self.most_server_bytes = max(self.most_server_bytes, sent)  # before the client sees it
            writer.write(data)
            await writer.drain()
        if cut is None:
            return sent
        sock = writer.get_extra_info("socket")
        if ending == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        else:
            writer.write_eof()
        return sent

    def settle(self) -> None:
        """Wait (at most ``HOLD_S``) until every relayed connection is closed."""
        deadline = time.monotonic() + HOLD_S
        while self.active and time.monotonic() < deadline:
            time.sleep(0.05)

    def close(self) -> None:
        async def stop() -> None:
            for server in self.servers:
                server.close()
            pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


# -- measuring ---------------------------------------------------------------------------------

def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


@dataclass
class Tally:
    """One driver's results over one matrix."""

    driver: str
    targets: int
    results: int = 0
    unclassified: int = 0
    max_probe_s: float = 0.0
    signals: dict[str, int] | None = None
    seconds: float = 0.0
    fds_before: int = 0
    fds_after: int = 0
    peak_rss_mb: float = 0.0

    def add(self, signal: str, taxonomy: str | None, probe_s: float) -> None:
        self.results += 1
        self.unclassified += signal == "internal_error" or not taxonomy
        self.max_probe_s = max(self.max_probe_s, probe_s)
        self.signals = self.signals or {}
        self.signals[signal] = self.signals.get(signal, 0) + 1


def _total(timings: Any) -> float:
    values = timings.values() if isinstance(timings, dict) else (seconds for _phase, seconds in timings)
    return float(sum(values))


def _options() -> dict[str, Any]:
    return {"connect_timeout": CONNECT_S, "timeout": PHASE_S, "deadline": DEADLINE_S}


def run_probe(ports: list[int], settle: Callable[[], None]) -> Tally:
    settle()
    tally = Tally("probe", len(ports), fds_before=open_fds())
    started = time.monotonic()
    for port in ports:
        result = rdpprobe.probe(LOOPBACK, port, **_options())
        tally.add(result.signal.value, result.verdict.taxonomy_id, _total(result.timings))
    tally.seconds = time.monotonic() - started
    settle()
    tally.fds_after, tally.peak_rss_mb = open_fds(), peak_rss_mb()
    return tally


def run_probe_many(ports: list[int], settle: Callable[[], None]) -> Tally:
    settle()
    tally = Tally("probe_many", len(ports), fds_before=open_fds())
    started = time.monotonic()
    for result in rdpprobe.probe_many([f"{LOOPBACK}:{port}" for port in ports], concurrency=CONCURRENCY,
                                      **_options()):
        tally.add(result.signal.value, result.verdict.taxonomy_id, _total(result.timings))
    tally.seconds = time.monotonic() - started
    settle()
    tally.fds_after, tally.peak_rss_mb = open_fds(), peak_rss_mb()
    return tally


def _child(command: list[str], stdout: Path | None = None) -> tuple[int, float, float]:
    """Run ``command``; (exit status, seconds, the child's peak RSS in MiB). Its stderr must
    stay free of warnings and tracebacks (a scan's stderr is for the user).

    The child runs under ``/usr/bin/time``: Linux counts in a child's peak RSS the pages of
    the process it was forked from, and this one holds thousands of listeners.
    """
    started = time.monotonic()
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss, open(stdout or os.devnull, "wb") as sink:
        done = subprocess.run([TIME, "-f", "%M", "-o", rss.name, *command], cwd=ROOT, stdout=sink,
                              stderr=subprocess.PIPE, timeout=CHILD_TIMEOUT_S, check=False)
        peak_kib = int(rss.read().split()[-1])
    noise = [line for line in done.stderr.decode(errors="replace").splitlines() if any(w in line for w in NOISE)]
    if noise:  # the scan's own summary is expected there; a warning or a traceback is not
        print("\n".join(noise[-20:]), file=sys.stderr)
    return (done.returncode if not noise else -1), time.monotonic() - started, peak_kib / 1024


def run_scan(ports: list[int], settle: Callable[[], None]) -> Tally:
    settle()
    tally = Tally("scan", len(ports), fds_before=open_fds())
    with tempfile.TemporaryDirectory() as tmp:
        targets, output = Path(tmp, "targets.txt"), Path(tmp, "results.jsonl")
        targets.write_text("".join(f"{LOOPBACK}:{port}\n" for port in ports))
        status, tally.seconds, tally.peak_rss_mb = _child([
            sys.executable, "-m", "rdpprobe", "scan", "-iL", str(targets), "-o", str(output), "--no-progress",
            "--connect-timeout", str(CONNECT_S), "--timeout", str(PHASE_S), "--deadline", str(DEADLINE_S),
            "--concurrency", str(CONCURRENCY)])
        lines = [json.loads(line) for line in output.read_text().splitlines() if line.strip()]
    for line in lines:
        tally.add(line["signal"], (line.get("verdict") or {}).get("taxonomy_id"), _total(line.get("timings") or {}))
    seen = {line["target"]["port"] for line in lines}
    tally.unclassified += len(ports) - len(seen) + (status != 0)  # a missing line counts as a failure
    settle()
    tally.fds_after = open_fds()
    return tally


def matrix(scenario: str, stride: int) -> tuple[int, list[Tally]]:
    """Every (offset, ending) of ``scenario``'s server stream, through every driver."""
    with MockRdpServer(builtin_scenarios()[scenario]) as server:
        proxy = CutProxy(server.address)
        try:
            counting = proxy.listen(None, "close")
            rdpprobe.probe(LOOPBACK, counting, **_options())
            total = proxy.most_server_bytes
            ports = [proxy.listen(offset, ending) for offset in range(0, total + 1, stride) for ending in ENDINGS]
            return total, [run(ports, proxy.settle) for run in (run_probe, run_probe_many, run_scan)]
        finally:
            proxy.close()


# -- one hostile server each, through ``rdpprobe check`` ----------------------------------------

def _flood() -> Fault:
    return Fault(ServerPhase.LICENSING, Action.GARBAGE, {"hex": (FASTPATH_PDU * 32768).hex(), "repeat": 256})


SPECIALS: dict[str, tuple[str, Fault]] = {
    # 16 MiB of 2-byte fast-path PDUs in answer to Client Info (before: 788 MB at --timeout 4).
    "fast-path flood": ("windows-tls", _flood()),
    # One byte of the MCS Connect Response every 0.3 s: slower than a phase timeout allows.
    "slowloris": ("windows-tls", Fault(ServerPhase.BASIC_SETTINGS_EXCHANGE, Action.TRICKLE,
                                       {"chunk": 1, "interval": 0.3})),
    # A TSRequest announcing 4 GiB (DER length 0x84 ffffffff) where the NTLM CHALLENGE belongs.
    "giant TSRequest length": ("windows-nla", Fault(ServerPhase.NLA, Action.GARBAGE,
                                                    {"hex": "3084ffffffff" + "00" * 64})),
    # A TPKT header announcing 65535 bytes, then silence, where the Connection Confirm belongs.
    "giant TPKT length": ("windows-tls", Fault(ServerPhase.CONNECTION_INITIATION, Action.GARBAGE,
                                               {"hex": "0300ffff" + "00" * 64})),
}  # fmt: skip


def special(name: str) -> dict[str, Any]:
    scenario, fault = SPECIALS[name]
    with MockRdpServer(builtin_scenarios()[scenario].with_faults(fault)) as server, \
            tempfile.TemporaryDirectory() as tmp:
        host, port = server.address
        out = Path(tmp, "result.json")
        status, seconds, rss = _child([sys.executable, "-m", "rdpprobe", "check", f"{host}:{port}", "--json",
                                       "--timeout", "4", "--deadline", "8"], stdout=out)
        result = json.loads(out.read_text() or "{}")
    return {"case": name, "exit": status, "signal": result.get("signal"), "failed_phase": result.get("failed_phase"),
            "taxonomy": (result.get("verdict") or {}).get("taxonomy_id"), "seconds": round(seconds, 2),
            "deadline_s": 8.0, "child_peak_rss_mb": round(rss, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stride", type=int, default=1, help="every Nth byte offset (default 1: every one)")
    parser.add_argument("--output", type=Path, help="write the figures as JSON here too")
    args = parser.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # a listener per (offset, ending)
    report: dict[str, Any] = {"deadline_s": DEADLINE_S, "stride": args.stride, "matrix": [], "specials": []}
    for scenario in CONVERSATIONS:
        total, tallies = matrix(scenario, args.stride)
        for tally in tallies:
            row = {"conversation": scenario, "server_bytes": total, **tally.__dict__}
            report["matrix"].append(row)
            print(json.dumps(row), flush=True)
    for name in SPECIALS:
        row = special(name)
        report["specials"].append(row)
        print(json.dumps(row), flush=True)
    if args.output:
        args.output.write_text(json.dumps(report, indent=2) + "\n")
    bad = sum(row["unclassified"] for row in report["matrix"]) + sum(
        row["signal"] in (None, "internal_error") for row in report["specials"])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
