"""Fuzz target: certificates: the server's TLS certificate as ``certinfo`` reads it (taxonomy
S3), the public key CredSSP binds to ([MS-CSSP] 3.1.5), and Standard RDP Security's server
certificate ([MS-RDPBCGR] 2.2.1.4.3.1). ``python fuzz/certificates.py [libFuzzer flags]``.

Invariants: ``analyze_certificate`` never raises and either reports a parse error or facts
whose findings are the documented ones; the key readers raise only ``DecodeError``; a
proprietary or X.509 server certificate re-encodes to what it decoded from.
"""

from __future__ import annotations

import sys
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fuzz.codecs import Codec, check_family  # noqa: E402
from fuzz.common import expect, instrumented, main  # noqa: E402

with instrumented(__name__):
    from rdpprobe import certinfo
    from rdpprobe.wire import credssp, der, security

NAME = "certificates"
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
FINDINGS = frozenset({
    certinfo.SELF_SIGNED, certinfo.EXPIRED, certinfo.NOT_YET_VALID, certinfo.NAME_MISMATCH, certinfo.WEAK_KEY,
    certinfo.SHA1_SIGNATURE, certinfo.MD5_SIGNATURE, certinfo.NO_SERVER_AUTH_EKU,
})  # fmt: skip


def _analyze(data: bytes) -> Any:
    with warnings.catch_warnings(record=True) as caught:  # the filters in force, recorded
        facts = certinfo.analyze_certificate(data, "rdp.example.test", NOW)
    expect(not caught, f"a warning would reach a scan's stderr: {[str(w.message) for w in caught]}")
    return facts


def _facts_or_parse_error(_data: bytes, facts: Any) -> None:
    expect(facts.parse_error is not None or facts.sha256 is not None, "certificate facts without a hash")
    expect(set(facts.findings) <= FINDINGS, f"undocumented findings {facts.findings}")


def _rsa_key(data: bytes) -> tuple[int, int]:
    return der.rsa_public_key(der.public_key_info(data))


FAMILY = (
    Codec("certinfo.analyze_certificate", _analyze, check=_facts_or_parse_error),
    Codec("credssp.subject_public_key", credssp.subject_public_key),
    Codec("der.rsa_public_key", _rsa_key),
    Codec("security.decode_server_certificate", security.decode_server_certificate,
          security.encode_server_certificate),
)
SEEDS = {
    "rdp_proprietary_certificate_4_1_4": ("security.decode_server_certificate",),
}


def check(data: bytes) -> None:
    check_family(FAMILY, data)


if __name__ == "__main__":
    main(NAME, check)
