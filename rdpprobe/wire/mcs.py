"""T.125 MCS PDUs as used by RDP ([MS-RDPBCGR] 2.2.1.3-2.2.1.9, 2.2.2.3, 2.2.8.1.1.1.1).

Connect-Initial and Connect-Response are BER-encoded ([APPLICATION 101] / [APPLICATION 102]);
every other PDU is a DomainMCSPDU in ALIGNED PER whose first octet is ``choice << 2`` with
two more bits used by the PDU::

    Erect Domain Request      04 | subHeight | subInterval        (PER integers)
    Disconnect Provider Ult.  20 | r r : r 0000000                (3-bit reason over two octets)
    Attach User Request       28
    Attach User Confirm       2c|02 | result | [initiator - 1001] (0x02: initiator present)
    Channel Join Request      38 | initiator - 1001 | channelId
    Channel Join Confirm      3c|02 | result | initiator - 1001 | requested | [channelId]
    Send Data Request         64 | initiator - 1001 | channelId | prio/seg | length | data
    Send Data Indication      68 | (same as Send Data Request)

Rules of this module: the Result of Attach User Confirm and Channel Join Confirm is read as
the whole octet after the choice octet, as FreeRDP and IronRDP read and write it (identical
to strict PER for rt-successful); results and reasons are kept as raw ints.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from rdpprobe.errors import EncodeError, InvalidField, UnexpectedType
from rdpprobe.wire import per
from rdpprobe.wire.mcs_connect import (  # noqa: F401 - connect PDUs are part of this module's API
    BER_APPLICATION_FIRST_OCTET,
    TAG_CONNECT_INITIAL,
    TAG_CONNECT_RESPONSE,
    ConnectInitial,
    ConnectResponse,
    DomainParameters,
    read_connect_initial,
    read_connect_response,
    write_connect_initial,
    write_connect_response,
)
from rdpprobe.wire.buffer import Reader, Writer
from rdpprobe.wire.x224 import decode_data_frame, encode_data_frame

# T.125 DomainMCSPDU: the choice sits in the top six bits of the first octet.
CHOICE_SHIFT = 2
OPTIONS_MASK = 0x03
OPTIONAL_PRESENT = 0x02  # the optional-field bit of Attach User Confirm / Channel Join Confirm
USER_ID_BASE = 1001  # T.125 UserId ::= DynamicChannelId (1001..65535)
USER_ID_MAX = 65535
# [MS-RDPBCGR] 2.2.2.3: the reason's first two bits end the first octet, the third starts the next.
REASON_HIGH_SHIFT = 1
REASON_LOW_SHIFT = 7
REASON_MAX = 0x07
DPUM_SIZE = 1 + 1
# T.125 SendDataRequest: DataPriority (2 bits) then Segmentation (2 bits) in one octet.
PRIORITY_SHIFT = 6
SEGMENTATION_SHIFT = 4
TWO_BIT_MASK = 0x03


class DomainPduType(enum.IntEnum):
    """T.125 DomainMCSPDU choice indexes used by RDP."""

    ERECT_DOMAIN_REQUEST = 1
    DISCONNECT_PROVIDER_ULTIMATUM = 8
    ATTACH_USER_REQUEST = 10
    ATTACH_USER_CONFIRM = 11
    CHANNEL_JOIN_REQUEST = 14
    CHANNEL_JOIN_CONFIRM = 15
    SEND_DATA_REQUEST = 25
    SEND_DATA_INDICATION = 26


class McsResult(enum.IntEnum):
    """T.125 Result (Connect-Response, Attach User Confirm, Channel Join Confirm)."""

    RT_SUCCESSFUL = 0
    RT_DOMAIN_MERGING = 1
    RT_DOMAIN_NOT_HIERARCHICAL = 2
    RT_NO_SUCH_CHANNEL = 3
    RT_NO_SUCH_DOMAIN = 4
    RT_NO_SUCH_USER = 5
    RT_NOT_ADMITTED = 6
    RT_OTHER_USER_ID = 7
    RT_PARAMETERS_UNACCEPTABLE = 8
    RT_TOKEN_NOT_AVAILABLE = 9
    RT_TOKEN_NOT_POSSESSED = 10
    RT_TOO_MANY_CHANNELS = 11
    RT_TOO_MANY_TOKENS = 12
    RT_TOO_MANY_USERS = 13
    RT_UNSPECIFIED_FAILURE = 14
    RT_USER_REJECTED = 15


class DisconnectReason(enum.IntEnum):
    """T.125 Reason, carried by Disconnect Provider Ultimatum ([MS-RDPBCGR] 2.2.2.3)."""

    RN_DOMAIN_DISCONNECTED = 0
    RN_PROVIDER_INITIATED = 1
    RN_TOKEN_PURGED = 2
    RN_USER_REQUESTED = 3
    RN_CHANNEL_PURGED = 4


class DataPriority(enum.IntEnum):
    """T.125 DataPriority."""

    TOP = 0
    HIGH = 1
    MEDIUM = 2
    LOW = 3


SEGMENTATION_BEGIN = 0x2  # T.125 Segmentation bit 0 (the first bit sent)
SEGMENTATION_END = 0x1  # T.125 Segmentation bit 1


@dataclass(frozen=True, slots=True)
class ErectDomainRequest:
    """[MS-RDPBCGR] 2.2.1.5 Client MCS Erect Domain Request PDU."""

    sub_height: int = 0
    sub_interval: int = 0


@dataclass(frozen=True, slots=True)
class AttachUserRequest:
    """[MS-RDPBCGR] 2.2.1.6 Client MCS Attach User Request PDU."""


@dataclass(frozen=True, slots=True)
class AttachUserConfirm:
    """[MS-RDPBCGR] 2.2.1.7 Server MCS Attach User Confirm PDU.

    ``initiator`` is the user channel id the server assigned (absent on failure).
    """

    result: int = 0
    initiator: int | None = None


@dataclass(frozen=True, slots=True)
class ChannelJoinRequest:
    """[MS-RDPBCGR] 2.2.1.8 Client MCS Channel Join Request PDU."""

    initiator: int
    channel_id: int


@dataclass(frozen=True, slots=True)
class ChannelJoinConfirm:
    """[MS-RDPBCGR] 2.2.1.9 Server MCS Channel Join Confirm PDU."""

    result: int
    initiator: int
    requested: int
    channel_id: int | None = None


@dataclass(frozen=True, slots=True)
class DisconnectProviderUltimatum:
    """[MS-RDPBCGR] 2.2.2.3 MCS Disconnect Provider Ultimatum PDU.

    The last PDU before a server (or client) closes the connection.
    """

    reason: int = DisconnectReason.RN_USER_REQUESTED


@dataclass(frozen=True, slots=True)
class SendDataRequest:
    """[MS-RDPBCGR] 2.2.8.1.1.1.1 / T.125 SendDataRequest: client data on a channel."""

    initiator: int
    channel_id: int
    data: bytes = b""
    priority: int = DataPriority.HIGH
    segmentation: int = SEGMENTATION_BEGIN | SEGMENTATION_END


@dataclass(frozen=True, slots=True)
class SendDataIndication:
    """[MS-RDPBCGR] 2.2.8.1.1.1.1 / T.125 SendDataIndication: server data on a channel."""

    initiator: int
    channel_id: int
    data: bytes = b""
    priority: int = DataPriority.HIGH
    segmentation: int = SEGMENTATION_BEGIN | SEGMENTATION_END


DomainPdu = (
    ErectDomainRequest | AttachUserRequest | AttachUserConfirm | ChannelJoinRequest
    | ChannelJoinConfirm | DisconnectProviderUltimatum | SendDataRequest | SendDataIndication
)
McsPdu = ConnectInitial | ConnectResponse | DomainPdu


# --- PER domain PDUs --------------------------------------------------------------


def _header(choice: DomainPduType, options: int = 0) -> int:
    return (choice << CHOICE_SHIFT) | options


def read_domain_header(r: Reader) -> tuple[int, int]:
    """The (choice, low two bits) of a DomainMCSPDU's first octet."""
    octet = r.u8()
    return octet >> CHOICE_SHIFT, octet & OPTIONS_MASK


