from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdpprobe.errors import DecodeError, InvalidField
from rdpprobe.wire import basic_settings as bs, gcc, gcc_blocks as gb, mcs
from rdpprobe.wire.gcc_consts import rdp_version_name
from tests.strategies.connect import client_blocks, conference_requests, conference_responses, server_blocks
from tests.vectors import hexdiff, vector

CORE = gb.ClientCoreData(
    version=0x00080004, desktop_width=1280, desktop_height=1024, color_depth=0xCA01, sas_sequence=0xAA03,
    keyboard_layout=0x409, client_build=3790, client_name=gb.utf16_field("ELTONS-DEV2", 32),
    keyboard_type=4, keyboard_sub_type=0, keyboard_function_key=12, ime_file_name=bytes(64),
    post_beta2_color_depth=0xCA01, client_product_id=1, serial_number=0, high_color_depth=24,
    supported_color_depths=7, early_capability_flags=1,
    client_dig_product_id=gb.utf16_field("69712-783-0357974-42714", 64),
    connection_type=0, pad1octet=0, server_selected_protocol=0,
)
CLIENT_BLOCKS = (
    CORE,
    gb.ClientClusterData(0x0D, 0),
    gb.ClientSecurityData(0x1B, 0),
    gb.ClientNetworkData((
        gb.ChannelDef(gb.channel_name("rdpdr"), 0x80800000),
        gb.ChannelDef(gb.channel_name("cliprdr"), 0xC0A00000),
        gb.ChannelDef(gb.channel_name("rdpsnd"), 0xC0000000),
    )),
)
_CR = vector("mcs_connect_response")
SERVER_BLOCKS = (
    gb.ServerCoreData(0x00080004, 0),
    gb.ServerNetworkData(1003, (1004, 1005, 1006)),
    gb.ServerSecurityData(2, 2, _CR[0x79:0x99], _CR[0x99:]),
)


def test_connect_initial_vector() -> None:
    data = vector("mcs_connect_initial")
    encoded = bs.encode_connect_initial_frame(CLIENT_BLOCKS)
    assert encoded == data, hexdiff(encoded, data)
    ci, req, blocks = bs.decode_connect_initial_frame(data)
    assert blocks == CLIENT_BLOCKS
    assert req == gcc.ConferenceCreateRequest(gb.encode_client_blocks(CLIENT_BLOCKS))
    assert len(gb.encode_client_blocks(blocks)) == 0x11C


def test_connect_response_vector() -> None:
    data = vector("mcs_connect_response")
    assert len(SERVER_BLOCKS[2].server_certificate or b"") == 184
    encoded = bs.encode_connect_response_frame(SERVER_BLOCKS, gcc_connect_pdu_length=0x2A)
    assert encoded == data, hexdiff(encoded, data)
    rsp, gcc_rsp, blocks = bs.decode_connect_response(data)
    assert blocks == SERVER_BLOCKS
    assert gcc_rsp == gcc.ConferenceCreateResponse(0x79F3, 1, 0, gb.encode_server_blocks(SERVER_BLOCKS), b"McDn", 0x2A)
    assert rsp.result == 0 and len(rsp.user_data) == 0x11F


def test_connect_failure_frame() -> None:
    rsp, gcc_rsp, blocks = bs.decode_connect_response(bs.encode_connect_failure_frame(14))
    assert (rsp.result, gcc_rsp, blocks) == (14, None, ())


def test_text_helpers_and_versions() -> None:
    assert gb.utf16_text(CORE.client_name) == "ELTONS-DEV2"
    assert gb.utf16_text(gb.utf16_field("x" * 40, 32)) == "x" * 15
    assert rdp_version_name(0x00080001) == "RDP 4.0"
    assert rdp_version_name(0x00080004) == "RDP 5.0-8.1"
    assert rdp_version_name(0x00080005) == "RDP 10.0"
    assert rdp_version_name(0x00080011) == "RDP 10.12"
    assert rdp_version_name(0x00090000) == "unknown(0x90000)"


def test_optional_core_fields() -> None:
    short = gb.ClientCoreData()
    assert gb.decode_client_blocks(gb.encode_client_blocks([short])) == (short,)
    assert len(gb.encode_client_blocks([short])) == 132
    with pytest.raises(Exception):
        gb.encode_client_blocks([gb.ClientCoreData(serial_number=1)])
    cut = gb.encode_client_blocks([gb.ClientCoreData(post_beta2_color_depth=1, client_product_id=1)])
    bad = (len(cut) - 1).to_bytes(2, "little")
    with pytest.raises(DecodeError):
        gb.decode_client_blocks(cut[:2] + bad + cut[4:-1])


