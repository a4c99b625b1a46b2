"""Licensing PDUs ([MS-RDPBCGR] 2.2.1.12, [MS-RDPELE] 2.2.2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdpprobe.errors import DecodeError
from rdpprobe.wire import licensing as lic
from tests.strategies import rdp as s
from tests.vectors import vector


def test_valid_client_golden() -> None:
    data = vector("rdp_license_valid_client_4_1_11")
    msg = lic.decode_license_pdu(data)
    assert msg == lic.valid_client_message()
    assert lic.is_valid_client(msg)
    assert lic.encode_license_pdu(msg) == data
    assert len(data) == 16


def test_abort_is_not_valid_client() -> None:
    msg = lic.LicenseError(lic.LicenseErrorCode.ERR_NO_LICENSE_SERVER, lic.StateTransition.ST_TOTAL_ABORT)
    assert not lic.is_valid_client(lic.decode_license_pdu(lic.encode_license_pdu(msg)))


def test_license_request_for_the_mock() -> None:
    req = lic.LicenseRequest(
        bytes(32), lic.ProductInfo(lic.PRODUCT_INFO_VERSION, "Microsoft\0".encode("utf-16-le"), "A02\0".encode("utf-16-le")),
        lic.LicenseBlob(lic.BB_KEY_EXCHG_ALG_BLOB, (lic.KEY_EXCHANGE_ALG_RSA).to_bytes(4, "little")),
        lic.LicenseBlob(lic.BB_CERTIFICATE_BLOB, b""), (lic.LicenseBlob(lic.BB_SCOPE_BLOB, b"microsoft.com\0"),),
    )
    data = lic.encode_license_pdu(req)
    assert data[0] == lic.LicenseMsgType.LICENSE_REQUEST
    decoded = lic.decode_license_pdu(data)
    assert decoded == req
    assert lic.key_exchange_algorithms(req.key_exchange_list) == (1,)


def test_unknown_message_kept() -> None:
    msg = lic.decode_license_pdu(b"\x12\x03\x06\x00ab")
    assert msg == lic.UnknownLicenseMessage(0x12, b"ab", 3)


@pytest.mark.parametrize("data", [b"\xff\x03\x03\x00", b"\xff\x03\x11\x00" + bytes(13), b"\xff\x03\x10\x00" + bytes(12) + b"x"])
def test_bad_sizes(data: bytes) -> None:
    with pytest.raises(DecodeError):
        lic.decode_license_pdu(data)


@given(s.license_message)
def test_round_trip(msg: lic.LicenseMessage) -> None:
    assert lic.decode_license_pdu(lic.encode_license_pdu(msg)) == msg


@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_decode_error(data: bytes) -> None:
    try:
        lic.decode_license_pdu(data)
    except DecodeError:
        pass


# IronRDP's license error vector, after its basic security header (80 00 00 00): an
# ERROR_ALERT (0xFF), preamble version 3, wMsgSize 0x0014 = 20, which counts that 4-byte
# header too; STATUS_VALID_CLIENT (7), ST_NO_TRANSITION (2), an empty BB_ERROR_BLOB (4).
IRONRDP_VALID_CLIENT = bytes.fromhex("ff031400" "07000000" "02000000" "0400" "0000")


def test_ironrdp_wmsgsize_counting_the_security_header_is_the_known_quirk() -> None:
    """[MS-RDPBCGR] 2.2.1.12.1.1 counts preamble and message (16 here); IronRDP adds 4."""
    msg = lic.decode_license_pdu(IRONRDP_VALID_CLIENT)
    assert lic.is_valid_client(msg)
    assert lic.size_quirk(IRONRDP_VALID_CLIENT) == lic.QUIRK_SIZE_COUNTS_SECURITY_HEADER
    spec_form = lic.encode_license_pdu(msg)
    assert spec_form[2:4] == (16).to_bytes(2, "little") and lic.size_quirk(spec_form) is None


def test_ironrdp_server_license_request_form_decodes() -> None:
    req = lic.LicenseRequest(
        bytes(range(32)), lic.ProductInfo(lic.PRODUCT_INFO_VERSION, "Microsoft\0".encode("utf-16-le"), "A02\0".encode("utf-16-le")),
        lic.LicenseBlob(lic.BB_KEY_EXCHG_ALG_BLOB, (lic.KEY_EXCHANGE_ALG_RSA).to_bytes(4, "little")),
        lic.LicenseBlob(lic.BB_CERTIFICATE_BLOB, b""), (lic.LicenseBlob(lic.BB_SCOPE_BLOB, b"microsoft.com\0"),),
    )
    spec_form = lic.encode_license_pdu(req)
    size = int.from_bytes(spec_form[2:4], "little") + 4  # IronRDP's wMsgSize.
    ironrdp_form = spec_form[:2] + size.to_bytes(2, "little") + spec_form[4:]
    assert lic.decode_license_pdu(ironrdp_form) == req
    assert lic.size_quirk(ironrdp_form) == lic.QUIRK_SIZE_COUNTS_SECURITY_HEADER


@pytest.mark.parametrize("delta", [1, 2, 8, -1])
def test_any_other_wrong_wmsgsize_is_still_refused(delta: int) -> None:
    size = 16 + delta
    data = IRONRDP_VALID_CLIENT[:2] + size.to_bytes(2, "little") + IRONRDP_VALID_CLIENT[4:]
    with pytest.raises(DecodeError):
        lic.decode_license_pdu(data)
    assert lic.size_quirk(data) is None


def test_the_probe_records_the_licensing_quirk() -> None:
    from datetime import UTC, datetime

    from rdpprobe.result import Target
    from rdpprobe.sequence import activation
    from rdpprobe.sequence.config import ProbeConfig
    from rdpprobe.sequence.phases import Phase
    from rdpprobe.sequence.state import ProbeState

    state = ProbeState(Target("127.0.0.1", 3389), ProbeConfig(), bytes, datetime.now(UTC))
    state.enter(Phase.LICENSING)
    activation._on_license(state, IRONRDP_VALID_CLIENT)
    facts = state.facts
    assert (facts.licensing, facts.licensing_quirk) == ("valid_client", lic.QUIRK_SIZE_COUNTS_SECURITY_HEADER)
    assert state.phase is Phase.CAPABILITIES_EXCHANGE and state.outcome is None
