"""A hostile server at every phase: mock conversations, recorded, changed and replayed.

Random bytes rarely get past a Connection Confirm. These tests start from what the mock
server really sent a probe (``replay``), on every path the probe walks: TLS to Demand Active,
NLA to the NTLM challenge and after it, Standard RDP Security with its RC4 and FIPS keys,
licensing, Set Error Info, redirection, refusals. Then they change it the way a broken or
hostile server would: flipped and overwritten bytes, length fields set to their extremes,
frames cut short, padded, repeated or dropped, and the same bytes in other TCP segments.

Whatever arrives, the probe must end in a classified result, never an internal error (a
decoder raising anything but ``DecodeError`` ends there), and its JSON line must match the
schema the scanner promises.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import json
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdpprobe.output import JsonlWriter, load_schema
from rdpprobe.result import ProbeResult
from rdpprobe.sequence.actions import TlsInfo
from rdpprobe.sequence.phases import Phase
from rdpprobe.signals import Signal
from rdpprobe.wire import basic_settings, gcc_blocks, mcs
from tests.sequence.replay import Event, Recording, record, replay
from tests.strategies import mutations

#: Conversations that reach past the Connection Confirm, one per path or failure the probe
#: classifies after it; scenarios that only stall are left out (they take their timeouts).
SCENARIOS = (
    "windows-tls", "windows-nla", "windows-negotiate", "freerdp-like", "xrdp-like", "legacy-cc",
    "legacy-no-negotiation", "tls-1.0-only", "errinfo-fresh-credentials", "errinfo-denied", "redirect",
    "ultimatum-user-requested", "license-no-license-server", "license-errinfo-no-license",
    "attach-user-rejected", "channel-join-rejected", "mcs-connect-rejected", "downgrade", "authz-denied",
    "pubkey-mismatch", "credssp-logon-failure", "credssp-v2-server", "hybrid-required",
)  # fmt: skip
#: Standard RDP Security scenarios, probed offering RDP alone as the negotiation fallback does.
RDP_SECURITY_SCENARIOS = ("windows-rdp-security", "windows-rdp-fips", "short-server-random", "bad-proprietary-cert")


@functools.cache
def _recorded() -> dict[str, Recording]:
    """Every scenario's recording, made once per test run (hypothesis reruns tests)."""
    made = {name: record(name) for name in SCENARIOS}
    made.update({name: record(name, protocols="RDP") for name in RDP_SECURITY_SCENARIOS})
    return made


@pytest.fixture
def recordings() -> dict[str, Recording]:
    return _recorded()


def _key(result: ProbeResult) -> tuple[object, ...]:
    return result.verdict.taxonomy_id, result.phase_reached, result.failed_phase, result.signal, result.detail


@pytest.mark.parametrize("name", [*SCENARIOS, *RDP_SECURITY_SCENARIOS])
def test_a_replay_reaches_the_recorded_result(recordings: dict[str, Recording], name: str) -> None:
    recording = recordings[name]
    assert mutations.frames(recording.events), "the conversation must carry bytes to change"
    assert _key(replay(recording, recording.events)) == _key(recording.result)


def test_the_recordings_walk_every_phase(recordings: dict[str, Recording]) -> None:
    walked = {phase for r in recordings.values() for phase, _seconds in r.result.timings}
    assert walked == set(Phase)
    assert recordings["windows-rdp-fips"].result.ok and recordings["windows-rdp-security"].result.ok


# -- the same bytes in other segments ------------------------------------------------------


def _resegment(events: tuple[Event, ...], cuts: list[int]) -> list[Event]:
    """Each run of consecutive data events joined and cut again, at ``cuts`` (offsets into
    the run, taken modulo its length): TCP may deliver a server's bytes in any pieces."""
    out: list[Event] = []
    run: list[Event] = []
    for event in [*events, ("end", None, 0.0)]:
        if event[0] == "data" and event[1]:  # b"" is the end of the stream, kept in place.
            run.append(event)
            continue
        if run:
            joined = b"".join(data for _, data, _ in run)
            points = sorted({cut % len(joined) for cut in cuts if cut % len(joined)}) if joined else []
            pieces = [joined[a:b] for a, b in zip([0, *points], [*points, len(joined)])]
            out += [("data", piece, run[-1][2]) for piece in pieces]
            run = []
        if event[0] != "end":
            out.append(event)
    return out


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(SCENARIOS + RDP_SECURITY_SCENARIOS), st.lists(st.integers(0, 4096), max_size=12))
def test_any_segmentation_of_the_server_bytes_gives_the_same_result(name: str, cuts: list[int]) -> None:
    recording = _recorded()[name]
    assert _key(replay(recording, _resegment(recording.events, cuts))) == _key(recording.result)


# -- changed bytes -------------------------------------------------------------------------

SCHEMA = load_schema()


def _assert_classified(result: ProbeResult) -> None:
    assert result.signal is not Signal.INTERNAL_ERROR, result.detail
    assert result.verdict.category and result.verdict.taxonomy_id
    stream = io.StringIO()
    JsonlWriter(stream).write(result.to_dict(), result.started_at)
    jsonschema.validate(json.loads(stream.getvalue()), SCHEMA)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(SCENARIOS + RDP_SECURITY_SCENARIOS), mutations.CHANGES)
