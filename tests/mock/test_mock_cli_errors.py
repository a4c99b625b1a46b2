"""``rdpprobe mock`` rejects bad input with one ``rdpprobe: error:`` line on stderr and exit 2.

Every in-process case goes through ``run`` below: its ``out`` fails the test at the first write,
so a case that wrongly starts serving ends at once instead of serving forever.
"""

from __future__ import annotations

import errno
import io
import os
import selectors
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from rdpprobe.mock import run_mock_cli

from .conftest import FIXTURES

EXIT_USAGE = 2
PREFIX = "rdpprobe: error: "
SUBPROCESS_TIMEOUT = 20.0


class _NoOutput:
    """An ``out`` stream for cases that must fail before printing anything."""

    def write(self, text: str) -> int:
        raise AssertionError(f"wrote to out: {text!r}")

    def flush(self) -> None:
        raise AssertionError("flushed out")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run ``rdpprobe mock argv`` in-process, check the usage-error contract, return the message."""
    status = run_mock_cli(list(argv), _NoOutput())  # type: ignore[arg-type]
    out, err = capsys.readouterr()
    assert (status, out) == (EXIT_USAGE, ""), err
    assert err.startswith(PREFIX) and err.endswith("\n") and err.count("\n") == 1, err
    return err[len(PREFIX):-1]


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work in ``tmp_path``, so scenario files are named as a user types them."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def unknown_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every name lookup fails as for an unknown name, so no test sends a DNS query."""
    def fail(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)


def test_t7_a_toml_syntax_error_is_one_line(capsys: pytest.CaptureFixture[str], in_tmp: Path) -> None:
    (in_tmp / "bad.toml").write_text('name = "x"\npersonality = \n')
    message = run(capsys, "--scenario", "bad.toml")
    assert message.startswith("bad.toml: not valid TOML: ") and "line 2" in message


def test_t8_a_file_that_is_not_utf8(capsys: pytest.CaptureFixture[str], in_tmp: Path) -> None:
    (in_tmp / "latin1.toml").write_bytes('name = "café"\n'.encode("latin-1"))
    assert run(capsys, "--scenario", "latin1.toml").startswith("latin1.toml: not UTF-8 text: ")


@pytest.mark.parametrize(("make", "reason"), [
    (lambda p: p.mkdir(), "Is a directory"),
    (lambda p: None, "No such file or directory"),
])  # fmt: skip
def test_t8_an_unreadable_path(capsys: pytest.CaptureFixture[str], in_tmp: Path, make, reason: str) -> None:  # type: ignore[no-untyped-def]
    make(in_tmp / "s.toml")
    assert run(capsys, "--scenario", "s.toml") == f"s.toml: cannot read: {reason}"


