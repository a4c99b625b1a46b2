"""Interleaved A/B: the engine's CPU per probe in two checkouts, against one responder.

Run: ``python3 benchmarks/ab.py BASE_DIR [--depth quick|nla] [--count N] [--rounds R]``,
where ``BASE_DIR`` is another checkout of the project (``git worktree add /tmp/base HEAD~1``)
and the work tree is the checkout this script lives in. Each round runs one scan per
checkout, alternating, each through that checkout's own ``bench_scan.py --child``: a fresh
process that measures its own CPU around the scan (imports and a warm-up excluded), JSON
Lines to ``/dev/null`` included.

Whole benchmark runs on a shared machine move by several per cent between runs; alternating
the two checkouts over the same minutes is what shows the effect of one change. Not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_scan  # noqa: E402
import peers  # noqa: E402

PROBE_TIMEOUT_S = 5.0  # per phase, as in bench_scan's CPU rows


def measure(root: Path, port: int, depth: str, count: int, concurrency: int) -> float:
    """CPU µs per probe of one scan by the checkout at ``root`` (``bench_scan``'s child,
    run from that checkout, warm-up and imports excluded)."""
    spec = {"depth": depth, "timeout": PROBE_TIMEOUT_S, "concurrency": concurrency,
            "ports": [[port, count]], "warm": True}  # fmt: skip
    return float(bench_scan.run_child(spec, root)["cpu_s"]) / count * 1e6


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
