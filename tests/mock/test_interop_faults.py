"""xfreerdp 2.11 against the mock's fault scenarios: it fails the way taxonomy §3c predicts.

Each case runs one fault scenario twice: once under xfreerdp (headless, on one shared
Xvfb display, ``/cert:ignore``, a hard timeout) and once under ``rdpprobe.probe``. The
tests assert what xfreerdp 2.11 reports (exit code, ``ERRCONNECT_*`` / ``ERRINFO_*``
names, whether it reached CONNECTION_STATE_ACTIVE) and that rdpprobe's verdict names
the same FreeRDP error. Where FreeRDP 2.11 does not do what the taxonomy's FreeRDP column
says (that column describes FreeRDP master / 3.x in places), the case asserts what 2.11
really does and its ``note`` says why; where rdpprobe follows the taxonomy rather than
2.11, ``probe_note`` says so.

All cases run in parallel threads, each with its own mock server and HOME.

``python3 -m tests.mock.test_interop_faults`` runs the cases and writes the table
``tests/mock/xfreerdp_faults.md``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import rdpprobe
from rdpprobe.mock import MockRdpServer, builtin_scenarios
from tests.interop import harness

pytestmark = pytest.mark.interop

USER, PASSWORD = "alice", "Passw0rd!"
WORKERS = 12
KILL_GRACE = 2
TABLE = Path(__file__).with_name("xfreerdp_faults.md")

# xfreerdp exit codes (client/X11/xfreerdp.h, XF_EXIT_*).
RC_CONN_FAILED = 131  # any failure without a more specific mapping (ERRINFO class, cancel)
RC_NEGO_FAILURE = 133
RC_LOGON_FAILURE = 134
RC_ACCOUNT_LOCKED_OUT = 135
RC_TLS_CONNECT_FAILED = 143
RC_CONNECT_TRANSPORT_FAILED = 147
RC_WRONG_PASSWORD = 154
RC_STILL_RUNNING = 124  # coreutils `timeout` stopped it: xfreerdp had not given up by then

CTF = "ERRCONNECT_CONNECT_TRANSPORT_FAILED"
NEGO = "ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED"

_NAME_RE = re.compile(r"\b(?:ERRCONNECT|ERRINFO)_[A-Z0-9_]+\b")
_REQUESTED_RE = re.compile(r"connection request: requested=(\w+)")


@dataclass(frozen=True)
class Case:
    """One fault scenario and what xfreerdp 2.11 and rdpprobe say about it."""

    scenario: str
    row: str
    """The taxonomy §4.1 row the scenario reproduces."""
    taxonomy: str
    """The row's FreeRDP column, as written in the taxonomy."""
    rc: int
    """xfreerdp's exit code."""
    names: tuple[str, ...]
    """The ERRCONNECT_*/ERRINFO_* names xfreerdp logs, in order, without repeats."""
    probe: str | None
    """``result.verdict.freerdp`` of rdpprobe for the same scenario."""
    args: tuple[str, ...] = ()
    password: str = PASSWORD
    timeout: float = 6.0
    active: bool = False
    """Whether xfreerdp reaches CONNECTION_STATE_ACTIVE."""
    requested: tuple[str, ...] | None = None
    """requestedProtocols of each connection the mock saw, when the case checks them."""
    probe_options: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    """Why xfreerdp 2.11 differs from the taxonomy's FreeRDP column (empty: it agrees)."""
    probe_note: str = ""
    """Why rdpprobe names another error than xfreerdp 2.11 (empty: same name)."""

    @property
    def id(self) -> str:
        return self.scenario if not self.args else f"{self.scenario}[{' '.join(self.args)}]"


