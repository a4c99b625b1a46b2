"""Start-up stays lean: the CLI and a scan load only what their depth needs, the rest on demand.

Each check runs in a fresh interpreter (this one has the mock server and the whole package
loaded) and looks at ``sys.modules``: behaviour, not timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

from rdpprobe.pytest_plugin import MockServerFactory

#: Never needed to start the CLI or to scan at depth quick or nla without credentials.
HEAVY = [
    "asyncio", "rich", "pyasn1", "impacket", "Cryptodome", "rdpprobe.demo", "rdpprobe.mock",
    "rdpprobe.transport.aio", "rdpprobe.sequence.settings", "rdpprobe.sequence.activation",
    "rdpprobe.sequence.pdus", "rdpprobe.wire.license_client", "rdpprobe.wire.rdpcrypto",
    "rdpprobe.wire.credssp_asn1",
    # A scan of one process loads nothing of the worker pool or of Dask.
    "multiprocessing", "rdpprobe.scale.pool", "rdpprobe.scale.cluster", "dask", "distributed",
]  # fmt: skip
#: What a probe past NLA loads: the MCS, licensing and RDP security code.
LATER_PHASES = ["rdpprobe.sequence.settings", "rdpprobe.wire.license_client", "rdpprobe.wire.rdpcrypto"]

_PRELUDE = """
import contextlib, io, json, sys

def loaded(names):
    return sorted(n for n in names if any(m == n or m.startswith(n + ".") for m in sys.modules))

def scan(*argv):
    from rdpprobe.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["scan", *argv, "--no-progress"]) == 0
    return json.loads(out.getvalue())
"""


def run_fresh(body: str, **values: Any) -> Any:
    """Run ``body`` after ``_PRELUDE`` with ``values`` bound; return its last line of output as JSON."""
    bindings = "".join(f"{name} = {value!r}\n" for name, value in values.items())
    code = _PRELUDE + bindings + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_the_cli_starts_without_heavy_modules() -> None:
    body = "import rdpprobe.cli; print(json.dumps(loaded(HEAVY + ['cryptography', 'OpenSSL'])))"
    assert run_fresh(body, HEAVY=HEAVY) == []


def test_public_names_load_on_first_access() -> None:
    body = """
    import rdpprobe
    before = loaded(["rdpprobe.api", "rdpprobe.result"])
    from rdpprobe import Phase, ProbeResult, Signal, Verdict, aprobe, probe
    names = [n for n in rdpprobe.__all__ if getattr(rdpprobe, n, None) is None]
    print(json.dumps([before, names, sorted(set(rdpprobe.__all__) - set(dir(rdpprobe))), probe.__module__]))
    """
    assert run_fresh(body) == [[], [], [], "rdpprobe.api"]


def test_quick_and_nla_scans_stay_lean(rdp_mock_server: MockServerFactory) -> None:
    host, port = rdp_mock_server("windows-nla")
    body = """
    quick = scan(target, "--depth", "quick", "--no-summary")["signal"]
    tls_library = loaded(["OpenSSL"])  # A quick scan never loads TLS.
    nla = scan(target, "--depth", "nla", "--no-summary")["signal"]
    print(json.dumps([[quick, nla], tls_library, loaded(HEAVY)]))
    """
    assert run_fresh(body, target=f"{host}:{port}", HEAVY=HEAVY) == [["ok", "ok"], [], []]


def test_later_phases_and_rendering_load_on_demand(rdp_mock_server: MockServerFactory) -> None:
    targets = [f"{host}:{port}" for host, port in map(rdp_mock_server, ("windows-tls", "windows-rdp-security"))]
    body = """
    with contextlib.redirect_stderr(io.StringIO()) as err:
        reached = [scan(t, "--depth", "full")["phase_reached"] for t in targets]
    print(json.dumps([reached, "count" in err.getvalue(), loaded(LATER_PHASES + ["rich"])]))
    """
    reached, summary_shown, modules = run_fresh(body, targets=targets, LATER_PHASES=LATER_PHASES)
    assert reached == ["capabilities_exchange", "capabilities_exchange"]
    assert summary_shown and modules == sorted([*LATER_PHASES, "rich"])


def test_a_full_logon_and_aprobe_load_what_they_need(rdp_mock_server: MockServerFactory) -> None:
    host, port = rdp_mock_server("windows-nla", user="alice", password="s3cret")
    body = """
    import asyncio
    from rdpprobe import aprobe, probe
    logon = probe(host, port, user="alice", password="s3cret", full_logon=True)
    quick = asyncio.run(aprobe(host, port, stop_after="connection_initiation"))
    wanted = LATER_PHASES + ["rdpprobe.wire.credssp_asn1", "rdpprobe.transport.aio"]
    print(json.dumps([logon.facts.auth.status, logon.phase_reached.value, quick.ok, loaded(wanted)]))
    """
    status, reached, quick_ok, modules = run_fresh(body, host=host, port=port, LATER_PHASES=LATER_PHASES)
    assert (status, reached, quick_ok) == ("succeeded", "capabilities_exchange", True)
    assert modules == sorted([*LATER_PHASES, "rdpprobe.wire.credssp_asn1", "rdpprobe.transport.aio"])


_PLUGIN_PROBE = """
import sys

def mock_modules():
    return sorted(n for n in sys.modules if n == "rdpprobe.mock" or n.startswith("rdpprobe.mock."))

def test_plugin_loaded_without_the_mock():
    assert "rdpprobe.pytest_plugin" in sys.modules
    assert mock_modules() == []

def test_the_fixture_brings_the_mock(rdp_mock_server):
    assert "rdpprobe.mock.server" in mock_modules()
"""


def test_the_pytest_plugin_loads_the_mock_only_when_a_fixture_is_used(tmp_path: Any) -> None:
    """Every pytest start loads the plugin (entry point ``pytest11``); the mock server waits
    until a test asks for ``rdp_mock_server``."""
    (tmp_path / "test_probe_plugin.py").write_text(_PLUGIN_PROBE, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c",
            str(tmp_path / "pytest.ini"), str(tmp_path / "test_probe_plugin.py")]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
