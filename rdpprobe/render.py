"""A probe result for a person: the phase ladder, the verdict, the facts, the fixes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from rdpprobe.addresses import host_port
from rdpprobe.result import ProbeResult, RdpEncryptionAuditFacts, Target, TlsAuditFacts, TlsVersionSupport
from rdpprobe.sequence.phases import Phase
from rdpprobe.sequence.prober import SoFar

OK_MARK = "✓"
FAIL_MARK = "✗"
SKIP_MARK = "–"
INTERRUPTED_MARK = "…"
#: How each severity is drawn in the report.
SEVERITY_STYLES = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def render_result(console: Console, result: ProbeResult) -> None:
    """Print ``result`` as the ``rdpprobe check`` report."""
    _heading(console, result.target)
    console.print(_ladder(result))
    _verdict(console, result)
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
    console.print(Text(f"interrupted (Ctrl-C){during}: no verdict", style="bold yellow"))


def _heading(console: Console, target: Target) -> None:
    where = host_port(target.host, target.port)
    if target.address and target.address != target.host:
        where += f" ({target.address})"
    console.print(Text(f"rdpprobe check {where}", style="bold"))


def _ladder(result: ProbeResult) -> Table:
    return _ladder_of(dict(result.timings), lambda phase: _row(result, phase))


def _ladder_of(timings: dict[Phase, float], row: Callable[[Phase], tuple[str, str, str]]) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    for phase in Phase:
        mark, style, note = row(phase)
        seconds = timings.get(phase)
        took = f"{seconds * 1000:.0f} ms" if seconds is not None else ""
        table.add_row(Text(mark, style=style), phase.value, took, note)
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


def _verdict(console: Console, result: ProbeResult) -> None:
    verdict = result.verdict
    style = "green" if result.ok else "red"
    console.print(Text(verdict.summary, style=f"bold {style}"))
    ms = verdict.ms_client
    if ms is not None:
        extended = f" (extended 0x{ms.extended:x})" if ms.extended is not None else ""
        console.print(f"A Microsoft client would show 0x{ms.code:x}{extended}: {ms.message}")
    if verdict.freerdp:
        code = f" [0x{verdict.freerdp_code:08x}]" if verdict.freerdp_code is not None else ""
        console.print(f"FreeRDP would report {verdict.freerdp}{code}")
    for cause in verdict.causes:
        console.print(f"  likely cause: {cause}")


def _advisories(console: Console, result: ProbeResult) -> None:
    """Findings that did not stop the probe but that a client would meet."""
    for advisory in result.advisories:
        ms = advisory.ms_client
        code = f" (a Microsoft client would show 0x{ms.code:x})" if ms else ""
        console.print(Text(f"Note: {advisory.summary}{code}", style="yellow"))
        for step in advisory.remediation:
            console.print(f"  fix: {step}")


def _findings(console: Console, result: ProbeResult) -> None:
    """The security findings, most severe first (as ``result.findings`` holds them), each
    with its evidence and fix. None found is not a pass: only what was seen is judged."""
    console.print(Text("Findings", style="bold"))
    if not result.findings:
        console.print("  none from what the probe observed (what it could not observe is unknown)")
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


#: Shown for a fact the probe set out to learn and could not observe.
UNKNOWN = "unknown"


def _facts(console: Console, result: ProbeResult) -> None:
    facts = {k: v for k, v in result.to_dict()["facts"].items() if k not in AUDIT_FACTS}
    if not facts:
        return
    console.print(Text("Facts", style="bold"))
    for key, value in _flatten(facts):
        console.print(f"  {key}: {value}")
    if "unanswered_protocols" in facts and "nla_required" not in facts:
        console.print(f"  nla_required: {UNKNOWN} (no enumeration connection showed it)")


#: Facts that ``_audit`` shows in a section of their own.
AUDIT_FACTS = ("tls_audit", "rdp_encryption_audit")
#: How the report says a yes/no fact the probe could not establish.
UNKNOWN = "unknown"


def _audit(console: Console, result: ProbeResult) -> None:
    """What ``--audit`` enumerated: RDP encryption methods, then TLS per version."""
    rdp, tls = result.facts.rdp_encryption_audit, result.facts.tls_audit
    if rdp is None and tls is None:
        return
    console.print(Text("Audit", style="bold"))
    if rdp is not None:
        for line in _rdp_lines(rdp):
            console.print(f"  {line}")
    if tls is not None:
        for line in _tls_lines(tls):
            console.print(f"  {line}")


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
    console.print(Text("What to do", style="bold"))
    for number, step in enumerate(steps, start=1):
        console.print(f"  {number}. {step}")
