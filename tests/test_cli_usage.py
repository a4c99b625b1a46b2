"""Usage errors are one line, for every option of every command; ``-v`` means something.

The option cases are drawn from the parsers themselves, so an option added later is covered
without a word here.
"""

from __future__ import annotations

import argparse
import os
import re
import selectors
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

import rdpprobe.wire.ntlm as ntlm_module
from rdpprobe.cli import EXIT_OK, EXIT_USAGE, build_parser, main
from rdpprobe.mock.cli import build_parser as build_mock_parser
from rdpprobe.mock.server import MockRdpServer
from rdpprobe.wire.ntlm_crypto import ntowfv2

FAST = ["--connect-timeout", "1", "--timeout", "2", "--deadline", "5"]
PREFIX = "rdpprobe: error: "
SUBPROCESS_TIMEOUT = 30.0
#: What each command needs before its options to get as far as parsing them.
POSITIONALS = {"check": ["127.0.0.1"], "scan": ["127.0.0.1"], "demo": [], "mock": []}
BAD_VALUE = "zz-bad"


def _commands() -> dict[str, argparse.ArgumentParser]:
    parsers: dict[str, argparse.ArgumentParser] = {}
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            parsers.update(action.choices)
    parsers["mock"] = build_mock_parser()  # Its own parser reads what follows ``mock``.
    return parsers


def _cases() -> Iterator[Any]:
    """(command, argv after it, the option, the bad value or None) for every option."""
    for command, parser in _commands().items():
        for action in parser._actions:
            if not action.option_strings or isinstance(action, argparse._HelpAction):
                continue
            option = max(action.option_strings, key=len)
            before = POSITIONALS[command]
            name = f"{command} {option}"
            if action.nargs == 0:
                if option.startswith("--"):
                    yield pytest.param(command, [*before, f"{option}=x"], option, "x", id=f"{name}=x")
                continue
            yield pytest.param(command, [*before, option], option, None, id=f"{name} (missing)")
            if action.type is not None or action.choices is not None:
                yield pytest.param(command, [*before, option, BAD_VALUE], option, BAD_VALUE, id=f"{name} bad")


@pytest.mark.parametrize(("command", "argv", "option", "value"), list(_cases()))
def test_a_bad_value_is_one_line_naming_option_and_value(capsys: pytest.CaptureFixture[str], command: str,
                                                          argv: list[str], option: str, value: str | None) -> None:
    assert main([command, *argv]) == EXIT_USAGE
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(PREFIX) and err.count("\n") == 1, err
    assert option in err or option.lstrip("-") in err
    if value is not None:
        assert value in err
    assert "usage:" not in err


@pytest.mark.parametrize("argv", [
    ["check", "127.0.0.1", "-p", "abc"],
    ["check", "127.0.0.1", "--timeout", "abc"],
    ["check", "127.0.0.1", "--timeout", "nan"],
    ["check", "127.0.0.1", "--stop-after", "lunch"],
    ["scan", "127.0.0.1", "--format", "xml"],
    ["scan", "127.0.0.1", "--seed", "x"],
    ["scan", "127.0.0.1", "--user", "alice"],
    ["check", "127.0.0.1", "--bogus"],
    ["--bogus", "check", "127.0.0.1"],
])  # fmt: skip
def test_the_cases_users_met_are_one_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith(PREFIX) and err.count("\n") == 1, err
    assert argv[-1] in err or argv[-2] in err


def test_scan_names_the_option_it_does_not_take(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "127.0.0.1", "--user", "alice"]) == EXIT_USAGE
    assert capsys.readouterr().err == f"{PREFIX}scan: unrecognized arguments: --user alice\n"


