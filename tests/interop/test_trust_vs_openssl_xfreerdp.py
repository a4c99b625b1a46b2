"""Certificate trust: rdpprobe's verdict against ``openssl verify -CAfile`` and xfreerdp.

A PKI made here with ``cryptography`` (a root, an intermediate under it, leaves), each leaf
served by xrdp (``security_layer=tls``) in turn. For each leaf:
- ``facts.tls.trust.trusted`` must equal ``openssl verify -CAfile root [-untrusted chain]``'s
  verdict, which judges the chain alone, as ``trusted`` does;
- "a client would accept it" (trusted, and no ``name_mismatch`` for the name used) must
  equal xfreerdp's verdict with that root trusted (``SSL_CERT_FILE``, read by OpenSSL's
  default store that FreeRDP 2 loads) and ``/cert:deny`` (refuse what does not verify),
  checking the name ``localhost`` (``/cert:name:``).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from rdpprobe import probe
from rdpprobe.certinfo import NAME_MISMATCH, UNTRUSTED_CHAIN
from rdpprobe.mock.certs import BACKDATE, CertBundle, WRONG_NAME, make_ca, make_certificate
from tests.interop import harness

pytestmark = pytest.mark.interop

NAME = "localhost"
#: xfreerdp states that only a connection past the TLS handshake reaches.
PAST_TLS = frozenset({"CONNECTION_STATE_MCS_CREATE_REQUEST", "CONNECTION_STATE_MCS_CREATE_RESPONSE",
                      "CONNECTION_STATE_MCS_ERECT_DOMAIN", "CONNECTION_STATE_MCS_ATTACH_USER",
                      "CONNECTION_STATE_CAPABILITIES_EXCHANGE", "CONNECTION_STATE_ACTIVE"})
#: How xfreerdp says it refused the certificate (libfreerdp/crypto/tls.c).
XFREERDP_REFUSALS = ("certificate not trusted", "Certificate verification failure")
XFREERDP_TIMEOUT = 6.0


@dataclass(frozen=True)
class Pki:
    root_file: Path
    leaves: dict[str, CertBundle]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    root = make_ca("interop root CA", path_length=1)
    intermediate = make_ca("interop intermediate CA", issuer=root)
    now = datetime.now(timezone.utc)
    leaves = {
        "ca-signed": make_certificate(issuer=root),
        "intermediate-signed": make_certificate(issuer=intermediate),
        "self-signed": make_certificate(),
        "expired": make_certificate(issuer=root, not_before=now - timedelta(days=60), not_after=now - BACKDATE),
        "wrong-name": make_certificate(issuer=root, common_name=WRONG_NAME, sans=(WRONG_NAME,)),
    }
    root_file = tmp_path_factory.mktemp("pki") / "root.pem"
    root_file.write_bytes(root.cert_pem)
    return Pki(root_file, leaves)


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    with harness.xvfb() as disp:
        yield disp


def _openssl_verify(pki: Pki, leaf: CertBundle, workdir: Path) -> bool:
    harness.require("openssl")
    leaf_file, chain_file = workdir / "leaf.pem", workdir / "chain.pem"
    leaf_file.write_bytes(leaf.cert_pem)
    argv = ["openssl", "verify", "-CAfile", str(pki.root_file)]
    if leaf.chain_pem:
        chain_file.write_bytes(leaf.chain_pem)
        argv += ["-untrusted", str(chain_file)]
    done = subprocess.run([*argv, str(leaf_file)], capture_output=True, text=True, timeout=30)
    return done.returncode == 0


def _xfreerdp_accepts(pki: Pki, port: int, display: str) -> bool:
    os.environ["SSL_CERT_FILE"] = str(pki.root_file)
    try:
        run = harness.run_xfreerdp("127.0.0.1", port, extra=["/cert:deny", f"/cert:name:{NAME}"],
                                   timeout=XFREERDP_TIMEOUT, display=display)
    finally:
        del os.environ["SSL_CERT_FILE"]
    refused = any(text in run.output for text in XFREERDP_REFUSALS)
    past_tls = bool(PAST_TLS & set(run.states))
    assert refused != past_tls, (run.states, run.output[-2000:])
    return past_tls


@pytest.mark.parametrize("kind", ["ca-signed", "intermediate-signed", "self-signed", "expired", "wrong-name"])
def test_trust_verdict_agrees_with_openssl_and_xfreerdp(pki: Pki, display: str, kind: str,
                                                        tmp_path: Path) -> None:
    leaf = pki.leaves[kind]
    cert, key = leaf.write(tmp_path, "server")
    with harness.xrdp_server("tls", cert=cert, key=key) as server:
        result = probe(f"127.0.0.1:{server.port}", stop_after="tls", expected_name=NAME,
                       ca_file=str(pki.root_file))
        xfreerdp = _xfreerdp_accepts(pki, server.port, display)
    tls = result.facts.tls
    assert tls is not None and tls.trust is not None, (result.signal, result.detail)
    openssl = _openssl_verify(pki, leaf, tmp_path)
    assert tls.trust.trusted is openssl, (kind, tls.trust, openssl)
    assert (UNTRUSTED_CHAIN in tls.findings) is (not openssl)
    accepted = bool(tls.trust.trusted) and NAME_MISMATCH not in tls.findings
    assert accepted is xfreerdp, (kind, tls.trust, tls.findings, xfreerdp)
    expected = {"ca-signed": (True, True), "intermediate-signed": (True, True), "self-signed": (False, False),
                "expired": (False, False), "wrong-name": (True, False)}[kind]
    assert (openssl, xfreerdp) == expected
