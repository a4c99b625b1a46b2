"""T.124 GCC Conference Create Request and Response ([MS-RDPBCGR] 2.2.1.3.1 and 2.2.1.4.1).

Both are a ConnectData (key = T.124 object identifier, then the PER-encoded ConnectGCCPDU
behind a length) wrapping one H.221 non-standard user data set, whose octets are the
client or server data blocks (``gcc_blocks``)::

    00 | 05 00 14 7c 00 01 | len | 00 08 00 10 00 01 c0 00 "Duca" len user-data   (request)
    00 | 05 00 14 7c 00 01 | len | 14 nodeID tag result 01 c0 00 "McDn" len ...    (response)

Rules of this module: the connectPDU length is not trusted (the MS-RDPBCGR 4.1.4 server
example sends 0x2a for a 279-byte PDU, as real Windows servers do); the value read is kept
in ``connect_pdu_length`` only when it differs from the true length, so re-encoding is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdpprobe.errors import EncodeError, UnexpectedType
from rdpprobe.wire import per
from rdpprobe.wire.buffer import Reader, Writer

T124_OID = (0, 0, 20, 124, 0, 1)  # T.124 t124Identifier {itu-t recommendation t 124 version(0) 1}
KEY_CHOICE_OBJECT = 0x00  # T.124 Key: CHOICE object (the first alternative)
CONNECT_GCC_CREATE_REQUEST = 0x00  # T.124 ConnectGCCPDU choice conferenceCreateRequest
CONNECT_GCC_CREATE_RESPONSE = 0x14  # T.124 ConnectGCCPDU choice conferenceCreateResponse
CREATE_REQUEST_SELECTION = 0x08  # optional-field bitmap: userData present
CONFERENCE_NAME = "1"  # [MS-RDPBCGR] 4.1.3 conferenceName
CONFERENCE_NAME_MIN = 1  # T.124 SimpleNumericString SIZE (1..255)
TERMINATION_PADDING = 1  # [MS-RDPBCGR] 4.1.3: one octet after the conference name
USER_DATA_SET_COUNT = 1  # one H.221 user data set
USER_DATA_CHOICE = 0xC0  # value present + H.221 non-standard key
H221_KEY_MIN = 4  # T.124 H221NonStandardIdentifier SIZE (4..255)
H221_CLIENT_KEY = b"Duca"  # [MS-RDPBCGR] 2.2.1.3.1 client-to-server key
H221_SERVER_KEY = b"McDn"  # [MS-RDPBCGR] 2.2.1.4.1 server-to-client key
NODE_ID_BASE = 1001  # T.124 UserID ::= DynamicChannelID (1001..65535)
DEFAULT_NODE_ID = 0x79F3  # [MS-RDPBCGR] 4.1.4 nodeID 0x760a + 1001


@dataclass(frozen=True, slots=True)
class ConferenceCreateRequest:
    """[MS-RDPBCGR] 2.2.1.3.1 / T.124 ConferenceCreateRequest in a ConnectData.

    Wraps the client data blocks in ``user_data``.
    """

    user_data: bytes = b""
    h221_key: bytes = H221_CLIENT_KEY
    conference_name: str = CONFERENCE_NAME
    connect_pdu_length: int | None = None
    """The connectPDU length as sent, when it differs from the true length."""


@dataclass(frozen=True, slots=True)
class ConferenceCreateResponse:
    """[MS-RDPBCGR] 2.2.1.4.1 / T.124 ConferenceCreateResponse in a ConnectData.

    Wraps the server data blocks in ``user_data``.
    """

    node_id: int = DEFAULT_NODE_ID
    tag: int = 1
    result: int = 0
    """T.124 ConferenceCreateResponse result (0 = success), raw."""
    user_data: bytes = b""
    h221_key: bytes = H221_SERVER_KEY
    connect_pdu_length: int | None = None
    """The connectPDU length as sent, when it differs from the true length."""


def _read_connect_data(r: Reader) -> tuple[Reader, int]:
    """Read key and connectPDU length; return a reader over the rest and the length read."""
    start = r.offset
    key = per.read_choice(r)
    if key != KEY_CHOICE_OBJECT:
        raise UnexpectedType(r.pdu, key, KEY_CHOICE_OBJECT, start)
    per.expect_object_identifier(r, T124_OID)
    length = per.read_length(r)
    return r.sub(r.remaining), length


def _write_connect_data(w: Writer, pdu: bytes, sent_length: int | None) -> None:
    per.write_choice(w, KEY_CHOICE_OBJECT)
    per.write_object_identifier(w, T124_OID)
    per.write_length(w, len(pdu) if sent_length is None else sent_length)
    w.write(pdu)


def _read_user_data_set(r: Reader) -> tuple[bytes, bytes]:
    """Read the single H.221 user data set: (key, value)."""
    start = r.offset
    count = per.read_number_of_sets(r)
    if count != USER_DATA_SET_COUNT:
        raise UnexpectedType(r.pdu, count, USER_DATA_SET_COUNT, start)
    choice = per.read_choice(r)
    if choice != USER_DATA_CHOICE:
        raise UnexpectedType(r.pdu, choice, USER_DATA_CHOICE, start + 1)
    key = per.read_octet_string(r, H221_KEY_MIN)
    return key, per.read_octet_string(r)


def _write_user_data_set(w: Writer, key: bytes, value: bytes) -> None:
    per.write_number_of_sets(w, USER_DATA_SET_COUNT)
    per.write_choice(w, USER_DATA_CHOICE)
    per.write_octet_string(w, key, H221_KEY_MIN)
    per.write_octet_string(w, value)


def _expect_choice(r: Reader, expected: int) -> None:
    start = r.offset
    got = per.read_choice(r)
    if got != expected:
        raise UnexpectedType(r.pdu, got, expected, start)


def read_conference_create_request(r: Reader) -> ConferenceCreateRequest:
    body, sent = _read_connect_data(r)
    start = body.offset
    _expect_choice(body, CONNECT_GCC_CREATE_REQUEST)
    selection = per.read_selection(body)
    if selection != CREATE_REQUEST_SELECTION:
        raise UnexpectedType(body.pdu, selection, CREATE_REQUEST_SELECTION, start + 1)
    name = per.read_numeric_string(body, CONFERENCE_NAME_MIN)
    per.read_padding(body, TERMINATION_PADDING)
    key, user_data = _read_user_data_set(body)
    body.expect_end()
    true_length = body.offset - start
    return ConferenceCreateRequest(user_data, key, name, None if sent == true_length else sent)


def write_conference_create_request(w: Writer, req: ConferenceCreateRequest) -> None:
    pdu = Writer()
    per.write_choice(pdu, CONNECT_GCC_CREATE_REQUEST)
    per.write_selection(pdu, CREATE_REQUEST_SELECTION)
    per.write_numeric_string(pdu, req.conference_name, CONFERENCE_NAME_MIN)
    per.write_padding(pdu, TERMINATION_PADDING)
    _write_user_data_set(pdu, req.h221_key, req.user_data)
    _write_connect_data(w, bytes(pdu), _sent_length(req.connect_pdu_length, len(pdu)))


def read_conference_create_response(r: Reader) -> ConferenceCreateResponse:
    body, sent = _read_connect_data(r)
    start = body.offset
    _expect_choice(body, CONNECT_GCC_CREATE_RESPONSE)
    node_id = per.read_integer16(body, NODE_ID_BASE)
    tag = per.read_integer(body)
    result = per.read_enumerated(body)
    key, user_data = _read_user_data_set(body)
    body.expect_end()
    true_length = body.offset - start
    sent_length = None if sent == true_length else sent
    return ConferenceCreateResponse(node_id, tag, result, user_data, key, sent_length)


def write_conference_create_response(w: Writer, rsp: ConferenceCreateResponse) -> None:
    pdu = Writer()
    per.write_choice(pdu, CONNECT_GCC_CREATE_RESPONSE)
    per.write_integer16(pdu, rsp.node_id, NODE_ID_BASE)
    per.write_integer(pdu, rsp.tag)
    per.write_enumerated(pdu, rsp.result)
    _write_user_data_set(pdu, rsp.h221_key, rsp.user_data)
    _write_connect_data(w, bytes(pdu), _sent_length(rsp.connect_pdu_length, len(pdu)))


def _sent_length(sent: int | None, true_length: int) -> int | None:
    if sent is not None and sent == true_length:
        raise EncodeError("connect_pdu_length must be None when it equals the true length")
    return sent


def decode_conference_create_request(data: bytes) -> ConferenceCreateRequest:
    r = Reader(data, "gcc conference create request")
    req = read_conference_create_request(r)
    r.expect_end()
    return req


def encode_conference_create_request(req: ConferenceCreateRequest) -> bytes:
    w = Writer()
    write_conference_create_request(w, req)
    return bytes(w)


def decode_conference_create_response(data: bytes) -> ConferenceCreateResponse:
    r = Reader(data, "gcc conference create response")
    rsp = read_conference_create_response(r)
    r.expect_end()
    return rsp


def encode_conference_create_response(rsp: ConferenceCreateResponse) -> bytes:
    w = Writer()
    write_conference_create_response(w, rsp)
    return bytes(w)
