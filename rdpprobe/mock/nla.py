"""CredSSP with NTLM, server side ([MS-CSSP] 3.1.5, [MS-NLMP] 3.2.5), plus the HYBRID_EX
Early User Authorization Result ([MS-RDPBCGR] 2.2.10.2).

The exchange, one TSRequest each way per step:

1. NEGOTIATE in negoTokens (clientNonce from v5) -> CHALLENGE in negoTokens;
2. AUTHENTICATE + pubKeyAuth -> the server's pubKeyAuth proof, or errorCode (v3, v4, v6)
   when the NTLMv2 response does not verify; a v2 (or v5) server just closes;
3. authInfo (sealed TSCredentials) -> nothing, or the 4-byte authorization result when
   HYBRID_EX was selected.

Only raw NTLM tokens are accepted in negoTokens (FreeRDP, nmap and rdpprobe send them; a
SPNEGO-wrapped token from mstsc is refused with a close).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from rdpprobe.mock.actions import Action as Step
from rdpprobe.mock.faults import Action, ServerPhase
from rdpprobe.mock.states import State
from rdpprobe.wire import credssp, ntlm
from rdpprobe.wire.credssp import TsRequest
from rdpprobe.wire.nego import SecurityProtocol
from rdpprobe.wire.ntlm_fields import datetime_to_filetime

if TYPE_CHECKING:
    from rdpprobe.mock.acceptor import Acceptor

DEFAULT_USER = "rdpprobe"
DEFAULT_PASSWORD = "rdpprobe"
SERVER_CHALLENGE_SIZE = 8  # [MS-NLMP] 2.2.1.2 ServerChallenge
FIRST_ERROR_CODE_VERSION = 3  # [MS-CSSP] 2.2.1: errorCode exists from version 3 ...
NO_ERROR_CODE_VERSION = 5  # ... but a version 5 peer never sends it (FreeRDP nla.c).
FIRST_HASH_VERSION = 5  # [MS-CSSP] 3.1.5: binding hashes with clientNonce from version 5
AUTHZ_SUCCESS = 0x00000000  # [MS-RDPBCGR] 2.2.10.2 authorizationResult


@dataclass(frozen=True, slots=True)
class Credentials:
    """The one account the mock accepts ([MS-NLMP] 3.2.5.1.2 NTLMv2 check)."""

    user: str = DEFAULT_USER
    password: str = DEFAULT_PASSWORD
    domain: str | None = None
    """When set, the client's domain must match (case-insensitively)."""

    def lookup(self, user: str, domain: str) -> str | None:
        if user.casefold() != self.user.casefold():
            return None
        if self.domain is not None and domain.casefold() != self.domain.casefold():
            return None
        return self.password

    @classmethod
    def given(cls, user: str | None, password: str | None, domain: str | None = None) -> Credentials:
        """The account a caller asked for: ``None`` keeps the default user or password. An
        empty one is a ``ValueError``: quietly serving the default account instead would hide
        the mistake until a client failed (or succeeded) to authenticate for the wrong reason."""
        for name, value in (("user", user), ("password", password)):
            if value == "":
                raise ValueError(f"{name} must not be empty (None keeps the default)")
        return cls(DEFAULT_USER if user is None else user, DEFAULT_PASSWORD if password is None else password,
                   domain)


class NlaStep(enum.Enum):
    """Which client TSRequest the server waits for."""

    NEGOTIATE = "negotiate"
    AUTHENTICATE = "authenticate"
    CREDENTIALS = "credentials"


