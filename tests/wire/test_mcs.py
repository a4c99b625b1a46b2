from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdpprobe.errors import DecodeError, EncodeError
from rdpprobe.wire import mcs
from rdpprobe.wire.codes import name_of
from rdpprobe.wire.mcs_connect import SERVER_DOMAIN_PARAMETERS, ConnectInitial, DomainParameters
from tests.strategies.connect import domain_pdus, mcs_pdus
from tests.vectors import hexdiff, vector

CASES: dict[str, mcs.DomainPdu] = {
    "mcs_erect_domain_request": mcs.ErectDomainRequest(0, 0),
    "mcs_attach_user_request": mcs.AttachUserRequest(),
    "mcs_attach_user_confirm": mcs.AttachUserConfirm(0, 1007),
    # Constructed vectors (not from the specification).
    "mcs_dpum_user_requested": mcs.DisconnectProviderUltimatum(mcs.DisconnectReason.RN_USER_REQUESTED),
    "mcs_dpum_provider_initiated": mcs.DisconnectProviderUltimatum(mcs.DisconnectReason.RN_PROVIDER_INITIATED),
}
for _ch in (1003, 1004, 1005, 1006, 1007):
    CASES[f"mcs_channel_join_request_{_ch}"] = mcs.ChannelJoinRequest(1007, _ch)
    CASES[f"mcs_channel_join_confirm_{_ch}"] = mcs.ChannelJoinConfirm(0, 1007, _ch, _ch)


@pytest.mark.parametrize("name", sorted(CASES))
def test_vector_encode(name: str) -> None:
    encoded = mcs.encode_mcs_frame(CASES[name])
    assert encoded == vector(name), hexdiff(encoded, vector(name))


@pytest.mark.parametrize("name", sorted(CASES))
def test_vector_decode(name: str) -> None:
    assert mcs.decode_mcs_frame(vector(name)) == CASES[name]


@pytest.mark.parametrize("name", sorted(CASES))
def test_vector_size(name: str) -> None:
    data = vector(name)
    assert len(mcs.encode_mcs_pdu(CASES[name])) == len(data) - 7
    assert mcs.decode_domain_pdu(data[7:]) == CASES[name]


@pytest.mark.parametrize("reason", range(8))
def test_dpum_all_reasons(reason: int) -> None:
    pdu = mcs.DisconnectProviderUltimatum(reason)
    data = mcs.encode_mcs_pdu(pdu)
    assert len(data) == mcs.DPUM_SIZE
    assert mcs.decode_domain_pdu(data) == pdu
    assert ((data[0] & 0x03) << 1) | (data[1] >> 7) == reason


def test_names() -> None:
    assert name_of(mcs.DisconnectReason, 4) == "RN_CHANNEL_PURGED"
    assert name_of(mcs.McsResult, 14) == "RT_UNSPECIFIED_FAILURE"
    assert len(mcs.McsResult) == 16


def test_send_data_request_header() -> None:
    pdu = mcs.SendDataRequest(1007, 1003, b"\x00" * 0x19C)
    assert mcs.encode_mcs_pdu(pdu)[:8] == bytes.fromhex("64000603eb70819c")


def test_failed_attach_and_join() -> None:
    assert mcs.decode_domain_pdu(b"\x2c\x0e") == mcs.AttachUserConfirm(14, None)
    cjc = mcs.ChannelJoinConfirm(mcs.McsResult.RT_NO_SUCH_CHANNEL, 1007, 1010)
    assert mcs.decode_domain_pdu(mcs.encode_mcs_pdu(cjc)) == cjc


def test_result_only_connect_response() -> None:
    rsp = mcs.ConnectResponse(mcs.McsResult.RT_UNSPECIFIED_FAILURE)
    assert mcs.encode_mcs_pdu(rsp) == bytes.fromhex("7f66030a010e")
    assert mcs.decode_mcs_pdu(bytes.fromhex("7f66030a010e")) == rsp
    with pytest.raises(EncodeError):
        mcs.encode_mcs_pdu(mcs.ConnectResponse(0, user_data=b"x"))


def test_domain_parameter_int_style_is_kept() -> None:
    assert SERVER_DOMAIN_PARAMETERS == DomainParameters(34, 3, 0, 1, 0, 1, 65528, 2, unsigned_ints=True)
    ci = mcs.decode_mcs_frame(vector("mcs_connect_initial"))
    assert isinstance(ci, ConnectInitial) and ci.target_parameters.unsigned_ints


@pytest.mark.parametrize("data", ["", "7f", "7f65", "7f6582ffff", "fc", "04", "2e00", "64000603eb70ff"])
def test_truncated_and_unknown(data: str) -> None:
    with pytest.raises(DecodeError):
        mcs.decode_mcs_pdu(bytes.fromhex(data))


@given(mcs_pdus)
def test_roundtrip(pdu: mcs.McsPdu) -> None:
    assert mcs.decode_mcs_frame(mcs.encode_mcs_frame(pdu)) == pdu


@given(domain_pdus)
def test_reencode_is_exact(pdu: mcs.DomainPdu) -> None:
    data = mcs.encode_mcs_pdu(pdu)
    assert mcs.encode_mcs_pdu(mcs.decode_domain_pdu(data)) == data


@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_decode_errors(data: bytes) -> None:
    for fn in (mcs.decode_mcs_pdu, mcs.decode_domain_pdu, mcs.decode_mcs_frame):
        try:
            fn(data)
        except DecodeError:
            pass


@pytest.mark.parametrize("pdu", ["2e00ffff", "38fffe03eb", "3e00fffe03eb03eb", "68fdea03eb3000"])
def test_a_user_id_above_65535_is_refused(pdu: str) -> None:
    """T.125 UserId is 1001..65535; the 16 bits above 1001 reach 66536, which names no user.

    Confirms, requests and send data alike: a client that took such an id from a server would
    fail to write its own Channel Join Request.
    """
    with pytest.raises(DecodeError, match="user id"):
        mcs.decode_domain_pdu(bytes.fromhex(pdu))


@pytest.mark.parametrize("user_id", [mcs.USER_ID_BASE - 1, mcs.USER_ID_MAX + 1])
def test_a_user_id_out_of_range_is_not_written(user_id: int) -> None:
    with pytest.raises(EncodeError, match="user id"):
        mcs.encode_mcs_frame(mcs.ChannelJoinRequest(user_id, 1003))
