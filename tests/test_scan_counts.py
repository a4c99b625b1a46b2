"""What a scan's summary counts: what was written, what was abandoned, what was left out."""

from __future__ import annotations

import io
import json
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from rdpprobe.cli import main
from rdpprobe.scan import ScanReport, depth_config, run_scan
from rdpprobe.sequence.config import ProbeConfig
from rdpprobe.targets import iter_targets
from rdpprobe.engine import EngineOptions
from tests.transport.listeners import closed_ports

FAST = ["--connect-timeout", "1", "--timeout", "1", "--deadline", "3", "--no-progress"]
EXIT_NO_TARGETS = 3
#: Every wait below ends by this bound.
WAIT_BOUND_S = 30.0


def _jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_ctrl_c_counts_what_was_written_and_says_what_was_in_flight(tmp_path: Path) -> None:
    """SIGINT to a real scan: the headline counts the lines in the file, and names the
    target that was still in flight (a silent listener) as abandoned."""
    results = tmp_path / "results.jsonl"
    with socket.socket() as silent:  # Listens and never answers: its probe waits out its timeout.
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        closed = [f"127.0.0.1:{port}" for port in closed_ports(3)]
        # The silent one first: targets start in input order, so it is in flight before the others end.
        targets = "\n".join([f"127.0.0.1:{silent.getsockname()[1]}", *closed]) + "\n"
        argv = ["scan", "-", "--depth", "quick", "--timeout", "30", "--deadline", "60", "--no-progress", "-o", str(results)]
        with subprocess.Popen([sys.executable, "-m", "rdpprobe", *argv], text=True, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:  # fmt: skip
            assert proc.stdin is not None and proc.stderr is not None
            proc.stdin.write(targets)
            proc.stdin.close()
            give_up = time.monotonic() + WAIT_BOUND_S
            while time.monotonic() < give_up and (not results.exists() or results.read_text().count("\n") < 3):
                time.sleep(0.05)
            proc.send_signal(signal.SIGINT)
            code = proc.wait(timeout=WAIT_BOUND_S)
            err = proc.stderr.read()
    written = _jsonl(results.read_text())
    assert code == 130 and len(written) == 3
    assert "3 targets probed in" in err
    assert "interrupted with 1 target in flight, abandoned without a result" in err


class _InterruptedWriter:
    """A writer that is interrupted (Ctrl-C) as it writes its second result."""

    def __init__(self) -> None:
        self.written: list[Any] = []

    def write(self, result: Any, timestamp: datetime | None = None) -> None:
        if self.written:
            raise KeyboardInterrupt
        self.written.append(result)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_results_finished_but_not_written_when_interrupted_are_not_counted_as_probed() -> None:
    """Ctrl-C while a turn's results are being written: the rest of that turn is finished
    in the engine but not written, and the summary says so."""
    targets = iter_targets([f"127.0.0.1:{port}" for port in closed_ports(4)])
    config = depth_config(ProbeConfig(), "quick")
    writer, report = _InterruptedWriter(), ScanReport()
    with pytest.raises(KeyboardInterrupt):
        run_scan(targets, config, writer, EngineOptions(concurrency=4), report=report)
    assert len(writer.written) == 1 and report.probed == 1
    assert report.headline().startswith("1 target probed in")
    assert report.abandoned == report.stats.targets - 1 >= 1


@pytest.mark.parametrize("source", ["stdin", "file"])
def test_an_empty_input_says_so_and_exits_three(source: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    empty = tmp_path / "targets.txt"
    empty.write_text("# nothing yet\n")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    argv = ["-"] if source == "stdin" else ["-iL", str(empty)]
    assert main(["scan", *argv, *FAST]) == EXIT_NO_TARGETS
    out, err = capsys.readouterr()
    assert out == "" and "rdpprobe: no targets: the input held none" in err
    assert "by verdict" not in err  # No empty tables.


def test_targets_all_excluded_say_how_many_were_given(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "10.0.0.0/24", "--exclude", "10.0.0.0/24", *FAST]) == EXIT_NO_TARGETS
    out, err = capsys.readouterr()
    assert out == "" and "rdpprobe: no targets after exclusions: 0 of 256 kept (256 excluded)" in err
    assert "256 excluded" in err.splitlines()[0]  # The headline counts them too.


def test_the_summary_counts_excluded_and_repeated_targets(capsys: pytest.CaptureFixture[str]) -> None:
    first, second = closed_ports(2)
    argv = ["scan", f"127.0.0.1:{first}", f"127.0.0.1:{first}", f"127.0.0.1:{second}", "--exclude", f"127.0.0.1:{second}"]
    assert main([*argv, "--depth", "quick", *FAST]) == 0
    out, err = capsys.readouterr()
    assert len(_jsonl(out)) == 1
    assert "1 target probed in" in err and "1 excluded, 1 repeated" in err


def test_the_progress_bar_shows_the_targets_in_flight_and_the_oldest_age() -> None:
    from rdpprobe.scan import ProgressBar, in_flight_text

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    bar = ProgressBar(3, stream, in_flight=lambda: (2, 12.4))
    try:
        bar.refresh()
        assert "2 in flight, oldest 12 s" in stream.getvalue()
    finally:
        bar.close()
    assert in_flight_text(0, None) == ""


def test_a_scan_reports_what_is_in_flight_while_it_runs() -> None:
    """A silent target in flight when a closed one has finished: one in flight, aged."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        [closed] = closed_ports(1)
        # The silent one first: it is in flight before the closed one can finish.
        targets = iter_targets([f"127.0.0.1:{silent.getsockname()[1]}", f"127.0.0.1:{closed}"])
        report, seen = ScanReport(), []

        class Watching(_InterruptedWriter):
            def write(self, result: Any, timestamp: datetime | None = None) -> None:
                seen.append(report.in_flight())
                raise KeyboardInterrupt  # Enough seen: end the scan here.

        assert report.in_flight() == (0, None)
        with pytest.raises(KeyboardInterrupt):
            run_scan(targets, depth_config(ProbeConfig(), "quick"), Watching(), report=report)
    [(count, oldest)] = seen
    assert count == 1 and oldest is not None and oldest >= 0.0
