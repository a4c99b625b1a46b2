"""``check``'s report: the headline says what became of the credentials, prose is shown as is,
a report in a file has no trailing spaces, and a key log is private."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import stat
import sys
from pathlib import Path

import pytest
from rich.console import Console

from rdpprobe.cli import EXIT_FAILURE, EXIT_OK, main
from rdpprobe.mock.nla import Credentials
from rdpprobe.mock.server import MockRdpServer
from rdpprobe.render import render_result

FAST = ["--connect-timeout", "1", "--timeout", "3", "--deadline", "10"]
DEFAULT = Credentials()


def _check(capsys: pytest.CaptureFixture[str], scenario: str, *argv: str) -> tuple[int, str]:
    with MockRdpServer(scenario) as server:
        code = main(["check", "{}:{}".format(*server.address), *argv, *FAST])
    return code, capsys.readouterr().out


def _headline(report: str) -> str:
    """The verdict's paragraph: the lines after the phase ladder, up to the Microsoft code."""
    lines = report.splitlines()
    start = next(i for i, line in enumerate(lines) if not line.startswith(("rdpprobe", "✓", "✗", "–", " ")))
    end = next((i for i in range(start, len(lines)) if lines[i].startswith(("A Microsoft", "FreeRDP", "Note", "Facts"))),
               len(lines))
    return " ".join(lines[start:end])


@pytest.mark.parametrize(("scenario", "user", "password", "code", "says"), [
    ("windows-nla", DEFAULT.user, DEFAULT.password, EXIT_OK, "credentials accepted"),
    ("windows-nla", DEFAULT.user, "not-the-password", EXIT_FAILURE, "credentials refused (0x807)"),
    ("windows-tls", "alice", "whatever", EXIT_FAILURE, "credentials not checked: the server did not select CredSSP"),
    ("fin-after-cr", "alice", "whatever", EXIT_FAILURE,
     "credentials not checked: the probe ended in connection_initiation, before CredSSP"),
])  # fmt: skip
def test_the_headline_states_the_credential_outcome(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                                    scenario: str, user: str, password: str, code: int,
                                                    says: str) -> None:
    monkeypatch.setenv("RDPPROBE_PASSWORD", password)
    status, report = _check(capsys, scenario, "--user", user)
    assert status == code
    assert says in _headline(report)


def test_no_credentials_no_word_on_them(capsys: pytest.CaptureFixture[str]) -> None:
    status, report = _check(capsys, "windows-tls")
    assert status == EXIT_OK and "credentials" not in _headline(report)


def test_a_report_in_a_file_has_no_trailing_spaces(tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    with MockRdpServer("windows-tls") as server, open(path, "w", encoding="utf-8") as stream, \
            contextlib.redirect_stdout(stream):  # fmt: skip
        assert main(["check", "{}:{}".format(*server.address), *FAST]) == EXIT_OK
    lines = path.read_text(encoding="utf-8").splitlines()
    assert any(line.startswith("✓  capabilities_exchange") for line in lines)
    assert [line for line in lines if line != line.rstrip()] == []


def test_prose_is_neither_highlighted_nor_read_as_markup() -> None:
    from rdpprobe import probe

    with MockRdpServer("windows-tls") as server:
        result = probe("{}:{}".format(*server.address), timeout=3)
    odd = dataclasses.replace(result, detail="[red]not markup[/red] 10.0.0.5 3389")
    out = io.StringIO()
    render_result(Console(file=out, force_terminal=True, color_system="truecolor", width=200), odd)
    text = out.getvalue()
    assert "[red]not markup[/red] 10.0.0.5 3389" in text
    prose = [line for line in text.splitlines() if "  fix: " in line or "likely cause" in line or "  1. " in line]
    prose += [line for line in text.splitlines() if line.startswith("  selected_protocol")]
    assert prose and all("\x1b[" not in line for line in prose), prose


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_a_keylog_file_is_created_private(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "keys.log"
    before = os.umask(0o022)
    try:
        status, _ = _check(capsys, "windows-tls", "--keylog", str(path))
    finally:
        os.umask(before)
    assert status == EXIT_OK
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().count("CLIENT_") >= 1  # The session's secrets went there.
