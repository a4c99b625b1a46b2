"""NTLM: [MS-NLMP] 4.2.4 golden values, message codecs, client<->server, session security."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from Cryptodome.Hash import MD4  # impacket's MD4 (pycryptodomex), an independent oracle
from hypothesis import given
from hypothesis import strategies as st
from impacket import ntlm as impacket_ntlm  # type: ignore[import-untyped]

from rdpprobe.errors import DecodeError, EncodeError, InvalidField, ProbeUsageError, UnexpectedType
from rdpprobe.wire import ntlm
from rdpprobe.wire.codes import flag_names, name_of
from rdpprobe.wire.ntlm import (
    AuthOutcome,
    NtlmSession,
    NtStatus,
    Role,
    build_authenticate,
    build_negotiate,
    decode_challenge,
    encode_challenge,
    verify_authenticate,
)
from rdpprobe.wire.ntlm_crypto import (
    CLIENT_SEAL_MAGIC,
    CLIENT_SIGN_MAGIC,
    lmv2_response,
    md4,
    nt_hash,
    nt_proof_str,
    ntlmv2_client_blob,
    ntowfv2,
    rc4,
    rc4_stream,
    seal_key,
    session_base_key,
    sign_key,
)
from rdpprobe.wire.ntlm_fields import (
    AvId,
    AvPair,
    NegotiateFlags,
    NtlmVersion,
    datetime_to_filetime,
    filetime_to_datetime,
)
from rdpprobe.wire.ntlm_messages import (
    AuthenticateMessage,
    decode_authenticate,
    decode_negotiate,
    encode_authenticate,
    encode_negotiate,
)
from tests.strategies.nla import authenticate_messages, challenge_params, negotiate_messages
from tests.vectors import hexdiff, vector

# [MS-NLMP] 4.2.4 inputs.
USER, DOMAIN, PASSWORD = "User", "Domain", "Password"
SERVER_CHALLENGE = bytes.fromhex("0123456789abcdef")
CLIENT_CHALLENGE = b"\xaa" * 8
RANDOM_SESSION_KEY = b"\x55" * 16
SPEC_FLAGS = 0xE28A8233  # [MS-NLMP] 4.2.4 "Challenge Flags"
SPEC_SEALED = vector("nlmp_plaintext_signature") + vector("nlmp_sealed_plaintext")  # [MS-NLMP] 4.2.4.4
SPEC_TARGET_INFO = bytes.fromhex("02000c0044006f006d00610069006e00" "01000c00530065007200760065007200" "00000000")


def scripted_rng(*chunks: bytes) -> ntlm.Rng:
    """An rng returning ``chunks`` in order (build_authenticate asks for 8 then 16 bytes)."""
    queue = list(chunks)

    def rng(n: int) -> bytes:
        chunk = queue.pop(0)
        assert len(chunk) == n
        return chunk

    return rng


def counting_rng() -> ntlm.Rng:
    state = {"n": 0}

    def rng(n: int) -> bytes:
        state["n"] += 1
        return hashlib.sha256(state["n"].to_bytes(4, "little")).digest()[:n]

    return rng


def spec_client() -> tuple[bytes, NtlmSession]:
    rng = scripted_rng(CLIENT_CHALLENGE, RANDOM_SESSION_KEY)
    return build_authenticate(vector("nlmp_ntlmv2_challenge"), USER, PASSWORD, DOMAIN, "COMPUTER", rng, b"")


# ---------------------------------------------------------------------------------------
# Primitives against [MS-NLMP] 4.2.4 and RFC 1320
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "digest"),
    [  # RFC 1320 A.5 test suite
        (b"", "31d6cfe0d16ae931b73c59d7e0c089c0"),
        (b"a", "bde52cb31de33e46245e05fbdbd6fb24"),
        (b"abc", "a448017aaf21d8525fc10ae87aa6729d"),
        (b"message digest", "d9130a8164549fe818874806e1c7014b"),
        (b"abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"),
        (b"1234567890" * 8, "e33b4ddc9c38f2199c3e7b164fcc0536"),
    ],
)
def test_md4_rfc1320(message: bytes, digest: str) -> None:
    assert md4(message).hex() == digest


@given(st.binary(max_size=300))
def test_md4_matches_pycryptodomex(data: bytes) -> None:
    assert md4(data) == MD4.new(data).digest()


def test_nt_hash_of_password() -> None:
    # [MS-NLMP] 4.2.2.1.2 NTOWFv1("Password").
    assert nt_hash(PASSWORD).hex() == "a4f49c406510bdcab6824ee7c30fd852"


def test_ntowfv2_golden() -> None:
    assert ntowfv2(PASSWORD, USER, DOMAIN) == vector("nlmp_ntowfv2")


def test_ntowfv2_uppercases_user_not_domain() -> None:
    assert ntowfv2(PASSWORD, "user", DOMAIN) == vector("nlmp_ntowfv2")
    assert ntowfv2(PASSWORD, USER, "domain") != vector("nlmp_ntowfv2")


def test_ntlmv2_temp_and_responses_golden() -> None:
    key = vector("nlmp_ntowfv2")
    blob = ntlmv2_client_blob(0, CLIENT_CHALLENGE, SPEC_TARGET_INFO)
    assert blob == vector("nlmp_ntlmv2_temp"), hexdiff(blob, vector("nlmp_ntlmv2_temp"))
    proof = nt_proof_str(key, SERVER_CHALLENGE, blob)
    assert proof == vector("nlmp_ntproofstr")
    assert session_base_key(key, proof) == vector("nlmp_session_base_key")
    assert lmv2_response(key, SERVER_CHALLENGE, CLIENT_CHALLENGE) == vector("nlmp_lmv2_response")
    assert rc4(vector("nlmp_session_base_key"), RANDOM_SESSION_KEY) == vector("nlmp_encrypted_session_key")


def test_session_keys_golden() -> None:
    assert seal_key(RANDOM_SESSION_KEY, SPEC_FLAGS, CLIENT_SEAL_MAGIC) == vector("nlmp_client_sealing_key")
    assert sign_key(RANDOM_SESSION_KEY, CLIENT_SIGN_MAGIC) == vector("nlmp_client_signing_key")


def test_seal_golden() -> None:
    session = NtlmSession(RANDOM_SESSION_KEY, SPEC_FLAGS, Role.CLIENT)
    sealed = session.seal(vector("nlmp_plaintext"))
    expected = vector("nlmp_plaintext_signature") + vector("nlmp_sealed_plaintext")
    assert sealed == expected, hexdiff(sealed, expected)


def test_unseal_golden_as_server() -> None:
    session = NtlmSession(RANDOM_SESSION_KEY, SPEC_FLAGS, Role.SERVER)
    data = vector("nlmp_plaintext_signature") + vector("nlmp_sealed_plaintext")
    assert session.unseal(data) == vector("nlmp_plaintext")


# ---------------------------------------------------------------------------------------
# Message codecs
# ---------------------------------------------------------------------------------------


def test_decode_spec_challenge() -> None:
    info = decode_challenge(vector("nlmp_ntlmv2_challenge"))
    assert info.flags == SPEC_FLAGS
    assert info.server_challenge == SERVER_CHALLENGE
    assert (info.target_name, info.netbios_computer, info.netbios_domain) == ("Server", "Server", "Domain")
    assert (info.dns_computer, info.dns_domain, info.dns_tree, info.timestamp) == (None, None, None, None)
    assert info.version == NtlmVersion(6, 0, 6000, 15)
    assert info.av_pairs == (AvPair(AvId.NB_DOMAIN_NAME, "Domain".encode("utf-16-le")),
                             AvPair(AvId.NB_COMPUTER_NAME, "Server".encode("utf-16-le")))
    assert info.target_info == SPEC_TARGET_INFO
    assert info.server_time() is None


def test_encode_spec_challenge() -> None:
    data = encode_challenge(
        SERVER_CHALLENGE, target_name="Server", netbios_computer="Server", netbios_domain="Domain",
        version=NtlmVersion(6, 0, 6000, 15), flags=SPEC_FLAGS,
    )
    assert data == vector("nlmp_ntlmv2_challenge"), hexdiff(data, vector("nlmp_ntlmv2_challenge"))
    assert len(data) == 0x44 + 0x24


def rdpprobe_challenge() -> bytes:
    return encode_challenge(
        SERVER_CHALLENGE, target_name="RDPPROBE", netbios_computer="RDPPROBE", netbios_domain="RDPPROBE",
        dns_computer="rdpprobe", dns_domain="rdpprobe",
        timestamp=datetime_to_filetime(datetime(2024, 1, 1, tzinfo=UTC)),
    )


def test_constructed_challenge_vector() -> None:
    data = rdpprobe_challenge()
    assert data == vector("nlmp_challenge_rdpprobe"), hexdiff(data, vector("nlmp_challenge_rdpprobe"))
    info = decode_challenge(data)
    assert info.server_time() == datetime(2024, 1, 1, tzinfo=UTC)
    assert info.dns_computer == "rdpprobe" and info.version == ntlm.DEFAULT_VERSION


def test_negotiate_default_vector() -> None:
    data = build_negotiate()
    assert data == vector("nlmp_negotiate_default"), hexdiff(data, vector("nlmp_negotiate_default"))
    msg = decode_negotiate(data)
    assert msg.flags == 0xE20882B7 and msg.version == NtlmVersion(10, 0, 17763, 15)
    assert "EXTENDED_SESSIONSECURITY" in flag_names(NegotiateFlags, msg.flags)


def test_negotiate_without_version() -> None:
    msg = decode_negotiate(build_negotiate(version=None))
    assert msg.version is None and not msg.flags & NegotiateFlags.VERSION


@given(challenge_params())
def test_challenge_round_trip(params: dict[str, Any]) -> None:
    server_challenge = params.pop("server_challenge")
    info = decode_challenge(encode_challenge(server_challenge, **params))
    assert info.server_challenge == server_challenge
    assert info.target_name == params["target_name"]
    for name in ("netbios_computer", "netbios_domain", "dns_computer", "dns_domain", "dns_tree", "timestamp"):
        assert getattr(info, name) == params[name]
    assert info.version == params["version"]
    assert info.av_pairs[len(info.av_pairs) - len(params["extra_av_pairs"]):] == params["extra_av_pairs"]


@given(negotiate_messages)
def test_negotiate_round_trip(msg: ntlm.NegotiateMessage) -> None:
    assert decode_negotiate(encode_negotiate(msg)) == msg


@given(authenticate_messages())
def test_authenticate_round_trip(msg: AuthenticateMessage) -> None:
    assert decode_authenticate(encode_authenticate(msg)) == msg


def test_old_challenge_without_target_info() -> None:
    # Constructed: a 32-byte CHALLENGE (NT4 style): no Reserved, no TargetInfoFields.
    data = b"NTLMSSP\x00" + bytes.fromhex("02000000 0000 0000 20000000 01020000 0123456789abcdef")
    info = decode_challenge(data)
    assert info.av_pairs == () and info.target_info == b"" and info.version is None


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda d: b"NTLMSSX\x00" + d[8:], UnexpectedType),
        (lambda d: d[:8] + b"\x03\x00\x00\x00" + d[12:], UnexpectedType),
        (lambda d: d[:16] + b"\xff\xff\x00\x00" + d[20:], InvalidField),  # TargetName offset
        (lambda d: d[:40] + b"\xff\x00\xff\x00" + d[44:], InvalidField),  # TargetInfo length
        (lambda d: d[:20], DecodeError),
        (lambda d: d[:-6], DecodeError),  # TargetInfo runs past the end
    ],
)
def test_hostile_challenge(mutate: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        decode_challenge(mutate(vector("nlmp_ntlmv2_challenge")))


def test_encode_challenge_rejects_bad_challenge() -> None:
    with pytest.raises(EncodeError):
        encode_challenge(b"short")


@given(st.binary(max_size=200))
def test_decoders_raise_only_decode_errors(data: bytes) -> None:
    for decode in (decode_challenge, decode_negotiate, decode_authenticate):
        try:
            decode(data)
        except DecodeError:
            pass


@given(st.data())
def test_mutated_challenges_raise_only_decode_errors(data: st.DataObject) -> None:
    base = bytearray(data.draw(st.sampled_from([vector("nlmp_ntlmv2_challenge"), vector("nlmp_challenge_rdpprobe")])))
    for _ in range(data.draw(st.integers(1, 4))):
        base[data.draw(st.integers(0, len(base) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(base)))
    try:
        decode_challenge(bytes(base[:cut]))
    except DecodeError:
        pass


def test_filetime_helpers() -> None:
    moment = datetime(2024, 1, 1, 12, 30, tzinfo=UTC)
    assert filetime_to_datetime(datetime_to_filetime(moment)) == moment
    assert datetime_to_filetime(datetime(1970, 1, 1, tzinfo=UTC)) == 116444736000000000
    assert filetime_to_datetime(2**64 - 1) is None


# ---------------------------------------------------------------------------------------
# Client: build_authenticate
# ---------------------------------------------------------------------------------------


def test_build_authenticate_spec_example() -> None:
    data, session = spec_client()
    msg = decode_authenticate(data)
    assert msg.nt_response[:16] == vector("nlmp_ntproofstr")
    assert msg.nt_response[16:] == vector("nlmp_ntlmv2_temp")
    assert msg.lm_response == vector("nlmp_lmv2_response")
    assert msg.encrypted_session_key == vector("nlmp_encrypted_session_key")
    assert (msg.user, msg.domain, msg.workstation, msg.mic) == (USER, DOMAIN, "COMPUTER", None)
    assert session.exported_session_key == RANDOM_SESSION_KEY
    assert session.seal(vector("nlmp_plaintext")) == SPEC_SEALED


def rdpprobe_authenticate() -> tuple[bytes, NtlmSession]:
    rng = scripted_rng(CLIENT_CHALLENGE, RANDOM_SESSION_KEY)
    return build_authenticate(
        rdpprobe_challenge(), "alice", "Passw0rd!", "", "PROBE", rng, build_negotiate(), target_spn="TERMSRV/rdpprobe"
    )


def test_build_authenticate_constructed_vector() -> None:
    data, _ = rdpprobe_authenticate()
    assert data == vector("nlmp_authenticate_rdpprobe"), hexdiff(data, vector("nlmp_authenticate_rdpprobe"))
    msg = decode_authenticate(data)
    assert msg.lm_response == bytes(24) and msg.mic is not None


def test_build_authenticate_modern_av_pairs() -> None:
    msg = decode_authenticate(rdpprobe_authenticate()[0])
    blob_pairs = ntlm._blob_av_pairs(msg.nt_response[16:])
    ids = [p.av_id for p in blob_pairs]
    assert ids[-3:] == [AvId.FLAGS, AvId.CHANNEL_BINDINGS, AvId.TARGET_NAME]
    assert dict((p.av_id, p.value) for p in blob_pairs)[AvId.FLAGS] == b"\x02\x00\x00\x00"


def test_build_authenticate_matches_impacket_ntproofstr() -> None:
    msg = decode_authenticate(rdpprobe_authenticate()[0])
    blob = msg.nt_response[16:]
    key = impacket_ntlm.NTOWFv2("alice", "Passw0rd!", "")
    assert impacket_ntlm.hmac_md5(key, SERVER_CHALLENGE + blob) == msg.nt_response[:16]


def test_build_authenticate_rejects_challenge_without_ess() -> None:
    flags = ntlm.DEFAULT_CHALLENGE_FLAGS & ~NegotiateFlags.EXTENDED_SESSIONSECURITY
    data = encode_challenge(SERVER_CHALLENGE, flags=flags)
    with pytest.raises(InvalidField):
        build_authenticate(data, "u", "p", "", "", counting_rng(), build_negotiate())


def test_build_authenticate_checks_rng() -> None:
    with pytest.raises(ProbeUsageError):
        build_authenticate(rdpprobe_challenge(), "u", "p", "", "", lambda n: b"x", build_negotiate())


# ---------------------------------------------------------------------------------------
# Server: verify_authenticate, and the client<->server round trip
# ---------------------------------------------------------------------------------------


def lookup_for(user: str, password: str) -> ntlm.PasswordLookup:
    return lambda u, d: password if u.casefold() == user.casefold() else None


def exchange(password: str = "Passw0rd!", user: str = "alice") -> tuple[AuthOutcome, NtlmSession]:
    negotiate = build_negotiate()
    challenge = encode_challenge(
        bytes(range(8)), target_name="LAB", netbios_computer="SRV", netbios_domain="LAB",
        timestamp=datetime_to_filetime(datetime(2025, 5, 5, tzinfo=UTC)),
    )
    auth, client = build_authenticate(challenge, user, password, "LAB", "WS", counting_rng(), negotiate)
    return verify_authenticate(negotiate, challenge, auth, lookup_for("alice", "Passw0rd!")), client


def test_round_trip_success() -> None:
    outcome, client = exchange()
    assert outcome.ok and outcome.status == NtStatus.STATUS_SUCCESS and outcome.mic_checked
    assert (outcome.user, outcome.domain, outcome.workstation) == ("alice", "LAB", "WS")
    assert outcome.session is not None
    assert outcome.session.exported_session_key == client.exported_session_key


def test_round_trip_wrong_password() -> None:
    outcome, _ = exchange(password="wrong")
    assert not outcome.ok and outcome.session is None
    assert name_of(NtStatus, outcome.status) == "STATUS_WRONG_PASSWORD"


def test_round_trip_unknown_user() -> None:
    outcome, _ = exchange(user="mallory")
    assert outcome.status == NtStatus.STATUS_NO_SUCH_USER and outcome.user == "mallory"


def test_spec_example_verifies_without_mic() -> None:
    data, _ = spec_client()
    outcome = verify_authenticate(b"", vector("nlmp_ntlmv2_challenge"), data, lookup_for(USER, PASSWORD))
    assert outcome.ok and not outcome.mic_checked
    assert outcome.session is not None
    assert outcome.session.unseal(SPEC_SEALED) == vector("nlmp_plaintext")


def test_mic_covers_the_negotiate() -> None:
    data, _ = rdpprobe_authenticate()
    negotiate = build_negotiate(flags=ntlm.DEFAULT_FLAGS & ~NegotiateFlags.LM_KEY)
    outcome = verify_authenticate(negotiate, rdpprobe_challenge(), data, lookup_for("alice", "Passw0rd!"))
    assert outcome.status == NtStatus.STATUS_LOGON_FAILURE and outcome.reason == "mic mismatch"


def test_tampered_mic_fails() -> None:
    data = bytearray(rdpprobe_authenticate()[0])
    data[72] ^= 1
    lookup = lookup_for("alice", "Passw0rd!")
    outcome = verify_authenticate(build_negotiate(), rdpprobe_challenge(), bytes(data), lookup)
    assert outcome.reason == "mic mismatch"


def test_ntlmv1_length_response_is_a_failure() -> None:
    msg = AuthenticateMessage(ntlm.DEFAULT_FLAGS, bytes(24), bytes(24), "", "bob", "", b"")
    outcome = verify_authenticate(b"", rdpprobe_challenge(), encode_authenticate(msg), lookup_for("bob", "x"))
    assert outcome.status == NtStatus.STATUS_LOGON_FAILURE and outcome.user == "bob"


def test_missing_session_key_is_a_failure() -> None:
    negotiate, challenge = build_negotiate(), rdpprobe_challenge()
    auth, _ = build_authenticate(challenge, "alice", "pw", "", "", counting_rng(), negotiate)
    msg = decode_authenticate(auth)
    stripped = encode_authenticate(AuthenticateMessage(
        msg.flags, msg.lm_response, msg.nt_response, msg.domain, msg.user, msg.workstation, b"", msg.version, None
    ))
    outcome = verify_authenticate(negotiate, challenge, stripped, lookup_for("alice", "pw"))
    assert outcome.reason == "missing encrypted session key"


def test_impacket_client_against_our_server() -> None:
    type1 = impacket_ntlm.getNTLMSSPType1("WS", "", signingRequired=True)
    type1["flags"] |= impacket_ntlm.NTLMSSP_NEGOTIATE_SEAL | impacket_ntlm.NTLMSSP_NEGOTIATE_KEY_EXCH
    challenge = encode_challenge(
        bytes(8), target_name="LAB", netbios_computer="SRV", netbios_domain="LAB", dns_computer="srv.lab",
        dns_domain="lab", timestamp=datetime_to_filetime(datetime(2025, 1, 1, tzinfo=UTC)),
    )
    type3, exported = impacket_ntlm.getNTLMSSPType3(type1, challenge, "alice", "pw", "LAB")
    outcome = verify_authenticate(type1.getData(), challenge, type3.getData(), lookup_for("alice", "pw"))
    assert outcome.ok, outcome.reason
    assert outcome.session is not None and outcome.session.exported_session_key == exported
    client = NtlmSession(exported, type3["flags"], Role.CLIENT)
    assert outcome.session.unseal(client.seal(b"from impacket's key")) == b"from impacket's key"


@given(st.binary(max_size=300))
def test_verify_authenticate_on_arbitrary_bytes(data: bytes) -> None:
    try:
        outcome = verify_authenticate(b"", vector("nlmp_challenge_rdpprobe"), data, lookup_for("alice", "pw"))
    except DecodeError:
        return
    assert not outcome.ok


@given(st.data())
def test_verify_authenticate_on_mutated_messages(data: st.DataObject) -> None:
    base = bytearray(vector("nlmp_authenticate_rdpprobe"))
    for _ in range(data.draw(st.integers(1, 4))):
        base[data.draw(st.integers(0, len(base) - 1))] = data.draw(st.integers(0, 255))
    try:
        outcome = verify_authenticate(
            vector("nlmp_negotiate_default"), vector("nlmp_challenge_rdpprobe"), bytes(base),
            lookup_for("alice", "Passw0rd!"),
        )
    except DecodeError:
        return
    assert isinstance(outcome, AuthOutcome)


# ---------------------------------------------------------------------------------------
# Session security across both roles
# ---------------------------------------------------------------------------------------


def session_pair() -> tuple[NtlmSession, NtlmSession]:
    outcome, client = exchange()
    assert outcome.session is not None
    return client, outcome.session


def test_seal_unseal_both_directions_in_sequence() -> None:
    client, server = session_pair()
    for i in range(5):
        up = f"client message {i}".encode() * (i + 1)
        assert server.unseal(client.seal(up)) == up
        down = f"server message {i}".encode()
        assert client.unseal(server.seal(down)) == down
    assert (client.send_seq, client.recv_seq, server.send_seq, server.recv_seq) == (5, 5, 5, 5)


def test_client_and_server_keys_differ() -> None:
    client, server = session_pair()
    assert client.seal(b"same") != server.seal(b"same")


def test_replayed_message_is_rejected_without_harm() -> None:
    client, server = session_pair()
    first = client.seal(b"one")
    assert server.unseal(first) == b"one"
    with pytest.raises(InvalidField) as exc:
        server.unseal(first)
    assert exc.value.field == "signature"
    assert server.unseal(client.seal(b"two")) == b"two"


def test_out_of_order_message_is_rejected() -> None:
    client, server = session_pair()
    first, second = client.seal(b"one"), client.seal(b"two")
    with pytest.raises(InvalidField):
        server.unseal(second)
    assert server.unseal(first) == b"one"
    assert server.unseal(second) == b"two"


def test_tampered_message_is_rejected() -> None:
    client, server = session_pair()
    sealed = bytearray(client.seal(b"pubkey proof"))
    sealed[-1] ^= 0x80
    with pytest.raises(InvalidField, match="checksum"):
        server.unseal(bytes(sealed))


def test_own_messages_do_not_unseal() -> None:
    client, _ = session_pair()
    with pytest.raises(InvalidField):
        client.unseal(client.seal(b"loop"))


@pytest.mark.parametrize("data", [b"", b"\x01\x00\x00\x00", b"\x02" + bytes(15) + b"x"])
def test_short_or_bad_version_signature(data: bytes) -> None:
    _, server = session_pair()
    with pytest.raises(DecodeError):
        server.unseal(data)


def test_seal_matches_impacket() -> None:
    client, _ = session_pair()
    key, flags = client.exported_session_key, client.flags
    handle = rc4_handle(impacket_ntlm.SEALKEY(flags, key, "Client"))
    sign = impacket_ntlm.SIGNKEY(flags, key, "Client")
    for seq, message in enumerate([b"first", b"second message", b""]):
        sealed, signature = impacket_ntlm.SEAL(flags, sign, None, message, message, seq, handle)
        assert client.seal(message) == signature.getData() + sealed


def rc4_handle(key: bytes) -> Any:
    return rc4_stream(key).update