def test_a_hostile_server_at_any_phase_gets_a_classified_result(
    name: str, changes: list[tuple[int, tuple[Any, ...]]]
) -> None:
    recording = _recorded()[name]
    _assert_classified(replay(recording, mutations.changed(recording.events, changes)))


# -- what the search above found, kept as examples -----------------------------------------


def _with_frame(recording: Recording, pick: Any, change: Any) -> list[Event]:
    """The recording with the first data event ``pick`` accepts replaced by ``change`` of it."""
    events = list(recording.events)
    at = next(i for i in mutations.frames(events) if pick(events[i][1]))
    kind, data, now = events[at]
    events[at] = (kind, change(data), now)
    return events


#: The first octet of a successful Attach User Confirm with its user id (T.125, PER).
ATTACH_USER_CONFIRM = mcs.encode_mcs_pdu(mcs.AttachUserConfirm(0, mcs.USER_ID_BASE))[:1]


def _is_connect_response(data: bytes) -> bool:
    try:
        basic_settings.decode_connect_response(data)
    except Exception:  # noqa: BLE001 - any other frame
        return False
    return True


def _blocks_changed(data: bytes, change: Any) -> bytes:
    _response, gcc, blocks = basic_settings.decode_connect_response(data)
    assert gcc is not None
    return basic_settings.encode_connect_response_frame([b for b in map(change, blocks) if b is not None],
                                                        node_id=gcc.node_id)


def test_a_user_id_above_65535_is_a_decode_error(recordings: dict[str, Recording]) -> None:
    """An Attach User Confirm whose 16 bits say 1001 + 65535: the probe could not write its
    Channel Join Request for that id, and reported its own failure (an internal error)."""
    recording = recordings["windows-tls"]
    events = _with_frame(recording, lambda data: data[7:8] == ATTACH_USER_CONFIRM, lambda data: data[:-2] + b"\xff\xff")
    result = replay(recording, events)
    assert (result.signal, result.failed_phase) == (Signal.DECODE_ERROR, Phase.CHANNEL_CONNECTION)
    assert "user id" in (result.detail or "")


def test_a_connect_response_without_network_data_is_a_decode_error(recordings: dict[str, Recording]) -> None:
    """Server Network Data names the I/O channel ([MS-RDPBCGR] 2.2.1.4); without it the probe
    used to reach Client Info with no channel to send it on (an assertion, an internal error)."""
    recording = recordings["windows-tls"]
    without = _with_frame(recording, _is_connect_response, lambda data: _blocks_changed(
        data, lambda b: None if isinstance(b, gcc_blocks.ServerNetworkData) else b))
    result = replay(recording, without)
    assert (result.signal, result.failed_phase) == (Signal.DECODE_ERROR, Phase.BASIC_SETTINGS_EXCHANGE)
    assert "Server Network Data" in (result.detail or "")


@pytest.mark.parametrize("method", [0x00, 0x12, 0x04])
def test_an_encryption_method_without_keys_is_bad_server_security(recordings: dict[str, Recording],
                                                                    method: int) -> None:
    """Standard RDP Security with a method the client did not offer: R1, where the probe used
    to fail deriving keys for it (an internal error)."""
    recording = recordings["windows-rdp-security"]

    def choose(block: object) -> object:
        if isinstance(block, gcc_blocks.ServerSecurityData):
            return dataclasses.replace(block, encryption_method=method)
        return block

    events = _with_frame(recording, _is_connect_response, lambda data: _blocks_changed(data, choose))
    result = replay(recording, events)
    assert (result.signal, result.failed_phase) == (Signal.BAD_SERVER_SECURITY, Phase.SECURITY_COMMENCEMENT)
    assert result.verdict.taxonomy_id == "R1"
    assert f"encryption method {'none' if not method else hex(method)}" in (result.detail or "")


#: Recordings whose TLS handshake gave a certificate (every TLS and NLA path).
WITHOUT_TLS = ("legacy-cc", "legacy-no-negotiation", "hybrid-required")
WITH_CERTIFICATES = tuple(name for name in SCENARIOS if name not in WITHOUT_TLS)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(WITH_CERTIFICATES), st.lists(mutations.EDITS, min_size=1, max_size=4))
def test_any_server_certificate_gets_a_classified_result(name: str, edits: list[tuple[Any, ...]]) -> None:
    """The certificate is analysed (certinfo) and, under NLA, its key bound (CredSSP): a
    broken one is a finding or a classified failure, never an internal error."""
    recording = _recorded()[name]

    def broken(info: TlsInfo) -> TlsInfo:
        der = info.certificate or b""
        for edit in edits:
            der = mutations.edit(der, edit)
        return dataclasses.replace(info, certificate=der)

    events = [(kind, broken(value) if kind == "tls" else value, now) for kind, value, now in recording.events]
    assert any(kind == "tls" for kind, _, _ in events)
    _assert_classified(replay(recording, events))
