"""The command line: usage errors, exit codes, JSON output, the password rule."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rdpprobe.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, main
from rdpprobe.mock.server import MockRdpServer
from tests.transport.listeners import closed_port

FAST = ["--connect-timeout", "1", "--timeout", "2", "--deadline", "5"]


def test_refused_port_is_a_classified_failure(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", f"127.0.0.1:{closed_port()}", "--json", *FAST]) == EXIT_FAILURE
    out = json.loads(capsys.readouterr().out)
    assert out["signal"] == "refused"
    assert out["verdict"]["ms_client"]["code"] == "0x204"


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
    (["check", "127.0.0.1", "--timeout", "0"], "timeouts must be positive"),
    (["demo", "no-such-scenario"], "unknown scenario"),
])
def test_bad_input_is_one_line_and_exit_2(argv: list[str], message: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


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
    with pytest.raises(SystemExit):
        main(["check", "127.0.0.1", "--password", "x"])


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
