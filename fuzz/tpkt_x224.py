"""Fuzz target: TPKT, X.224 and RDP negotiation ([MS-RDPBCGR] 2.2.1.1-2.2.1.2, T.123 8).

``python fuzz/tpkt_x224.py [libFuzzer flags]``; invariants in ``fuzz.codecs``.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fuzz.codecs import Codec, check_family, length_within  # noqa: E402
from fuzz.common import instrumented, main  # noqa: E402

with instrumented(__name__):
    from rdpprobe.wire import nego, tpkt, x224

NAME = "tpkt_x224"
FAMILY = (
    Codec("tpkt.frame_length", tpkt.frame_length, check=length_within(tpkt.TPKT_MAX_LENGTH)),
    Codec("tpkt.fastpath_frame_length", tpkt.fastpath_frame_length, check=length_within(tpkt.FASTPATH_MAX_LENGTH)),
    Codec("tpkt.decode_tpkt", tpkt.decode_tpkt),
    Codec("x224.decode_tpdu", x224.decode_tpdu),
    Codec("x224.decode_x224_frame", x224.decode_x224_frame),
    Codec("x224.decode_data_frame", x224.decode_data_frame, x224.encode_data_frame),
    Codec("nego.decode_connection_request", nego.decode_connection_request, nego.encode_connection_request),
    Codec("nego.decode_connection_confirm", nego.decode_connection_confirm, nego.encode_connection_confirm),
)
#: Golden vectors (fixtures/vectors) that seed each decoder.
SEEDS = {
    "x224_connection_request": ("nego.decode_connection_request", "tpkt.frame_length", "x224.decode_x224_frame"),
    "x224_cr_probe_hybrid_ex": ("nego.decode_connection_request",),
    "x224_connection_confirm": ("nego.decode_connection_confirm", "tpkt.decode_tpkt", "x224.decode_tpdu"),
    "x224_cc_failure_hybrid_required": ("nego.decode_connection_confirm",),
    "x224_cc_failure_ssl_not_allowed": ("nego.decode_connection_confirm",),
    "x224_cc_rsp_flags_1f_hybrid": ("nego.decode_connection_confirm",),
    "x224_cc_legacy": ("nego.decode_connection_confirm",),
    "mcs_erect_domain_request": ("x224.decode_data_frame", "tpkt.fastpath_frame_length"),
}


def check(data: bytes) -> None:
    check_family(FAMILY, data)


if __name__ == "__main__":
    main(NAME, check)