CASES: tuple[Case, ...] = (
    Case("refused", "T1", "CONNECT_FAILED 0x06", RC_CONNECT_TRANSPORT_FAILED, (CTF,),
         "ERRCONNECT_CONNECT_FAILED",
         note="2.11 connects non-blocking; the refusal surfaces on the first write "
              "(EPIPE, 'Broken pipe') in transport_write, which sets 0x0D, not 0x06",
         probe_note="rdpprobe sees ECONNREFUSED itself and names the taxonomy's 0x06"),
    Case("fin-after-cr", "X1", "CONNECT_TRANSPORT_FAILED 0x0D", RC_CONNECT_TRANSPORT_FAILED,
         (CTF,), CTF),
    Case("rst-after-cr", "X2", "CONNECT_TRANSPORT_FAILED 0x0D", RC_CONNECT_TRANSPORT_FAILED,
         (CTF,), CTF),
    # xfreerdp has no timeout of its own for a server that never answers the CR.
    Case("blackhole", "X3", "CONNECT_TRANSPORT_FAILED 0x0D (TCP ack/read timeout) [I]",
         RC_STILL_RUNNING, (), CTF,
         note="2.11 has no read timeout before the CC: it waits until killed",
         probe_note="rdpprobe gives up after its phase timeout and names the taxonomy's 0x0D"),
    Case("ssh-banner", "X4", "SECURITY_NEGO_CONNECT_FAILED 0x0C or CONNECT_TRANSPORT_FAILED 0x0D",
         RC_STILL_RUNNING, (), CTF,
         note="2.11 reads 'SS' as a fast-path header announcing 0x53 = 83 bytes and waits for "
              "the rest of the 32-byte banner, which never comes: no error until killed",
         probe_note="rdpprobe recognises the banner (NOT_RDP) and names 0x0D, one of the "
                    "two the taxonomy allows"),
    # FreeRDP falls back 3 -> 1 -> no RDP_NEG_REQ and reconnects after each failure.
    Case("hybrid-required", "N5", "master HYBRID_REQUIRED_BY_SERVER 0x1E; 3.30.0 0x0C",
         RC_NEGO_FAILURE, (NEGO,), NEGO,
         requested=("3", "1", "None"),
         note="2.11 behaves as 3.30.0: 0x1E exists on master only"),
    Case("ssl-not-allowed", "N2", "retry RDP; terminal 0x0C", RC_NEGO_FAILURE, (NEGO,), NEGO,
         requested=("3", "1", "0")),
    Case("ssl-cert-not-on-server", "N3", "master TLS_CONNECT_FAILED 0x08; 3.30.0 0x0C",
         RC_NEGO_FAILURE, (NEGO,), NEGO, requested=("3", "1", "0"),
         note="2.11 behaves as 3.30.0: falls back to RDP, then fails negotiation with 0x0C"),
    Case("tls-cannot-use-key", "S2", "TLS_CONNECT_FAILED 0x08", RC_TLS_CONNECT_FAILED,
         ("ERRCONNECT_TLS_CONNECT_FAILED",), "ERRCONNECT_TLS_CONNECT_FAILED"),
    Case("credssp-logon-failure", "C2", "LOGON_FAILURE 0x14", RC_LOGON_FAILURE,
         ("ERRCONNECT_LOGON_FAILURE",), "ERRCONNECT_LOGON_FAILURE"),
    Case("credssp-wrong-password", "C2", "WRONG_PASSWORD 0x15", RC_WRONG_PASSWORD,
         ("ERRCONNECT_WRONG_PASSWORD",), "ERRCONNECT_WRONG_PASSWORD"),
    Case("credssp-account-locked-out", "C2", "ACCOUNT_LOCKED_OUT 0x18", RC_ACCOUNT_LOCKED_OUT,
         ("ERRCONNECT_ACCOUNT_LOCKED_OUT",), "ERRCONNECT_ACCOUNT_LOCKED_OUT"),
    Case("credssp-v2-server", "C3", "C3: PASSWORD_CERTAINLY_EXPIRED 0x0F (alert 80); C4: 0x0F or 0x0D",
         RC_CONNECT_TRANSPORT_FAILED, (CTF,), CTF, password="wrong",
         note="the mock's v2 server ends a bad password with a plain close, not alert 80, "
              "so FreeRDP takes §3c's 'anything else (close) -> 0x0D' branch"),
    Case("pubkey-mismatch", "C5", "CONNECT_TRANSPORT_FAILED 0x0D", RC_CONNECT_TRANSPORT_FAILED,
         (CTF,), CTF),
    # By default xfreerdp 2.11 offers SSL|HYBRID only; /sec:ext adds HYBRID_EX.
    Case("authz-denied", "C6", "master ACCESS_DENIED 0x16; 3.30.0 AUTHENTICATION_FAILED 0x09",
         RC_NEGO_FAILURE, (NEGO,), "ERRCONNECT_AUTHENTICATION_FAILED", args=("/sec:ext",),
         requested=("11",), probe_options={"full_logon": True},
         note="2.11 offers HYBRID_EX with /sec:ext but nego_security_connect has no HYBRID_EX "
              "branch ('no protocol has been selected yet'): it fails before CredSSP, so the "
              "Early User Authorization Result is never read",
         probe_note="rdpprobe (full logon) reads the AUTHZ_ACCESS_DENIED result and names "
                    "3.30.0's 0x09 (freerdp_2 gives 2.11's 0x0C)"),
    Case("mcs-connect-rejected", "M1", "CONNECT_TRANSPORT_FAILED 0x0D",
         RC_CONNECT_TRANSPORT_FAILED, (CTF,), CTF),
    Case("attach-user-rejected", "M3", "0x0D", RC_CONNECT_TRANSPORT_FAILED, (CTF,), CTF),
    Case("bad-proprietary-cert", "R1", "0x0D", RC_STILL_RUNNING, (), CTF, args=("/sec:rdp",),
         timeout=8.0, active=True,
         note="FreeRDP 2.x does not validate the proprietary certificate's signature "
              "(certificate.c, CERT_VALIDATE_* not defined): the session goes active",
         probe_note="rdpprobe verifies the signature (R1) and names the taxonomy's 0x0D"),
    Case("short-server-random", "R1", "0x0D", RC_CONNECT_TRANSPORT_FAILED, (CTF,), CTF,
         args=("/sec:rdp",)),
    Case("license-no-license-server", "L1", "ERRINFO class 0x0001010x",
         RC_CONNECT_TRANSPORT_FAILED, (CTF,), CTF,
         note="a LICENSE_ERROR_MESSAGE alone sets no ERRINFO in 2.11: 'license connection "
              "sequence aborted', then the close gives 0x0D; the ERRINFO class applies to "
              "Set Error Info 0x100-0x10A (next case)"),
    Case("license-errinfo-no-license", "L1", "ERRINFO class 0x0001010x", RC_CONN_FAILED,
         ("ERRINFO_LICENSE_NO_LICENSE",), "ERRINFO_LICENSE_NO_LICENSE"),
    Case("errinfo-denied", "E1", "ERRINFO class 0x0001xxxx", RC_CONN_FAILED,
         ("ERRINFO_SERVER_DENIED_CONNECTION",), "ERRINFO_SERVER_DENIED_CONNECTION"),
    Case("errinfo-insufficient-privileges", "E1",
         "ERRINFO class; 0x9 also -> INSUFFICIENT_PRIVILEGES 0x0A", RC_CONN_FAILED,
         ("ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES",), "ERRCONNECT_INSUFFICIENT_PRIVILEGES",
         note="freerdp_connect maps errorInfo 0x9 to 0x0A only on its success path; before "
              "activation the connection fails first and ERRINFO 0x00010009 stays",
         probe_note="rdpprobe names the 0x0A the taxonomy gives for 0x9"),
    Case("ultimatum-user-requested", "E2", "mapped to ERRINFO 0xC", RC_CONN_FAILED,
         ("ERRINFO_LOGOFF_BY_USER",), "ERRINFO_LOGOFF_BY_USER"),
    Case("redirect", "E3", "handled", RC_CONNECT_TRANSPORT_FAILED, (CTF,), None,
         requested=("3", "3"),
         note="2.11 follows it: with a LoadBalanceInfo it reconnects to the same address and "
              "sends the LoadBalanceInfo as routing token (the target address is used only "
              "without one); the mock redirects again, closes, and the connect ends with 0x0D",
         probe_note="rdpprobe reports the redirection itself, not a FreeRDP error"),
    # FreeRDP waits TcpAckTimeout (9 s) for activation.
    Case("no-demand-active", "A1", "ACTIVATION_TIMEOUT 0x1C", RC_CONN_FAILED,
         ("ERRCONNECT_CONNECT_CANCELLED",), "ERRCONNECT_ACTIVATION_TIMEOUT", timeout=15.0,
         note="2.11 logs 'Timeout waiting for activation' and aborts the connect: "
              "CONNECT_CANCELLED 0x0B; 0x1C is 3.x",
         probe_note="rdpprobe names the taxonomy's 0x1C"),
)


