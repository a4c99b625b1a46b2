"""Scans end to end: targets in, JSON Lines out, validated against the schema."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
from datetime import datetime, timezone

import jsonschema
import pytest

from rdpprobe.engine import EngineOptions
from rdpprobe.errors import ProbeUsageError
from rdpprobe.mock import MockRdpServer
from rdpprobe.output import JsonlWriter, load_schema
from rdpprobe.result import Target, internal_error_result
from rdpprobe.scan import DEPTH_STOPS, connected, depth_config, run_scan
from rdpprobe.sequence.config import Credentials, ProbeConfig, Timeouts
from rdpprobe.sequence.phases import Phase
from rdpprobe.signals import Signal
from rdpprobe.targets import iter_targets
from tests.transport.listeners import closed_port, closed_ports

FAST = ProbeConfig(timeouts=Timeouts(2.0, 2.0, 5.0))


@pytest.mark.parametrize(("depth", "stop"), sorted(DEPTH_STOPS.items()))
def test_depths_set_the_stop_phase(depth: str, stop: Phase | None) -> None:
    assert depth_config(ProbeConfig(), depth).stop_after is stop


def test_full_depth_drops_credentials_and_explicit_stop_wins() -> None:
    config = ProbeConfig(credentials=Credentials("u", "p"), stop_after=Phase.TLS)
    assert depth_config(config, "full").credentials is None
    assert depth_config(config, "quick", explicit_stop=True).stop_after is Phase.TLS
    with pytest.raises(ProbeUsageError):
        depth_config(config, "deep")


def _scan_lines(targets: list[str], depth: str) -> tuple[list[dict[str, object]], object]:
    stream = io.StringIO()
    config = depth_config(FAST, depth)
    report = run_scan(iter_targets(targets), config, JsonlWriter(stream), EngineOptions(concurrency=10))
    return [json.loads(line) for line in stream.getvalue().splitlines()], report


class _FlushLog(io.StringIO):
    """A stream that notes how many lines it held at each flush."""

    def __init__(self) -> None:
        super().__init__()
        self.lines_at_flush: list[int] = []

    def flush(self) -> None:
        self.lines_at_flush.append(self.getvalue().count("\n"))
        super().flush()


def test_each_result_is_flushed_before_the_engine_waits_again() -> None:
    stream = _FlushLog()
    targets = [f"127.0.0.1:{port}" for port in closed_ports(3)]  # Three: a repeat is probed once.
    run_scan(iter_targets(targets), depth_config(FAST, "quick"), JsonlWriter(stream), EngineOptions(concurrency=1))
    # One probe at a time: each turn finishes one result, and the turn ends with a flush.
    assert stream.lines_at_flush[:3] == [1, 2, 3]
    assert stream.lines_at_flush[-1] == 3


@pytest.mark.parametrize("depth", list(DEPTH_STOPS))
def test_output_lines_validate_against_the_schema(depth: str) -> None:
    schema = load_schema()
    with MockRdpServer("windows-nla") as nla, MockRdpServer("xrdp-like") as xrdp:
        targets = [f"127.0.0.1:{nla.address[1]}", f"127.0.0.1:{xrdp.address[1]}", f"127.0.0.1:{closed_port()}"]
        lines, report = _scan_lines(targets, depth)
    assert len(lines) == 3
    for line in lines:
        jsonschema.validate(line, schema)
        assert line["schema_version"] == 1 and line["timestamp"]
    assert report.summary.total == 3  # type: ignore[attr-defined]
    assert report.summary.by_category["port_closed"] == 1  # type: ignore[attr-defined]


def test_nla_depth_reports_ntlm_facts() -> None:
    with MockRdpServer("windows-nla") as server:
        lines, _ = _scan_lines([f"127.0.0.1:{server.address[1]}"], "nla")
    facts = lines[0]["facts"]
    assert isinstance(facts, dict) and "ntlm" in facts and "tls" in facts


def test_hostile_targets_never_crash_the_scan() -> None:
    hostile = ["tls-close-after-hello", "tls-reset-after-hello", "mcs-close-after-connect-initial", "inconsistent-flags"]
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(MockRdpServer(name)) for name in hostile]
        lines, _ = _scan_lines([f"127.0.0.1:{s.address[1]}" for s in servers], "full")
    assert len(lines) == len(hostile)
    assert all(line["signal"] != "internal_error" for line in lines)


def test_the_headline_counts_targets_and_names_local_trouble_only_when_there_was_some() -> None:
    from rdpprobe.engine import EngineStats
    from rdpprobe.output import Summary
    from rdpprobe.scan import ScanReport

    def written(count: int) -> Summary:
        summary = Summary()
        for _ in range(count):
            summary.add({"verdict": {"category": "port_closed"}})
        return summary

    calm = ScanReport(written(1), EngineStats(targets=1, results=1, connections=1), elapsed_s=0.5)
    assert calm.headline() == "1 target probed in 0.50 s (2/s), 1 connection"
    rough = EngineStats(targets=42, results=40, connections=52, local_retries=3, internal_errors=1, excluded=2)
    assert ScanReport(written(40), rough, elapsed_s=2.0).headline() == (
        "40 targets probed in 2.00 s (20/s), 52 connections, 2 excluded after resolution, "
        "3 retried for local resources, 1 internal error"
    )
    assert "/s" not in ScanReport(Summary(), EngineStats(), elapsed_s=0.0).headline()


def test_open_keeps_connected_targets_and_every_internal_error() -> None:
    target, now = Target("127.0.0.1", 3389, "127.0.0.1"), datetime.now(timezone.utc)
    broken = internal_error_result(target, now, "ValueError: x")
    assert connected(broken) and connected(internal_error_result(target, now, "x", Phase.TCP_CONNECT))
    refused = dataclasses.replace(broken, signal=Signal.REFUSED, phase_reached=Phase.TCP_CONNECT, failed_phase=Phase.TCP_CONNECT)
    assert not connected(refused)
    assert not connected(dataclasses.replace(refused, phase_reached=Phase.DNS, failed_phase=Phase.DNS))
    assert connected(dataclasses.replace(refused, signal=Signal.OK, failed_phase=None))  # --stop-after tcp_connect
    assert connected(dataclasses.replace(refused, phase_reached=Phase.CONNECTION_INITIATION))


def test_results_open_leaves_out_are_counted_not_written() -> None:
    stream = io.StringIO()
    targets = [f"127.0.0.1:{closed_port()}", f"127.0.0.2:{closed_port()}"]
    with MockRdpServer("windows-tls") as server:
        report = run_scan(iter_targets([*targets, f"127.0.0.1:{server.address[1]}"]), depth_config(FAST, "quick"),
                          JsonlWriter(stream), EngineOptions(concurrency=3), keep=connected)
    assert [json.loads(line)["port"] for line in stream.getvalue().splitlines()] == [server.address[1]]
    assert (report.summary.total, report.unwritten) == (3, 2)
