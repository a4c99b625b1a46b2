"""T.125 MCS connect PDUs ([MS-RDPBCGR] 2.2.1.3 and 2.2.1.4), BER-encoded.

Connect-Initial is ``[APPLICATION 101]`` and Connect-Response ``[APPLICATION 102]``; both
carry three (or one) DomainParameters SEQUENCEs and the GCC data as an OCTET STRING.

Rules of this module: INTEGERs are read as unsigned; ``DomainParameters.unsigned_ints``
remembers which of the two INTEGER forms seen in the wild the peer used, so that
re-encoding a decoded PDU gives back the same bytes (the MS-RDPBCGR 4.1.3 client example
writes 65535 as ``02 02 ff ff``, the 4.1.4 server example writes 65528 as ``02 03 00 ff f8``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rdpprobe.errors import EncodeError
from rdpprobe.wire import ber
from rdpprobe.wire.buffer import Reader, Writer

# T.125 section 7: application tags of the BER connect PDUs.
TAG_CONNECT_INITIAL = 101
TAG_CONNECT_RESPONSE = 102
BER_APPLICATION_FIRST_OCTET = 0x7F  # X.690 8.1.2.4: [APPLICATION n>30], constructed
DOMAIN_PARAMETER_COUNT = 8  # T.125 DomainParameters has eight INTEGER fields
SIGN_BIT = 0x80  # X.690 8.3.3: the top bit of the first content octet is the sign


@dataclass(frozen=True, slots=True)
class DomainParameters:
    """[MS-RDPBCGR] 2.2.1.3 / T.125 DomainParameters.

    One of the target, minimum, maximum or merged parameter sets of a connect PDU.
    """

    max_channel_ids: int = 34
    max_user_ids: int = 2
    max_token_ids: int = 0
    num_priorities: int = 1
    min_throughput: int = 0
    max_height: int = 1
    max_mcs_pdu_size: int = 65535
    protocol_version: int = 2
    unsigned_ints: bool = field(default=False, compare=False)
    """Write INTEGERs in minimal unsigned form (mstsc style) instead of X.690 two's complement."""

    def values(self) -> tuple[int, ...]:
        return (
            self.max_channel_ids, self.max_user_ids, self.max_token_ids, self.num_priorities,
            self.min_throughput, self.max_height, self.max_mcs_pdu_size, self.protocol_version,
        )


# [MS-RDPBCGR] 4.1.3: the parameter sets the Microsoft client sends (unsigned INTEGER form).
CLIENT_TARGET_PARAMETERS = DomainParameters(34, 2, 0, 1, 0, 1, 65535, 2, unsigned_ints=True)
CLIENT_MINIMUM_PARAMETERS = DomainParameters(1, 1, 1, 1, 0, 1, 1056, 2, unsigned_ints=True)
CLIENT_MAXIMUM_PARAMETERS = DomainParameters(65535, 64535, 65535, 1, 0, 1, 65535, 2, unsigned_ints=True)
# [MS-RDPBCGR] 4.1.4: the merged parameters a Windows server answers with.
SERVER_DOMAIN_PARAMETERS = DomainParameters(34, 3, 0, 1, 0, 1, 65528, 2)


@dataclass(frozen=True, slots=True)
class ConnectInitial:
    """[MS-RDPBCGR] 2.2.1.3 Client MCS Connect Initial PDU (T.125 Connect-Initial).

    Carries the GCC Conference Create Request in ``user_data``.
    """

    target_parameters: DomainParameters = CLIENT_TARGET_PARAMETERS
    minimum_parameters: DomainParameters = CLIENT_MINIMUM_PARAMETERS
    maximum_parameters: DomainParameters = CLIENT_MAXIMUM_PARAMETERS
    user_data: bytes = b""
    calling_domain_selector: bytes = b"\x01"
    called_domain_selector: bytes = b"\x01"
    upward_flag: bool = True


@dataclass(frozen=True, slots=True)
class ConnectResponse:
    """[MS-RDPBCGR] 2.2.1.4 Server MCS Connect Response PDU (T.125 Connect-Response).

    ``domain_parameters`` is None for the result-only response of [MS-RDPBCGR] 3.3.5.3.3.1.
    """

    result: int = 0
    called_connect_id: int = 0
    domain_parameters: DomainParameters | None = None
    user_data: bytes = b""


def _int_style(octets: bytes) -> bool | None:
    """True for unsigned-form evidence, False for two's-complement evidence, None if neither."""
    if octets[0] & SIGN_BIT:
        return True
    if len(octets) > 1 and octets[0] == 0 and octets[1] & SIGN_BIT:
        return False
    return None


def read_domain_parameters(r: Reader) -> DomainParameters:
    body = ber.read_sequence(r)
    raw = [ber.read_integer_octets(body) for _ in range(DOMAIN_PARAMETER_COUNT)]
    body.expect_end()
    unsigned = any(_int_style(o) for o in raw)
    v = [int.from_bytes(o, "big") for o in raw]
    return DomainParameters(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], unsigned_ints=unsigned)


def write_domain_parameters(w: Writer, p: DomainParameters) -> None:
    body = Writer()
    for value in p.values():
        ber.write_integer(body, value, p.unsigned_ints)
    ber.write_sequence(w, bytes(body))


def read_connect_initial(r: Reader) -> ConnectInitial:
    body = r.sub(ber.read_application_tag(r, TAG_CONNECT_INITIAL))
    calling = ber.read_octet_string(body)
    called = ber.read_octet_string(body)
    upward = ber.read_boolean(body)
    target = read_domain_parameters(body)
    minimum = read_domain_parameters(body)
    maximum = read_domain_parameters(body)
    user_data = ber.read_octet_string(body)
    body.expect_end()
    return ConnectInitial(target, minimum, maximum, user_data, calling, called, upward)


def write_connect_initial(w: Writer, ci: ConnectInitial) -> None:
    body = Writer()
    ber.write_octet_string(body, ci.calling_domain_selector)
    ber.write_octet_string(body, ci.called_domain_selector)
    ber.write_boolean(body, ci.upward_flag)
    for p in (ci.target_parameters, ci.minimum_parameters, ci.maximum_parameters):
        write_domain_parameters(body, p)
    ber.write_octet_string(body, ci.user_data)
    ber.write_application_tag(w, TAG_CONNECT_INITIAL, len(body))
    w.write(bytes(body))


def read_connect_response(r: Reader) -> ConnectResponse:
    body = r.sub(ber.read_application_tag(r, TAG_CONNECT_RESPONSE))
    result = ber.read_enumerated(body)
    if not body.remaining:
        return ConnectResponse(result)
    connect_id = ber.read_integer(body)
    params = read_domain_parameters(body)
    user_data = ber.read_octet_string(body)
    body.expect_end()
    return ConnectResponse(result, connect_id, params, user_data)


def write_connect_response(w: Writer, cr: ConnectResponse) -> None:
    body = Writer()
    ber.write_enumerated(body, cr.result)
    if cr.domain_parameters is not None:
        ber.write_integer(body, cr.called_connect_id)
        write_domain_parameters(body, cr.domain_parameters)
        ber.write_octet_string(body, cr.user_data)
    elif cr.called_connect_id or cr.user_data:
        raise EncodeError("a result-only connect response carries no connect id or user data")
    ber.write_application_tag(w, TAG_CONNECT_RESPONSE, len(body))
    w.write(bytes(body))