@dataclass(frozen=True)
class Outcome:
    """What xfreerdp and rdpprobe did against one case's scenario."""

    rc: int
    names: tuple[str, ...]
    active: bool
    requested: tuple[str, ...]
    connections: int
    probe_row: str
    probe_freerdp: str | None
    output: str = field(repr=False)


def run_xfreerdp(display: str, port: int, case: Case) -> tuple[int, str]:
    """xfreerdp against 127.0.0.1:``port`` under ``case.timeout``; (rc, log).

    Line-buffered output (``stdbuf``), so the log is complete even when ``timeout``
    stops the client.
    """
    argv = ["timeout", "-k", str(KILL_GRACE), str(case.timeout), "stdbuf", "-oL", "-eL",
            "xfreerdp", f"/v:127.0.0.1:{port}", f"/u:{USER}", f"/p:{case.password}",
            "/cert:ignore", "/log-level:DEBUG", *case.args]
    with tempfile.TemporaryDirectory(prefix="rdpprobe-xf-") as home:
        env = dict(os.environ, DISPLAY=display, HOME=home, XDG_CONFIG_HOME=f"{home}/.config")
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=case.timeout + KILL_GRACE + 5)
        except subprocess.TimeoutExpired:
            harness.stop_process(proc)
            out, _ = proc.communicate(timeout=harness.STOP_TIMEOUT)
        finally:
            harness.stop_process(proc)
    return proc.returncode, out.decode("utf-8", "replace")


