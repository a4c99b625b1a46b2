"""``--audit`` against independent tools on the same live servers.

- RDP encryption methods: equal to nmap's ``rdp-enum-encryption`` (it offers 40, 56, 128-bit
  and FIPS one at a time and reports SUCCESS when the server chose the one offered) on xrdp
  ``security_layer=rdp`` at every ``crypt_level`` and on FreeRDP's shadow server. nmap never
  offers NONE, so NONE is left out of the comparison; its security-layer lines are no
  oracle (it reports every layer as SUCCESS whenever the server answers at all).
- TLS versions, suites and groups: equal to ``sslyze --starttls=rdp``'s on xrdp ``tls`` and
  the shadow server, for the suites and groups both tools can test. sslyze pins its own
  dependencies, so it lives in a virtual environment of its own, ``.venv-sslyze`` at the
  repository's root (``.ci/run`` makes it; ``SSLYZE_PYTHON`` names another interpreter).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import rdpprobe
from rdpprobe import ProbeResult
from rdpprobe.result import TlsAuditFacts
from rdpprobe.sequence.audit import IANA_GROUPS
from rdpprobe.tlssuites import iana_name
from rdpprobe.transport.tls_openssl import audit_settings
from tests.interop import harness

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
SSLYZE_PYTHON = os.environ.get("SSLYZE_PYTHON", str(ROOT / ".venv-sslyze" / "bin" / "python"))
NMAP_TIMEOUT = 180
SSLYZE_TIMEOUT = 600
AUDIT_OPTIONS = {"timeout": 5, "deadline": 60}
#: nmap's names of the methods (rdp-enum-encryption.nse), and ours.
NMAP_METHODS = {
    "40-bit RC4": "ENCRYPTION_METHOD_40BIT",
    "56-bit RC4": "ENCRYPTION_METHOD_56BIT",
    "128-bit RC4": "ENCRYPTION_METHOD_128BIT",
    "FIPS 140-1": "ENCRYPTION_METHOD_FIPS",
}
NMAP_SUCCESS = re.compile(r"^\|_?\s+(40-bit RC4|56-bit RC4|128-bit RC4|FIPS 140-1): SUCCESS\s*$", re.M)
#: sslyze's result per version, by ``TlsFacts.version`` spelling.
SSLYZE_VERSIONS = {
    "SSLv3": "ssl_3_0_cipher_suites", "TLSv1": "tls_1_0_cipher_suites", "TLSv1.1": "tls_1_1_cipher_suites",
    "TLSv1.2": "tls_1_2_cipher_suites", "TLSv1.3": "tls_1_3_cipher_suites",
}
SSLYZE_COMMANDS = ("--sslv3", "--tlsv1", "--tlsv1_1", "--tlsv1_2", "--tlsv1_3", "--elliptic_curves")


def audited(server: harness.Daemon) -> ProbeResult:
    return rdpprobe.probe(f"{server.host}:{server.port}", audit=True, **AUDIT_OPTIONS)  # type: ignore[arg-type]


def nmap_methods(port: int) -> set[str]:
    """The methods nmap's rdp-enum-encryption reports SUCCESS for."""
    nmap = harness.require("nmap")
    argv = [nmap, "-sT", "-Pn", "-n", "--script", "+rdp-enum-encryption", "-p", str(port), "127.0.0.1"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=NMAP_TIMEOUT, check=True).stdout
    assert "rdp-enum-encryption" in out, out
    return {NMAP_METHODS[name] for name in NMAP_SUCCESS.findall(out)}


def rdp_methods(result: ProbeResult) -> set[str]:
    facts = result.facts.rdp_encryption_audit
    assert facts is not None and facts.methods_unknown == (), facts
    return set(facts.methods_accepted) - {"NONE"}


@pytest.mark.parametrize("level", ["none", "low", "medium", "high", "fips"])
def test_xrdp_encryption_methods_equal_nmaps(level: str) -> None:
    with harness.xrdp_server("rdp", crypt_level=level) as server:
        ours = audited(server)
        theirs = nmap_methods(server.port)
    assert rdp_methods(ours) == theirs
    assert ours.facts.rdp_encryption_audit.levels  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def shadow() -> Iterator[tuple[harness.Daemon, ProbeResult]]:
    """One shadow server for both oracles (starting one is the slow, fragile part), with
    every security layer on (+sec-nla +sec-tls +sec-rdp), audited once."""
    with harness.shadow_server("all") as server:
        yield server, audited(server)


