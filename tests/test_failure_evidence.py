"""What a handler observed when it failed the probe reaches the result: the refinements are
typed (``classify.Detail``), so a misspelt one is a type error instead of being dropped."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from rdpprobe import probe
from rdpprobe.mock.nla import DEFAULT_PASSWORD, DEFAULT_USER
from rdpprobe.pytest_plugin import MockServerFactory
from rdpprobe.render import render_result
from rdpprobe.signals import Signal
from rdpprobe.wire.mcs import McsResult

ROOT = Path(__file__).resolve().parent.parent


def _report(result: object) -> str:
    out = io.StringIO()
    render_result(Console(file=out, width=200, color_system=None), result)  # type: ignore[arg-type]
    return out.getvalue()


@pytest.mark.parametrize("scenario", ["mcs-connect-rejected", "attach-user-rejected", "channel-join-rejected"])
def test_the_mcs_result_reaches_the_facts_and_the_verdict(
    rdp_mock_server: MockServerFactory, scenario: str
) -> None:
    host, port = rdp_mock_server(scenario)
    result = probe(host, port, protocols=["SSL"], deadline=20)
    assert result.signal is Signal.MCS_REJECTED
    code = result.facts.mcs_result
    assert code is not None and code != McsResult.RT_SUCCESSFUL
    assert f"MCS result {code} {McsResult(code).name}" in result.verdict.summary
    assert result.to_dict()["facts"]["mcs_result"] == code
    assert f"mcs_result: {code}" in _report(result)


def test_the_authorization_result_reaches_the_facts_and_the_verdict(rdp_mock_server: MockServerFactory) -> None:
    host, port = rdp_mock_server("authz-denied")
    result = probe(host, port, protocols=["SSL", "HYBRID", "HYBRID_EX"], user=DEFAULT_USER,
                   password=DEFAULT_PASSWORD, full_logon=True, deadline=20)  # fmt: skip
    assert result.signal is Signal.AUTHZ_DENIED
    assert result.facts.authz_result == 5
    assert "authorizationResult 0x00000005" in result.verdict.summary
    assert "authz_result: 5" in _report(result)


def test_a_misspelt_refinement_is_a_type_error(tmp_path: Path) -> None:
    """``ProbeState.fail`` takes a ``Detail``: a field it lacks fails mypy (and at run time)."""
    pytest.importorskip("mypy", reason="mypy comes with the test extra: pip install -e '.[test]'")
    import subprocess
    import sys

    caller = tmp_path / "handler.py"
    caller.write_text(
        "from rdpprobe.classify import Detail\n"
        "from rdpprobe.sequence.state import ProbeState\n"
        "from rdpprobe.signals import Signal\n"
        "def on_frame(state: ProbeState) -> None:\n"
        "    state.fail(Signal.MCS_REJECTED, 'refused', Detail(mcs_result=14))\n"
        "    state.fail(Signal.MCS_REJECTED, 'refused', Detail(mcs_reslt=14))\n"
        "    state.fail(Signal.MCS_REJECTED, 'refused', mcs_result=14)\n",
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--cache-dir", str(tmp_path / "c"), str(caller)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    flagged = {int(line.split(":")[1]) for line in proc.stdout.splitlines() if ": error:" in line}
    assert flagged == {6, 7}, proc.stdout
