"""rdpprobe as users run it, and whether its cost stays flat as a scan grows.

Run: ``python3 benchmarks/bench_cli.py [--rounds R] [--flat-sizes 10000,100000[,1000000]]``.

``cli``: ``rdpprobe scan -iL FILE --depth D --concurrency C -o /dev/null`` as a whole
process (interpreter start, imports, target parsing, planning, the engine, JSON Lines), its
CPU (user + sys, from ``wait4``) for ``CLI_TARGETS`` targets minus that for one target,
divided by ``CLI_TARGETS - 1``: start-up and lazy imports cancel, everything done per target
counts. ``benchmarks/bare_client.py`` is measured the same way in the same round (its whole
process on the same counts), the two taking turns. The responder listens on
``CLI_TARGETS`` consecutive ports, because the scanner drops duplicate targets.

``flat``: CPU per target and peak RSS of whole scans of 10⁴, 10⁵ (and, when asked, 10⁶)
targets at ``--depth quick``: closed loopback ports (a reset per connection), one target in
``SILENT_EVERY`` on a listener that accepts and never answers (a timeout per connection).
Nothing in the engine, output or progress may grow per target: the figures should agree
within 10 %.

Not a test: on a shared machine only ratios within one run mean anything.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import peers  # noqa: E402

RESULTS = HERE / "results" / "cli.json"
CLI_TARGETS = 2000
CLI_CONCURRENCIES = (1, 50, 500)
ROUNDS = 3
PROBE_TIMEOUT_S = 5.0
FLAT_SIZES = (10_000, 100_000)
FLAT_CONCURRENCY = 500
SILENT_EVERY = 100  # one target in this many is on the silent listener
SILENT_TIMEOUT_S = 0.5  # --timeout for the flat scans: what a silent target costs in wall time
CLOSED_NET = 3  # closed targets are 127.3.x.y, on a port nothing listens on
PROCESS_TIMEOUT_S = 1800


def run_measured(argv: list[str], env: dict[str, str] | None = None, timeout: float = PROCESS_TIMEOUT_S) -> dict[str, float]:
    """Run ``argv`` to its end; its own CPU (user + sys), wall time and peak RSS (``wait4``)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert proc.stderr is not None
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            raise RuntimeError(f"{argv[:4]} ran past {timeout} s")
        time.sleep(0.02)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[:4]} exited {proc.returncode}: {err[-2000:]}")
    return {"cpu_s": usage.ru_utime + usage.ru_stime, "wall_s": wall, "maxrss_kib": usage.ru_maxrss}


def scan_argv(targets_file: Path, depth: str, concurrency: int, timeout: float = PROBE_TIMEOUT_S) -> list[str]:
    return [sys.executable, "-m", "rdpprobe", "scan", "-iL", str(targets_file), "--depth", depth,
            "--concurrency", str(concurrency), "--timeout", str(timeout), "--connect-timeout", str(timeout),
            "-o", os.devnull, "--no-progress", "--no-summary"]  # fmt: skip


def write_targets(path: Path, lines: list[str] | Any) -> Path:
    with path.open("w", encoding="ascii") as out:
        for line in lines:
            out.write(line + "\n")
    return path


def rdpprobe_cpu(root: Path, files: dict[int, Path], depth: str, concurrency: int) -> dict[int, float]:
    env = dict(os.environ, PYTHONPATH=str(root))
    return {n: run_measured(scan_argv(path, depth, concurrency), env)["cpu_s"] for n, path in files.items()}


def bare_cpu(port: int, depth: str, concurrency: int) -> dict[int, float]:
    out = {}
    for n in (1, CLI_TARGETS):
        got = peers.bare_python(port, count=n, concurrency=concurrency, depth=depth, probe_timeout=PROBE_TIMEOUT_S)
        if not got:
            raise RuntimeError(f"bare client: {got}")
        out[n] = float(got.extra["process_cpu_s"])
    return out


def per_target_us(cpu: dict[int, float]) -> float:
    return (cpu[CLI_TARGETS] - cpu[1]) / (CLI_TARGETS - 1) * 1e6