def test_server_network_without_pad_and_unknown_blocks() -> None:
    data = bytes.fromhex("030c0a00eb030100ec03") + bytes.fromhex("080c080001000000")
    blocks = gb.decode_server_blocks(data)
    assert blocks == (gb.ServerNetworkData(1003, (1004,)), gb.UnknownBlock(0x0C08, b"\x01\x00\x00\x00"))


@pytest.mark.parametrize(
    "data",
    ["01c0", "01c00300", "03c00c00ffffff7f00000000", "030c0800eb03ff7f", "020c1400000000000000000020000000ffffff00",
     "01c0ffff00"],
)
def test_bad_blocks(data: str) -> None:
    with pytest.raises(DecodeError):
        gb.decode_client_blocks(bytes.fromhex(data)) if data.startswith(("01c0", "03c0")) else gb.decode_server_blocks(
            bytes.fromhex(data)
        )


@given(st.lists(client_blocks, max_size=5))
def test_client_blocks_roundtrip(blocks: list[gb.ClientBlock]) -> None:
    data = gb.encode_client_blocks(blocks)
    assert gb.decode_client_blocks(data) == tuple(blocks)
    assert gb.encode_client_blocks(gb.decode_client_blocks(data)) == data


@given(st.lists(server_blocks, max_size=5))
def test_server_blocks_roundtrip(blocks: list[gb.ServerBlock]) -> None:
    data = gb.encode_server_blocks(blocks)
    assert gb.decode_server_blocks(data) == tuple(blocks)


@given(conference_requests)
def test_conference_request_roundtrip(req: gcc.ConferenceCreateRequest) -> None:
    assert gcc.decode_conference_create_request(gcc.encode_conference_create_request(req)) == req


@given(conference_responses)
def test_conference_response_roundtrip(rsp: gcc.ConferenceCreateResponse) -> None:
    assert gcc.decode_conference_create_response(gcc.encode_conference_create_response(rsp)) == rsp


@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_decode_errors(data: bytes) -> None:
    for fn in (
        gb.decode_client_blocks, gb.decode_server_blocks, gcc.decode_conference_create_request,
        gcc.decode_conference_create_response, bs.decode_connect_response, bs.decode_connect_initial_frame,
    ):
        try:
            fn(data)
        except DecodeError:
            pass


@given(st.binary(max_size=40))
def test_mutated_vectors_raise_only_decode_errors(tail: bytes) -> None:
    for name in ("mcs_connect_initial", "mcs_connect_response"):
        data = vector(name)
        for cut in (len(data) // 3, len(data) // 2):
            mutated = data[:cut] + tail + data[cut + len(tail):]
            for fn in (bs.decode_connect_response, bs.decode_connect_initial_frame, mcs.decode_mcs_frame):
                try:
                    fn(mutated)
                except DecodeError:
                    pass


def test_giant_counts_do_not_allocate() -> None:
    with pytest.raises(DecodeError):
        gb.decode_client_blocks(bytes.fromhex("03c00800ffffffff"))
    with pytest.raises(DecodeError):
        gb.decode_server_blocks(bytes.fromhex("020c1400000000000000000000000000ffffffff"))


def _server_security_block(random: bytes, method: int = 2, level: int = 2) -> bytes:
    """TS_UD_SC_SEC1 ([MS-RDPBCGR] 2.2.1.4.3) with a header, built field by field."""
    body = (method.to_bytes(4, "little") + level.to_bytes(4, "little") + len(random).to_bytes(4, "little")
            + len(_CR[0x99:]).to_bytes(4, "little") + random + _CR[0x99:])  # fmt: skip
    return (0x0C02).to_bytes(2, "little") + (4 + len(body)).to_bytes(2, "little") + body


def test_server_security_data_with_a_32_byte_random_decodes() -> None:
    (block,) = gb.decode_server_blocks(_server_security_block(_CR[0x79:0x99]))
    assert isinstance(block, gb.ServerSecurityData) and block.server_random == _CR[0x79:0x99]


@pytest.mark.parametrize("size", [33, 31, 16, 0])
def test_server_security_data_refuses_a_random_that_is_not_32_bytes(size: int) -> None:
    """2.2.1.4.3: serverRandomLen MUST be 32 when the server encrypts; refused at decode,
    not later in key derivation."""
    with pytest.raises(InvalidField) as refused:
        gb.decode_server_blocks(_server_security_block(bytes(range(size))))
    assert refused.value.field == "serverRandomLen"
    assert refused.value.pdu == gb.SERVER_SECURITY_PDU
    assert f"{size}, must be 32" in str(refused.value)
