"""rdpprobe against real xrdp 0.9.21: every security layer, encryption level and certificate.

What xrdp answers in each configuration is recorded in the project's notes on real servers;
in short: ``security_layer=rdp`` selects Standard RDP Security whatever is requested,
``tls`` requires TLS (RDP_NEG_FAILURE 1 to a client that offers only RDP, FAILURE 3 when
its certificate file is missing), ``negotiate`` selects TLS when offered, and xrdp never
selects HYBRID (no NLA). Without xrdp-sesman everything up to the login screen works, so a
probe without credentials reaches the Demand Active PDU. Standard RDP Security from xrdp
is never turned off on loopback: the encryption level is the configured one.

The probe connects to 127.0.0.1, so a certificate is checked against that address.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import rdpprobe
from rdpprobe import Phase, ProbeResult, Signal
from rdpprobe.mock.certs import CertBundle, certificate_variant, make_certificate, variant_ca
from tests.interop import harness

pytestmark = pytest.mark.interop

PROBE_OPTIONS = {"timeout": 5, "deadline": 15}
XRDP_RDP_VERSION = "RDP 5.0-8.1"  # xrdp 0.9 announces 0x00080004 in its server core data.


def probe(server: harness.Daemon, **options: object) -> ProbeResult:
    return rdpprobe.probe(f"{server.host}:{server.port}", **PROBE_OPTIONS, **options)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# security_layer=rdp: Standard RDP Security at each crypt_level
# ---------------------------------------------------------------------------

# crypt_level -> (encryptionMethod, encryptionLevel) in xrdp's Server Security Data.
CRYPT_LEVELS = {
    "none": ("NONE", "ENCRYPTION_LEVEL_NONE"),
    "low": ("ENCRYPTION_METHOD_40BIT", "ENCRYPTION_LEVEL_LOW"),
    "high": ("ENCRYPTION_METHOD_128BIT", "ENCRYPTION_LEVEL_HIGH"),
    "fips": ("ENCRYPTION_METHOD_FIPS", "ENCRYPTION_LEVEL_FIPS"),
}
@pytest.fixture(scope="module", params=list(CRYPT_LEVELS))
def rdp_mode(request: pytest.FixtureRequest) -> Iterator[tuple[str, ProbeResult]]:
    """One xrdp per crypt_level, probed once with the default options."""
    with harness.xrdp_server("rdp", crypt_level=request.param) as server:
        yield request.param, probe(server)


def test_rdp_mode_facts(rdp_mode: tuple[str, ProbeResult]) -> None:
    level, result = rdp_mode
    facts = result.facts
    # Offered SSL|HYBRID|HYBRID_EX; xrdp in rdp mode selects RDP anyway (never a failure).
    assert facts.selected_protocol == "RDP"
    assert facts.neg_failure_code is None
    assert facts.nla_required is False
    assert facts.tls is None and facts.ntlm is None
    assert facts.server_core is not None
    assert facts.server_core.rdp_version_name == XRDP_RDP_VERSION
    assert facts.server_core.client_requested_protocols == 0x0B
    assert facts.encryption is not None
    assert (facts.encryption.method, facts.encryption.level) == CRYPT_LEVELS[level]
    assert facts.channels is not None and facts.channels.io_channel == 1003
    assert facts.channels.user_id is not None
    assert facts.channels.joined == (facts.channels.user_id, 1003)


def test_rdp_mode_reaches_demand_active(rdp_mode: tuple[str, ProbeResult]) -> None:
    # The xrdp login screen needs no sesman: a probe without credentials gets Demand Active
    # after xrdp's full license exchange ([MS-RDPELE]), encrypted at low, high and fips.
    # FIPS runs 3DES-CBC with HMAC-SHA1 ([MS-RDPBCGR] 5.3.5.2, 5.3.6.2): xrdp's own code checks
    # the probe's MACs and decrypts its Client Info; the probe checks every PDU xrdp sends back.
    level, result = rdp_mode
    assert (result.phase_reached, result.failed_phase, result.signal) == (
        Phase.CAPABILITIES_EXCHANGE, None, Signal.OK), result.detail
    assert (result.verdict.category, result.verdict.taxonomy_id) == ("ok", "OK")
    assert result.verdict.freerdp is None
    assert result.facts.capabilities is not None and result.facts.capabilities.capability_sets
    skipped = set(result.skipped_phases)
    assert Phase.TLS in skipped and Phase.NLA in skipped
    if level == "none":
        assert Phase.SECURITY_COMMENCEMENT in skipped
    else:
        assert Phase.SECURITY_COMMENCEMENT not in skipped


# ---------------------------------------------------------------------------
# security_layer=tls: certificates
# ---------------------------------------------------------------------------

# Certificate -> findings when probed as 127.0.0.1 with the test CA trusted (--ca-file).
# Every variant but "self-signed" is signed by that CA, so a CA-signed certificate with the
# right name is clean; a self-signed or expired one has no valid chain (untrusted_chain).
CERTIFICATES = {
    "ca-signed": (),
    "self-signed": ("self_signed", "untrusted_chain"),
    "expired": ("expired", "untrusted_chain"),
    "wrong-name": ("name_mismatch",),  # CN and SAN wrong-name.rdpprobe.invalid
    "dns-name-only": ("name_mismatch",),  # SAN localhost only: no IP SAN for 127.0.0.1
}


def _bundle(name: str) -> CertBundle:
    if name == "dns-name-only":
        return make_certificate(common_name="localhost", sans=("localhost",), issuer=variant_ca())
    return certificate_variant(name)


@pytest.fixture(scope="module")
def cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("xrdp-certs")
    for name in CERTIFICATES:
        _bundle(name).write(directory, name)
    (directory / "ca.pem").write_bytes(variant_ca().cert_pem)
    return directory


@pytest.mark.parametrize("cert", sorted(CERTIFICATES))
def test_tls_certificate_findings(cert: str, cert_dir: Path) -> None:
    with harness.xrdp_server("tls", cert=cert_dir / f"{cert}.pem", key=cert_dir / f"{cert}.key") as server:
        result = probe(server, stop_after="tls", ca_file=str(cert_dir / "ca.pem"))
    assert (result.phase_reached, result.failed_phase, result.signal) == (Phase.TLS, None, Signal.OK)
    assert (result.verdict.category, result.verdict.taxonomy_id) == ("ok", "OK")
    tls = result.facts.tls
    assert result.facts.selected_protocol == "SSL"
    assert tls is not None and tls.certificate is not None
    assert tls.version in ("TLSv1.2", "TLSv1.3")  # xrdp: ssl_protocols=TLSv1.2, TLSv1.3
    assert tls.certificate.findings == CERTIFICATES[cert]
    assert tls.findings == CERTIFICATES[cert]
    assert tls.certificate.sha256 == _sha256_of(cert_dir / f"{cert}.pem")


def _sha256_of(pem: Path) -> str:
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    der = x509.load_pem_x509_certificate(pem.read_bytes()).public_bytes(Encoding.DER)
    return hashlib.sha256(der).hexdigest()


def test_tls_expected_name_overrides_address(cert_dir: Path) -> None:
    # Probed by address but told the name the user types: the wrong-name certificate
    # still mismatches, the DNS-only one now matches.
    for cert, expected in (("wrong-name", ("name_mismatch",)), ("dns-name-only", ())):
        with harness.xrdp_server("tls", cert=cert_dir / f"{cert}.pem", key=cert_dir / f"{cert}.key") as server:
            result = probe(server, stop_after="tls", expected_name="localhost", ca_file=str(cert_dir / "ca.pem"))
        assert result.facts.tls is not None and result.facts.tls.certificate is not None
        assert result.facts.tls.certificate.findings == expected, cert


def test_tls_mode_full_probe() -> None:
    with harness.xrdp_server("tls") as server:
        result = probe(server)
    assert (result.phase_reached, result.failed_phase, result.signal) == (
        Phase.CAPABILITIES_EXCHANGE, None, Signal.OK), result.detail
    facts = result.facts
    assert facts.selected_protocol == "SSL" and facts.nla_required is False
    # Under Enhanced RDP Security the server announces no Standard RDP encryption.
    assert facts.encryption is not None
    assert (facts.encryption.method, facts.encryption.level) == ("NONE", "ENCRYPTION_LEVEL_NONE")
    assert facts.server_core is not None and facts.server_core.rdp_version_name == XRDP_RDP_VERSION
    # xrdp never selects HYBRID: NLA is skipped, never attempted.
    assert Phase.NLA in result.skipped_phases
    assert result.facts.ntlm is None and result.facts.credssp_version is None


def test_tls_mode_rdp_only_client_is_sent_to_tls() -> None:
    # Offering only RDP gets RDP_NEG_FAILURE 1; the probe reconnects offering SSL.
    with harness.xrdp_server("tls") as server:
        result = probe(server, protocols="RDP", stop_after="tls")
    assert (result.phase_reached, result.signal) == (Phase.TLS, Signal.OK)
    assert result.facts.selected_protocol == "SSL"
    assert result.facts.neg_failure_code == 1  # SSL_REQUIRED_BY_SERVER


def test_tls_without_certificate_is_n3(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    with harness.xrdp_server("tls", cert=missing, key=missing) as server:
        result = probe(server)
    assert (result.phase_reached, result.failed_phase, result.signal) == (
        Phase.CONNECTION_INITIATION, Phase.CONNECTION_INITIATION, Signal.NEG_FAILURE)
    verdict = result.verdict
    assert (verdict.category, verdict.taxonomy_id) == ("negotiation_refused", "N3")
    # FreeRDP 2.11 and 3.x (to 3.30.0) end any refused negotiation so; master says TLS_CONNECT_FAILED.
    assert verdict.freerdp == verdict.freerdp_2 == "ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED"
    assert result.detail is not None and "SSL_CERT_NOT_ON_SERVER" in result.detail
    assert result.facts.neg_failure_code == 3
    assert result.facts.selected_protocol is None and result.facts.tls is None


# ---------------------------------------------------------------------------
# security_layer=negotiate
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def negotiate_server() -> Iterator[harness.Daemon]:
    with harness.xrdp_server("negotiate") as server:
        yield server


def test_negotiate_selects_tls(negotiate_server: harness.Daemon) -> None:
    result = probe(negotiate_server)
    assert (result.phase_reached, result.signal) == (Phase.CAPABILITIES_EXCHANGE, Signal.OK)
    assert result.facts.selected_protocol == "SSL"
    assert result.facts.nla_required is False
    assert result.facts.tls is not None and result.facts.tls.certificate is not None
    # The harness's default certificate: self-signed, CN localhost, SAN 127.0.0.1 and ::1.
    assert result.facts.tls.certificate.findings == ("self_signed", "untrusted_chain")


def test_negotiate_rdp_only_client_gets_standard_security(negotiate_server: harness.Daemon) -> None:
    result = probe(negotiate_server, protocols="RDP")
    assert (result.phase_reached, result.signal) == (Phase.CAPABILITIES_EXCHANGE, Signal.OK)
    assert result.facts.selected_protocol == "RDP"
    assert result.facts.encryption is not None
    assert result.facts.encryption.level == "ENCRYPTION_LEVEL_HIGH"  # the harness's crypt_level


def test_negotiate_ipv6_loopback() -> None:
    with harness.xrdp_server("negotiate", host="::1") as server:
        result = rdpprobe.probe(f"[::1]:{server.port}", stop_after="tls", **PROBE_OPTIONS)  # type: ignore[arg-type]
    assert (result.phase_reached, result.signal) == (Phase.TLS, Signal.OK)
    assert result.target.address == "::1"
    assert result.facts.tls is not None and result.facts.tls.certificate is not None
    assert result.facts.tls.certificate.findings == ("self_signed", "untrusted_chain")  # SAN has ::1


# ---------------------------------------------------------------------------
# Protocol enumeration
# ---------------------------------------------------------------------------

# security_layer -> what each enumerated request is answered with (notes on real servers):
# RDP -> sel RDP (tls: FAILURE 1), SSL -> sel SSL (rdp: sel RDP), SSL|HYBRID and
# SSL|HYBRID|HYBRID_EX -> sel SSL (rdp: sel RDP), RDSTLS -> sel RDP (tls: FAILURE 1),
# RDSAAD -> Disconnect Provider Ultimatum.
ENUMERATED = {"negotiate": ("RDP", "SSL"), "tls": ("SSL",), "rdp": ("RDP",)}


@pytest.mark.parametrize("mode", sorted(ENUMERATED))
def test_enumeration(mode: str) -> None:
    with harness.xrdp_server(mode) as server:
        result = probe(server, enumerate=True)
    assert result.facts.accepted_protocols == ENUMERATED[mode]
    assert result.facts.nla_required is False
    assert result.verdict.category == "ok"


def test_rdsaad_request_is_refused_not_foreign(negotiate_server: harness.Daemon) -> None:
    # xrdp answers a CR requesting only RDSAAD (0x10) with an X.224 Data TPDU carrying an
    # MCS Disconnect Provider Ultimatum (0300000902f0802180), not a Connection Confirm:
    # a refusal by an RDP server, not a foreign protocol.
    result = probe(negotiate_server, protocols="RDSAAD")
    assert (result.phase_reached, result.failed_phase, result.signal) == (
        Phase.CONNECTION_INITIATION, Phase.CONNECTION_INITIATION, Signal.DISCONNECT_ULTIMATUM)
    assert result.verdict.taxonomy_id == "E2"
    assert result.verdict.category != "not_rdp"
