"""A test client for the mock server, built on the wire codecs only (never on rdpprobe.sequence).

``WireClient`` walks a ``MockPair`` (or any object with ``send``/``receive``/``start_tls``)
through the connection sequence one phase per method, so a test can stop anywhere and look
at the exact bytes the server answered.
"""

from __future__ import annotations

import os
import struct

from rdpprobe.mock.pair import MockPair
from rdpprobe.wire import basic_settings, credssp, info, mcs, nego, ntlm, rdpcrypto, security, share, tpkt
from rdpprobe.wire.gcc_blocks import (
    ChannelDef,
    ClientCoreData,
    ClientNetworkData,
    ClientSecurityData,
    ServerNetworkData,
    ServerSecurityData,
    channel_name,
    find_block,
)

IO_CHANNEL = 1003
ERRINFO_FLAG = 0x0001  # RNS_UD_CS_SUPPORT_ERRINFO_PDU
SEC_INFO_PKT = 0x0040
ENCRYPTION_METHODS = 0x1B  # 40 | 128 | 56 | FIPS, as in [MS-RDPBCGR] 4.1.3


def split_frames(data: bytes) -> list[bytes]:
    """Split a byte stream into whole TPKT frames (trailing partial bytes are kept last)."""
    frames = []
    while data:
        length = tpkt.frame_length(data)
        if length is None or length > len(data):
            frames.append(data)
            break
        frames.append(data[:length])
        data = data[length:]
    return frames


