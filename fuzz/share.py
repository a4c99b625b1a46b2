"""Fuzz target: share and security PDUs ([MS-RDPBCGR] 2.2.1.10-2.2.1.13, 2.2.8, 2.2.13):
Demand Active and its capability sets, Set Error Info, the security header, Security
Exchange, Client Info, Server Redirection. ``python fuzz/share.py [libFuzzer flags]``;
invariants in ``fuzz.codecs``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fuzz.codecs import Codec, check_family  # noqa: E402
from fuzz.common import instrumented, main  # noqa: E402

with instrumented(__name__):
    from rdpprobe.errors import DecodeError
    from rdpprobe.wire import info, redirection, security, share

NAME = "share"


def _capability_views(_data: bytes, pdu: Any) -> None:
    """Every capability set a decoded PDU carries reads as its type, or as a DecodeError."""
    for cap in getattr(pdu, "capability_sets", ()):
        for view in (share.general_capability, share.bitmap_capability):
            try:
                view(cap)
            except DecodeError:
                pass


FAMILY = (
    Codec("share.decode_share_pdu", share.decode_share_pdu, share.encode_share_pdu, _capability_views),
    Codec("security.decode_secured_pdu", security.decode_secured_pdu, security.encode_secured_pdu),
    Codec("security.decode_secured_pdu_fips", lambda d: security.decode_secured_pdu(d, True)),
    Codec("security.decode_security_exchange", security.decode_security_exchange,
          security.encode_security_exchange),
    Codec("info.decode_client_info", info.decode_client_info, info.encode_client_info),
    Codec("redirection.decode_redirection_packet", redirection.decode_redirection_packet,
          redirection.encode_redirection_packet),
    Codec("redirection.decode_enhanced_redirection", redirection.decode_enhanced_redirection,
          redirection.encode_enhanced_redirection),
    Codec("redirection.decode_redirection_pdu", redirection.decode_redirection_pdu),
)
SEEDS = {
    "rdp_demand_active_4_1_12": ("share.decode_share_pdu",),
    "rdp_set_error_info_constructed": ("share.decode_share_pdu",),
    "rdp_security_exchange_4_1_9": ("security.decode_security_exchange",),
    "rdp_client_info_wire_4_1_10": ("security.decode_secured_pdu",),
    "rdp_ts_info_packet_4_1_10": ("info.decode_client_info",),
}


def check(data: bytes) -> None:
    check_family(FAMILY, data)


if __name__ == "__main__":
    main(NAME, check)
