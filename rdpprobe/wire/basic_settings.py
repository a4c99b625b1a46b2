"""Whole frames of the Basic Settings Exchange ([MS-RDPBCGR] 1.3.1.1, 2.2.1.3, 2.2.1.4).

The client's frame is TPKT + X.224 DT + MCS Connect-Initial (BER) + GCC Conference Create
Request (PER) + client data blocks; the server's is the same stack with Connect-Response,
Conference Create Response and server data blocks. These helpers peel or build all layers
at once for the client state machine and the mock server.
"""

from __future__ import annotations

from rdpprobe.errors import UnexpectedType
from rdpprobe.wire.gcc import (
    DEFAULT_NODE_ID,
    ConferenceCreateRequest,
    ConferenceCreateResponse,
    decode_conference_create_request,
    decode_conference_create_response,
    encode_conference_create_request,
    encode_conference_create_response,
)
from rdpprobe.wire.gcc_blocks import (
    ClientBlock,
    ServerBlock,
    decode_client_blocks,
    decode_server_blocks,
    encode_blocks,
)
from rdpprobe.wire.mcs import decode_mcs_frame, encode_mcs_frame
from rdpprobe.wire.mcs_connect import (
    SERVER_DOMAIN_PARAMETERS,
    ConnectInitial,
    ConnectResponse,
    DomainParameters,
)


def encode_connect_initial_frame(
    client_blocks: tuple[ClientBlock, ...] | list[ClientBlock],
    connect_initial: ConnectInitial = ConnectInitial(),
) -> bytes:
    """The client's whole Basic Settings frame around ``client_blocks``.

    Domain parameters, selectors and the upward flag come from ``connect_initial``
    (by default the values of the MS-RDPBCGR 4.1.3 example); its ``user_data`` is replaced.
    """
    gcc = encode_conference_create_request(ConferenceCreateRequest(encode_blocks(client_blocks)))
    ci = ConnectInitial(
        connect_initial.target_parameters,
        connect_initial.minimum_parameters,
        connect_initial.maximum_parameters,
        gcc,
        connect_initial.calling_domain_selector,
        connect_initial.called_domain_selector,
        connect_initial.upward_flag,
    )
    return encode_mcs_frame(ci)


def decode_connect_initial_frame(
    frame: bytes,
) -> tuple[ConnectInitial, ConferenceCreateRequest, tuple[ClientBlock, ...]]:
    """Peel a client Basic Settings frame: (Connect-Initial, GCC request, client blocks)."""
    ci = decode_mcs_frame(frame)
    if not isinstance(ci, ConnectInitial):
        raise UnexpectedType("mcs connect initial", type(ci).__name__, "ConnectInitial")
    gcc = decode_conference_create_request(ci.user_data)
    return ci, gcc, decode_client_blocks(gcc.user_data)


def encode_connect_response_frame(
    server_blocks: tuple[ServerBlock, ...] | list[ServerBlock],
    *,
    result: int = 0,
    domain_parameters: DomainParameters = SERVER_DOMAIN_PARAMETERS,
    node_id: int = DEFAULT_NODE_ID,
    gcc_connect_pdu_length: int | None = None,
) -> bytes:
    """The server's whole Basic Settings frame around ``server_blocks``.

    ``gcc_connect_pdu_length`` reproduces a server that sends a wrong GCC connectPDU length
    (Windows does; see ``rdpprobe.wire.gcc``).
    """
    gcc = ConferenceCreateResponse(
        node_id=node_id, user_data=encode_blocks(server_blocks), connect_pdu_length=gcc_connect_pdu_length
    )
    rsp = ConnectResponse(result, 0, domain_parameters, encode_conference_create_response(gcc))
    return encode_mcs_frame(rsp)


def encode_connect_failure_frame(result: int) -> bytes:
    """A result-only Connect-Response ([MS-RDPBCGR] 3.3.5.3.3.1: bad GCC data)."""
    return encode_mcs_frame(ConnectResponse(result))


def decode_connect_response(
    frame: bytes,
) -> tuple[ConnectResponse, ConferenceCreateResponse | None, tuple[ServerBlock, ...]]:
    """Peel a server Basic Settings frame: (Connect-Response, GCC response, server blocks).

    The GCC response is None, and there are no blocks, when the Connect-Response carries no
    user data (a failed connect).
    """
    rsp = decode_mcs_frame(frame)
    if not isinstance(rsp, ConnectResponse):
        raise UnexpectedType("mcs connect response", type(rsp).__name__, "ConnectResponse")
    if not rsp.user_data:
        return rsp, None, ()
    gcc = decode_conference_create_response(rsp.user_data)
    return rsp, gcc, decode_server_blocks(gcc.user_data)