class NlaServer:
    """The CredSSP server of one connection."""

    def __init__(self, acceptor: Acceptor) -> None:
        self.a = acceptor
        self.step = NlaStep.NEGOTIATE
        f = acceptor.fault(ServerPhase.NLA, Action.CREDSSP_VERSION)
        self.version = int(f.param("version")) if f else acceptor.persona.credssp_version or 6
        self.require = int(f.param("require")) if f else 0
        self.client_version = 0
        self.nonce = b""
        self.messages: list[bytes] = []
        self.session: ntlm.NtlmSession | None = None
        self.authenticated_user: str | None = None
        self.public_key = credssp.subject_public_key(acceptor.bundle.cert_der)

    @property
    def effective_version(self) -> int:
        return min(self.version, self.client_version)

    def frame_length(self, buf: bytes) -> int | None:
        return credssp.ts_request_frame_length(buf)

    def on_ts_request(self, frame: bytes) -> list[Step]:
        req = credssp.decode_ts_request(frame)
        f = self.a.plan.terminal(ServerPhase.NLA)
        if f is not None and f.action in (Action.CLOSE, Action.RESET, Action.BLACKHOLE, Action.GARBAGE):
            if str(f.params.get("step", NlaStep.NEGOTIATE.value)) == self.step.value:
                return self.a.respond(ServerPhase.NLA, b"")
        return _STEPS[self.step](self, req)

    # -- 1. NEGOTIATE -> CHALLENGE -----------------------------------------------------------

    def _negotiate(self, req: TsRequest) -> list[Step]:
        self.client_version = req.version
        self.nonce = req.client_nonce or b""
        self.a.note(f"credssp client version {req.version}")
        if req.version < self.require:
            self.a.note(f"credssp version {req.version} < required {self.require}")
            return self.a.close()
        token = _single_token(req)
        ntlm.decode_negotiate(token)
        challenge = ntlm.encode_challenge(
            self.a.rng(SERVER_CHALLENGE_SIZE),
            target_name=self.a.persona.domain_name,
            netbios_computer=self.a.persona.computer_name,
            netbios_domain=self.a.persona.domain_name,
            dns_computer=self.a.persona.computer_name.lower(),
            dns_domain=self.a.persona.domain_name.lower(),
            timestamp=datetime_to_filetime(datetime.fromtimestamp(self.a.clock(), timezone.utc)),
            version=self.a.persona.os_version,
        )
        self.messages = [token, challenge]
        self.step = NlaStep.AUTHENTICATE
        reply = TsRequest(self.version, nego_tokens=(challenge,))
        return self.a.respond(ServerPhase.NLA, credssp.encode_ts_request(reply))

    # -- 2. AUTHENTICATE + pubKeyAuth -> pubKeyAuth / errorCode -------------------------------

    def _authenticate(self, req: TsRequest) -> list[Step]:
        token = _single_token(req)
        forced = self.a.fault(ServerPhase.NLA, Action.CREDSSP_ERROR)
        if forced is not None:
            return self._refuse(_status(forced.param("status")))
        outcome = ntlm.verify_authenticate(self.messages[0], self.messages[1], token, self.a.credentials.lookup)
        self.a.note(f"ntlm {outcome.user!r}: status 0x{outcome.status:08X} {outcome.reason}")
        if not outcome.ok or outcome.session is None:
            return self._refuse(outcome.status)
        self.session = outcome.session
        self.authenticated_user = outcome.user
        if req.client_nonce:
            self.nonce = req.client_nonce
        if not self._client_proof_ok(req.pub_key_auth):
            self.a.note("client pubKeyAuth does not match the server certificate")
            return self.a.close()
        self.step = NlaStep.CREDENTIALS
        reply = TsRequest(self.version, pub_key_auth=self.session.seal(self._server_proof()))
        return self.a.respond(ServerPhase.NLA, credssp.encode_ts_request(reply))

    def _refuse(self, status: int) -> list[Step]:
        """errorCode for v3/v4/v6 servers; a v2 (or v5) server just closes ([MS-CSSP] 2.2.1)."""
        if self.version < FIRST_ERROR_CODE_VERSION or self.version == NO_ERROR_CODE_VERSION:
            return self.a.close()
        reply = TsRequest(self.version, error_code=status)
        return [*self.a.respond(ServerPhase.NLA, credssp.encode_ts_request(reply)), *self.a.close()]

    def _client_proof_ok(self, sealed: bytes | None) -> bool:
        assert self.session is not None
        if sealed is None:
            return False
        proof = self.session.unseal(sealed)
        if self.effective_version >= FIRST_HASH_VERSION:
            return proof == credssp.client_binding_hash(self.nonce, self.public_key)
        return proof == self.public_key

    def _server_proof(self) -> bytes:
        key = self.public_key
        if self.a.fault(ServerPhase.NLA, Action.PUBKEY_MISMATCH):
            key = key[:-1] + bytes((key[-1] ^ 0xFF,))
        if self.effective_version >= FIRST_HASH_VERSION:
            return credssp.server_binding_hash(self.nonce, key)
        return credssp.increment_le(key)

    # -- 3. authInfo (TSCredentials) -> early user authorization ------------------------------

    def _credentials(self, req: TsRequest) -> list[Step]:
        assert self.session is not None
        if req.auth_info is None:
            raise ValueError("ts request without authInfo after pubKeyAuth")
        creds = credssp.decode_ts_credentials(self.session.unseal(req.auth_info))
        if creds.cred_type == credssp.TS_PASSWORD_CREDS:
            pw = credssp.decode_ts_password_creds(creds.credentials)
            self.a.note(f"credssp credentials for {pw.domain}\\{pw.user}")
        self.a.state = State.WAIT_CONNECT_INITIAL
        if self.a.selected != SecurityProtocol.HYBRID_EX:
            return self.a.respond(ServerPhase.NLA, b"")
        f = self.a.fault(ServerPhase.EARLY_AUTHZ, Action.AUTHZ_DENIED)
        result = int(f.param("result")) if f else AUTHZ_SUCCESS
        steps = self.a.respond(ServerPhase.EARLY_AUTHZ, struct.pack("<I", result))
        return steps + (self.a.close() if result != AUTHZ_SUCCESS else [])


def _single_token(req: TsRequest) -> bytes:
    if len(req.nego_tokens) != 1:
        raise ValueError(f"expected one negoToken, got {len(req.nego_tokens)}")
    return req.nego_tokens[0]


def _status(value: object) -> int:
    """An NTSTATUS given as an int or as a name (``STATUS_LOGON_FAILURE``)."""
    if isinstance(value, int):
        return value
    from rdpprobe.wire.ntstatus import NtStatus

    return int(NtStatus[str(value)])


_STEPS = {
    NlaStep.NEGOTIATE: NlaServer._negotiate,
    NlaStep.AUTHENTICATE: NlaServer._authenticate,
    NlaStep.CREDENTIALS: NlaServer._credentials,
}
