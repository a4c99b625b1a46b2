"""``wire.describe``: one line naming a PDU, its length and a few header fields, never content."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rdpprobe.wire import credssp
from rdpprobe.wire.describe import describe
from rdpprobe.wire.mcs import AttachUserRequest, encode_mcs_frame


def test_names_pdus_by_type_and_length() -> None:
    frame = encode_mcs_frame(AttachUserRequest())
    assert describe(frame) == f"MCS Attach User Request, {len(frame)} bytes"
    assert describe(b"") == "end of stream"
    assert describe(b"\x16\x03\x01\x00\x05hello") == "TLS handshake record, 10 bytes"


def test_a_ts_request_shows_its_fields_not_their_content() -> None:
    secret = b"\x99" * 32
    data = credssp.encode_ts_request(credssp.TsRequest(6, auth_info=secret, client_nonce=secret))
    line = describe(data)
    assert line == f"CredSSP TSRequest (version 6, authInfo, clientNonce), {len(data)} bytes"
    assert "99" not in line


@given(st.binary(max_size=64))
def test_any_bytes_get_one_line(data: bytes) -> None:
    line = describe(data)
    assert "\n" not in line and line