def run_case(display: str, case: Case) -> Outcome:
    with MockRdpServer(case.scenario, user=USER, password=PASSWORD) as server:
        rc, out = run_xfreerdp(display, server.address[1], case)
    records = server.records  # complete once the server stopped
    with MockRdpServer(case.scenario, user=USER, password=PASSWORD) as server:
        host, port = server.address
        result = rdpprobe.probe(f"{host}:{port}", timeout=3, deadline=8, user=USER,
                                password=case.password, **case.probe_options)
    requested = tuple(m.group(1) for r in records for n in r.notes
                      if (m := _REQUESTED_RE.match(n)))
    return Outcome(rc, tuple(dict.fromkeys(_NAME_RE.findall(out))),
                   "--> CONNECTION_STATE_ACTIVE" in out, requested, len(records),
                   result.verdict.taxonomy_id, result.verdict.freerdp, out)


#: Log lines shown before the first error name, and from the end, when a case fails.
EVIDENCE_LINES = 30


def _evidence(got: Outcome) -> str:
    """The log around the first error name xfreerdp gave, and its end: what a failure needs."""
    lines = got.output.splitlines()
    first = next((i for i, line in enumerate(lines) if _NAME_RE.search(line)), len(lines))
    around = lines[max(0, first - EVIDENCE_LINES) : first + 1]
    return "\n".join([f"connections made: {got.connections}", *around, "[…]", *lines[-EVIDENCE_LINES:]])