def _expect(r: Reader, expected: DomainPduType) -> int:
    start = r.offset
    choice, options = read_domain_header(r)
    if choice != expected:
        raise UnexpectedType(r.pdu, choice, int(expected), start)
    return options


def read_erect_domain_request(r: Reader) -> ErectDomainRequest:
    _expect(r, DomainPduType.ERECT_DOMAIN_REQUEST)
    return ErectDomainRequest(per.read_integer(r), per.read_integer(r))


def write_erect_domain_request(w: Writer, p: ErectDomainRequest) -> None:
    w.u8(_header(DomainPduType.ERECT_DOMAIN_REQUEST))
    per.write_integer(w, p.sub_height)
    per.write_integer(w, p.sub_interval)


def read_attach_user_request(r: Reader) -> AttachUserRequest:
    _expect(r, DomainPduType.ATTACH_USER_REQUEST)
    return AttachUserRequest()


def write_attach_user_request(w: Writer, p: AttachUserRequest) -> None:
    w.u8(_header(DomainPduType.ATTACH_USER_REQUEST))


def read_attach_user_confirm(r: Reader) -> AttachUserConfirm:
    options = _expect(r, DomainPduType.ATTACH_USER_CONFIRM)
    result = per.read_enumerated(r)
    initiator = _read_user_id(r) if options & OPTIONAL_PRESENT else None
    return AttachUserConfirm(result, initiator)


