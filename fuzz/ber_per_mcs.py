"""Fuzz target: BER, PER, MCS (T.125) and GCC (T.124) with the RDP user data blocks
([MS-RDPBCGR] 2.2.1.3-2.2.1.9). ``python fuzz/ber_per_mcs.py [libFuzzer flags]``;
invariants in ``fuzz.codecs``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fuzz.codecs import Codec, check_family  # noqa: E402
from fuzz.common import instrumented, main  # noqa: E402

with instrumented(__name__):
    from rdpprobe.wire import basic_settings, ber, gcc, gcc_blocks, mcs, per
    from rdpprobe.wire.buffer import Reader

NAME = "ber_per_mcs"


def _whole(read: Callable[[Reader], Any], pdu: str) -> Callable[[bytes], Any]:
    """A decoder for one primitive read over all of its input."""

    def decode(data: bytes) -> Any:
        reader = Reader(data, pdu)
        value = read(reader)
        reader.expect_end()
        return value

    return decode


FAMILY = (
    Codec("mcs.decode_mcs_pdu", mcs.decode_mcs_pdu, mcs.encode_mcs_pdu),
    Codec("mcs.decode_domain_pdu", mcs.decode_domain_pdu),
    Codec("mcs.decode_mcs_frame", mcs.decode_mcs_frame, mcs.encode_mcs_frame),
    Codec("gcc.decode_conference_create_request", gcc.decode_conference_create_request,
          gcc.encode_conference_create_request),
    Codec("gcc.decode_conference_create_response", gcc.decode_conference_create_response,
          gcc.encode_conference_create_response),
    Codec("gcc_blocks.decode_client_blocks", gcc_blocks.decode_client_blocks),
    Codec("gcc_blocks.decode_server_blocks", gcc_blocks.decode_server_blocks),
    Codec("basic_settings.decode_connect_response", basic_settings.decode_connect_response),
    Codec("basic_settings.decode_connect_initial_frame", basic_settings.decode_connect_initial_frame),
    Codec("ber.read_length", _whole(ber.read_length, "ber")),
    Codec("ber.read_integer", _whole(ber.read_integer, "ber")),
    Codec("ber.read_octet_string", _whole(ber.read_octet_string, "ber")),
    Codec("per.read_length", _whole(per.read_length, "per")),
    Codec("per.read_integer", _whole(per.read_integer, "per")),
    Codec("per.read_object_identifier", _whole(per.read_object_identifier, "per")),
    Codec("per.read_numeric_string", _whole(per.read_numeric_string, "per")),
)
SEEDS = {
    "mcs_connect_initial": ("mcs.decode_mcs_frame", "basic_settings.decode_connect_initial_frame"),
    "mcs_connect_response": ("mcs.decode_mcs_frame", "basic_settings.decode_connect_response"),
    "mcs_erect_domain_request": ("mcs.decode_mcs_frame",),
    "mcs_attach_user_request": ("mcs.decode_mcs_frame",),
    "mcs_attach_user_confirm": ("mcs.decode_mcs_frame",),
    "mcs_channel_join_request_1003": ("mcs.decode_mcs_frame",),
    "mcs_channel_join_confirm_1003": ("mcs.decode_mcs_frame",),
    "mcs_dpum_user_requested": ("mcs.decode_mcs_frame",),
    "mcs_dpum_provider_initiated": ("mcs.decode_mcs_frame",),
}


def check(data: bytes) -> None:
    check_family(FAMILY, data)


if __name__ == "__main__":
    main(NAME, check)
