"""``rdpprobe scan`` on the command line: exit codes, formats, target sources, errors."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from rdpprobe.cli import main
from rdpprobe.mock import MockRdpServer
from rdpprobe.scan import ProgressBar
from tests.transport.listeners import closed_port, closed_ports

FAST = ["--connect-timeout", "1", "--timeout", "1", "--deadline", "3", "--no-progress"]


def _jsonl(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_scan_prints_one_line_per_target_and_exits_zero(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    closed = closed_port()
    with MockRdpServer("windows-nla") as server:
        targets = tmp_path / "targets.txt"
        targets.write_text(f"127.0.0.1:{server.address[1]}\n127.0.0.1:{closed}  # closed\n")
        code = main(["scan", "-iL", str(targets), "--depth", "nla", "--concurrency", "50", *FAST])
    out, err = capsys.readouterr()
    lines = _jsonl(out)
    assert code == 0
    assert sorted(line["signal"] for line in lines) == ["ok", "refused"]
    assert "2 targets probed in" in err and "by verdict" in err


def test_ranges_shards_and_exclusions(capsys: pytest.CaptureFixture[str]) -> None:
    port = closed_port()
    argv = ["scan", f"127.0.0.1-8:{port}", "--exclude", "127.0.0.2", "--depth", "quick", "--no-summary", *FAST]
    assert main([*argv, "--shard", "0/2", "--seed", "7"]) == 0
    first = {line["ip"] for line in _jsonl(capsys.readouterr().out)}
    assert main([*argv, "--shard", "1/2", "--seed", "7"]) == 0
    second = {line["ip"] for line in _jsonl(capsys.readouterr().out)}
    assert not first & second
    assert first | second == {f"127.0.0.{i}" for i in (1, 3, 4, 5, 6, 7, 8)}


def test_stdin_and_csv_output_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"127.0.0.1:{closed_port()}\n"))
    out = tmp_path / "out.csv"
    assert main(["scan", "-", "--format", "csv", "--output", str(out), "--depth", "quick", *FAST]) == 0
    rows = out.read_text().splitlines()
    assert rows[0].startswith("ip,port") and len(rows) == 2 and "refused" in rows[1]
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["scan", "300.1.1.1"], "invalid ip address"),
        (["scan", "127.0.0.1", "--concurrency", "0"], "--concurrency"),
        (["scan", "127.0.0.1", "--rate", "-1"], "--rate"),
        (["scan", "127.0.0.1", "--shard", "3/2"], "shard"),
        (["scan"], "no targets"),
        (["scan", "-iL", "/nonexistent/targets.txt"], "cannot read"),
        (["scan", "127.0.0.1", "--randomize", "--shard", "0/2"], "--seed"),
    ],
)
def test_usage_errors_exit_two_with_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, *FAST]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_bad_line_in_a_file_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    targets = tmp_path / "t.txt"
    targets.write_text(f"127.0.0.1:{closed_port()}\nbad..name\n")
    assert main(["scan", "-iL", str(targets), "--depth", "quick", "--no-summary", *FAST]) == 2
    assert f"{targets}:2:" in capsys.readouterr().err


def _terminate_mid_scan(extra: list[str], results: Path | None = None) -> tuple[int, list[str], str, str]:
    """A quick scan of three closed ports and a silent listener, SIGTERMed once the three
    results are out on stdout, or in ``results``: (exit status, those lines, what stdout
    said after them, stderr)."""
    import signal
    import subprocess
    import sys
    import time

    argv = ["scan", "-", "--depth", "quick", "--timeout", "30", "--deadline", "60", "--no-progress", *extra]
    with socket.socket() as silent:  # Listens and never answers: its probe waits out its timeout.
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        # Three different ports, none the silent one's: a repeat is probed once, and the
        # three lines read below would then wait out the silent probe (the scan ended first).
        closed = [f"127.0.0.1:{port}" for port in closed_ports(3)]
        targets = "\n".join([*closed, f"127.0.0.1:{silent.getsockname()[1]}"]) + "\n"
        with subprocess.Popen(
            [sys.executable, "-m", "rdpprobe", *argv], text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        ) as proc:  # fmt: skip
            assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
            proc.stdin.write(targets)
            proc.stdin.close()
            if results is None:
                first = [proc.stdout.readline() for _ in closed]  # Out while the silent probe waits.
            else:
                give_up = time.monotonic() + 20
                while time.monotonic() < give_up and (not results.exists() or results.read_text().count("\n") < 3):
                    time.sleep(0.05)
                first = results.read_text().splitlines(keepends=True)
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            return proc.returncode, first, proc.stdout.read(), proc.stderr.read()


def test_sigterm_ends_the_scan_with_every_finished_line_written() -> None:
    """SIGTERM mid-scan: exit 143, the finished results on stdout as whole lines, no traceback."""
    code, first, rest, err = _terminate_mid_scan(["--no-summary"])
    assert code == 128 + 15
    assert sorted(json.loads(line)["signal"] for line in first) == ["refused"] * 3
    assert rest == "" and "Traceback" not in err


def test_an_interrupted_scan_says_how_far_it_got_and_how_to_go_on(tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    code, first, rest, err = _terminate_mid_scan(["--output", str(results)], results)
    assert code == 128 + 15 and rest == ""
    assert [json.loads(line)["signal"] for line in first] == ["refused"] * 3
    assert results.read_text().splitlines(keepends=True) == first
    assert "3 targets probed in" in err and "interrupted" in err and "port_closed" in err
    assert f"run the same command with --resume {results} in place of --output {results}" in err


@pytest.mark.parametrize("redirected", [False, True], ids=["pipe", "file"])
def test_ctrl_c_prints_the_summary_so_far(redirected: bool, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from rdpprobe import scan_cli

    def interrupted(*args: object, **_keywords: object) -> None:
        targets, report = args[0], args[-1]
        assert isinstance(targets, Iterator) and isinstance(report, scan_cli.ScanReport)
        assert [target.host for target in targets] == ["127.0.0.1"]
        report.summary.add({"verdict": {"category": "ok", "ms_client": None}})
        raise KeyboardInterrupt

    monkeypatch.setattr(scan_cli, "run_scan", interrupted)
    monkeypatch.setattr(scan_cli, "_stdout_is_a_file", lambda: redirected)
    assert main(["scan", "127.0.0.1", "0.0.0.0", *FAST]) == 130
    err = capsys.readouterr().err
    assert "1 non-unicast address left out (--include-non-unicast probes them), interrupted" in err and "│ ok " in err
    # Results in a file, through the shell: resuming needs that file; on a pipe there is nothing to resume from.
    assert ("--resume FILE, FILE being the file standard output went to" in err) is redirected


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rdpprobe: error: "), err
    return lines[0]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--shard", ""], "invalid shard ''"),
        (["--rate", "nan"], "--rate must be positive, got nan"),
        (["-", "--exclude-file", "-"], "standard input (-) is given twice"),
        (["-", "-iL", "-"], "standard input (-) is given twice"),
        (["-p", "0"], "--port: invalid port '0'"),
        (["-p", "3390-3389"], "--port: backwards port range '3390-3389'"),
        (["--port", "3389,,3390"], "--port: invalid port '' in '3389,,3390'"),
    ],
)
def test_impossible_scan_options_are_one_line_errors(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["scan", f"127.0.0.1:{closed_port()}", *extra, "--depth", "quick"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and message in _one_error_line(err)


def test_output_that_is_also_an_input_is_refused_before_it_is_emptied(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    targets = tmp_path / "targets.txt"
    targets.write_text(f"127.0.0.1:{closed_port()}\n")
    for option in ("-iL", "--exclude-file"):
        assert main(["scan", "127.0.0.2:1", option, str(targets), "-o", str(targets), *FAST]) == 2
        assert "is also read as input" in _one_error_line(capsys.readouterr().err)
    assert targets.read_text().startswith("127.0.0.1:")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_is_one_line_naming_the_output(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["scan", f"127.0.0.1:{closed_port()}", "--depth", "quick", "-o", "/dev/full", *FAST]
    assert main(argv) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "cannot write results to /dev/full" in line and "No space left on device" in line


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_standard_output_is_one_line_and_no_traceback() -> None:
    import subprocess
    import sys

    argv = [sys.executable, "-m", "rdpprobe", "scan", f"127.0.0.1:{closed_port()}", "--depth", "quick", "--no-summary"]
    with open("/dev/full", "w") as full:
        proc = subprocess.run(argv, stdout=full, stderr=subprocess.PIPE, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert "cannot write results to standard output" in _one_error_line(proc.stderr)


def test_unreadable_target_files_and_long_or_zoned_specs_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = [
        (["-iL", str(tmp_path)], "cannot read target file"),
        (["x" * 5000], "(5000 characters)"),
        (["[fe80::1%lo]:1"], "zone ids"),
    ]
    if Path("/proc/self/mem").exists():  # Opens, then fails to read (EIO).
        cases.append((["-iL", "/proc/self/mem"], "cannot read target file: Input/output error"))
    for extra, message in cases:
        assert main(["scan", *extra, "--depth", "quick", *FAST]) == 2
        line = _one_error_line(capsys.readouterr().err)
        assert message in line and len(line) < 300


def test_resume_probes_only_what_an_interrupted_scan_left(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = closed_port()
    argv = ["scan", f"127.0.0.1-8:{port}", "--depth", "quick", "--seed", "7", "--shard", "0/2", "--no-summary", *FAST]
    assert main([*argv, "--output", str(tmp_path / "whole.jsonl")]) == 0
    whole = (tmp_path / "whole.jsonl").read_text().splitlines(keepends=True)
    results = tmp_path / "results.jsonl"
    results.write_text("".join(whole[:2]) + whole[2][:30])  # Killed while writing the third line.
    assert main([*argv, "--resume", str(results)]) == 0
    lines = results.read_text().splitlines(keepends=True)
    assert lines[:2] == whole[:2]  # What was there stays as it was.
    ips = [json.loads(line)["ip"] for line in lines]
    assert sorted(ips) == sorted(json.loads(line)["ip"] for line in whole)  # The shard's own targets, once each.
    assert capsys.readouterr().out == ""


def test_resume_starts_the_file_when_there_is_none(tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    assert main(["scan", f"127.0.0.1-3:{closed_port()}", "--depth", "quick", "--resume", str(results), *FAST]) == 0
    assert len(_jsonl(results.read_text())) == 3


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--output", "other.jsonl"], "--resume appends to results.jsonl itself; --output cannot be given with it"),
        (["--format", "csv"], "--resume reads and extends JSON Lines; --format csv cannot be given with it"),
        (["-iL", "results.jsonl"], "--resume results.jsonl is also read as input"),
    ],
)
def test_resume_options_that_cannot_work_are_one_line(extra: list[str], message: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    Path("results.jsonl").write_text("")
    assert main(["scan", "127.0.0.1", "--resume", "results.jsonl", *extra, *FAST]) == 2
    assert message in _one_error_line(capsys.readouterr().err)


def test_resume_refuses_a_file_of_something_else(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("10.0.0.1\n")
    assert main(["scan", "127.0.0.1", "--resume", str(other), *FAST]) == 2
    assert f"{other}:1: not a result line of rdpprobe scan" in _one_error_line(capsys.readouterr().err)
    assert other.read_text() == "10.0.0.1\n"


def test_addresses_no_host_has_are_left_out_and_said_so(capsys: pytest.CaptureFixture[str]) -> None:
    """0.0.0.0 would reach this machine, multicast and broadcast nothing: a scan skips them."""
    assert main(["scan", "0.0.0.0", "224.0.0.0/30", "[ff02::1]", f"127.0.0.1:{closed_port()}", "--depth", "quick", *FAST]) == 0
    out, err = capsys.readouterr()
    assert [line["ip"] for line in _jsonl(out)] == ["127.0.0.1"]
    assert "1 target probed in" in err and "6 non-unicast addresses left out (--include-non-unicast probes them)" in err


def test_a_port_list_probes_each_target_on_each_port(capsys: pytest.CaptureFixture[str]) -> None:
    with MockRdpServer("windows-nla") as server:
        closed = closed_ports(2)  # While the server holds its port: none is that one.
        ports = f"{closed[0]},{server.address[1]},{closed[1]}"
        assert main(["scan", "127.0.0.1", f"127.0.0.2:{closed[0]}", "-p", ports, "--depth", "quick", "--no-summary", *FAST]) == 0
    lines = _jsonl(capsys.readouterr().out)
    assert sorted((line["ip"], line["port"], line["signal"]) for line in lines) == sorted([
        ("127.0.0.1", closed[0], "refused"), ("127.0.0.1", server.address[1], "ok"),
        ("127.0.0.1", closed[1], "refused"), ("127.0.0.2", closed[0], "refused"),
    ])  # fmt: skip


@pytest.mark.parametrize("stop", [[], ["--stop-after", "tcp_connect"]])
def test_open_writes_only_the_targets_that_connected(stop: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    closed = closed_port()
    with MockRdpServer("windows-nla") as answering, MockRdpServer("rst-on-accept") as resetting:
        targets = [f"127.0.0.1:{closed}", f"127.0.0.2:{closed}", f"127.0.0.1:{answering.address[1]}",
                   f"127.0.0.1:{resetting.address[1]}"]  # fmt: skip
        assert main(["scan", *targets, "--open", "--depth", "quick", *stop, *FAST]) == 0
    out, err = capsys.readouterr()
    assert sorted(line["port"] for line in _jsonl(out)) == sorted([answering.address[1], resetting.address[1]])
    assert "4 targets probed in" in err and "2 targets without a TCP connection not written (--open)" in err
    assert "port_closed" in err  # The summary still counts the refused ones.


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--stop-after", "dns"], "--open writes the targets that connected; --stop-after dns makes no connection"),
        (["--resume", "results.jsonl"], "with --open, those that did not connect have none and would all be probed again"),
    ],
)
def test_open_with_an_option_it_cannot_work_with_is_one_line(extra: list[str], message: str, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["scan", "127.0.0.1", "--open", *extra, *FAST]) == 2
    assert message in _one_error_line(capsys.readouterr().err)
    assert not Path("results.jsonl").exists()


def test_the_progress_bar_follows_the_stderr_of_the_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A program that replaced ``sys.stderr`` after import gets its own stream's answer."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stderr", Terminal())
    bar = ProgressBar(3)
    try:
        assert bar.enabled
    finally:
        bar.close()
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert not ProgressBar(3).enabled