def test_shadow_encryption_methods_equal_nmaps(shadow: tuple[harness.Daemon, ProbeResult]) -> None:
    server, ours = shadow
    assert rdp_methods(ours) == nmap_methods(server.port)


# ---------------------------------------------------------------------------
# TLS: sslyze --starttls=rdp
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SslyzeVersion:
    accepted: frozenset[str]
    tested: frozenset[str]


def sslyze(port: int) -> tuple[dict[str, SslyzeVersion], frozenset[str], frozenset[str]]:
    """sslyze's suites per version, and its supported and tested curves."""
    if not os.access(SSLYZE_PYTHON, os.X_OK):
        message = f"sslyze is not installed at {SSLYZE_PYTHON} (.ci/run makes .venv-sslyze)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with tempfile.TemporaryDirectory(prefix="rdpprobe-sslyze-") as tmp:
        out = Path(tmp) / "sslyze.json"
        argv = [SSLYZE_PYTHON, "-m", "sslyze", "--starttls=rdp", *SSLYZE_COMMANDS, "--quiet",
                f"--json_out={out}", f"127.0.0.1:{port}"]
        subprocess.run(argv, capture_output=True, timeout=SSLYZE_TIMEOUT, check=True)
        scan = json.loads(out.read_text())["server_scan_results"][0]
    assert scan["scan_status"] == "COMPLETED", scan.get("connectivity_error_trace")
    results = scan["scan_result"]
    versions = {}
    for version, key in SSLYZE_VERSIONS.items():
        found = results[key]["result"]
        accepted = frozenset(s["cipher_suite"]["name"] for s in found["accepted_cipher_suites"])
        rejected = frozenset(s["cipher_suite"]["name"] for s in found["rejected_cipher_suites"])
        versions[version] = SslyzeVersion(accepted, accepted | rejected)
    curves = results["elliptic_curves"]["result"]
    supported = frozenset(c["name"].lower() for c in curves["supported_curves"])
    tested = supported | frozenset(c["name"].lower() for c in curves["rejected_curves"])
    return versions, supported, tested


def our_offers() -> dict[str, frozenset[str]]:
    """The suites the audit offers per version, by IANA name."""
    return {version: frozenset(n for n in map(iana_name, suites) if n is not None)
            for version, suites in audit_settings().tls_suites}


def compare_with_sslyze(ours: TlsAuditFacts, port: int) -> None:
    versions, curves, curves_tested = sslyze(port)
    offers = our_offers()
    for support in ours.versions:
        if support.accepted is None:
            assert support.version not in offers  # Untested only where the library cannot offer it.
            continue
        theirs = versions[support.version]
        both = offers[support.version] & theirs.tested
        assert support.complete is True
        assert set(support.ciphers) & both == theirs.accepted & both, support.version
        assert support.accepted == bool(theirs.accepted), support.version
    assert ours.groups is not None
    ec_groups = {IANA_GROUPS[g].lower() for g in audit_settings().groups} & curves_tested
    assert {g.lower() for g in ours.groups} & ec_groups == curves & ec_groups


@pytest.fixture(scope="module")
def xrdp_tls() -> Iterator[harness.Daemon]:
    with harness.xrdp_server("tls") as server:
        yield server


def test_xrdp_tls_versions_and_suites_equal_sslyzes(xrdp_tls: harness.Daemon) -> None:
    ours = audited(xrdp_tls).facts.tls_audit
    assert ours is not None
    compare_with_sslyze(ours, xrdp_tls.port)
    # Observed: xrdp chooses by the client's order of suites (A,B gives A; B,A gives B).
    assert ours.server_cipher_preference is False


def test_shadow_tls_versions_and_suites_equal_sslyzes(shadow: tuple[harness.Daemon, ProbeResult]) -> None:
    server, result = shadow
    ours = result.facts.tls_audit
    assert ours is not None and any(v.accepted for v in ours.versions)
    compare_with_sslyze(ours, server.port)
