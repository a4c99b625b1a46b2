"""Fuzz target: CredSSP TSRequest/TSCredentials ([MS-CSSP] 2.2.1) and NTLM messages
([MS-NLMP] 2.2.1). ``python fuzz/credssp_ntlm.py [libFuzzer flags]``.

Beyond ``fuzz.codecs``'s invariants: a TSRequest the hand-rolled fast path accepts decodes
the same through pyasn1 (the reference codec), so the fast path never reads what DER says
otherwise.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fuzz.codecs import Codec, check_family, length_within  # noqa: E402
from fuzz.common import expect, instrumented, main  # noqa: E402

with instrumented(__name__):
    from rdpprobe.wire import credssp, credssp_asn1, credssp_fast, ntlm, ntlm_fields, ntlm_messages

NAME = "credssp_ntlm"


def _same_as_pyasn1(data: bytes, value: Any) -> None:
    if credssp_fast.decode_fields(data) is None:
        return  # pyasn1 decoded it already
    expect(credssp_asn1.decode_ts_request_asn1(data) == value, "fast TSRequest decoder disagrees with pyasn1")


FAMILY = (
    Codec("credssp.decode_ts_request", credssp.decode_ts_request, credssp.encode_ts_request, _same_as_pyasn1),
    Codec("credssp.ts_request_frame_length", credssp.ts_request_frame_length,
          check=length_within(credssp.MAX_TS_REQUEST_LEN)),
    Codec("credssp.decode_ts_credentials", credssp.decode_ts_credentials),
    Codec("credssp.decode_ts_password_creds", credssp.decode_ts_password_creds),
    Codec("ntlm.decode_challenge", ntlm.decode_challenge),
    Codec("ntlm.decode_negotiate", ntlm.decode_negotiate),
    Codec("ntlm.decode_authenticate", ntlm_messages.decode_authenticate, ntlm_messages.encode_authenticate),
    Codec("ntlm.decode_av_pairs", ntlm_fields.decode_av_pairs, ntlm_fields.encode_av_pairs),
)
SEEDS = {
    "cssp_ts_request_v6_negotiate": ("credssp.decode_ts_request", "credssp.ts_request_frame_length"),
    "cssp_ts_request_version_only": ("credssp.decode_ts_request",),
    "cssp_ts_request_two_tokens": ("credssp.decode_ts_request",),
    "cssp_ts_request_auth_info": ("credssp.decode_ts_request",),
    "cssp_ts_request_pub_key_auth": ("credssp.decode_ts_request",),
    "cssp_ts_request_error_logon_failure": ("credssp.decode_ts_request",),
    "cssp_ts_request_client_nonce": ("credssp.decode_ts_request",),
    "cssp_ts_request_version_96": ("credssp.decode_ts_request",),
    "cssp_ts_credentials_password": ("credssp.decode_ts_credentials",),
    "nlmp_ntlmv2_challenge": ("ntlm.decode_challenge",),
    "nlmp_challenge_rdpprobe": ("ntlm.decode_challenge",),
    "nlmp_negotiate_default": ("ntlm.decode_negotiate",),
    "nlmp_authenticate_rdpprobe": ("ntlm.decode_authenticate",),
}


def check(data: bytes) -> None:
    check_family(FAMILY, data)


if __name__ == "__main__":
    main(NAME, check)