def write_attach_user_confirm(w: Writer, p: AttachUserConfirm) -> None:
    present = p.initiator is not None
    w.u8(_header(DomainPduType.ATTACH_USER_CONFIRM, OPTIONAL_PRESENT if present else 0))
    per.write_enumerated(w, p.result)
    if p.initiator is not None:
        _write_user_id(w, p.initiator)


def read_channel_join_request(r: Reader) -> ChannelJoinRequest:
    _expect(r, DomainPduType.CHANNEL_JOIN_REQUEST)
    return ChannelJoinRequest(_read_user_id(r), per.read_integer16(r, 0))


def write_channel_join_request(w: Writer, p: ChannelJoinRequest) -> None:
    w.u8(_header(DomainPduType.CHANNEL_JOIN_REQUEST))
    _write_user_id(w, p.initiator)
    per.write_integer16(w, p.channel_id, 0)


def read_channel_join_confirm(r: Reader) -> ChannelJoinConfirm:
    options = _expect(r, DomainPduType.CHANNEL_JOIN_CONFIRM)
    result = per.read_enumerated(r)
    initiator = _read_user_id(r)
    requested = per.read_integer16(r, 0)
    channel_id = per.read_integer16(r, 0) if options & OPTIONAL_PRESENT else None
    return ChannelJoinConfirm(result, initiator, requested, channel_id)


def write_channel_join_confirm(w: Writer, p: ChannelJoinConfirm) -> None:
    present = p.channel_id is not None
    w.u8(_header(DomainPduType.CHANNEL_JOIN_CONFIRM, OPTIONAL_PRESENT if present else 0))
    per.write_enumerated(w, p.result)
    _write_user_id(w, p.initiator)
    per.write_integer16(w, p.requested, 0)
    if p.channel_id is not None:
        per.write_integer16(w, p.channel_id, 0)


def read_disconnect_provider_ultimatum(r: Reader) -> DisconnectProviderUltimatum:
    high = _expect(r, DomainPduType.DISCONNECT_PROVIDER_ULTIMATUM)
    low = r.u8() >> REASON_LOW_SHIFT
    return DisconnectProviderUltimatum((high << REASON_HIGH_SHIFT) | low)


def write_disconnect_provider_ultimatum(w: Writer, p: DisconnectProviderUltimatum) -> None:
    if not 0 <= p.reason <= REASON_MAX:
        raise EncodeError(f"disconnect reason out of range: {p.reason}")
    w.u8(_header(DomainPduType.DISCONNECT_PROVIDER_ULTIMATUM, p.reason >> REASON_HIGH_SHIFT))
    w.u8((p.reason & 1) << REASON_LOW_SHIFT)


def _read_user_id(r: Reader) -> int:
    """A T.125 UserId: 16 bits above 1001, of which only 1001..65535 name a user."""
    start = r.offset
    user_id = per.read_integer16(r, USER_ID_BASE)
    if user_id > USER_ID_MAX:
        raise InvalidField(r.pdu, "user id", f"{user_id} is above {USER_ID_MAX}", start)
    return user_id


def _write_user_id(w: Writer, user_id: int) -> None:
    if not USER_ID_BASE <= user_id <= USER_ID_MAX:
        raise EncodeError(f"user id out of range: {user_id} (T.125 allows {USER_ID_BASE}..{USER_ID_MAX})")
    per.write_integer16(w, user_id, USER_ID_BASE)


def _read_send_data(r: Reader, choice: DomainPduType) -> tuple[int, int, bytes, int, int]:
    _expect(r, choice)
    initiator = _read_user_id(r)
    channel_id = per.read_integer16(r, 0)
    flags = r.u8()
    data = per.read_octet_string(r)
    priority, seg = flags >> PRIORITY_SHIFT, (flags >> SEGMENTATION_SHIFT) & TWO_BIT_MASK
    return initiator, channel_id, data, priority, seg


