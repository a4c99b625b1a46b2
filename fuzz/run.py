"""Run every fuzz target, one after another: ``python -m fuzz.run --seconds N``.

Each target runs as its own process (``python fuzz/<target>.py``) for ``--seconds`` or
``--runs`` executions, whichever comes first, on its corpus under ``fuzz/corpus/``, seeded first when missing; a
broken invariant leaves a ``crash-*`` file under ``fuzz/crashes/<target>/`` and makes the
run fail. The summary gives, per target, the executions, the coverage (libFuzzer's ``cov``
edges and ``ft`` features) and the peak RSS it reported.

``--adopt`` copies every crash file into ``tests/regressions/<target>/``, where
``tests/regressions/test_fuzz_regressions.py`` replays it through the target's ``check``:
adopt a crash once the bug it found is fixed, and it stays fixed.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from fuzz.common import CRASH_DIR, FUZZ_DIR, ROOT, TARGETS, corpus

REGRESSION_DIR = ROOT / "tests" / "regressions"
#: Seconds a target's process may take beyond its fuzzing time (start-up, corpus loading).
GRACE_S = 120
_STATUS = re.compile(r"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+).*?rss: (\d+)Mb", re.M)
_DONE = re.compile(r"^Done (\d+) runs", re.M)


@dataclass
class Outcome:
    target: str
    returncode: int
    executions: int
    coverage: int
    features: int
    rss_mb: int
    crashes: list[Path]


def run_target(target: str, seconds: int | None, runs: int | None, extra: list[str]) -> Outcome:
    """Fuzz ``target`` once; what libFuzzer reported."""
    before = set(_crashes(target))
    command = [sys.executable, str(FUZZ_DIR / f"{target}.py"), *extra]
    if seconds is not None:
        command.append(f"-max_total_time={seconds}")
    if runs is not None:
        command.append(f"-runs={runs}")
    command.append(str(corpus(target)))
    limit = seconds + GRACE_S if seconds is not None else None
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=limit, check=False)
    log = done.stdout + done.stderr
    statuses = _STATUS.findall(log)
    executions, coverage, features, rss = (int(v) for v in statuses[-1]) if statuses else (0, 0, 0, 0)
    finished = _DONE.findall(log)
    if finished:
        executions = int(finished[-1])
    crashes = sorted(set(_crashes(target)) - before)
    if done.returncode and not crashes:
        sys.stderr.write(log[-4000:])
    return Outcome(target, done.returncode, executions, coverage, features, rss, crashes)


def _crashes(target: str) -> list[Path]:
    where = CRASH_DIR / target
    return [path for path in where.glob("*") if path.is_file()] if where.is_dir() else []


def adopt() -> list[Path]:
    """Copy every crash file into ``tests/regressions/<target>/``; the copies made."""
    copied = []
    for target in TARGETS:
        for crash in _crashes(target):
            into = REGRESSION_DIR / target
            into.mkdir(parents=True, exist_ok=True)
            copied.append(Path(shutil.copy2(crash, into / crash.name)))
    return copied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", default=list(TARGETS), help=f"any of {', '.join(TARGETS)} (all)")
    parser.add_argument("--seconds", type=int, help="fuzzing time per target")
    parser.add_argument("--runs", type=int, help="executions per target (with --seconds: whichever comes first)")
    parser.add_argument("--adopt", action="store_true", help="copy crash files into tests/regressions/ and stop")
    parser.add_argument("--libfuzzer", action="append", default=[], metavar="FLAG",
                        help="a libFuzzer flag for every target, e.g. --libfuzzer=-jobs=2")
    args = parser.parse_args(argv)
    if args.adopt:
        for path in adopt():
            print(f"adopted {path.relative_to(ROOT)}")
        return 0
    unknown = sorted(set(args.targets) - set(TARGETS))
    if unknown or (args.seconds is None and args.runs is None):
        parser.error(f"unknown targets: {', '.join(unknown)}" if unknown else "give --seconds, --runs or both")
    failed = False
    print(f"{'target':<14} {'executions':>11} {'cov':>6} {'ft':>7} {'rss MB':>7}  result")
    for target in args.targets:
        out = run_target(target, args.seconds, args.runs, args.libfuzzer)
        verdict = "ok" if out.returncode == 0 else f"FAILED ({len(out.crashes)} crash files)"
        failed = failed or out.returncode != 0
        print(f"{target:<14} {out.executions:>11} {out.coverage:>6} {out.features:>7} {out.rss_mb:>7}  {verdict}",
              flush=True)
        for crash in out.crashes:
            print(f"    {crash.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