def test_global_verbosity_goes_before_mock(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-v", "mock", "--list"]) == EXIT_OK
    assert "windows-tls" in capsys.readouterr().out
    assert main(["-v", "mock", "--scenario", "no-such"]) == EXIT_USAGE
    assert "unknown scenario 'no-such'" in capsys.readouterr().err


def _serve_and_probe(argv: list[str]) -> str:
    """Run ``rdpprobe *argv`` (a mock), probe it once, stop it; its stderr."""
    cmd = [sys.executable, "-m", "rdpprobe", *argv, "--port", "0"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            with selectors.DefaultSelector() as sel:
                sel.register(proc.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
                assert sel.select(SUBPROCESS_TIMEOUT), "no address printed"
            address = re.search(r"listening on (\S+)", proc.stdout.readline())  # type: ignore[union-attr]
            assert address is not None
            assert main(["check", address.group(1), "--stop-after", "connection_initiation", *FAST]) == EXIT_OK
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=SUBPROCESS_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err
    return err


def test_the_mock_logs_each_connection_and_with_v_each_pdu(capsys: pytest.CaptureFixture[str]) -> None:
    quiet = _serve_and_probe(["mock", "--scenario", "windows-tls"])
    assert re.fullmatch(r"rdpprobe: connection from 127\.0\.0\.1:\d+, scenario windows-tls: reached \w+.*\n", quiet)
    verbose = _serve_and_probe(["-v", "mock", "--scenario", "windows-tls"])
    assert "rdpprobe: received X.224 Connection Request (requested SSL|HYBRID|HYBRID_EX), 43 bytes" in verbose
    assert "rdpprobe: sent X.224 Connection Confirm (selected SSL), 19 bytes" in verbose
    assert "scenario windows-tls" in verbose


def _check_stderr(capsys: pytest.CaptureFixture[str], *flags: str) -> str:
    with MockRdpServer("windows-tls") as server:
        host, port = server.address
        assert main(["check", f"{host}:{port}", *flags, *FAST]) == EXIT_OK
    return capsys.readouterr().err


def test_v_logs_phases_and_pdus_and_vv_adds_hex(capsys: pytest.CaptureFixture[str]) -> None:
    assert _check_stderr(capsys) == ""
    once = _check_stderr(capsys, "-v")
    for line in ("tls: phase started", "tls: phase ended after", "connection_initiation: sent X.224 Connection Request",
                 "connection_initiation: received X.224 Connection Confirm (selected SSL), 19 bytes",
                 "basic_settings_exchange: sent MCS Connect Initial", "capabilities_exchange: phase started"):
        assert line in once
    assert not re.search(r"^rdpprobe:   0000  03 00", once, re.M)  # No hex at -v.
    for twice in (["-v", "-v"], ["-vv"]):
        assert re.search(r"^rdpprobe:   0000  03 00 00 2b ", _check_stderr(capsys, *twice), re.M)


def test_a_scan_logs_each_targets_trace_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    with MockRdpServer("windows-tls") as server:
        host, port = server.address
        assert main(["-v", "scan", f"{host}:{port}", "--depth", "quick", "--no-progress", "--no-summary"]) == EXIT_OK
    err = capsys.readouterr().err
    assert f"rdpprobe: {host}:{port} +" in err and "sent X.224 Connection Request" in err


def _dumped_bytes(stderr: str) -> bytes:
    """Every byte the hex dumps in ``stderr`` show, one run after another."""
    rows = re.findall(r"^rdpprobe:   [0-9a-f]{4}  ((?:[0-9a-f]{2} )+)", stderr, re.M)
    return bytes.fromhex("".join(rows))


def test_no_level_logs_a_password_or_key(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    password, user = "Pa55-w0rd-never-logged", "alice"
    made: list[tuple[bytes, Any]] = []
    build = ntlm_module.build_authenticate

    def keep(*args: Any, **kwargs: Any) -> Any:
        data, session = build(*args, **kwargs)
        made.append((data, session))
        return data, session

    monkeypatch.setattr(ntlm_module, "build_authenticate", keep)
    monkeypatch.setenv("RDPPROBE_PASSWORD", password)
    with MockRdpServer("windows-nla", user=user, password=password) as server:
        host, port = server.address
        code = main(["-vv", "check", f"{host}:{port}", "--user", user, "--full-logon", "-v", *FAST])
    out, err = capsys.readouterr()
    assert code == EXIT_OK, out
    assert made, "no NTLM AUTHENTICATE was built"
    dumped = _dumped_bytes(err)
    assert dumped and "sent CredSSP TSRequest" in err  # The hex dumps are there …
    authenticate, session = made[0]
    secrets = {
        "password": password.encode(), "password (UTF-16)": password.encode("utf-16-le"),
        "NTOWFv2": ntowfv2(password, user, ""), "session key": session.exported_session_key,
        "NTLM AUTHENTICATE": authenticate,
    }
    for name, secret in secrets.items():  # … and none of these is in them, or anywhere else.
        assert secret not in dumped, name
        for form in (secret.hex(), secret.hex(" ")):
            assert form not in err, name
    assert password not in err and password not in out
    assert ".".join(password) not in err  # The dump's text column of UTF-16.


@pytest.fixture(autouse=True)
def _no_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RDPPROBE_PASSWORD", raising=False)
    monkeypatch.setattr(os, "environ", {**os.environ})
