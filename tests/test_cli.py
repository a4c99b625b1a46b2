"""The command line: usage errors, exit codes, JSON output, the password rule."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from rdpprobe.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, main
from rdpprobe.mock.server import MockRdpServer
from tests.test_api_validation import resolver_answering, wait_for
from tests.transport.listeners import closed_port

FAST = ["--connect-timeout", "1", "--timeout", "2", "--deadline", "5"]


def test_refused_port_is_a_classified_failure(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", f"127.0.0.1:{closed_port()}", "--json", *FAST]) == EXIT_FAILURE
    out = json.loads(capsys.readouterr().out)
    assert out["signal"] == "refused"
    assert out["verdict"]["ms_client"]["code"] == "0x204"


def test_the_report_writes_an_ipv6_target_in_brackets(capsys: pytest.CaptureFixture[str]) -> None:
    port = closed_port("::1")
    assert main(["check", f"[::1]:{port}", *FAST]) == EXIT_FAILURE
    assert capsys.readouterr().out.splitlines()[0] == f"rdpprobe check [::1]:{port}"


def test_prefer_picks_the_family_of_a_dual_stack_name(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", resolver_answering("::1", "127.0.0.1"))
    with MockRdpServer("windows-nla") as server:
        argv = ["check", f"dual.invalid:{server.address[1]}", "--stop-after", "connection_initiation", "--json", *FAST]
        assert main([*argv, "--prefer", "ipv4"]) == EXIT_OK
        assert json.loads(capsys.readouterr().out)["target"]["address"] == "127.0.0.1"
        assert main(argv) == EXIT_FAILURE  # The resolver's order: ::1 first, where nothing listens.
    assert main(["check", "127.0.0.1", "--prefer", "ipv5"]) == EXIT_USAGE


def test_healthy_server_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with MockRdpServer("windows-tls") as server:
        host, port = server.address
        assert main(["check", f"{host}:{port}", *FAST]) == EXIT_OK
    text = capsys.readouterr().out
    assert "capabilities_exchange" in text and "Demand Active" in text


@pytest.mark.parametrize("argv, message", [
    (["check", "127.0.0.1:99999"], "invalid port"),
    (["check", "127.0.0.1", "--protocols", "SSL,NOPE"], "unknown protocol"),
    (["check", "127.0.0.1", "--full-logon"], "--full-logon needs --user"),
    (["check", "127.0.0.1", "--timeout", "0"], "--timeout must be positive, got 0"),
    (["demo", "no-such-scenario"], "unknown scenario"),
])
def test_bad_input_is_one_line_and_exit_2(argv: list[str], message: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == 1 and lines[0].startswith("rdpprobe: error: "), err
    return lines[0]


@pytest.mark.parametrize("target, message", [
    ("300.1.1.1", "target: invalid ip address in '300.1.1.1'"),
    ("127.0.0.1/33", "invalid network '127.0.0.1/33'"),
    ("127.0.0.0/24", "check probes one host; use rdpprobe scan for networks and ranges"),
    ("127.0.0.1-5", "check probes one host"),
    ("127.0.0.5-1", "backwards range"),
    (":1", "empty host"),
    ("[]:1", "empty host"),
    ("a b.invalid", "illegal character ' ' in host name"),
    ("a\x1bb.invalid", "illegal character '\\x1b'"),
    ("[::1", "missing ']'"),
    ("[::1]x", "unexpected 'x' after ']'"),
    ("[127.0.0.1]:1", "brackets are only for ipv6 addresses"),
    (".".join(["a" * 60] * 5) + ".invalid", "host name longer than 253 characters"),
])
def test_check_reads_its_target_with_the_scan_grammar(target: str, message: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", target, *FAST]) == EXIT_USAGE
    assert message in _one_error_line(capsys)


@pytest.mark.parametrize("extra, message", [
    (["-p", "0"], "invalid port 0"),
    (["-p", "65536"], "invalid port 65536"),
    (["--timeout", "nan"], "--timeout must be a finite number of seconds, got nan"),
    (["--connect-timeout", "inf"], "--connect-timeout must be a finite number of seconds, got inf"),
    (["--deadline", "nan"], "--deadline must be a finite number of seconds, got nan"),
    (["--deadline", "1e300"], "--deadline must be at most 86400 seconds (one day), got 1e+300"),
    (["--user", ""], "--user must not be empty"),
    (["--user", "alice", "--stop-after", "tls"],
     "--user is checked in the nla phase, but --stop-after tls ends the probe before it"),
    (["--user", "alice", "--stop-after", "dns"], "--stop-after dns ends the probe before it"),
    (["--cookie", "a\r\nb"], "cookie must be printable ascii, got '\\r'"),
    (["--cookie", "a\nb"], "cookie must be printable ascii, got '\\n'"),
    (["--audit-budget", "3"], "--audit-budget needs --audit"),
    (["--audit", "--audit-concurrency", "0"], "--audit-concurrency must be a whole number of at least 1, got 0"),
    (["--audit", "--audit-rate", "-1"], "--audit-rate must be positive"),
])
def test_impossible_check_options_are_one_line_errors(extra: list[str], message: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    # The options come after FAST: argparse keeps the last value given.
    assert main(["check", "127.0.0.1", *FAST, *extra]) == EXIT_USAGE
    assert message in _one_error_line(capsys)


@pytest.mark.parametrize("extra, message", [
    (["--expected-name", ""], "--expected-name must not be empty"),
    (["--expected-name", "  "], "--expected-name must not be empty"),
    (["--expected-name", "rdp.invalid", "--stop-after", "connection_initiation"],
     "--expected-name is checked in the tls phase, but --stop-after connection_initiation ends the probe before it"),
    (["--expected-name", "rdp.invalid", "--stop-after", "dns"],
     "--expected-name is checked in the tls phase, but --stop-after dns ends the probe before it"),
    (["--user", "alice", "--full-logon", "--stop-after", "nla"],
     "--full-logon logs on after the nla phase, but --stop-after nla ends the probe before it"),
    (["--user", "alice", "--full-logon", "--stop-after", "tls"],
     "--full-logon logs on after the nla phase, but --stop-after tls ends the probe before it"),
])
def test_options_a_stop_or_an_empty_value_would_void_are_refused_before_connecting(
        extra: list[str], message: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # Nothing listens on the port: a probe that connected would exit 1 (refused), not 2.
    monkeypatch.delenv("RDPPROBE_PASSWORD", raising=False)  # Refused before a password is needed.
    assert main(["check", f"127.0.0.1:{closed_port()}", *FAST, *extra]) == EXIT_USAGE
    assert _one_error_line(capsys) == f"rdpprobe: error: {message}"


def test_a_port_in_the_target_and_another_with_p_conflict(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", f"127.0.0.1:{closed_port()}", "-p", "1", *FAST]) == EXIT_USAGE
    assert "two ports for one target" in _one_error_line(capsys)


def test_an_unwritable_keylog_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "no-such-directory" / "keys.log"
    assert main(["check", f"127.0.0.1:{closed_port()}", "--keylog", str(path), *FAST]) == EXIT_USAGE
    line = _one_error_line(capsys)
    assert line == f"rdpprobe: error: cannot write keylog file {path}: No such file or directory"


def test_stop_after_dns_stops_before_connecting(capsys: pytest.CaptureFixture[str]) -> None:
    # The port is closed: a probe that went on to connect would be refused (exit 1).
    assert main(["check", f"127.0.0.1:{closed_port()}", "--stop-after", "dns", "--json", *FAST]) == EXIT_OK
    out = json.loads(capsys.readouterr().out)
    assert (out["signal"], out["phase_reached"]) == ("ok", "dns")
    assert out["detail"] == "stopped after name resolution, as asked"


def test_stop_after_tcp_connect_stops_after_connecting(capsys: pytest.CaptureFixture[str]) -> None:
    with MockRdpServer("windows-nla") as server:
        port = server.address[1]
        code = main(["check", f"127.0.0.1:{port}", "--stop-after", "tcp_connect", "--json", *FAST])
        # Let the server finish with the connection before it stops: stopping first can
        # leave the accepted socket unclosed, and its ResourceWarning fails a later test.
        wait_for(lambda: bool(server.records))
    out = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK and (out["signal"], out["phase_reached"]) == ("ok", "tcp_connect")
    assert out["detail"] == "stopped after the tcp connection, as asked"
    assert "requested_protocols" not in out["facts"]  # No Connection Request went out.


def test_password_comes_from_the_environment_never_argv(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RDPPROBE_PASSWORD", "rdpprobe")
    with MockRdpServer("windows-nla") as server:
        host, port = server.address
        code = main(["check", f"{host}:{port}", "--user", "rdpprobe", "--json", *FAST])
    out = capsys.readouterr().out
    assert code == EXIT_OK
    assert json.loads(out)["facts"]["auth"]["status"] == "succeeded"
    assert "rdpprobe\"" not in out.replace('"rdpprobe"', "")  # The password is never printed.
    assert main(["check", "127.0.0.1", "--password", "x"]) == EXIT_USAGE


def test_credentials_against_a_tls_only_server_are_not_performed(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RDPPROBE_PASSWORD", "secret-value")
    with MockRdpServer("windows-tls") as server:
        host, port = server.address
        code = main(["check", f"{host}:{port}", "--user", "alice", "--json", *FAST])
    out = capsys.readouterr().out
    assert code == EXIT_FAILURE
    assert json.loads(out)["facts"]["auth"]["status"] == "not_performed"
    assert "secret-value" not in out


def test_version_and_mock_list_run_as_a_program() -> None:
    done = subprocess.run([sys.executable, "-m", "rdpprobe.cli", "mock", "--list"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "windows-nla" in done.stdout