class WireClient:
    """One client connection driven phase by phase over a ``MockPair``."""

    def __init__(self, pair: MockPair) -> None:
        self.pair = pair
        self.selected = 0
        self.user_id = 0
        self.session: ntlm.NtlmSession | None = None
        self.crypto: rdpcrypto.SecurityContext | None = None
        self.server_security: ServerSecurityData | None = None
        self.server_network: ServerNetworkData | None = None

    def connect(self, requested: int | None = 3) -> nego.ConnectionConfirm:
        neg = nego.NegReq(requested) if requested is not None else None
        self.pair.send(nego.encode_connection_request(nego.ConnectionRequest(cookie=b"test", neg_req=neg)))
        cc = nego.decode_connection_confirm(self.pair.receive())
        if isinstance(cc.neg, nego.NegRsp):
            self.selected = cc.neg.selected_protocol
        return cc

    def tls(self) -> None:
        self.pair.start_tls()

    def nla_negotiate(self, version: int = 6) -> credssp.TsRequest:
        self.negotiate = ntlm.build_negotiate()
        self.nonce = os.urandom(32)
        self.version = version
        self.pair.send(credssp.encode_ts_request(credssp.TsRequest(version, (self.negotiate,), client_nonce=self.nonce)))
        data = self.pair.receive()
        self.challenge_reply = credssp.decode_ts_request(data) if data else None
        return self.challenge_reply

    def nla_authenticate(self, user: str, password: str, domain: str = "") -> credssp.TsRequest | None:
        challenge = self.challenge_reply.nego_tokens[0]
        auth, session = ntlm.build_authenticate(challenge, user, password, domain, "TESTPC", os.urandom, self.negotiate)
        self.session = session
        spk = credssp.subject_public_key(self.pair.acceptor.bundle.cert_der)
        self.peer_version = min(self.version, self.challenge_reply.version)
        proof = credssp.client_binding_hash(self.nonce, spk) if self.peer_version >= 5 else spk
        req = credssp.TsRequest(self.version, (auth,), pub_key_auth=session.seal(proof), client_nonce=self.nonce)
        self.pair.send(credssp.encode_ts_request(req))
        data = self.pair.receive()
        return credssp.decode_ts_request(data) if data else None

    def nla_credentials(self, user: str, password: str, domain: str = "") -> bytes:
        assert self.session is not None
        creds = credssp.password_credentials(credssp.TsPasswordCreds(domain, user, password))
        self.pair.send(credssp.encode_ts_request(credssp.TsRequest(self.version, auth_info=self.session.seal(creds))))
        return self.pair.receive()

    def nla(self, user: str, password: str, domain: str = "") -> bytes:
        self.nla_negotiate()
        rsp = self.nla_authenticate(user, password, domain)
        assert rsp is not None and rsp.pub_key_auth is not None, rsp
        return self.nla_credentials(user, password, domain)

    def basic_settings(self, channels: tuple[str, ...] = ("rdpdr", "cliprdr")) -> bytes:
        core = ClientCoreData(early_capability_flags=ERRINFO_FLAG, server_selected_protocol=self.selected,
                              post_beta2_color_depth=0xCA01, client_product_id=1, serial_number=0,
                              high_color_depth=24, supported_color_depths=7,
                              client_dig_product_id=bytes(64), connection_type=0, pad1octet=0)
        blocks = (core, ClientSecurityData(ENCRYPTION_METHODS),
                  ClientNetworkData(tuple(ChannelDef(channel_name(c), 0) for c in channels)))
        self.pair.send(basic_settings.encode_connect_initial_frame(blocks))
        data = self.pair.receive()
        if not data:
            return data
        rsp, _gcc, server_blocks = basic_settings.decode_connect_response(data)
        sec = find_block(server_blocks, ServerSecurityData)
        net = find_block(server_blocks, ServerNetworkData)
        self.server_security = sec if isinstance(sec, ServerSecurityData) else None
        self.server_network = net if isinstance(net, ServerNetworkData) else None
        self.connect_result = rsp.result
        return data

    def channel_connection(self) -> list[mcs.McsPdu]:
        self.pair.send(mcs.encode_mcs_frame(mcs.ErectDomainRequest()))
        self.pair.send(mcs.encode_mcs_frame(mcs.AttachUserRequest()))
        answers = [mcs.decode_mcs_frame(f) for f in split_frames(self.pair.receive())]
        confirm = answers[0] if answers else None
        if not isinstance(confirm, mcs.AttachUserConfirm) or confirm.result != 0:
            return answers
        self.user_id = confirm.initiator or 0
        assert self.server_network is not None
        for channel in (self.user_id, IO_CHANNEL, *self.server_network.channel_ids):
            self.pair.send(mcs.encode_mcs_frame(mcs.ChannelJoinRequest(self.user_id, channel)))
            answers += [mcs.decode_mcs_frame(f) for f in split_frames(self.pair.receive())]
        return answers

    def send_io(self, data: bytes) -> None:
        self.pair.send(mcs.encode_mcs_frame(mcs.SendDataRequest(self.user_id, IO_CHANNEL, data)))

    def security_exchange(self) -> None:
        sec = self.server_security
        assert sec is not None and sec.server_certificate is not None and sec.server_random is not None
        cert = security.decode_server_certificate(sec.server_certificate)
        client_random = os.urandom(32)
        encrypted = rdpcrypto.encrypt_client_random(client_random, rdpcrypto.server_public_key(cert))
        self.send_io(security.encode_security_exchange(security.SecurityExchange(encrypted)))
        self.crypto = rdpcrypto.new_security_context(client_random, sec.server_random, sec.encryption_method)

    def client_info(self, user: str = "alice", password: str = "", domain: str = "") -> list[bytes]:
        body = info.encode_client_info(info.ClientInfo(0x409, user_name=user, password=password, domain=domain))
        if self.crypto is not None:
            self.send_io(rdpcrypto.seal(self.crypto, SEC_INFO_PKT, body))
        else:
            self.send_io(struct.pack("<HH", SEC_INFO_PKT, 0) + body)
        return split_frames(self.pair.receive())

    def io_payload(self, frame: bytes) -> bytes:
        """The userData of a server Send Data Indication (decrypted under RDP security)."""
        pdu = mcs.decode_mcs_frame(frame)
        assert isinstance(pdu, mcs.SendDataIndication), pdu
        if self.crypto is None:
            return pdu.data
        return rdpcrypto.unseal(self.crypto, pdu.data).payload

    def share_pdu(self, frame: bytes) -> share.SharePdu:
        return share.decode_share_pdu(self.io_payload(frame))
