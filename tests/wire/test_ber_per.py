from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdpprobe.errors import DecodeError, EncodeError, NotEnoughData
from rdpprobe.wire import ber, per
from rdpprobe.wire.buffer import Reader, Writer


def _w(fn, *args) -> bytes:  # type: ignore[no-untyped-def]
    w = Writer()
    fn(w, *args)
    return bytes(w)


@pytest.mark.parametrize(("length", "hexed"), [(0x19, "19"), (0x80, "8180"), (0x194, "820194"), (0xFF, "81ff")])
def test_ber_length_forms(length: int, hexed: str) -> None:
    assert _w(ber.write_length, length) == bytes.fromhex(hexed)
    r = Reader(bytes.fromhex(hexed) + bytes(length))
    assert ber.read_length(r) == length


@pytest.mark.parametrize("hexed", ["80", "83000001", "8201ff00"])
def test_ber_length_rejects(hexed: str) -> None:
    with pytest.raises(DecodeError):
        ber.read_length(Reader(bytes.fromhex(hexed)))


def test_ber_giant_length_does_not_allocate() -> None:
    with pytest.raises(NotEnoughData):
        ber.read_octet_string(Reader(bytes.fromhex("0482ffff00")))


@pytest.mark.parametrize(
    ("value", "unsigned", "hexed"),
    [(0x22, False, "020122"), (65535, True, "0202ffff"), (65528, False, "020300fff8"), (0, False, "020100"),
     (0xFFFFFFFF, False, "020500ffffffff")],
)
def test_ber_integer(value: int, unsigned: bool, hexed: str) -> None:
    assert _w(ber.write_integer, value, unsigned) == bytes.fromhex(hexed)
    assert ber.read_integer(Reader(bytes.fromhex(hexed))) == value


def test_ber_misc() -> None:
    assert _w(ber.write_boolean, True) == b"\x01\x01\xff"
    assert ber.read_boolean(Reader(b"\x01\x01\x01")) is True
    assert _w(ber.write_enumerated, 14) == b"\x0a\x01\x0e"
    assert _w(ber.write_application_tag, 101, 0x194) == bytes.fromhex("7f65820194")
    with pytest.raises(DecodeError):
        ber.read_integer(Reader(bytes.fromhex("02050100000000")))
    with pytest.raises(EncodeError):
        ber.write_length(Writer(), 0x10000)


@pytest.mark.parametrize(("length", "hexed"), [(0, "00"), (0x7F, "7f"), (0x12A, "812a"), (0x7FFF, "ffff")])
def test_per_length(length: int, hexed: str) -> None:
    assert _w(per.write_length, length) == bytes.fromhex(hexed)
    assert per.read_length(Reader(bytes.fromhex(hexed))) == length
    assert per.length_size(length) == len(bytes.fromhex(hexed))


def test_per_fields() -> None:
    assert _w(per.write_object_identifier, (0, 0, 20, 124, 0, 1)) == bytes.fromhex("0500147c0001")
    assert per.read_object_identifier(Reader(bytes.fromhex("0500147c0001"))) == (0, 0, 20, 124, 0, 1)
    assert _w(per.write_numeric_string, "1", 1) == bytes.fromhex("0010")
    assert per.read_numeric_string(Reader(bytes.fromhex("0010")), 1) == "1"
    assert _w(per.write_octet_string, b"Duca", 4) == b"\x00Duca"
    assert _w(per.write_integer16, 1007, 1001) == b"\x00\x06"
    assert _w(per.write_integer, 1) == b"\x01\x01"
    assert _w(per.write_integer, 0x10000) == b"\x04\x00\x01\x00\x00"
    with pytest.raises(DecodeError):
        per.read_object_identifier(Reader(b"\x01\x80"))
    with pytest.raises(DecodeError):
        per.read_numeric_string(Reader(b"\x00\xa0"), 1)


@given(st.lists(st.integers(0, 2**40), min_size=1, max_size=6), st.integers(0, 2), st.integers(0, 39))
def test_per_oid_roundtrip(arcs: list[int], first: int, second: int) -> None:
    oid = (first, second if first < 2 else second + 100, *arcs)
    assert per.read_object_identifier(Reader(_w(per.write_object_identifier, oid))) == oid


@given(st.text(alphabet="0123456789", min_size=1, max_size=300))
def test_per_numeric_roundtrip(text: str) -> None:
    assert per.read_numeric_string(Reader(_w(per.write_numeric_string, text, 1)), 1) == text


@given(st.integers(0, 0xFFFFFFFF), st.booleans())
def test_ber_integer_roundtrip(value: int, unsigned: bool) -> None:
    assert ber.read_integer(Reader(_w(ber.write_integer, value, unsigned))) == value


@given(st.binary(max_size=40))
def test_arbitrary_bytes_raise_only_decode_errors(data: bytes) -> None:
    readers = (
        ber.read_length, ber.read_integer, ber.read_boolean, ber.read_octet_string, ber.read_enumerated,
        ber.read_sequence, lambda r: ber.read_application_tag(r, 101), per.read_length,
        per.read_integer, per.read_object_identifier, lambda r: per.read_numeric_string(r, 1),
        lambda r: per.read_octet_string(r, 4), lambda r: per.read_integer16(r, 1001),
    )
    for fn in readers:
        try:
            fn(Reader(data))
        except DecodeError:
            pass
