"""Cost of ``rdpprobe scan --audit`` against nmap's rdp-enum-encryption plus sslyze --starttls=rdp.

The three tools audit the same loopback targets, each in one invocation over all of them:
mock servers (TLS with and without NLA, weak TLS suites, weak RDP encryption) and, where
xrdp is installed, xrdp in ``tls`` and ``rdp`` (crypt_level low) mode. For each tool the
benchmark reports the CPU of its process (``wait4``: user + sys, start-up and imports
included, as a user pays them), the wall time, and the connections the mock servers
accepted, each per audited target of a run over all of them; the marginal CPU of a target
(the run over all less the run over the first alone, over the others), which leaves out
each tool's start-up; and one target alone. Medians of ``--rounds`` rounds, the tools
taking turns in each. rdpprobe's audit answers what both others answer together (RDP encryption
methods, TLS versions, suites and curves), so the ratios compare it with their sum.

    python3 benchmarks/bench_audit.py [--rounds 2] [--no-xrdp] [--out benchmarks/results/audit.json]

sslyze is looked for at ``.venv-sslyze/bin/python`` (``.ci/run`` makes it) or
``$SSLYZE_PYTHON``; nmap on ``PATH``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rdpprobe.mock.server import MockRdpServer  # noqa: E402

MOCK_SCENARIOS = ("windows-tls", "windows-nla", "tls-weak-ciphers", "rdp-client-compatible", "rdp-40bit-only")
SSLYZE_PYTHON = os.environ.get("SSLYZE_PYTHON", str(ROOT / ".venv-sslyze" / "bin" / "python"))
RUN_TIMEOUT = 900


def _measure(argv: list[str]) -> tuple[float, float]:
    """CPU seconds (user + sys) and wall seconds of the process ``argv``."""
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = started + RUN_TIMEOUT
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError(" ".join(argv))
        time.sleep(0.01)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, time.monotonic() - started


def _commands(ports: list[int], scratch: Path) -> dict[str, list[str]]:
    addresses = [f"127.0.0.1:{port}" for port in ports]
    return {
        "rdpprobe": [str(ROOT / ".venv" / "bin" / "python"), "-m", "rdpprobe", "scan", "--audit", *addresses,
                     "--output", os.devnull],
        "nmap": [shutil.which("nmap") or "nmap", "-sT", "-Pn", "-n", "--script", "+rdp-enum-encryption",
                 "-p", ",".join(map(str, ports)), "127.0.0.1"],
        "sslyze": [SSLYZE_PYTHON, "-m", "sslyze", "--starttls=rdp", "--sslv3", "--tlsv1", "--tlsv1_1", "--tlsv1_2",
                   "--tlsv1_3", "--elliptic_curves", "--quiet", f"--json_out={scratch / 'sslyze.json'}", *addresses],
    }


@contextlib.contextmanager
def _targets(with_xrdp: bool) -> Iterator[tuple[list[int], list[MockRdpServer]]]:
    with contextlib.ExitStack() as stack:
        mocks = [stack.enter_context(MockRdpServer(name)) for name in MOCK_SCENARIOS]
        ports = [mock.address[1] for mock in mocks]
        if with_xrdp and Path("/usr/sbin/xrdp").exists():
            from tests.interop import harness

            ports.append(stack.enter_context(harness.xrdp_server("tls")).port)
            ports.append(stack.enter_context(harness.xrdp_server("rdp", crypt_level="low")).port)
        yield ports, mocks


def run(rounds: int, with_xrdp: bool) -> dict[str, object]:
    rows: dict[str, list[dict[str, float]]] = {"rdpprobe": [], "nmap": [], "sslyze": []}
    with _targets(with_xrdp) as (ports, mocks), tempfile.TemporaryDirectory() as tmp:
        everything, first = _commands(ports, Path(tmp)), _commands(ports[:1], Path(tmp))
        for _ in range(rounds):
            for tool, argv in everything.items():
                before = sum(m.connections for m in mocks)
                cpu, wall = _measure(argv)
                accepted = sum(m.connections for m in mocks) - before
                one_cpu, one_wall = _measure(first[tool])
                rows[tool].append({
                    "cpu_s": cpu / len(ports), "wall_s": wall / len(ports), "connections": accepted / len(mocks),
                    "marginal_cpu_s": (cpu - one_cpu) / (len(ports) - 1),
                    "one_target_cpu_s": one_cpu, "one_target_wall_s": one_wall,
                })
                print(tool, json.dumps(rows[tool][-1]), flush=True)
    median = {tool: {key: statistics.median(r[key] for r in runs) for key in runs[0]} for tool, runs in rows.items()}
    both = {key: median["nmap"][key] + median["sslyze"][key] for key in median["nmap"]}
    ours = median["rdpprobe"]
    return {
        "targets": len(ports), "mock_targets": len(mocks), "rounds": rounds, "per_target_median": median,
        "nmap_plus_sslyze": both,
        "ratio_cpu": both["cpu_s"] / ours["cpu_s"], "ratio_wall": both["wall_s"] / ours["wall_s"],
        "ratio_marginal_cpu": both["marginal_cpu_s"] / ours["marginal_cpu_s"],
        "ratio_one_target_cpu": both["one_target_cpu_s"] / ours["one_target_cpu_s"],
        "ratio_one_target_wall": both["one_target_wall_s"] / ours["one_target_wall_s"],
        "each_round": rows,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-xrdp", action="store_true", help="mock servers only")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "audit.json"))
    args = parser.parse_args()
    out = run(args.rounds, not args.no_xrdp)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    summary = {k: v for k, v in out.items() if k != "each_round"}
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
