"""cProfile of one scan against the local responder: where rdpprobe's per-probe time goes.

Run: ``python3 benchmarks/profile_scan.py [--depth quick|nla] [--count N] [--concurrency C]``.
Scans ``N`` probes of the ``hybrid`` responder in this process, JSON Lines to ``/dev/null``,
under cProfile, after a warm-up; writes the top functions by own time and by cumulative
time to ``benchmarks/profiles/<depth>.txt``. cProfile's own overhead inflates every Python
call alike, so read the figures as shares, not as microseconds.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import bench_scan  # noqa: E402
import peers  # noqa: E402

PROFILES = HERE / "profiles"
TOP = 45


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", default="quick", choices=("quick", "nla"))
    parser.add_argument("--count", type=int, default=None, help="probes (quick 5 000, nla 1 000)")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--name", help="output file stem (default: the depth)")
    args = parser.parse_args()
    count = args.count or (5000 if args.depth == "quick" else 1000)

    from rdpprobe.engine import EngineOptions
    from rdpprobe.output import JsonlWriter
    from rdpprobe.scan import run_scan

    config = bench_scan._config(args.depth, 5.0)
    options = EngineOptions(concurrency=args.concurrency)
    with peers.Responder(mode="hybrid") as responder, open(os.devnull, "w", encoding="utf-8") as sink:
        targets = bench_scan._targets({"ports": [[responder.port, count]]})
        run_scan(targets[:50], config, JsonlWriter(sink), options)  # warm-up: imports, caches
        profile = cProfile.Profile()
        profile.enable()
        run_scan(targets, config, JsonlWriter(sink), options)
        profile.disable()
    out = io.StringIO()
    out.write(f"# {args.depth}, {count} probes, concurrency {args.concurrency}; cProfile\n")
    stats = pstats.Stats(profile, stream=out)
    total_calls = stats.total_calls  # type: ignore[attr-defined]
    out.write(f"# {total_calls / count:.0f} Python calls per probe, {stats.total_tt / count * 1e6:.0f} µs per probe under the profiler\n")  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(TOP)
    stats.sort_stats("cumulative").print_stats(TOP)
    PROFILES.mkdir(exist_ok=True)
    path = PROFILES / f"{args.name or args.depth}.txt"
    path.write_text(out.getvalue())
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
