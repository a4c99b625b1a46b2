"""A probe result for a person: the phase ladder, the verdict, the facts, the fixes.

Prose goes out as ``Text``: rich neither highlights it (numbers and addresses coloured at
random) nor reads its brackets as markup (a server's names are in it); colour is set only
where it means something (the marks, the verdict, the notes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from rdpprobe.addresses import host_port
from rdpprobe.result import (
    AUTH_FAILED, AUTH_NOT_PERFORMED, AUTH_SUCCEEDED, AUTH_WITHHELD, ProbeResult, RdpEncryptionAuditFacts, Target, TlsAuditFacts,
    TlsVersionSupport,
)
from rdpprobe.sequence.phases import Phase
from rdpprobe.sequence.prober import SoFar

OK_MARK = "✓"
FAIL_MARK = "✗"
SKIP_MARK = "–"
INTERRUPTED_MARK = "…"
#: How each severity is drawn in the report.
SEVERITY_STYLES = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def render_result(console: Console, result: ProbeResult, credentials_given: bool = False) -> None:
    """Print ``result`` as the ``rdpprobe check`` report; ``credentials_given``: ``--user``
    was, and the headline says what became of the credentials."""
    _heading(console, result.target)
    console.print(_ladder(result))
    _verdict(console, result, credentials_given)
    _advisories(console, result)
    _findings(console, result)
    _facts(console, result)
    _audit(console, result)
    _remediation(console, result)


def render_interrupted(console: Console, so_far: SoFar) -> None:
    """Print the ladder of a probe cut short (Ctrl-C): the phases passed, the one it was in."""
    _heading(console, so_far.target)
    timings = dict(so_far.timings)
    if so_far.current is not None:
        timings[so_far.current] = so_far.current_s
    console.print(_ladder_of(timings, lambda phase: _row_so_far(so_far, phase)))
    during = f" during {so_far.current.value}" if so_far.current is not None else ""
    _say(console, f"interrupted (Ctrl-C){during}: no verdict", "bold yellow")


def _heading(console: Console, target: Target) -> None:
    where = host_port(target.host, target.port)
    if target.address and target.address != target.host:
        where += f" ({target.address})"
    _say(console, f"rdpprobe check {where}", "bold")


def _ladder(result: ProbeResult) -> Table:
    return _ladder_of(dict(result.timings), lambda phase: _row(result, phase))


def _ladder_of(timings: dict[Phase, float], row: Callable[[Phase], tuple[str, str, str]]) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    for phase in Phase:
        mark, style, note = row(phase)
        seconds = timings.get(phase)
        took = f"{seconds * 1000:.0f} ms" if seconds is not None else ""
        table.add_row(Text(mark, style=style), Text(phase.value), Text(took), Text(note))
    return table


def _row_so_far(so_far: SoFar, phase: Phase) -> tuple[str, str, str]:
    if phase in so_far.skipped:
        return SKIP_MARK, "dim", "skipped"
    if phase is so_far.current:
        return INTERRUPTED_MARK, "bold yellow", "interrupted"
    if any(done is phase for done, _ in so_far.timings):
        return OK_MARK, "green", ""
    return " ", "dim", ""


def _row(result: ProbeResult, phase: Phase) -> tuple[str, str, str]:
    if phase in result.skipped_phases:
        return SKIP_MARK, "dim", "skipped"
    if result.failed_phase is phase:
        return FAIL_MARK, "bold red", f"{result.signal.value}: {result.detail or ''}"
    reached = result.phase_reached
    if reached is not None and phase <= reached:
        note = result.detail if phase is reached and result.ok else ""
        return OK_MARK, "green", note or ""
    return " ", "dim", ""


def _say(console: Console, text: str, style: str = "") -> None:
    """One line of prose, as is: no highlighting, no markup."""
    console.print(Text(text, style=style))


def credential_outcome(result: ProbeResult) -> tuple[str, bool]:
    """What became of the credentials ``--user`` gave, for the headline, and whether they
    were verified: "credentials accepted", "credentials refused (0x807): …", "credentials
    not checked: …" (never success where the server ran no CredSSP)."""
    auth = result.facts.auth
    status, reason = (auth.status, auth.reason) if auth is not None else (None, None)
    because = f": {reason}" if reason else ""
    if status == AUTH_SUCCEEDED:
        return "credentials accepted", True
    if status == AUTH_FAILED:
        ms = result.verdict.ms_client
        code = f" (0x{ms.code:x})" if ms is not None else ""
        return f"credentials refused{code}{because}", False
    if status == AUTH_NOT_PERFORMED:
        return f"credentials not checked{because}", False
    if status == AUTH_WITHHELD:  # Never sent: the server had not proved its identity.
        return f"credentials withheld{because}", False
    if status is not None and reason:  # A status added later (withheld …) says its own why.
        return f"credentials {status.replace('_', ' ')}{because}", False
    ended = result.failed_phase or result.phase_reached
    where = f" in {ended.value}" if ended is not None else ""
    return f"credentials not checked: the probe ended{where}, before CredSSP", False


