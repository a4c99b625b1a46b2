"""The scanner's engine and ``aprobe`` against real servers, beside ``probe`` on the same server.

``rdpprobe scan`` and ``probe_many`` run on the engine's own transport: non-blocking
sockets and a TLS pump over memory BIOs, through pyOpenSSL or the stdlib ``ssl`` module.
``probe`` runs on the blocking driver. The mock shares its codebase with both, so here the
engine meets xrdp and FreeRDP's shadow server at every scan depth and with protocol
enumeration, through both TLS libraries, and must come back with ``probe``'s result: the
same phases, signal, verdict and facts, everything but the clock's readings. So must
``aprobe``, on its asyncio driver.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest

import rdpprobe
from rdpprobe.addresses import host_port
from rdpprobe.cli import main
from rdpprobe.scan import DEPTH_STOPS
from tests.interop import harness

pytestmark = pytest.mark.interop

OPTIONS: dict[str, Any] = {"timeout": 5, "deadline": 15}
USER, PASSWORD = "alice", "Passw0rd!"
#: A server of each kind the project's notes describe: xrdp's three security layers (and
#: Standard RDP Security with FIPS keys), the shadow server with NLA, TLS, Standard RDP
#: Security or all three.
SERVERS: dict[str, Callable[[], AbstractContextManager[harness.Daemon]]] = {
    "xrdp-negotiate": lambda: harness.xrdp_server("negotiate"),
    "xrdp-tls": lambda: harness.xrdp_server("tls"),
    "xrdp-rdp": lambda: harness.xrdp_server("rdp", crypt_level="high"),
    "xrdp-rdp-fips": lambda: harness.xrdp_server("rdp", crypt_level="fips"),
    "shadow-nla": lambda: harness.shadow_server("nla", user=USER, password=PASSWORD),
    "shadow-tls": lambda: harness.shadow_server("tls", user=USER, password=PASSWORD),
    "shadow-rdp": lambda: harness.shadow_server("rdp", user=USER, password=PASSWORD),
    "shadow-all": lambda: harness.shadow_server("all", user=USER, password=PASSWORD),
}
TLS_LIBRARIES = ("openssl", "stdlib")
#: What differs between two probes of one server however right both are: when they ran
#: (``started_at`` and the envelope's ``timestamp``), how long each phase took, and the
#: server's clock in its NTLM CHALLENGE.
CLOCK_READINGS = (("started_at",), ("timestamp",), ("timings",), ("facts", "ntlm", "timestamp"))


@pytest.fixture(scope="module", params=sorted(SERVERS))
def server(request: pytest.FixtureRequest) -> Iterator[harness.Daemon]:
    with SERVERS[request.param]() as daemon:
        yield daemon


def _where(daemon: harness.Daemon) -> str:
    return host_port(daemon.host, daemon.port)


def _without_clock(record: dict[str, Any]) -> dict[str, Any]:
    record = json.loads(json.dumps(record))  # A deep copy that is plain JSON, as written.
    for path in CLOCK_READINGS:
        parent = record
        for key in path[:-1]:
            parent = parent.get(key) or {}
        parent.pop(path[-1], None)
    return record


def _probed(daemon: harness.Daemon, **options: Any) -> dict[str, Any]:
    return _without_clock(rdpprobe.probe(_where(daemon), **OPTIONS, **options).to_dict())


def _scanned(daemon: harness.Daemon, **arguments: Any) -> dict[str, Any]:
    results = list(rdpprobe.probe_many([_where(daemon)], **OPTIONS, **arguments))
    assert len(results) == 1
    return _without_clock(results[0].to_dict())


@pytest.mark.parametrize("tls", TLS_LIBRARIES)
@pytest.mark.parametrize("depth", sorted(DEPTH_STOPS))
def test_each_depth_reaches_what_probe_reaches(server: harness.Daemon, depth: str, tls: str) -> None:
    stop = DEPTH_STOPS[depth]
    expected = _probed(server, **({} if stop is None else {"stop_after": stop.value}))
    assert _scanned(server, depth=depth, tls=tls) == expected


@pytest.mark.parametrize("tls", TLS_LIBRARIES)
def test_enumeration_finds_what_probe_finds(server: harness.Daemon, tls: str) -> None:
    expected = _probed(server, enumerate=True)
    found = _scanned(server, enumerate=True, tls=tls)  # No depth: as far as probe goes.
    assert found["facts"]["accepted_protocols"] == expected["facts"]["accepted_protocols"]
    assert found == expected


def test_the_command_line_writes_the_engine_s_result(server: harness.Daemon,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["scan", _where(server), "--timeout", "5", "--deadline", "15", "--no-progress", "--no-summary"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert (line["schema_version"], line["ip"], line["port"]) == (1, server.host, server.port)
    # One JSON form: the scan's line is the result's to_dict(), envelope keys and all.
    assert _without_clock(line) == _probed(server, stop_after=DEPTH_STOPS["nla"].value)  # type: ignore[union-attr]


def test_aprobe_reaches_what_probe_reaches(server: harness.Daemon) -> None:
    found = asyncio.run(rdpprobe.aprobe(_where(server), **OPTIONS))
    assert _without_clock(found.to_dict()) == _probed(server)


@pytest.mark.parametrize("tls", TLS_LIBRARIES)
def test_ipv6_loopback(tls: str) -> None:
    with harness.xrdp_server("negotiate", host="::1") as daemon:
        found = _scanned(daemon, depth="full", tls=tls)
        expected = _probed(daemon)
    assert found["target"]["address"] == "::1" and found["facts"]["selected_protocol"] == "SSL"
    assert found == expected
