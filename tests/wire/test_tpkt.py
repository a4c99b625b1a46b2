from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdpprobe.errors import DecodeError, EncodeError
from rdpprobe.wire import tpkt
from tests.vectors import all_vectors, vector

TPKT_VECTORS = sorted(n for n, v in all_vectors().items() if v.data[:1] == b"\x03" and n.startswith(("x224", "mcs")))


@pytest.mark.parametrize("name", TPKT_VECTORS)
def test_frame_length_whole_buffer(name: str) -> None:
    data = vector(name)
    assert tpkt.frame_length(data) == len(data)


@pytest.mark.parametrize("name", TPKT_VECTORS)
def test_frame_length_byte_by_byte(name: str) -> None:
    data = vector(name)
    for i in range(tpkt.TPKT_HEADER_SIZE):
        assert tpkt.frame_length(data[:i]) is None
    for i in range(tpkt.TPKT_HEADER_SIZE, len(data) + 1):
        assert tpkt.frame_length(memoryview(data)[:i]) == len(data)


@pytest.mark.parametrize("name", TPKT_VECTORS)
def test_frame_length_leaves_trailing_bytes(name: str) -> None:
    data = vector(name)
    buf = bytearray(data + b"\x03\x00\x00\x07\x02\xf0\x80")
    assert tpkt.frame_length(buf) == len(data)
    assert tpkt.decode_tpkt(bytes(buf[: len(data)])) == data[4:]


def test_frame_length_rejects_non_tpkt() -> None:
    with pytest.raises(DecodeError):
        tpkt.frame_length(b"HTTP/1.1")
    with pytest.raises(DecodeError):
        tpkt.frame_length(b"\x03\x00\x00\x06")


def test_encode_tpkt_vector() -> None:
    data = vector("x224_connection_confirm")
    assert tpkt.encode_tpkt(data[4:]) == data
    assert tpkt.decode_tpkt(data) == data[4:]


def test_encode_tpkt_limits() -> None:
    with pytest.raises(EncodeError):
        tpkt.encode_tpkt(b"\x00" * 0xFFFC)
    with pytest.raises(EncodeError):
        tpkt.encode_tpkt(b"")


def test_fastpath_framing() -> None:
    assert tpkt.is_fastpath(0x00) and not tpkt.is_fastpath(tpkt.TPKT_VERSION)
    assert tpkt.fastpath_frame_length(b"\x00") is None
    assert tpkt.fastpath_frame_length(b"\x00\x05abc") == 5
    assert tpkt.fastpath_frame_length(b"\x00\x81") is None
    assert tpkt.fastpath_frame_length(b"\x00\x81\x00") == 0x100
    assert tpkt.encode_fastpath_length(0x100) == b"\x81\x00"
    with pytest.raises(DecodeError):
        tpkt.fastpath_frame_length(b"\x00\x01")
    with pytest.raises(DecodeError):
        tpkt.fastpath_frame_length(b"\x03\x00\x00\x07")


@given(st.binary(min_size=3, max_size=2000))
def test_roundtrip(payload: bytes) -> None:
    frame = tpkt.encode_tpkt(payload)
    assert tpkt.frame_length(frame) == len(frame)
    assert tpkt.decode_tpkt(frame) == payload


@given(st.binary(max_size=64))
def test_arbitrary_bytes_raise_only_decode_errors(data: bytes) -> None:
    for fn in (tpkt.frame_length, tpkt.fastpath_frame_length, tpkt.decode_tpkt):
        try:
            fn(data)
        except DecodeError:
            pass
