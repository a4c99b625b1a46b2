"""Scan throughput, CPU per probe and memory per in-flight probe, side by side with peers.

Run: ``python3 benchmarks/bench_scan.py [--quick-count N] [--full-count N] [--rounds R]``. Everything
runs on loopback in one invocation: the C responder, the C epoll + OpenSSL client, the
rdpprobe engine (in a child process that measures itself around the scan, imports
excluded), ``openssl s_time -new``, nmap's rdp-ntlm-info, aardwolf's ``ardpscan`` and
impacket's rdp_check where they are installed. Writes ``benchmarks/results/scan.json``.

Not a test: the numbers depend on the machine; ratios within one run are what count.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import peers  # noqa: E402

RESULTS = HERE / "results" / "scan.json"
CONCURRENCIES = (1, 50, 500)
ROUNDS = 3  # rounds per CPU row and per peer comparison; medians are reported
PARKED = 1000  # probes parked at once for the memory figures
PARK_SETTLE_S = 2.0  # seconds after the start when parked probes are measured
BLACKHOLE_TARGETS, BLACKHOLE_SHARE, BLACKHOLE_TIMEOUT, BLACKHOLE_CONCURRENCY = 2000, 0.9, 1.0, 200
ENUMERATE_TARGETS, ENUMERATE_TARGETS_LARGE = 200, 1000
NMAP_TARGETS, NMAP_TARGETS_LARGE = 50, 300
CHILD_TIMEOUT_S = 600


# --- the child: one engine run, measured from inside ---------------------------------------


def _rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _config(depth: str, timeout: float, enumerate_: bool = False) -> Any:
    from rdpprobe.scan import depth_config
    from rdpprobe.sequence.config import ProbeConfig, Timeouts

    config = ProbeConfig(timeouts=Timeouts(timeout, timeout, timeout * 8), enumerate_protocols=enumerate_)
    return depth_config(config, depth)


def _targets(spec: dict[str, Any]) -> list[Any]:
    from rdpprobe.result import Target

    out = []
    for port, count in spec["ports"]:
        out += [Target("127.0.0.1", port, "127.0.0.1")] * count
    return out


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one scan as ``spec`` says; report CPU, wall, results and RSS figures."""
    import gc

    from rdpprobe.engine import Engine, EngineOptions
    from rdpprobe.output import JsonlWriter
    from rdpprobe.scan import run_scan

    config = _config(spec["depth"], spec["timeout"], spec.get("enumerate", False))
    options = EngineOptions(concurrency=spec["concurrency"], tls=spec.get("tls", "auto"))
    warm = _targets({"ports": [[spec["ports"][0][0], 20]]}) if spec.get("warm") else []
    Engine(config, options).run(warm, lambda r: None)
    gc.collect()
    marks: dict[str, Any] = {"base": _rss_kib()}
    start = time.monotonic()

    def clock() -> float:
        now = time.monotonic()
        if "parked" not in marks and now - start >= PARK_SETTLE_S and spec.get("park"):
            marks["parked"] = _rss_kib()
        return now

    signals: dict[str, int] = {}
    accepted: dict[str, int] = {}

    def count(result: Any) -> None:
        signals[result.signal.value] = signals.get(result.signal.value, 0) + 1
        if result.facts.accepted_protocols is not None:
            label = ",".join(result.facts.accepted_protocols)
            accepted[label] = accepted.get(label, 0) + 1

    sink = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - the JSONL is produced, then dropped
    cpu0, wall0 = _cpu(), time.perf_counter()
    if spec.get("park"):
        Engine(config, options, clock=clock).run(_targets(spec), count)
    else:
        run_scan(_targets(spec), config, JsonlWriter(sink), options, on_result=count)
    cpu, wall = _cpu() - cpu0, time.perf_counter() - wall0
    return {"cpu_s": cpu, "wall_s": wall, "signals": signals, "rss": marks, "accepted": accepted}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_child(spec: dict[str, Any], root: Path = HERE.parent) -> dict[str, Any]:
    """One engine run in a child process: its own in-scan figures, plus the whole process's
    wall and CPU (interpreter start and imports included, as a peer's figures are).

    ``root`` is the checkout whose rdpprobe (and whose copy of this script) runs."""
    env = dict(os.environ, PYTHONPATH=str(root))
    cpu0, wall0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(root / "benchmarks" / Path(__file__).name), "--child", json.dumps(spec)],
        capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, env=env, check=False,
    )  # fmt: skip
    process = {"process_wall_s": time.perf_counter() - wall0, "process_cpu_s": _children_cpu() - cpu0}
    if proc.returncode != 0:
        raise RuntimeError(f"engine child failed: {proc.stderr[-2000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]), **process)


def marginal(extra_targets: int, small: tuple[float, float], large: tuple[float, float]) -> dict[str, float]:
    """Rate and CPU per target past start-up: two runs of different sizes, (wall_s, cpu_s) each."""
    wall, cpu = large[0] - small[0], large[1] - small[1]
    return {"per_s": round(extra_targets / max(wall, 1e-9), 1), "cpu_us_per_target": round(cpu / extra_targets * 1e6, 1)}


# --- the parent: sections -------------------------------------------------------------------


def _per_probe(cpu_s: float, count: int) -> float:
    return round(cpu_s / count * 1e6, 1)


def _peer_row(result: Any) -> dict[str, Any]:
    if not result:
        return {"name": result.name, "unavailable": result.reason}
    return {
        "name": result.name, "targets": result.targets, "ok": result.ok,
        "per_s": round(result.per_s, 1), "cpu_us_per_target": round(result.cpu_us_per_target, 1),
    }  # fmt: skip


def _round(port: int, depth: str, n: int, concurrency: int, tls: str) -> dict[str, Any]:
    """One round at one concurrency: rdpprobe, then the C client, then the bare-Python client."""
    c_depth, our_depth = ("quick", "quick") if depth == "quick" else ("full", "nla")
    ours = run_child({"depth": our_depth, "timeout": 5.0, "concurrency": concurrency, "tls": tls, "ports": [[port, n]]})
    return {
        "rdpprobe": {"per_s": round(n / ours["wall_s"], 1), "cpu_us_per_target": _per_probe(ours["cpu_s"], n), "signals": ours["signals"]},
        "c_client": _peer_row(peers.c_client(port, count=n, concurrency=concurrency, depth=c_depth)),
        "bare_python": _peer_row(peers.bare_python(port, count=n, concurrency=concurrency, depth=c_depth)),
    }  # fmt: skip


def _median_of(rounds: list[dict[str, Any]], client: str, key: str) -> float | None:
    values = [r[client][key] for r in rounds if key in r[client]]
    return round(statistics.median(values), 1) if values else None


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return round(numerator / denominator, 2) if numerator and denominator else None


def throughput(depth: str, count: int, tls: str, rounds: int) -> list[dict[str, Any]]:
    """rdpprobe, the C client and the bare-Python client at each concurrency against the
    ``hybrid`` responder: ``rounds`` interleaved rounds, medians reported (the machine's
    noise moves single runs by several per cent, and not all clients alike)."""
    rows = []
    with peers.Responder(mode="hybrid") as responder:
        for concurrency in CONCURRENCIES:
            n = count if concurrency > 1 else max(200, count // 5)
            runs = [_round(responder.port, depth, n, concurrency, tls) for _ in range(rounds)]
            ours_us = _median_of(runs, "rdpprobe", "cpu_us_per_target")
            c_us = _median_of(runs, "c_client", "cpu_us_per_target")
            bare_us = _median_of(runs, "bare_python", "cpu_us_per_target")
            rows.append({
                "depth": depth, "concurrency": concurrency, "probes": n, "tls": tls, "rounds": len(runs),
                "rdpprobe": {"per_s": _median_of(runs, "rdpprobe", "per_s"), "cpu_us_per_probe": ours_us,
                             "signals": runs[-1]["rdpprobe"]["signals"]},
                "c_client": {"per_s": _median_of(runs, "c_client", "per_s"), "cpu_us_per_target": c_us},
                "bare_python": {"per_s": _median_of(runs, "bare_python", "per_s"), "cpu_us_per_target": bare_us},
                "cpu_ratio_vs_c": _ratio(ours_us, c_us),
                "bare_python_ratio_vs_c": _ratio(bare_us, c_us),
                "each_round": runs,
            })  # fmt: skip
            print(json.dumps({k: v for k, v in rows[-1].items() if k != "each_round"}), flush=True)
    return rows


def memory() -> dict[str, Any]:
    """KiB per in-flight probe: N probes parked on a silent listener, and mid-NLA after TLS."""
    out = {}
    for label, mode, depth in (("quick_silent", "silent", "quick"), ("tls_parked", "hybrid-stall", "nla")):
        with peers.Responder(mode=mode) as responder:
            spec = {"depth": depth, "timeout": 6.0, "concurrency": PARKED, "ports": [[responder.port, PARKED]], "park": True, "warm": mode != "silent"}
            got = run_child(spec)
        rss = got["rss"]
        out[label] = {"probes": PARKED, "kib_per_probe": round((rss.get("parked", 0) - rss["base"]) / PARKED, 2), "rss_kib": rss}
        print(label, json.dumps(out[label]), flush=True)
    return out


def blackholes() -> dict[str, Any]:
    """2000 targets, 90 % accept and never answer; wall time against ceil(B/C) x T."""
    holes = int(BLACKHOLE_TARGETS * BLACKHOLE_SHARE)
    live = BLACKHOLE_TARGETS - holes
    with peers.Responder(mode="silent") as silent, peers.Responder(mode="hybrid") as hybrid:
        spec = {"depth": "quick", "timeout": BLACKHOLE_TIMEOUT, "concurrency": BLACKHOLE_CONCURRENCY,
                "ports": [[silent.port, holes], [hybrid.port, live]]}  # fmt: skip
        got = run_child(spec)
    bound = 1.1 * math.ceil(holes / BLACKHOLE_CONCURRENCY) * BLACKHOLE_TIMEOUT
    row = {"targets": BLACKHOLE_TARGETS, "blackholes": holes, "timeout_s": BLACKHOLE_TIMEOUT,
           "concurrency": BLACKHOLE_CONCURRENCY, "wall_s": round(got["wall_s"], 2), "bound_s": round(bound, 2),
           "live_found": got["signals"].get("ok", 0), "live": live, "signals": got["signals"]}  # fmt: skip
    print("blackholes", json.dumps(row), flush=True)
    return row


def _peer_marginal(runs: dict[int, Any], small: int, large: int) -> dict[str, float]:
    """``marginal`` for a peer run on ``small`` and on ``large`` targets."""
    return marginal(large - small, *[(runs[n].wall_s, runs[n].cpu_s) for n in (small, large)])


def _medians(rows: list[dict[str, float]]) -> dict[str, float]:
    """Key by key, the median over rounds of figures like ``marginal``'s."""
    return {key: round(statistics.median(row[key] for row in rows), 1) for key in rows[0]}


def _enumeration_round(port: int) -> dict[str, Any]:
    """rdpprobe ``--enumerate`` and ardpscan on 200 and on 1 000 targets."""
    ours, theirs = {}, {}
    for n in (ENUMERATE_TARGETS, ENUMERATE_TARGETS_LARGE):
        spec = {"depth": "quick", "timeout": 5.0, "concurrency": 100, "enumerate": True, "ports": [[port, n]]}
        ours[n] = run_child(spec)
        theirs[n] = peers.ardpscan_caps(port, n=n, workers=100)
    return {"ours": ours, "theirs": theirs}


def enumeration(rounds: int) -> dict[str, Any]:
    """``--enumerate`` against ardpscan's caps scanner on the ``windows`` responder.

    Compared twice, like with like: whole processes on the same 200 targets (start-up
    included on both sides), and past start-up (the difference between 200 and 1 000
    targets); each figure is the median over ``rounds`` rounds.
    """
    small, large = ENUMERATE_TARGETS, ENUMERATE_TARGETS_LARGE
    with peers.Responder(mode="windows") as responder:
        runs = [_enumeration_round(responder.port) for _ in range(rounds)]
    first = runs[0]["ours"][small]
    row: dict[str, Any] = {
        "targets": small, "rounds": rounds,
        "rdpprobe_in_scan_per_s": round(statistics.median(small / r["ours"][small]["wall_s"] for r in runs), 1),
        "rdpprobe_whole_process_per_s": round(statistics.median(small / r["ours"][small]["process_wall_s"] for r in runs), 1),
        "rdpprobe_signals": first["signals"], "rdpprobe_accepted": first["accepted"],
        "ardpscan": _peer_row(runs[0]["theirs"][small]),
    }  # fmt: skip
    row["rdpprobe_past_startup"] = _medians(
        [marginal(large - small, *[_process_costs(r["ours"][n]) for n in (small, large)]) for r in runs]
    )
    complete = [r["theirs"] for r in runs if r["theirs"][small] and r["theirs"][large]]
    if complete:
        row["ardpscan_whole_process_per_s"] = round(statistics.median(t[small].per_s for t in complete), 1)
        row["ardpscan_past_startup"] = _medians([_peer_marginal(t, small, large) for t in complete])
        row["speedup_whole_process"] = round(row["rdpprobe_whole_process_per_s"] / row["ardpscan_whole_process_per_s"], 1)
        row["speedup_past_startup"] = round(row["rdpprobe_past_startup"]["per_s"] / row["ardpscan_past_startup"]["per_s"], 1)
    print("enumerate", json.dumps(row), flush=True)
    return row


def _process_costs(child_run: dict[str, Any]) -> tuple[float, float]:
    return child_run["process_wall_s"], child_run["process_cpu_s"]


def _nmap_round(port: int) -> dict[str, Any]:
    """nmap on 50 and on 300 targets, and rdpprobe ``--depth nla`` as a whole process on 50."""
    nmap = {n: peers.nmap_rdp_ntlm_info(port, n=n) for n in (NMAP_TARGETS, NMAP_TARGETS_LARGE)}
    ours = run_child({"depth": "nla", "timeout": 5.0, "concurrency": 50, "ports": [[port, NMAP_TARGETS]]})
    return {"nmap": nmap, "ours_whole_us": ours["process_cpu_s"] / NMAP_TARGETS * 1e6}


def peer_tools(full_cpu_us: float | None, rounds: int) -> dict[str, Any]:
    """openssl s_time, nmap rdp-ntlm-info, impacket rdp_check against the responder.

    nmap is compared with ``--depth nla`` like with like: CPU per probe past start-up (the
    difference between 50 and 300 targets) against rdpprobe's in-scan figure, and whole
    processes on the same 50 targets; medians over ``rounds`` rounds.
    """
    out: dict[str, Any] = {}
    with peers.Responder(mode="plain-tls") as tls:
        out["openssl_s_time"] = _peer_row(peers.openssl_s_time(tls.port, seconds=5))
    with peers.Responder(mode="hybrid") as responder:
        runs = [_nmap_round(responder.port) for _ in range(rounds)]
        out["rdp_check"] = _peer_row(peers.rdp_check(responder.port, n=5))
    out["nmap_rdp_ntlm_info"] = _peer_row(runs[0]["nmap"][NMAP_TARGETS])
    complete = [r for r in runs if r["nmap"][NMAP_TARGETS] and r["nmap"][NMAP_TARGETS_LARGE]]
    if complete:
        small, large = NMAP_TARGETS, NMAP_TARGETS_LARGE
        out["nmap_past_startup"] = _medians([_peer_marginal(r["nmap"], small, large) for r in complete])
        nmap_whole_us = statistics.median(r["nmap"][small].cpu_us_per_target for r in complete)
        whole_us = statistics.median(r["ours_whole_us"] for r in complete)
        out["nmap_whole_process_cpu_us_per_target"] = round(nmap_whole_us, 1)
        out["rdpprobe_whole_process_cpu_us_per_target"] = round(whole_us, 1)
        out["nla_cpu_ratio_whole_process"] = round(whole_us / nmap_whole_us, 3)
        if full_cpu_us:
            out["nla_cpu_ratio_past_startup"] = round(full_cpu_us / out["nmap_past_startup"]["cpu_us_per_target"], 3)
    print("peers", json.dumps(out), flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--quick-count", type=int, default=5000)
    parser.add_argument("--full-count", type=int, default=1500)
    parser.add_argument("--tls", default="auto", choices=("auto", "openssl", "stdlib"))
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="rounds per CPU row and per peer comparison (medians reported)")
    parser.add_argument("--only-cpu", action="store_true", help="only the CPU rows (rdpprobe, C and bare Python clients)")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    missing = peers.build_c()
    if missing is not None:
        print(f"C baseline unavailable: {missing.reason}", file=sys.stderr)
    report: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}}
    report["quick"] = throughput("quick", args.quick_count, args.tls, args.rounds)
    report["full"] = throughput("full", args.full_count, args.tls, args.rounds)
    if args.only_cpu:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.with_name("scan-cpu.json").write_text(json.dumps(report, indent=1) + "\n")
        return 0
    report["memory"] = memory()
    report["blackholes"] = blackholes()
    report["enumerate"] = enumeration(args.rounds)
    full50 = next((row["rdpprobe"]["cpu_us_per_probe"] for row in report["full"] if row["concurrency"] == 50), None)
    report["peers"] = peer_tools(full50, args.rounds)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
