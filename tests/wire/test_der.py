"""The DER walk to a certificate's public key, and the X.690 elements it and CredSSP share
(``rdpprobe.wire.der``)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from pyasn1.codec.der import encoder as pyasn1_der
from pyasn1.type import univ
from hypothesis import strategies as st

from rdpprobe.errors import DecodeError, InvalidField
from rdpprobe.mock.certs import certificate_variant
from rdpprobe.wire import der
from rdpprobe.wire.buffer import Reader
from tests.strategies import mutations

RSA_ALGORITHM = der.RSA_ENCRYPTION_OID


def _rsa_key(modulus: bytes, exponent: bytes) -> der.PublicKeyInfo:
    numbers = der.tlv(der.INTEGER, modulus) + der.tlv(der.INTEGER, exponent)
    return der.PublicKeyInfo(RSA_ALGORITHM, der.tlv(der.SEQUENCE, numbers))


def test_rsa_numbers_are_read_as_der_integers() -> None:
    assert der.rsa_public_key(_rsa_key(b"\x00\xc5", b"\x01\x00\x01")) == (0xC5, 65537)


@pytest.mark.parametrize(("modulus", "exponent"), [(b"\xc5", b"\x03"), (b"\x00", b"\x03"), (b"\x05", b"")])
def test_rsa_numbers_must_be_positive(modulus: bytes, exponent: bytes) -> None:
    """0xc5 alone is -59 in DER; an empty INTEGER is none at all."""
    with pytest.raises(InvalidField, match="not positive"):
        der.rsa_public_key(_rsa_key(modulus, exponent))


def test_an_indefinite_or_huge_length_is_refused() -> None:
    for length in (b"\x80", b"\x85\x01\x00\x00\x00\x00"):
        with pytest.raises(InvalidField, match="unsupported length form"):
            der.public_key_info(bytes([der.SEQUENCE]) + length)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_decode_errors(data: bytes) -> None:
    try:
        info = der.public_key_info(data)
    except DecodeError:
        return
    try:
        der.rsa_public_key(info)
    except DecodeError:
        pass


@given(st.lists(mutations.EDITS, min_size=1, max_size=4))
def test_a_changed_certificate_gives_its_key_or_a_decode_error(edits: list[tuple[Any, ...]]) -> None:
    """What a hostile server's certificate does to the walk: any edit of a real one."""
    data = certificate_variant("self-signed").cert_der
    for edit in edits:
        data = mutations.edit(data, edit)
    try:
        der.rsa_public_key(der.public_key_info(data))
    except DecodeError:
        pass


@pytest.mark.parametrize("size", [0, 1, 127, 128, 255, 256, 65_535, 65_536])
def test_an_element_is_written_as_pyasn1_writes_it(size: int) -> None:
    contents = bytes(size)
    assert der.tlv(der.OCTET_STRING, contents) == pyasn1_der.encode(univ.OctetString(contents))


@given(st.integers(0, 0xFF), st.binary(max_size=70_000))
def test_an_element_reads_back_what_was_written(tag: int, contents: bytes) -> None:
    r = Reader(der.tlv(tag, contents) + b"next")
    assert der.element(r, tag).rest() == contents
    assert r.rest() == b"next"


@given(st.lists(st.tuples(st.integers(0, 0xFF), st.binary(max_size=300)), max_size=5))
def test_children_are_the_elements_inside_in_order(parts: list[tuple[int, bytes]]) -> None:
    inside = [der.tlv(tag, contents) for tag, contents in parts]
    assert der.children(der.tlv(der.SEQUENCE, b"".join(inside)), "test") == inside