def cli(rounds: int, roots: dict[str, Path], depths: tuple[str, ...], concurrencies: tuple[int, ...]) -> list[dict[str, Any]]:
    """Whole-process CPU per target, (N targets - 1 target) / (N - 1), each root and the bare
    client taking turns in every round; medians over ``rounds``."""
    rows = []
    with peers.Responder(mode="hybrid", listeners=CLI_TARGETS) as responder, tempfile.TemporaryDirectory() as tmp:
        files = {n: write_targets(Path(tmp) / f"t{n}", (f"127.0.0.1:{responder.port + i}" for i in range(n)))
                 for n in (1, CLI_TARGETS)}  # fmt: skip
        for depth in depths:
            bare_depth = "quick" if depth == "quick" else "full"
            for concurrency in concurrencies:
                runs: dict[str, list[float]] = {name: [] for name in (*roots, "bare")}
                for _ in range(rounds):
                    for name, root in roots.items():
                        runs[name].append(per_target_us(rdpprobe_cpu(root, files, depth, concurrency)))
                    runs["bare"].append(per_target_us(bare_cpu(responder.port, bare_depth, concurrency)))
                med = {name: round(statistics.median(v), 1) for name, v in runs.items()}
                row: dict[str, Any] = {"depth": depth, "concurrency": concurrency, "rounds": rounds,
                                       "us_per_target": med, "each_round": runs}  # fmt: skip
                row["ratio_vs_bare"] = {name: round(med[name] / med["bare"], 2) for name in roots}
                rows.append(row)
                print("cli", json.dumps({k: v for k, v in row.items() if k != "each_round"}), flush=True)
    return rows


def flat_targets(n: int, closed_port: int, silent_base: int) -> Any:
    silent = 0
    for i in range(n):
        if i % SILENT_EVERY == SILENT_EVERY - 1:
            yield f"127.0.0.1:{silent_base + silent}"
            silent += 1
        else:
            yield f"127.{CLOSED_NET}.{i >> 8 & 255}.{i & 255}:{closed_port + (i >> 16)}"


def flat(sizes: tuple[int, ...], root: Path) -> list[dict[str, Any]]:
    """Whole scans of each size: CPU per target, peak RSS, wall time."""
    rows = []
    env = dict(os.environ, PYTHONPATH=str(root))
    largest = max(sizes)
    closed_port = peers.free_ports(largest // 65536 + 1)
    with peers.Responder(mode="silent", listeners=largest // SILENT_EVERY) as silent, tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = write_targets(Path(tmp) / f"flat{n}", flat_targets(n, closed_port, silent.port))
            got = run_measured(scan_argv(path, "quick", FLAT_CONCURRENCY, SILENT_TIMEOUT_S), env)
            row = {"targets": n, "silent": n // SILENT_EVERY, "cpu_us_per_target": round(got["cpu_s"] / n * 1e6, 1),
                   "peak_rss_mib": round(got["maxrss_kib"] / 1024, 1), "wall_s": round(got["wall_s"], 1)}  # fmt: skip
            rows.append(row)
            path.unlink()
            print("flat", json.dumps(row), flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--base", type=Path, help="another checkout, measured in the same rounds (A/B)")
    parser.add_argument("--depths", default="quick,nla")
    parser.add_argument("--concurrencies", default=",".join(map(str, CLI_CONCURRENCIES)))
    parser.add_argument("--flat-sizes", default=",".join(map(str, FLAT_SIZES)),
                        help="scan sizes for the flat-cost figures (add 1000000 for the full set; empty: none)")
    parser.add_argument("--no-cli", action="store_true", help="only the flat-cost figures")
    args = parser.parse_args()
    peers.build_c()
    roots = {"rdpprobe": HERE.parent}
    if args.base:
        roots = {"base": args.base.resolve(), "rdpprobe": HERE.parent}
    report: dict[str, Any] = {}
    if not args.no_cli:
        report["cli"] = cli(args.rounds, roots, tuple(args.depths.split(",")),
                            tuple(int(c) for c in args.concurrencies.split(",")))  # fmt: skip
    sizes = tuple(int(s) for s in args.flat_sizes.split(",") if s)
    if sizes:
        report["flat"] = flat(sizes, HERE.parent)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