def run_all(display: str, cases: tuple[Case, ...] = CASES) -> dict[str, Outcome]:
    with ThreadPoolExecutor(WORKERS) as pool:
        outcomes = list(pool.map(lambda c: run_case(display, c), cases))
    return {case.id: outcome for case, outcome in zip(cases, outcomes)}


@pytest.fixture(scope="module")
def outcomes() -> Iterator[dict[str, Outcome]]:
    harness.require("xfreerdp")
    harness.require("stdbuf")
    with harness.xvfb() as display:
        yield run_all(display)


def test_cases_name_real_scenarios_and_their_rows() -> None:
    scenarios = builtin_scenarios()
    for case in CASES:
        assert case.row in scenarios[case.scenario].taxonomy, case.id


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_xfreerdp_fails_as_the_taxonomy_predicts(outcomes: dict[str, Outcome], case: Case) -> None:
    got = outcomes[case.id]
    assert (got.rc, got.names, got.active) == (case.rc, case.names, case.active), _evidence(got)
    if case.requested is not None:
        assert got.requested == case.requested


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rdpprobe_names_the_same_freerdp_error(outcomes: dict[str, Outcome], case: Case) -> None:
    got = outcomes[case.id]
    assert got.probe_row == case.row
    assert got.probe_freerdp == case.probe
    # Either rdpprobe and xfreerdp 2.11 agree, or the case says why not.
    agree = case.probe is None and not got.names or case.probe in got.names
    assert agree or case.probe_note, (case.probe, got.names)


# ---------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------

def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_table(outcomes: dict[str, Outcome], cases: tuple[Case, ...] = CASES) -> str:
    lines = [
        "# xfreerdp 2.11 against the mock's fault scenarios",
        "",
        "Generated by `python3 -m tests.mock.test_interop_faults`; asserted by "
        "`tests/mock/test_interop_faults.py`. Columns: the taxonomy §4.1 row and its FreeRDP "
        "column; rdpprobe's verdict (row / FreeRDP name); what xfreerdp 2.11.7 did (exit code "
        "— 124 means still running when `timeout` stopped it — and the ERRCONNECT/ERRINFO "
        "names it logged); why 2.11 or rdpprobe differ from the taxonomy, where they do.",
        "",
        "| scenario | row | taxonomy FreeRDP | rdpprobe verdict | xfreerdp 2.11 | difference |",
        "|---|---|---|---|---|---|",
    ]
    for case in cases:
        got = outcomes[case.id]
        said = f"rc {got.rc}, " + (", ".join(got.names) or "no error")
        if got.active:
            said += ", reached ACTIVE"
        if case.requested is not None:
            said += f"; requestedProtocols per connection: {', '.join(got.requested)}"
        notes = "; ".join(n for n in (
            f"xfreerdp: {case.note}" if case.note else "",
            f"rdpprobe: {case.probe_note}" if case.probe_note else "") if n)
        lines.append("| " + " | ".join(_cell(c) for c in (
            f"`{case.id}`", case.row, case.taxonomy,
            f"{got.probe_row} / {got.probe_freerdp or '—'}", said, notes or "agrees")) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    harness.require("xfreerdp")
    with harness.xvfb() as display:
        found = run_all(display)
    TABLE.write_text(render_table(found), encoding="utf-8")
    print(f"wrote {TABLE}")
    mismatches = [c.id for c in CASES
                  if (found[c.id].rc, found[c.id].names, found[c.id].active) != (c.rc, c.names, c.active)
                  or found[c.id].probe_freerdp != c.probe]
    for name in mismatches:
        print(f"differs from the expectation: {name}", file=sys.stderr)
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
