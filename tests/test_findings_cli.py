"""Findings on the command line: check's report, scan's summary, ``--fail-on``'s exit code."""

from __future__ import annotations

import json

import pytest

from rdpprobe.cli import EXIT_FAILURE, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, main
from rdpprobe.pytest_plugin import MockServerFactory
from tests.transport.listeners import closed_port

FAST = ["--connect-timeout", "1", "--timeout", "2", "--deadline", "5"]


def test_check_reports_findings_most_severe_first_with_their_fixes(
    rdp_mock_server: MockServerFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    host, port = rdp_mock_server("windows-2008r2-nla")
    assert main(["check", f"{host}:{port}", *FAST]) == EXIT_OK
    out = capsys.readouterr().out
    section = out[out.index("\nFindings\n"):out.index("\nFacts\n")]
    heads = [line.split()[:2] for line in section.splitlines() if line.split()[:1] in (["HIGH"], ["MEDIUM"], ["INFO"])]
    assert heads == [
        ["HIGH", "credssp-version-old:"], ["MEDIUM", "cert-untrusted-chain:"], ["MEDIUM", "cert-self-signed:"],
        ["MEDIUM", "os-end-of-support:"], ["INFO", "ntlm-info-disclosed:"],
    ]  # fmt: skip
    assert "seen: ntlm.product_version = 6.1.7601" in section
    assert "fix: install the CredSSP updates of March 2018" in section


def test_check_without_findings_claims_no_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", f"127.0.0.1:{closed_port()}", *FAST]) == EXIT_FAILURE
    out = capsys.readouterr().out
    assert "none from what the probe observed (what it could not observe is unknown)" in out


@pytest.mark.parametrize(("threshold", "status"), [
    ("high", EXIT_FINDINGS), ("info", EXIT_FINDINGS), ("critical", EXIT_OK), (None, EXIT_OK),
])  # fmt: skip
def test_check_fail_on(rdp_mock_server: MockServerFactory, capsys: pytest.CaptureFixture[str],
                       threshold: str | None, status: int) -> None:
    host, port = rdp_mock_server("windows-tls")  # nla-not-required (high), no critical finding.
    extra = ["--fail-on", threshold] if threshold else []
    assert main(["check", f"{host}:{port}", "--json", *extra, *FAST]) == status
    assert json.loads(capsys.readouterr().out)["findings"][0]["id"] == "nla-not-required"


def test_fail_on_refuses_an_unknown_severity(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "127.0.0.1", "--fail-on", "severe"]) == EXIT_USAGE
    err = capsys.readouterr().err  # One line naming the option and the value, no usage text.
    assert err.startswith("rdpprobe: error: argument --fail-on: invalid choice: 'severe'") and err.count("\n") == 1


def test_a_dead_port_never_trips_fail_on(capsys: pytest.CaptureFixture[str]) -> None:
    port = closed_port()
    assert main(["check", f"127.0.0.1:{port}", "--fail-on", "info", *FAST]) == EXIT_FAILURE
    assert main(["scan", f"127.0.0.1:{port}", "--fail-on", "info", "--no-progress", *FAST]) == EXIT_OK


def test_scan_summary_counts_findings_and_fail_on_sets_the_exit_code(
    rdp_mock_server: MockServerFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = [f"{h}:{p}" for h, p in map(rdp_mock_server, ("windows-rdp-security", "windows-tls", "windows-nla"))]
    argv = ["scan", *targets, "--no-progress", *FAST]
    assert main([*argv, "--fail-on", "high"]) == EXIT_FINDINGS
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert sorted(len(line["findings"]) > 0 for line in lines) == [True, True, True]
    assert "by finding (targets)" in err and "by severity (findings)" in err
    assert "nla-not-required (high)" in err
    row = next(line for line in err.splitlines() if "nla-not-required (high)" in line)
    assert row.split()[-2] == "2"
    assert main([*argv, "--fail-on", "critical", "--no-summary"]) == EXIT_OK
