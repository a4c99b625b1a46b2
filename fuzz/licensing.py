"""Fuzz target: licensing ([MS-RDPBCGR] 2.2.1.12, [MS-RDPELE] 2.2.2): the server's messages
and the client's answers to them. ``python fuzz/licensing.py [libFuzzer flags]``.

Beyond ``fuzz.codecs``'s invariants: any server message the client answers gets a NEW
LICENSE REQUEST or PLATFORM CHALLENGE RESPONSE that decodes, or a ``DecodeError``.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fuzz.codecs import Codec, check_family  # noqa: E402
from fuzz.common import expect, instrumented, main  # noqa: E402

with instrumented(__name__):
    from rdpprobe.wire import license_client, licensing

NAME = "licensing"
#: The client's answers to a server's licensing message ([MS-RDPELE] 3.3.5).
ANSWERS = (licensing.LicenseMsgType.NEW_LICENSE_REQUEST, licensing.LicenseMsgType.PLATFORM_CHALLENGE_RESPONSE)


def _answer(data: bytes) -> bytes | None:
    """What the probe's licensing client sends back to the server message ``data``."""
    context = license_client.LicenseClientContext(rng=random.Random(1).randbytes, user_name="probe",
                                                  machine_name="rdpprobe")
    return license_client.respond_to_license_message(licensing.decode_license_pdu(data), context)


def _answer_decodes(_data: bytes, reply: bytes | None) -> None:
    if reply is not None:
        kind = getattr(licensing.decode_license_pdu(reply), "msg_type", None)
        expect(kind in ANSWERS, f"the client answered a licensing message with {kind}")


FAMILY = (
    Codec("licensing.decode_license_pdu", licensing.decode_license_pdu, licensing.encode_license_pdu),
    Codec("license_client.answer", _answer, check=_answer_decodes),
    Codec("license_client.decode_new_license_request", license_client.decode_new_license_request,
          license_client.encode_new_license_request),
    Codec("license_client.decode_platform_challenge_response", license_client.decode_platform_challenge_response,
          license_client.encode_platform_challenge_response),
    Codec("license_client.decode_client_hardware_id", license_client.decode_client_hardware_id,
          license_client.encode_client_hardware_id),
)
SEEDS = {
    "rdp_license_valid_client_4_1_11": ("licensing.decode_license_pdu", "license_client.answer"),
}


def check(data: bytes) -> None:
    check_family(FAMILY, data)


if __name__ == "__main__":
    main(NAME, check)