def _write_send_data(w: Writer, choice: DomainPduType, p: SendDataRequest | SendDataIndication) -> None:
    if not (0 <= p.priority <= TWO_BIT_MASK and 0 <= p.segmentation <= TWO_BIT_MASK):
        raise EncodeError("send data priority and segmentation are two-bit fields")
    w.u8(_header(choice))
    _write_user_id(w, p.initiator)
    per.write_integer16(w, p.channel_id, 0)
    w.u8((p.priority << PRIORITY_SHIFT) | (p.segmentation << SEGMENTATION_SHIFT))
    per.write_octet_string(w, p.data)


def read_send_data_request(r: Reader) -> SendDataRequest:
    return SendDataRequest(*_read_send_data(r, DomainPduType.SEND_DATA_REQUEST))


def write_send_data_request(w: Writer, p: SendDataRequest) -> None:
    _write_send_data(w, DomainPduType.SEND_DATA_REQUEST, p)


def read_send_data_indication(r: Reader) -> SendDataIndication:
    return SendDataIndication(*_read_send_data(r, DomainPduType.SEND_DATA_INDICATION))


def write_send_data_indication(w: Writer, p: SendDataIndication) -> None:
    _write_send_data(w, DomainPduType.SEND_DATA_INDICATION, p)


# --- dispatch and whole frames ----------------------------------------------------

_DOMAIN_READERS = {
    DomainPduType.ERECT_DOMAIN_REQUEST: read_erect_domain_request,
    DomainPduType.DISCONNECT_PROVIDER_ULTIMATUM: read_disconnect_provider_ultimatum,
    DomainPduType.ATTACH_USER_REQUEST: read_attach_user_request,
    DomainPduType.ATTACH_USER_CONFIRM: read_attach_user_confirm,
    DomainPduType.CHANNEL_JOIN_REQUEST: read_channel_join_request,
    DomainPduType.CHANNEL_JOIN_CONFIRM: read_channel_join_confirm,
    DomainPduType.SEND_DATA_REQUEST: read_send_data_request,
    DomainPduType.SEND_DATA_INDICATION: read_send_data_indication,
}

_WRITERS = {
    ConnectInitial: write_connect_initial,
    ConnectResponse: write_connect_response,
    ErectDomainRequest: write_erect_domain_request,
    DisconnectProviderUltimatum: write_disconnect_provider_ultimatum,
    AttachUserRequest: write_attach_user_request,
    AttachUserConfirm: write_attach_user_confirm,
    ChannelJoinRequest: write_channel_join_request,
    ChannelJoinConfirm: write_channel_join_confirm,
    SendDataRequest: write_send_data_request,
    SendDataIndication: write_send_data_indication,
}


def read_domain_pdu(r: Reader) -> DomainPdu:
    """Read whichever DomainMCSPDU the choice octet names."""
    choice = r.peek_u8() >> CHOICE_SHIFT
    reader = _DOMAIN_READERS.get(choice)  # type: ignore[call-overload]
    if reader is None:
        raise UnexpectedType(r.pdu, choice, "mcs domain pdu choice", r.offset)
    return reader(r)  # type: ignore[no-any-return]


def decode_domain_pdu(data: bytes) -> DomainPdu:
    """One DomainMCSPDU (no TPKT or X.224 header); must consume ``data`` exactly."""
    r = Reader(data, "mcs")
    pdu = read_domain_pdu(r)
    r.expect_end()
    return pdu


def read_mcs_pdu(r: Reader) -> McsPdu:
    """A BER connect PDU or a PER domain PDU, told apart by the first octet; consumes ``r``."""
    return decode_mcs_pdu(r.rest())


def write_mcs_pdu(w: Writer, pdu: McsPdu) -> None:
    _WRITERS[type(pdu)](w, pdu)  # type: ignore[operator]


def decode_mcs_pdu(data: bytes) -> McsPdu:
    r = Reader(data, "mcs")
    if r.peek_u8() == BER_APPLICATION_FIRST_OCTET and len(data) >= 2:
        pdu: McsPdu = read_connect_response(r) if data[1] == TAG_CONNECT_RESPONSE else read_connect_initial(r)
    else:
        pdu = read_domain_pdu(r)
    r.expect_end()
    return pdu


def encode_mcs_pdu(pdu: McsPdu) -> bytes:
    w = Writer()
    write_mcs_pdu(w, pdu)
    return bytes(w)


def encode_mcs_frame(pdu: McsPdu) -> bytes:
    """TPKT + X.224 DT + the MCS PDU."""
    return encode_data_frame(encode_mcs_pdu(pdu))


def decode_mcs_frame(frame: bytes) -> McsPdu:
    """The MCS PDU inside one whole TPKT + X.224 DT frame."""
    return decode_mcs_pdu(decode_data_frame(frame))
