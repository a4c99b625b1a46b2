"""Basic Settings Exchange, Channel Connection and Security Commencement, server side.

[MS-RDPBCGR] 2.2.1.3-2.2.1.10 and 3.3.5.3.3-3.3.5.3.10: the server answers the MCS Connect
Initial with a Connect Response carrying its core, security and network data, confirms
Attach User and every Channel Join, and (Standard RDP Security only) decrypts the client
random of the Security Exchange PDU to derive the session keys (5.3.4, 5.3.5).

Channel ids follow the spec's example (4.1.4, 4.1.7): I/O channel 1003, static channels
from 1004, then the user channel; the server's own user id is 1002.
"""

from __future__ import annotations

import dataclasses
import warnings
from functools import cache
from typing import TYPE_CHECKING

import OpenSSL.crypto
from cryptography.hazmat.primitives.asymmetric import rsa

from rdpprobe.errors import DecodeError
from rdpprobe.mock.actions import Action as Step
from rdpprobe.mock.faults import Action, ServerPhase
from rdpprobe.mock.personality import choose_method
from rdpprobe.mock.states import State
from rdpprobe.wire import gcc, gcc_blocks, mcs, rdpcrypto, security, x224
from rdpprobe.wire.gcc_blocks import (
    ClientCoreData,
    ClientNetworkData,
    ClientSecurityData,
    ServerCoreData,
    ServerNetworkData,
    ServerSecurityData,
)
from rdpprobe.wire.mcs_connect import SERVER_DOMAIN_PARAMETERS, ConnectInitial, ConnectResponse

if TYPE_CHECKING:
    from rdpprobe.mock.acceptor import Acceptor

IO_CHANNEL = 1003  # [MS-RDPBCGR] 4.1.4 MCSChannelId
FIRST_STATIC_CHANNEL = 1004  # [MS-RDPBCGR] 4.1.4 channelIdArray
SERVER_USER_ID = 1002  # [MS-RDPBCGR] 4.1.11 initiator of server PDUs
SERVER_RANDOM_SIZE = 32  # [MS-RDPBCGR] 2.2.1.4.3 serverRandomLen
PROPRIETARY_KEY_BITS = 512  # [MS-RDPBCGR] 4.1.4: bitlen of the spec example's key
SHORT_RANDOM_SIZE = 16  # A broken server random for the R1 fault.
# [MS-RDPBCGR] 2.2.1.4.2: server earlyCapabilityFlags; none claimed.
SERVER_EARLY_CAPABILITIES = 0
# [MS-RDPBCGR] 4.1.4: Windows sends connectPDU length 0x2a in the Conference Create Response
# whatever the true length (taxonomy §1.8); clients that skip a fixed 21-byte T.124 header
# and read a one-octet length there (rdesktop 1.9) need it. The true length always exceeds it.
SERVER_CONNECT_PDU_LENGTH = 0x2A


@cache
def proprietary_key() -> rsa.RSAPrivateKey:
    """The mock's Standard RDP Security key (a 512-bit key, like Windows' own).

    ``cryptography`` refuses to generate keys below 1024 bits, so pyOpenSSL generates it.
    """
    pkey = OpenSSL.crypto.PKey()
    with warnings.catch_warnings():  # pyOpenSSL deprecates generate_key in favour of cryptography.
        warnings.simplefilter("ignore", DeprecationWarning)
        pkey.generate_key(OpenSSL.crypto.TYPE_RSA, PROPRIETARY_KEY_BITS)
    key = pkey.to_cryptography_key()
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


