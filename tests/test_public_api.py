"""The library's public surface: exceptions importable from ``rdpprobe``, a target that
prints as ``host:port``, one Microsoft code in two spellings."""

from __future__ import annotations

import pytest

import rdpprobe
from rdpprobe import errors
from rdpprobe.result import MsClientCode, Target, verdict_to_dict
from rdpprobe.rows import verdict_for


@pytest.mark.parametrize("name", ["ProbeUsageError", "RdpProbeError", "DecodeError", "TargetError",
                                  "UnknownScenario", "ScenarioError", "OutputError"])
def test_public_exceptions_come_from_the_package(name: str) -> None:
    assert issubclass(getattr(rdpprobe, name), Exception)
    assert name in rdpprobe.__all__


def test_a_misused_option_raises_the_exported_usage_error() -> None:
    assert rdpprobe.ProbeUsageError is errors.ProbeUsageError
    with pytest.raises(rdpprobe.ProbeUsageError, match="unknown option 'timout'"):
        rdpprobe.probe("127.0.0.1", timout=5)  # type: ignore[call-arg]
    with pytest.raises(rdpprobe.ProbeUsageError, match="never sends credentials"):
        next(rdpprobe.probe_many("127.0.0.1", user="alice"))  # type: ignore[call-arg]


@pytest.mark.parametrize(("target", "text"), [
    (Target("rdp.example.test", 3389), "rdp.example.test:3389"),
    (Target("192.0.2.7", 14099, "192.0.2.7"), "192.0.2.7:14099"),
    (Target("2001:db8::1", 3389), "[2001:db8::1]:3389"),
])  # fmt: skip
def test_a_target_prints_as_host_and_port(target: Target, text: str) -> None:
    assert str(target) == text
    assert repr(target).startswith("Target(")


def test_the_microsoft_code_is_an_int_with_its_hex_spelling() -> None:
    verdict = verdict_for("T1")
    ms = verdict.ms_client
    assert isinstance(ms, MsClientCode) and isinstance(ms.code, int)
    assert ms.hex == f"0x{ms.code:x}"
    body = verdict_to_dict(verdict)["ms_client"]
    assert (body["code"], body["code_int"]) == (ms.hex, ms.code)
