"""A scan spread over worker processes (``--workers``) and over a Dask cluster (``--dask``,
``probe_many(executor=...)``) against loopback servers: the same lines as one process, none
lost or written twice when a worker or the coordinator is killed."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rdpprobe import probe_many
from rdpprobe.cli import main
from rdpprobe.engine import Engine, EngineOptions
from rdpprobe.mock import MockRdpServer
from rdpprobe.result import ProbeResult, Target
from rdpprobe.scale import parse_workers, usable_cores
from rdpprobe.scan import depth_config
from rdpprobe.sequence.config import ProbeConfig
from tests.test_scan_cli import _terminate_mid_scan
from tests.transport.listeners import closed_ports

FAST = ["--connect-timeout", "2", "--timeout", "2", "--deadline", "6", "--no-progress"]
#: What differs between two scans of the same servers: clocks, and the server's own clock.
TIMINGS = ("timestamp", "started_at", "timings")
#: A LocalCluster on loopback only, its dashboard on a free port (8787 may be taken).
LOOPBACK_CLUSTER = {"host": "127.0.0.1", "dashboard_address": "127.0.0.1:0"}
#: Seconds a test waits for a scan's lines or processes before failing.
PATIENCE_S = 60


def _normalised(line: str) -> str:
    record = json.loads(line)
    for key in TIMINGS:
        record.pop(key, None)
    ntlm = (record.get("facts") or {}).get("ntlm")
    if ntlm:
        ntlm.pop("timestamp", None)
    return json.dumps(record, sort_keys=True)


def _sorted_lines(path: Path) -> list[str]:
    return sorted(_normalised(line) for line in path.read_text().splitlines() if line.strip())


@pytest.fixture(scope="module")
def servers() -> Iterator[list[str]]:
    """Targets: three mock scenarios, closed ports, and a closed /27 (with --seed, shares mix them)."""
    with MockRdpServer("windows-nla") as nla, MockRdpServer("windows-tls") as tls, \
            MockRdpServer("windows-rdp-security") as rdp:  # fmt: skip
        ports = closed_ports(5)
        live = [f"127.0.0.1:{server.address[1]}" for server in (nla, tls, rdp)]
        # The mock draws its certificate on first use, and servers started together can draw
        # two: one scan first, so that every scan compared meets the certificate kept.
        for target in live:
            list(probe_many([target], depth="tls"))
        yield [*live, *(f"127.0.0.1:{port}" for port in ports), f"127.0.1.0/27:{ports[0]}"]


def _scan_to(path: Path, targets: list[str], *extra: str) -> int:
    return main(["scan", *targets, "--seed", "11", "--depth", "nla", "--no-summary", "--output", str(path), *FAST, *extra])


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_two_workers_write_what_one_process_writes(fmt: str, servers: list[str], tmp_path: Path) -> None:
    one, two = tmp_path / f"one.{fmt}", tmp_path / f"two.{fmt}"
    assert _scan_to(one, servers, "--format", fmt) == 0
    assert _scan_to(two, servers, "--format", fmt, "--workers", "2", "--concurrency", "8") == 0
    if fmt == "jsonl":
        assert _sorted_lines(two) == _sorted_lines(one) and len(_sorted_lines(one)) == 8 + 32
    else:
        header, *rows = two.read_text().splitlines()
        assert header == one.read_text().splitlines()[0]
        assert sorted(rows) == sorted(one.read_text().splitlines()[1:])


def test_workers_compose_with_shard_exclude_and_resume(servers: list[str], tmp_path: Path) -> None:
    """Shares come from the same order --shard cuts: two workers on shard 1/2 scan what one
    process scans of it; --resume then skips what the file already has."""
    argv = [*servers, "--shard", "1/2", "--exclude", "127.0.1.0/29"]
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert _scan_to(one, argv) == 0
    assert _scan_to(two, argv, "--workers", "2") == 0
    assert _sorted_lines(two) == _sorted_lines(one)
    lines = one.read_text().splitlines(keepends=True)
    resumed = tmp_path / "resumed.jsonl"
    resumed.write_text("".join(lines[:5]))
    assert main(["scan", *argv, "--seed", "11", "--no-summary", "--resume", str(resumed), *FAST, "--workers", "2"]) == 0
    assert _sorted_lines(resumed) == _sorted_lines(one)


def test_findings_from_workers_count_in_the_summary_and_fail_on(servers: list[str], tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    argv = ["scan", *servers, "--depth", "nla", "--fail-on", "low", "--output", str(tmp_path / "out.jsonl"), *FAST]
    single = main(argv)
    one = capsys.readouterr().err
    assert main([*argv, "--workers", "2"]) == single != 0
    two = capsys.readouterr().err
    assert "finding (targets)" in two and two.split("by finding", 1)[-1] == one.split("by finding", 1)[-1]


def test_probe_many_with_workers_yields_every_result(servers: list[str]) -> None:
    single = sorted((r.target.host, r.target.port, r.signal.value) for r in probe_many(servers, depth="quick"))
    spread = list(probe_many(servers, depth="quick", workers=2, concurrency=10))
    assert all(isinstance(result, ProbeResult) for result in spread)
    assert sorted((r.target.host, r.target.port, r.signal.value) for r in spread) == single


def test_the_worker_count_is_checked() -> None:
    assert parse_workers("auto") == usable_cores() >= 1
    assert parse_workers("3") == 3
    with pytest.raises(Exception, match="at least 1 or auto"):
        parse_workers("0")


# --- killing workers and the coordinator --------------------------------------------------------


@contextlib.contextmanager
def _silent_listeners(count: int) -> Iterator[list[str]]:
    """``count`` listeners that accept and never answer: each probe waits out its timeout."""
    with contextlib.ExitStack() as stack:
        targets = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            sock.listen(64)
            targets.append(f"127.0.0.1:{sock.getsockname()[1]}")
        yield targets


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for(check: Any, what: str) -> None:
    give_up = time.monotonic() + PATIENCE_S
    while not check():
        assert time.monotonic() < give_up, f"gave up waiting for {what}"
        time.sleep(0.05)


def _start_scan(targets: list[str], results: Path, *extra: str) -> subprocess.Popen[str]:
    argv = ["scan", *targets, "--depth", "quick", "--no-progress", "--connect-timeout", "2", "--timeout", "2",
            "--deadline", "6", "--concurrency", "4", *extra]  # fmt: skip
    return subprocess.Popen([sys.executable, "-m", "rdpprobe", *argv, "--resume", str(results)], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def _line_count(path: Path) -> int:
    return path.read_text().count("\n") if path.exists() else 0


def _targets_of(path: Path) -> list[str]:
    return sorted(f"{json.loads(line)['ip']}:{json.loads(line)['port']}" for line in path.read_text().splitlines())


def test_a_killed_worker_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    """SIGKILL one of two workers while it holds silent probes: its shares are scanned again
    without the targets already written, and every target has exactly one line."""
    results = tmp_path / "results.jsonl"
    with _silent_listeners(12) as silent:
        targets = [*(f"127.0.0.1:{port}" for port in closed_ports(12)), *silent]
        with _start_scan(targets, results, "--workers", "2", "--seed", "3", "--no-summary") as proc:
            _wait_for(lambda: len(_children(proc.pid)) >= 2 and _line_count(results) >= 3, "the first lines")
            workers = [pid for pid in _children(proc.pid) if _alive(pid)]
            os.kill(workers[0], signal.SIGKILL)
            _, err = proc.communicate(timeout=PATIENCE_S)
    assert proc.returncode == 0, err
    assert _targets_of(results) == sorted(targets)


def test_resume_finishes_the_scan_of_a_killed_coordinator(tmp_path: Path) -> None:
    """SIGKILL the coordinator mid-scan: its workers exit on their own, the file keeps whole
    lines, and --resume probes exactly what is missing."""
    results = tmp_path / "results.jsonl"
    with _silent_listeners(6) as silent:
        targets = [*(f"127.0.0.1:{port}" for port in closed_ports(10)), *silent]
        with _start_scan(targets, results, "--workers", "2", "--no-summary") as proc:
            _wait_for(lambda: len(_children(proc.pid)) >= 2 and _line_count(results) >= 2, "the first lines")
            workers = _children(proc.pid)
            proc.kill()
            proc.communicate(timeout=PATIENCE_S)
        _wait_for(lambda: not any(_alive(pid) for pid in workers), "the orphaned workers to exit")
        assert 0 < _line_count(results) < len(targets)
        with _start_scan(targets, results, "--workers", "2") as again:
            _, err = again.communicate(timeout=PATIENCE_S)
    assert again.returncode == 0, err
    assert "resuming" in err and _targets_of(results) == sorted(targets)


def test_sigterm_stops_every_worker_and_writes_the_summary_so_far(tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    code, first, rest, err = _terminate_mid_scan(["--workers", "2", "--output", str(results)], results)
    assert code == 128 + 15 and rest == "" and "Traceback" not in err
    assert [json.loads(line)["signal"] for line in first] == ["refused"] * 3
    assert "3 targets probed in" in err and "interrupted" in err


# --- the engine's side: exclusions reported ----------------------------------------------------


def test_a_target_excluded_after_resolution_is_reported_to_on_excluded() -> None:
    (port,) = closed_ports(1)
    excluded: list[Target] = []
    options = EngineOptions(address_filter=lambda address, _port: address != "127.0.0.1", on_excluded=excluded.append)
    got: list[ProbeResult] = []
    Engine(depth_config(ProbeConfig(prefer="ipv4"), "quick"), options).run([Target("localhost", port)], got.append)
    assert got == [] and [target.host for target in excluded] == ["localhost"]


# --- Dask --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, **LOOPBACK_CLUSTER,
                                  silence_logs=True) as local, distributed.Client(local) as client:  # fmt: skip
        yield client


def test_dask_cluster_writes_what_one_process_writes(cluster: Any, servers: list[str], tmp_path: Path) -> None:
    one, on_dask = tmp_path / "one.jsonl", tmp_path / "dask.jsonl"
    assert _scan_to(one, servers) == 0
    assert _scan_to(on_dask, servers, "--dask", cluster.scheduler.address) == 0
    assert _sorted_lines(on_dask) == _sorted_lines(one)


def test_probe_many_on_a_client_or_an_executor(cluster: Any, servers: list[str]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def keys(results: Any) -> list[tuple[str, int, str]]:
        return sorted((r.target.host, r.target.port, r.signal.value) for r in results)

    single = keys(probe_many(servers, depth="quick"))
    assert keys(probe_many(servers, depth="quick", executor=cluster)) == single
    with ThreadPoolExecutor(2) as threads:
        assert keys(probe_many(servers, depth="quick", executor=threads)) == single


def test_dask_without_the_extra_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed: ImportError
    assert main(["scan", "127.0.0.1", "--dask", "tcp://127.0.0.1:8786", *FAST]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'rdpprobe[dask]'" in err[0]


# --- the coordinator's books and budget ----------------------------------------------------------


def _books() -> Any:
    from rdpprobe.scale.books import Books
    from rdpprobe.scan import ScanReport

    written: list[Any] = []
    return Books(ScanReport(), written.extend), written


def test_a_share_is_handed_out_twice_at_most_then_its_targets_are_named() -> None:
    from rdpprobe.resume import target_key
    from rdpprobe.scale.books import ScanIncomplete
    from rdpprobe.scale.shares import Batch, Share

    books, written = _books()
    targets = tuple(Target(f"10.0.0.{i}", 3389, f"10.0.0.{i}") for i in range(1, 8))
    books.opened(Share(0, targets))
    first = target_key("10.0.0.1", 3389)
    counts = ("ok", None, ())
    books.take(Batch(items=[(0, first, "line 1\n", counts), (0, first, "again\n", counts)]), "w1")
    again = books.again(0)  # The worker died: the rest, without the target written.
    assert again is not None and again.targets == targets[1:] and written == ["line 1\n"]
    books.opened(again)
    assert books.again(0) is None  # Died twice: given up.
    with pytest.raises(ScanIncomplete, match=r"6 targets .* not probed .*: 10.0.0.2:3389, .* and 1 more"):
        books.check_complete("worker processes died")
    assert books.report.summary.total == 1 and books.duplicates == 1


def test_the_rate_budget_is_divided_again_when_a_worker_runs_out_of_work() -> None:
    from rdpprobe.scale.pool import RATE, _Pool, _Process
    from rdpprobe.scale.shares import ScanSpec

    sent: dict[int, list[Any]] = {0: [], 1: []}

    class Pipe:
        def __init__(self, number: int) -> None:
            self.number = number

        def send(self, message: Any) -> None:
            sent[self.number].append(message)

    books, _ = _books()
    pool = _Pool(ScanSpec(ProbeConfig(), 10, rate=100.0), books, 64)
    pool._live = [_Process(None, Pipe(0), 5), _Process(None, Pipe(1), 5)]  # type: ignore[arg-type]
    pool._rebalance()
    assert sent == {0: [(RATE, 50.0)], 1: [(RATE, 50.0)]}
    pool._live[0].ended = True
    pool._rebalance()
    assert sent == {0: [(RATE, 50.0)], 1: [(RATE, 50.0), (RATE, 100.0)]}


def test_a_summary_counts_results_by_their_keys_as_it_counts_the_results(servers: list[str]) -> None:
    from collections import Counter

    from rdpprobe.output import Summary, summary_key, summary_of_key

    results = [result.to_dict() for result in probe_many(servers, depth="nla")]
    direct, keyed = Summary(), Summary()
    for record in results:
        direct.add(record)
    for key, count in Counter(summary_key(record) for record in results).items():
        keyed.add(summary_of_key(key), count)
    fields = ("total", "by_category", "by_ms_code", "by_finding", "by_severity", "worst")
    assert [getattr(keyed, name) for name in fields] == [getattr(direct, name) for name in fields]
    assert direct.by_finding  # The mock's self-signed certificates are findings.


def test_a_killed_dask_worker_loses_and_duplicates_nothing() -> None:
    """SIGKILL the Dask worker running a share of silent probes: the scheduler runs its task
    again elsewhere, and every target comes back exactly once."""
    distributed = pytest.importorskip("distributed")
    (port,) = closed_ports(1)
    with _silent_listeners(4) as silent, distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, silence_logs=True, **LOOPBACK_CLUSTER,
    ) as local, distributed.Client(local) as client:  # fmt: skip
        targets = [*silent, f"127.0.1.0/25:{port}"]
        pids = client.run(os.getpid)
        got, killed = [], False
        for result in probe_many(targets, depth="quick", executor=client, concurrency=4, connect_timeout=2,
                                 timeout=2, deadline=6):  # fmt: skip
            got.append(f"{result.target.host}:{result.target.port}")
            busy = [address for address, keys in client.processing().items() if keys]
            if not killed and busy:
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed = True
    assert killed
    assert sorted(got) == sorted([*silent, *(f"127.0.1.{i}:{port}" for i in range(128))])


def test_aprobe_many_with_workers_yields_every_result(servers: list[str]) -> None:
    import asyncio

    from rdpprobe import aprobe_many

    async def spread() -> list[tuple[str, int, str]]:
        return [(r.target.host, r.target.port, r.signal.value) async for r in aprobe_many(servers, depth="quick", workers=2)]

    single = sorted((r.target.host, r.target.port, r.signal.value) for r in probe_many(servers, depth="quick"))
    assert sorted(asyncio.run(spread())) == single
