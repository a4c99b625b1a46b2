"""A scan spread over processes: blackholes, scaling from 1 to 2 workers, the coordinator's
cost per target, and a Dask LocalCluster against ``--workers``.

Run: ``python3 benchmarks/bench_scale.py [--quick-count N] [--nla-count N]``. Everything runs
on loopback against the C responder (``c/``, see ``bench_scan.py``); each scan runs in a child
process that measures its own CPU (the coordinator's, intake thread included) and its
workers' (reaped before it returns). Writes ``benchmarks/results/scale.json``.

Targets are distinct names that all stand for 127.0.0.1 (the responder listens there only),
so each is a target of its own and none is resolved. Not a test: the figures depend on the
machine; compare rows of one run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import peers  # noqa: E402

RESULTS = HERE / "results" / "scale.json"
BLACKHOLE_TARGETS, BLACKHOLE_SHARE, BLACKHOLE_TIMEOUT, BLACKHOLE_CONCURRENCY = 1000, 0.9, 1.0, 100
THROUGHPUT_CONCURRENCY = 100  # per worker
CHILD_TIMEOUT_S = 300


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _targets(spec: dict[str, Any]) -> list[Any]:
    from rdpprobe.result import Target

    out, n = [], 0
    for port, count in spec["ports"]:
        for _ in range(count):
            out.append(Target(f"t{n}.bench", port, "127.0.0.1"))
            n += 1
    return out


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """One scan as ``spec`` says: in this process (``workers`` 0), on a worker pool, or on a
    LocalCluster of ``dask`` worker processes; JSON Lines to /dev/null."""
    from rdpprobe.engine import EngineOptions
    from rdpprobe.output import JsonlWriter
    from rdpprobe.scale.run import write_scan
    from rdpprobe.scale.shares import ScanSpec
    from rdpprobe.scan import ScanReport, depth_config, run_scan
    from rdpprobe.sequence.config import ProbeConfig, Timeouts
    from rdpprobe.targets import Exclusions

    t = spec["timeout"]
    config = depth_config(ProbeConfig(timeouts=Timeouts(t, t, t * 8)), spec["depth"])
    options = EngineOptions(concurrency=spec["concurrency"])
    targets = _targets(spec)
    sink = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    report, cluster, address = ScanReport(), None, None
    if spec.get("dask"):
        from distributed import LocalCluster

        cluster = LocalCluster(n_workers=spec["dask"], threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address="127.0.0.1:0")  # fmt: skip
        address = cluster.scheduler_address
    self0, kids0, wall0 = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    if spec["workers"] == 0 and address is None:
        run_scan(targets, config, JsonlWriter(sink), options, report=report)
    else:
        scan = ScanSpec.of(config, options, Exclusions({}, frozenset()), payload="jsonl")
        write_scan(targets, scan, JsonlWriter(sink), sink, report, None, spec["workers"], address)
    wall = time.perf_counter() - wall0
    parent, kids = _cpu(resource.RUSAGE_SELF) - self0, _cpu(resource.RUSAGE_CHILDREN) - kids0
    if cluster is not None:
        workers_cpu = _dask_cpu(cluster)
        cluster.close()
        kids = workers_cpu
    signals = dict(report.summary.by_category)
    return {"wall_s": wall, "parent_cpu_s": parent, "workers_cpu_s": kids, "results": report.stats.results,
            "by_category": signals}  # fmt: skip


def _dask_cpu(cluster: Any) -> float:
    """The CPU its worker processes have used so far (they are not this process's children
    until the cluster closes)."""
    total = 0.0
    for worker in cluster.workers.values():
        pid = worker.process.process.pid
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    proc = subprocess.run([sys.executable, str(Path(__file__)), "--child", json.dumps(spec)], capture_output=True,
                          text=True, timeout=CHILD_TIMEOUT_S, env=env, check=False)  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"child failed: {proc.stderr[-2000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def blackholes() -> dict[str, Any]:
    """90 % silent targets: one process at C, two workers at 2C, against ceil(B / 2C) x T."""
    holes = int(BLACKHOLE_TARGETS * BLACKHOLE_SHARE)
    c = BLACKHOLE_CONCURRENCY
    out: dict[str, Any] = {"targets": BLACKHOLE_TARGETS, "blackholes": holes, "timeout_s": BLACKHOLE_TIMEOUT, "C": c}
    with peers.Responder(mode="silent") as silent, peers.Responder(mode="hybrid") as hybrid:
        ports = [[silent.port, holes], [hybrid.port, BLACKHOLE_TARGETS - holes]]
        for label, workers, concurrency in (("one_process_C", 0, c), ("two_workers_2C", 2, 2 * c)):
            spec = {"depth": "quick", "timeout": BLACKHOLE_TIMEOUT, "concurrency": concurrency, "workers": workers,
                    "ports": ports}  # fmt: skip
            got, empty = run_child(spec), run_child(dict(spec, ports=[[hybrid.port, 0]]))
            out[label] = {"wall_s": round(got["wall_s"], 2), "startup_s": round(empty["wall_s"], 2),
                          "results": got["results"], "by_category": got["by_category"]}  # fmt: skip
    out["bound_2C_s"] = round(1.1 * math.ceil(holes / (2 * c)) * BLACKHOLE_TIMEOUT, 2)
    two = out["two_workers_2C"]
    out["met"] = two["wall_s"] <= out["bound_2C_s"]
    out["met_past_startup"] = two["wall_s"] - two["startup_s"] <= out["bound_2C_s"]
    print("blackholes", json.dumps(out), flush=True)
    return out


def _row(got: dict[str, Any], n: int) -> dict[str, Any]:
    return {
        "per_s": round(n / got["wall_s"], 1), "wall_s": round(got["wall_s"], 2), "results": got["results"],
        "parent_cpu_us_per_target": round(got["parent_cpu_s"] / n * 1e6, 1),
        "workers_cpu_us_per_target": round(got["workers_cpu_s"] / n * 1e6, 1),
    }  # fmt: skip


def _past_startup(full: dict[str, Any], empty: dict[str, Any]) -> dict[str, Any]:
    """``full`` less a run of the same set-up on no targets: worker start-up and exit left out."""
    return {key: full[key] - empty[key] for key in ("wall_s", "parent_cpu_s", "workers_cpu_s")} | {"results": full["results"]}


def scaling(depth: str, n: int) -> dict[str, Any]:
    """One process, a pool of one worker, of two, and a LocalCluster of two, on ``n`` targets;
    each also on no targets, whose cost (start-up, imports, exit) is taken off."""
    out: dict[str, Any] = {"depth": depth, "targets": n}
    with peers.Responder(mode="hybrid") as responder:
        base = {"depth": depth, "timeout": 5.0, "ports": [[responder.port, n]]}
        runs = {"one_process": (0, None, 1), "workers_1": (1, None, 1), "workers_2": (2, None, 2), "dask_2": (0, 2, 2)}
        for label, (workers, dask, engines) in runs.items():
            spec = dict(base, workers=workers, dask=dask, concurrency=THROUGHPUT_CONCURRENCY * engines)
            full, empty = run_child(spec), run_child(dict(spec, ports=[[responder.port, 0]]))
            out[label] = _row(_past_startup(full, empty), n) | {"with_startup": _row(full, n)}
    per_probe = out["workers_2"]["workers_cpu_us_per_target"]
    out["scaling_efficiency"] = round(out["workers_2"]["per_s"] / out["workers_1"]["per_s"] / 2, 3)
    out["scaling_efficiency_vs_one_process"] = round(out["workers_2"]["per_s"] / out["one_process"]["per_s"] / 2, 3)
    out["parent_cpu_share_of_probe"] = round(out["workers_2"]["parent_cpu_us_per_target"] / per_probe, 3)
    out["dask_overhead_wall"] = round(out["dask_2"]["wall_s"] / out["workers_2"]["wall_s"], 2)
    print(depth, json.dumps(out), flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--quick-count", type=int, default=10000)
    parser.add_argument("--nla-count", type=int, default=1500)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    missing = peers.build_c()
    if missing is not None:
        print(f"C responder unavailable: {missing.reason}", file=sys.stderr)
        return 1
    report: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                          "load": os.getloadavg(), "platform": platform.platform()}}  # fmt: skip
    report["blackholes"] = blackholes()
    report["quick"] = scaling("quick", args.quick_count)
    report["nla"] = scaling("nla", args.nla_count)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
