"""FIPS Standard RDP Security ([MS-RDPBCGR] 5.3.5.2, 5.3.6.2): keys, 3DES-CBC, HMAC-SHA1.

The key expansion is checked against the specification's own worked example; the rest by
round trips between a client and a server context and by hostile input. Interoperability is
tested against xrdp (the probe as client) and xfreerdp (the mock as server).
"""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdpprobe.errors import DecodeError, EncodeError, InvalidField
from rdpprobe.wire import rdpcrypto as c
from rdpprobe.wire import security as sec
from rdpprobe.wire.gcc_consts import EncryptionMethod
from rdpprobe.wire.rdpcrypto_fips import (
    DES3_BLOCK_SIZE,
    FipsSecurityContext,
    derive_fips_keys,
    expand_des3_key,
)

CLIENT_RANDOM = bytes(range(32))
SERVER_RANDOM = bytes(range(100, 132))


def pair() -> tuple[FipsSecurityContext, FipsSecurityContext]:
    client = FipsSecurityContext.from_randoms(CLIENT_RANDOM, SERVER_RANDOM, "client")
    server = FipsSecurityContext.from_randoms(CLIENT_RANDOM, SERVER_RANDOM, "server")
    return client, server


def test_key_expansion_matches_the_specification_example() -> None:
    # 5.3.5.2: 0xD1 0x5E 0xC4 0x7E 0xDA ... becomes 0x51 0x3D 0x11 0x76 0x27 ... before the
    # parity step; odd parity then changes 0x11 to 0x10 and 0x27 to 0x26.
    key = bytes.fromhex("d15ec47eda") + bytes(16)
    assert expand_des3_key(key)[:5] == bytes.fromhex("513d107626")


@given(st.binary(min_size=21, max_size=21))
def test_expanded_keys_have_odd_parity_and_keep_every_key_bit(key: bytes) -> None:
    expanded = expand_des3_key(key)
    assert len(expanded) == 24
    assert all(bin(byte).count("1") % 2 == 1 for byte in expanded)
    # Bit 7 of each byte is the inserted zero; bits 1-6 are key bits, bit 0 is parity.
    assert all(byte & 0x80 == 0 for byte in expanded)
    recovered = sum((byte >> 1 & 0x3F) << (7 * i + 1) for i, byte in enumerate(expanded))
    assert recovered == int.from_bytes(key, "little") & ~sum(1 << (7 * i) for i in range(24))


def test_expansion_needs_21_bytes() -> None:
    with pytest.raises(EncodeError):
        expand_des3_key(bytes(20))


def test_keys_follow_the_specification() -> None:
    keys = derive_fips_keys(CLIENT_RANDOM, SERVER_RANDOM)
    encrypt_t = hashlib.sha1(CLIENT_RANDOM[16:] + SERVER_RANDOM[16:]).digest()
    decrypt_t = hashlib.sha1(CLIENT_RANDOM[:16] + SERVER_RANDOM[:16]).digest()
    assert keys.client_encrypt_key == expand_des3_key(encrypt_t + encrypt_t[:1])
    assert keys.client_decrypt_key == expand_des3_key(decrypt_t + decrypt_t[:1])
    assert keys.hmac_key == hashlib.sha1(decrypt_t + encrypt_t).digest()


def test_signature_is_hmac_sha1_over_data_and_count() -> None:
    client, _ = pair()
    for count, data in enumerate((b"first", b"second")):
        _, signature, _ = client.encrypt(data)
        expected = hmac.digest(client.keys.hmac_key, data + count.to_bytes(4, "little"), "sha1")[:8]
        assert signature == expected


@settings(max_examples=50)
@given(st.lists(st.binary(max_size=64), min_size=1, max_size=6))
def test_both_directions_round_trip_over_one_cbc_chain(messages: list[bytes]) -> None:
    client, server = pair()
    for message in messages:
        pad_len, signature, ciphertext = client.encrypt(message)
        assert len(ciphertext) % DES3_BLOCK_SIZE == 0 and pad_len == len(ciphertext) - len(message)
        assert server.decrypt(pad_len, signature, ciphertext) == message
        reply = message[::-1]
        assert client.decrypt(*server.encrypt(reply)) == reply
    assert client.encrypt_count == server.decrypt_count == len(messages)


def test_the_chain_runs_on_across_pdus() -> None:
    client, _ = pair()
    first = client.encrypt(bytes(8))[2]
    assert client.encrypt(bytes(8))[2] != first  # same plaintext, chained IV


def test_a_pdu_out_of_order_fails_its_mac() -> None:
    client, server = pair()
    client.encrypt(b"one")  # never delivered
    with pytest.raises(InvalidField):
        server.decrypt(*client.encrypt(b"two"))


@pytest.mark.parametrize(("pad_len", "ciphertext"), [(8, bytes(8)), (1, bytes(7)), (3, b""), (-1, bytes(8))])
def test_bad_lengths_raise_decode_error(pad_len: int, ciphertext: bytes) -> None:
    _, server = pair()
    with pytest.raises(DecodeError):
        server.decrypt(pad_len, bytes(8), ciphertext)


def test_seal_and_unseal_use_the_fips_header() -> None:
    client = c.new_security_context(CLIENT_RANDOM, SERVER_RANDOM, EncryptionMethod.ENCRYPTION_METHOD_FIPS, "client")
    server = c.new_security_context(CLIENT_RANDOM, SERVER_RANDOM, EncryptionMethod.ENCRYPTION_METHOD_FIPS, "server")
    assert isinstance(client, FipsSecurityContext)
    wire = c.seal(client, sec.SEC_INFO_PKT, b"client info")
    header = sec.decode_secured_pdu(wire, fips=True).header
    assert isinstance(header, sec.FipsSecurityHeader)
    assert (header.length, header.version, header.pad_len) == (sec.FIPS_HEADER_LENGTH, sec.TSFIPS_VERSION1, 5)
    assert header.flags == sec.SEC_INFO_PKT | sec.SEC_ENCRYPT
    assert c.unseal(server, wire).payload == b"client info"
    assert c.unseal(server, b"\x80\x00\x00\x00clear").payload == b"clear"  # a licensing PDU


@settings(max_examples=100)
@given(st.binary(max_size=120))
def test_unseal_of_any_bytes_raises_only_decode_error(data: bytes) -> None:
    _, server = pair()
    try:
        c.unseal(server, data)
    except DecodeError:
        pass