class McsServer:
    """MCS state of one connection: channels, user id and Standard RDP Security keys."""

    def __init__(self, acceptor: Acceptor) -> None:
        self.a = acceptor
        self.channels: tuple[int, ...] = ()
        self.user_id = FIRST_STATIC_CHANNEL
        self.joined: set[int] = set()
        self.early_flags = 0
        self.server_random = b""
        self.crypto: rdpcrypto.AnySecurityContext | None = None
        self.encryption_method = 0

    @property
    def standard_security(self) -> bool:
        return self.a.selected == 0

    @property
    def encrypting(self) -> bool:
        return self.standard_security and self.encryption_method != 0

    # -- Connect Initial -> Connect Response (2.2.1.3, 2.2.1.4) ---------------------------

    def on_connect_initial(self, frame: bytes) -> list[Step]:
        pdu = mcs.decode_mcs_frame(frame)
        if not isinstance(pdu, ConnectInitial):
            raise ValueError(f"expected mcs connect initial, got {type(pdu).__name__}")
        blocks = gcc_blocks.decode_client_blocks(gcc.decode_conference_create_request(pdu.user_data).user_data)
        self._learn(blocks)
        if self.standard_security and self._method(blocks) is None:
            self.a.note("no encryption method in common with the client: dropped ([MS-RDPBCGR] 5.3.2)")
            return self.a.close()
        response = self._connect_response(blocks)
        steps = self.a.respond(ServerPhase.BASIC_SETTINGS_EXCHANGE, mcs.encode_mcs_frame(response),
                               State.WAIT_DOMAIN_PDUS)
        return steps + self._close_if(response.result)

    def _learn(self, blocks: tuple[object, ...]) -> None:
        core = gcc_blocks.find_block(blocks, ClientCoreData)
        if isinstance(core, ClientCoreData):
            self.early_flags = core.early_capability_flags or 0
            self.a.session.desktop = (core.desktop_width, core.desktop_height)
            if core.server_selected_protocol not in (None, self.a.selected):
                self.a.note(f"client core serverSelectedProtocol {core.server_selected_protocol} "
                            f"!= selected {self.a.selected}")
        net = gcc_blocks.find_block(blocks, ClientNetworkData)
        count = len(net.channels) if isinstance(net, ClientNetworkData) else 0
        self.channels = tuple(range(FIRST_STATIC_CHANNEL, FIRST_STATIC_CHANNEL + count))
        self.user_id = FIRST_STATIC_CHANNEL + count

    def _connect_response(self, blocks: tuple[object, ...]) -> ConnectResponse:
        f = self.a.fault(ServerPhase.BASIC_SETTINGS_EXCHANGE, Action.MCS_RESULT)
        if f is not None:
            return ConnectResponse(int(f.param("result")))
        # [MS-RDPBCGR] 4.1.4 order: core, network, security. rdesktop 1.9 reads the proprietary
        # certificate's tags up to the end of the response, so security data must come last.
        server_blocks = (self._core(), ServerNetworkData(IO_CHANNEL, self.channels), self._security(blocks))
        user_data = gcc_blocks.encode_server_blocks(server_blocks)
        gcc_rsp = gcc.encode_conference_create_response(gcc.ConferenceCreateResponse(
            user_data=user_data, connect_pdu_length=SERVER_CONNECT_PDU_LENGTH))
        return ConnectResponse(0, 0, SERVER_DOMAIN_PARAMETERS, gcc_rsp)

    def _core(self) -> ServerCoreData:
        requested = self.a.requested or 0
        f = self.a.fault(ServerPhase.BASIC_SETTINGS_EXCHANGE, Action.DOWNGRADE)
        if f is not None:
            requested = int(f.param("requested"))
        return ServerCoreData(self.a.persona.rdp_version, requested, SERVER_EARLY_CAPABILITIES)

    def _security(self, blocks: tuple[object, ...]) -> ServerSecurityData:
        """2.2.1.4.3: NONE under Enhanced Security; method, random and certificate otherwise."""
        p = self.a.persona
        method = self._method(blocks)
        if not self.standard_security or p.encryption_level == 0 or not method:
            return ServerSecurityData(0, 0)
        self.encryption_method = method
        self.server_random = self.a.rng(SERVER_RANDOM_SIZE)
        cert = rdpcrypto.proprietary_certificate_for(proprietary_key().public_key())
        random = self.server_random
        f = self.a.fault(ServerPhase.BASIC_SETTINGS_EXCHANGE, Action.BAD_SERVER_SECURITY)
        if f is not None and f.param("mode") == "short-random":
            random = random[:SHORT_RANDOM_SIZE]
        elif f is not None:
            cert = _corrupt_signature(cert)
        return ServerSecurityData(method, p.encryption_level, random,
                                  security.encode_server_certificate(cert))

    def _method(self, blocks: tuple[object, ...]) -> int | None:
        """The method chosen from the client's Client Security Data (``choose_method``)."""
        client = gcc_blocks.find_block(blocks, ClientSecurityData)
        offered = client.encryption_methods if isinstance(client, ClientSecurityData) else 0
        return choose_method(self.a.persona, offered)

    # -- Erect Domain, Attach User, Channel Join (2.2.1.5-2.2.1.9) -------------------------

    def on_domain_pdu(self, frame: bytes) -> list[Step]:
        if _is_erect_domain_request(frame):
            return self._erect_domain(frame)
        pdu = mcs.decode_mcs_frame(frame)
        if isinstance(pdu, mcs.AttachUserRequest):
            return self._attach_user()
        if isinstance(pdu, mcs.ChannelJoinRequest):
            return self._join(pdu)
        if isinstance(pdu, mcs.SendDataRequest):
            return self._first_data(frame)
        raise ValueError(f"unexpected mcs pdu {type(pdu).__name__} during channel connection")

    def _erect_domain(self, frame: bytes) -> list[Step]:
        """3.3.5.3.5: subHeight and subInterval are ignored, so their encoding is not checked.

        rdesktop 1.9 writes them as two raw 16-bit values instead of PER integers.
        """
        try:
            mcs.decode_mcs_frame(frame)
        except DecodeError as exc:
            self.a.note(f"erect domain request not PER-encoded, accepted: {exc}")
        return self.a.respond(ServerPhase.ERECT_DOMAIN, b"")

    def _attach_user(self) -> list[Step]:
        f = self.a.fault(ServerPhase.ATTACH_USER, Action.MCS_RESULT)
        result = int(f.param("result")) if f else 0
        confirm = mcs.AttachUserConfirm(result, self.user_id)
        steps = self.a.respond(ServerPhase.ATTACH_USER, mcs.encode_mcs_frame(confirm))
        return steps + self._close_if(result)

    def _close_if(self, result: int) -> list[Step]:
        """[MS-RDPBCGR] 3.3.5.3.3.1: after a failure result the server closes."""
        return self.a.close() if result and self.a.state is not State.CLOSED else []

    def _join(self, req: mcs.ChannelJoinRequest) -> list[Step]:
        f = self.a.fault(ServerPhase.CHANNEL_JOIN, Action.MCS_RESULT)
        known = req.channel_id in (IO_CHANNEL, self.user_id, *self.channels)
        result = int(f.param("result")) if f else (0 if known else int(mcs.McsResult.RT_NO_SUCH_CHANNEL))
        if result == 0:
            self.joined.add(req.channel_id)
        confirm = mcs.ChannelJoinConfirm(result, self.user_id, req.channel_id, req.channel_id)
        return self.a.respond(ServerPhase.CHANNEL_JOIN, mcs.encode_mcs_frame(confirm))

    def _first_data(self, frame: bytes) -> list[Step]:
        """The first Send Data Request ends channel connection (joins are optional, 2.2.1.3.2)."""
        self.a.state = (State.WAIT_SECURITY_EXCHANGE if self.encrypting
                        else State.WAIT_CLIENT_INFO)
        return self.a._dispatch(frame)  # noqa: SLF001 - re-dispatch in the new state.

    # -- Security Exchange (2.2.1.10, 5.3.4) ----------------------------------------------

    def on_security_exchange(self, frame: bytes) -> list[Step]:
        data = self.user_data(frame)
        exchange = security.decode_security_exchange(data)
        client_random = rdpcrypto.decrypt_client_random(exchange.encrypted_client_random, proprietary_key())
        self.crypto = rdpcrypto.new_security_context(
            client_random, self.server_random, self.encryption_method, role="server")
        self.a.state = State.WAIT_CLIENT_INFO
        return self.a.respond(ServerPhase.SECURITY_COMMENCEMENT, b"")

    # -- Send Data framing used by the later phases -----------------------------------------

    def user_data(self, frame: bytes) -> bytes:
        """The userData of a client Send Data Request frame."""
        pdu = mcs.decode_mcs_frame(frame)
        if not isinstance(pdu, mcs.SendDataRequest):
            raise ValueError(f"expected mcs send data request, got {type(pdu).__name__}")
        return pdu.data

    def indication(self, data: bytes, channel: int = IO_CHANNEL) -> bytes:
        """A whole server frame: TPKT + X.224 DT + MCS Send Data Indication."""
        pdu = mcs.SendDataIndication(SERVER_USER_ID, channel, data)
        return x224.encode_data_frame(mcs.encode_mcs_pdu(pdu))

    def ultimatum(self, reason: int) -> bytes:
        """[MS-RDPBCGR] 2.2.2.3 Disconnect Provider Ultimatum frame."""
        return mcs.encode_mcs_frame(mcs.DisconnectProviderUltimatum(reason))


def _is_erect_domain_request(frame: bytes) -> bool:
    """Whether ``frame`` is a DomainMCSPDU erectDomainRequest (T.125 choice in the top 6 bits)."""
    try:
        payload = x224.decode_data_frame(frame)
    except DecodeError:
        return False
    return bool(payload) and payload[0] >> 2 == mcs.DomainPduType.ERECT_DOMAIN_REQUEST


def _corrupt_signature(cert: security.ProprietaryCertificate) -> security.ProprietaryCertificate:
    """The same certificate with one signature bit flipped (taxonomy R1)."""
    sig = bytearray(cert.signature)
    sig[0] ^= 0x01
    return dataclasses.replace(cert, signature=bytes(sig))