def test_t8_a_file_without_read_permission(capsys: pytest.CaptureFixture[str], in_tmp: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(path: Path, *args: object, **kwargs: object) -> str:  # as open() does for mode 000
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    (in_tmp / "s.toml").write_text('name = "x"\n')
    monkeypatch.setattr(Path, "read_text", refuse)
    assert run(capsys, "--scenario", "s.toml") == "s.toml: cannot read: Permission denied"


@pytest.mark.parametrize(("toml", "expected"), [
    ('name = "x"\npersonality = "nope"\n', "s.toml: scenario 'x': unknown personality 'nope' (known: "),
    ("name = 5\npersonality = 7\n", "s.toml: scenario #1: 'name' must be a string, not integer"),
    ('name = "x"\npersonality = 7\n', "s.toml: scenario 'x': 'personality' must be a string, not integer"),
])  # fmt: skip
def test_t9_a_bad_personality_or_field_type(capsys: pytest.CaptureFixture[str], in_tmp: Path,
                                            toml: str, expected: str) -> None:
    (in_tmp / "s.toml").write_text(toml)
    assert run(capsys, "--scenario", "s.toml").startswith(expected)


@pytest.mark.parametrize(("fault", "expected"), [
    ('{ phase = "nowhere", action = "close" }', "fault 1: unknown phase 'nowhere' (known: listen, "),
    ('{ phase = "accept", action = "explode" }', "fault 1: unknown action 'explode' (known: refuse, "),
    ('{ action = "close" }', "fault 1: missing 'phase'"),
    ('{ phase = "nla", action = "delay", seconds = "soon" }',
     "fault 1: action delay: parameter 'seconds' must be integer or float, not string"),
])  # fmt: skip
def test_t10_a_bad_fault(capsys: pytest.CaptureFixture[str], in_tmp: Path, fault: str, expected: str) -> None:
    (in_tmp / "s.toml").write_text(f'name = "x"\nfaults = [{fault}]\n')
    assert run(capsys, "--scenario", "s.toml").startswith(f"s.toml: scenario 'x': {expected}")


@pytest.mark.parametrize(("toml", "expected"), [
    ('name = "x"\nfaults = "notalist"\n', "scenario 'x': 'faults' must be an array of tables, not string"),
    ('name = "x"\nfaults = [1]\n', "scenario 'x': fault 1: a fault must be a table, not integer"),
    ('name = "x"\ntaxonomy = "N5"\n', "scenario 'x': 'taxonomy' must be an array of strings, not string"),
    ('name = "x"\ndescription = 1\n', "scenario 'x': 'description' must be a string, not integer"),
    ('name = "x"\nfault = []\n', "scenario 'x': unknown field 'fault' (known: description, faults, "),
    ('[scenario]\nname = "x"\n', "'scenario' must be an array of tables ([[scenario]]), not table"),
    ('name = "x"\nfaults = [{ phase = "accept", action = "reset", after_bytes = [1] }]\n',
     "scenario 'x': fault 1: action reset: parameter 'after_bytes' must be integer or float or string or "
     "boolean, not array"),
])  # fmt: skip
def test_t11_fields_of_the_wrong_type(capsys: pytest.CaptureFixture[str], in_tmp: Path,
                                      toml: str, expected: str) -> None:
    (in_tmp / "s.toml").write_text(toml)
    assert run(capsys, "--scenario", "s.toml").startswith(f"s.toml: {expected}")


@pytest.mark.parametrize("port", ["99999", "-1", "65536", "http"])
def test_t12_a_port_out_of_range(capsys: pytest.CaptureFixture[str], port: str) -> None:
    assert run(capsys, f"--port={port}") == f"argument --port: invalid port {port} (expected 0..65535)"


def test_t13_a_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as held:
        port = held.getsockname()[1]
        message = run(capsys, "--port", str(port))
    assert message == f"cannot listen on 127.0.0.1:{port}: Address already in use"


@pytest.mark.parametrize(("host", "reason"), [
    ("300.1.1.1", "Name or service not known"),
    ("nonexistent.invalid", "Name or service not known"),
    ("192.0.2.1", "Cannot assign requested address"),  # TEST-NET-1: never a local address
])  # fmt: skip
@pytest.mark.usefixtures("unknown_names")
def test_t14_a_host_that_cannot_be_bound(capsys: pytest.CaptureFixture[str], host: str, reason: str) -> None:
    assert run(capsys, "--host", host, "--port", "0") == f"cannot listen on {host}:0: {reason}"


def test_u1_an_unknown_scenario_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--scenario", "nosuch") == "unknown scenario 'nosuch'; try --list or a .toml path"


@pytest.mark.parametrize(("toml", "selector", "expected"), [
    ("", "", "defines no scenario"),
    ("# only a comment\n", "", "defines no scenario"),
    ('personality = "xrdp-like"\n', "", "scenario #1 lacks its 'name'"),
    ('[[scenario]]\nname = "a"\n[[scenario]]\npersonality = "xrdp-like"\n', "", "scenario #2 lacks its 'name'"),
    ('name = "a"\n', "::b", "no scenario 'b' in e.toml (it defines: a)"),
])  # fmt: skip
def test_u2_a_file_without_the_scenario(capsys: pytest.CaptureFixture[str], in_tmp: Path,
                                        toml: str, selector: str, expected: str) -> None:
    (in_tmp / "e.toml").write_text(toml)
    message = run(capsys, "--scenario", f"e.toml{selector}")
    assert message.startswith(expected if selector else f"e.toml: {expected}")


NO_PASSWORD_ON_ARGV = ("--password is not taken on the command line, which every user of the machine can read: "
                       "set RDPPROBE_PASSWORD or answer the prompt")


@pytest.mark.parametrize(("argv", "password", "expected"), [
    (["--user", "bob"], None, "--user needs a password: set RDPPROBE_PASSWORD (no terminal to prompt on)"),
    (["--user", "bob", "--password", "s3cret"], "s3cret", NO_PASSWORD_ON_ARGV),
    (["--password", "s3cret"], None, NO_PASSWORD_ON_ARGV),
    (["--domain", "CORP"], "s3cret", "--domain needs --user"),
    (["--user", "", "--domain", "CORP"], "s3cret", "--user must not be empty"),
    (["--user", "bob"], "", "the password (RDPPROBE_PASSWORD) must not be empty"),
])  # fmt: skip
def test_credentials_are_given_whole(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                     argv: list[str], password: str | None, expected: str) -> None:
    """The password comes from the environment or a prompt, as ``check``'s does: never argv,
    which every user of the machine can read."""
    if password is None:
        monkeypatch.delenv("RDPPROBE_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("RDPPROBE_PASSWORD", password)
    monkeypatch.setattr(sys, "stdin", io.StringIO())  # No terminal to prompt on.
    assert run(capsys, *argv) == expected


def test_an_empty_host_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--host", "").startswith("--host must not be empty")


def test_no_traceback_reaches_the_terminal(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("name = = 1\n")
    done = subprocess.run([sys.executable, "-m", "rdpprobe", "mock", "--scenario", "bad.toml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT, check=False)
    assert (done.returncode, done.stdout) == (EXIT_USAGE, "")
    assert done.stderr.startswith(f"{PREFIX}bad.toml: not valid TOML: ") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


def test_good_input_still_serves_until_sigterm() -> None:
    scenario = f"{FIXTURES / 'composed.toml'}::expired-cert-then-denied"
    argv = [sys.executable, "-m", "rdpprobe", "mock", "--scenario", scenario, "--port", "0", "--user", "alice"]
    env = {**os.environ, "RDPPROBE_PASSWORD": "s3cret"}
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as proc:
        try:
            with selectors.DefaultSelector() as sel:
                sel.register(proc.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
                assert sel.select(SUBPROCESS_TIMEOUT), "no address printed"
            first = proc.stdout.readline()  # type: ignore[union-attr]
            proc.send_signal(signal.SIGTERM)
            rest, err = proc.communicate(timeout=SUBPROCESS_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert first.startswith("mock RDP server 'expired-cert-then-denied' listening on 127.0.0.1:")
    assert (proc.returncode, rest, err) == (0, "stopped\n", "")
