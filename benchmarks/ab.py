"""Interleaved A/B: the engine's CPU per probe in two checkouts, against one responder.

Run: ``python3 benchmarks/ab.py BASE_DIR [--depth quick|nla] [--count N] [--rounds R]``,
where ``BASE_DIR`` is another checkout of the project (``git worktree add /tmp/base HEAD~1``)
and the work tree is the checkout this script lives in. Each round runs one scan per
checkout, alternating, each in a fresh child process that measures its own CPU around the
scan (imports and a 100-probe warm-up excluded), JSON Lines to ``/dev/null`` included.

Whole benchmark runs on a shared machine move by several per cent between runs; alternating
the two checkouts over the same minutes is what shows the effect of one change. Not a test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import peers  # noqa: E402

CHILD_TIMEOUT_S = 600
WARM_UP_PROBES = 100

#: Runs inside the child, with the checkout to measure first on ``sys.path``.
CHILD = r"""
import json, os, sys
root = sys.argv[1]
sys.path.insert(0, root + "/benchmarks")
import bench_scan  # puts ``root`` itself first on sys.path
import rdpprobe
assert rdpprobe.__file__.startswith(root), rdpprobe.__file__
from rdpprobe.engine import EngineOptions
from rdpprobe.output import JsonlWriter
from rdpprobe.result import Target
from rdpprobe.scan import run_scan

port, depth, count, concurrency, warm = (int(sys.argv[2]), sys.argv[3], int(sys.argv[4]),
                                         int(sys.argv[5]), int(sys.argv[6]))
config = bench_scan._config(depth, 2.0)
options = EngineOptions(concurrency=concurrency)
targets = [Target("127.0.0.1", port, "127.0.0.1")] * count
with open(os.devnull, "w", encoding="utf-8") as sink:
    run_scan(targets[:warm], config, JsonlWriter(sink), options)
    before = bench_scan._cpu()
    run_scan(targets, config, JsonlWriter(sink), options)
print(json.dumps((bench_scan._cpu() - before) / count * 1e6))
"""


def measure(root: Path, port: int, depth: str, count: int, concurrency: int) -> float:
    """CPU µs per probe of one scan by the checkout at ``root``."""
    argv = [sys.executable, "-c", CHILD, str(root), str(port), depth, str(count), str(concurrency), str(WARM_UP_PROBES)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{root}: {proc.stderr[-2000:]}")
    return float(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="the other checkout (the A side)")
    parser.add_argument("--depth", default="quick", choices=("quick", "nla"))
    parser.add_argument("--count", type=int, default=None, help="probes per scan (quick 10 000, nla 2 000)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    count = args.count or (10_000 if args.depth == "quick" else 2_000)
    sides = {"base": args.base.resolve(), "work": HERE.parent}
    runs: dict[str, list[float]] = {name: [] for name in sides}
    with peers.Responder(mode="hybrid") as responder:
        for _ in range(args.rounds):
            for name, root in sides.items():
                runs[name].append(measure(root, responder.port, args.depth, count, args.concurrency))
    medians = {name: statistics.median(values) for name, values in runs.items()}
    for name, values in runs.items():
        print(f"{args.depth} {name}: median {medians[name]:.1f} µs/probe  runs {[round(v) for v in values]}")
    print(f"{args.depth} work / base = {medians['work'] / medians['base']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