def _verdict(console: Console, result: ProbeResult, credentials_given: bool) -> None:
    verdict = result.verdict
    headline, ok = verdict.summary, result.ok
    if credentials_given:
        outcome, verified = credential_outcome(result)
        headline, ok = f"{headline}; {outcome}", ok and verified
    _say(console, headline, "bold green" if ok else "bold red")
    ms = verdict.ms_client
    if ms is not None:
        extended = f" (extended 0x{ms.extended:x})" if ms.extended is not None else ""
        _say(console, f"A Microsoft client would show 0x{ms.code:x}{extended}: {ms.message}")
    if verdict.freerdp:
        code = f" [0x{verdict.freerdp_code:08x}]" if verdict.freerdp_code is not None else ""
        _say(console, f"FreeRDP would report {verdict.freerdp}{code}")
    for cause in verdict.causes:
        _say(console, f"  likely cause: {cause}")


def _advisories(console: Console, result: ProbeResult) -> None:
    """Findings that did not stop the probe but that a client would meet."""
    for advisory in result.advisories:
        ms = advisory.ms_client
        code = f" (a Microsoft client would show 0x{ms.code:x})" if ms else ""
        _say(console, f"Note: {advisory.summary}{code}", "yellow")
        for step in advisory.remediation:
            _say(console, f"  fix: {step}")


def _findings(console: Console, result: ProbeResult) -> None:
    """The security findings, most severe first (as ``result.findings`` holds them), each
    with its evidence and fix. None found is not a pass: only what was seen is judged."""
    _say(console, "Findings", "bold")
    if not result.findings:
        _say(console, "  none from what the probe observed (what it could not observe is unknown)")
        return
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)  # The indent, then the severity: the text wraps beside them.
    grid.add_column(no_wrap=True)
    grid.add_column()
    for finding in result.findings:
        severity = Text(finding.severity.upper(), style=SEVERITY_STYLES.get(finding.severity, ""))
        grid.add_row("", severity, Text(f"{finding.id}: {finding.title}"))
        for fact in finding.evidence:
            grid.add_row("", "", Text(f"seen: {fact}"))
        grid.add_row("", "", Text(f"fix: {finding.fix}"))
    console.print(grid)


#: Shown for a fact the probe set out to learn and could not observe, and for a yes/no
#: fact it could not establish.
UNKNOWN = "unknown"


def _facts(console: Console, result: ProbeResult) -> None:
    facts = {k: v for k, v in result.to_dict()["facts"].items() if k not in AUDIT_FACTS}
    if not facts:
        return
    _say(console, "Facts", "bold")
    for key, value in _flatten(facts):
        _say(console, f"  {key}: {value}")
    if "unanswered_protocols" in facts and "nla_required" not in facts:
        _say(console, f"  nla_required: {UNKNOWN} (no enumeration connection showed it)")


#: Facts that ``_audit`` shows in a section of their own.
AUDIT_FACTS = ("tls_audit", "rdp_encryption_audit")


def _audit(console: Console, result: ProbeResult) -> None:
    """What ``--audit`` enumerated: RDP encryption methods, then TLS per version."""
    rdp, tls = result.facts.rdp_encryption_audit, result.facts.tls_audit
    if rdp is None and tls is None:
        return
    _say(console, "Audit", "bold")
    if rdp is not None:
        for line in _rdp_lines(rdp):
            _say(console, f"  {line}")
    if tls is not None:
        for line in _tls_lines(tls):
            _say(console, f"  {line}")


def _rdp_lines(rdp: RdpEncryptionAuditFacts) -> list[str]:
    def names(methods: tuple[str, ...]) -> str:
        return ", ".join(m.removeprefix("ENCRYPTION_METHOD_") for m in methods) or "none"

    lines = [f"RDP encryption methods accepted: {names(rdp.methods_accepted)}; refused: {names(rdp.methods_refused)}"]
    if rdp.methods_unknown:
        lines.append(f"RDP encryption methods unknown: {names(rdp.methods_unknown)}")
    if rdp.levels:
        lines.append("RDP encryption level: " + ", ".join(l.removeprefix("ENCRYPTION_LEVEL_") for l in rdp.levels))
    return lines


def _tls_lines(tls: TlsAuditFacts) -> list[str]:
    lines = [f"{v.version}: {_version_state(v)}" for v in tls.versions]
    preference = UNKNOWN if tls.server_cipher_preference is None else ("yes" if tls.server_cipher_preference else "no")
    lines.append(f"TLS server cipher preference: {preference}")
    if tls.groups is not None:
        lines.append("TLS 1.3 groups accepted: " + (", ".join(tls.groups) or "none"))
    if tls.library:
        lines.append(f"TLS offers made with {tls.library}; suites it cannot offer are untested")
    return lines


def _version_state(version: TlsVersionSupport) -> str:
    if version.accepted is None:
        return "untested" if not version.complete else UNKNOWN
    if not version.accepted:
        return "refused"
    cut = "" if version.complete else " (enumeration cut short: others unknown)"
    return f"accepted with {len(version.ciphers)} suites{cut}: " + ", ".join(version.ciphers)


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        rows: list[tuple[str, str]] = []
        for key, item in value.items():
            rows.extend(_flatten(item, f"{prefix}.{key}" if prefix else key))
        return rows
    if isinstance(value, list):
        return [(prefix, ", ".join(str(v) for v in value) or "-")]
    return [(prefix, str(value))]


def _remediation(console: Console, result: ProbeResult) -> None:
    steps = result.verdict.remediation
    if not steps:
        return
    _say(console, "What to do", "bold")
    for number, step in enumerate(steps, start=1):
        _say(console, f"  {number}. {step}")
