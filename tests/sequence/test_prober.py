"""The sans-IO prober fed scripted server bytes, and any bytes, events and timers."""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from rdpprobe.result import Target
from rdpprobe.sequence.actions import CloseConnection, Finished, SendBytes, StartTls, TlsInfo
from rdpprobe.sequence.config import ProbeConfig, Timeouts
from rdpprobe.sequence.phases import Phase
from rdpprobe.sequence.prober import Prober
from rdpprobe.signals import Observed, Signal
from rdpprobe.wire import nego

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
TIMEOUTS = Timeouts(connect=1.0, phase=2.0, overall=5.0)


def fixed_rng(n: int) -> bytes:
    return bytes(range(n))


def connected(config: ProbeConfig | None = None, started_at: datetime = START, now: float = 0.0,
              deadline_at: float | None = None) -> Prober:
    prober = Prober(Target("server", 3389), config or ProbeConfig(timeouts=TIMEOUTS), now=now,
                    started_at=started_at, rng=fixed_rng, deadline_at=deadline_at)
    prober.resolved("127.0.0.1", now)
    prober.connection_made(now)
    return prober


def drain(prober: Prober) -> list[object]:
    actions = []
    for _ in range(100):
        action = prober.next_action()
        if action is None:
            break
        actions.append(action)
    return actions


def cc(neg: nego.NegRsp | nego.NegFailure | None) -> bytes:
    return nego.encode_connection_confirm(nego.ConnectionConfirm(neg=neg))


def test_connection_request_goes_out_first() -> None:
    actions = drain(connected())
    assert isinstance(actions[0], SendBytes)
    request = nego.decode_connection_request(actions[0].data)
    assert request.cookie == b"probe"
    assert request.neg_req == nego.NegReq(requested_protocols=0x0B)


def test_selected_ssl_asks_the_driver_for_tls() -> None:
    prober = connected()
    drain(prober)
    prober.receive_data(cc(nego.NegRsp(selected_protocol=nego.SecurityProtocol.SSL, flags=1)), 0.1)
    actions = drain(prober)
    assert actions == [StartTls("server")]
    assert prober.get_timer() == 0.1 + TIMEOUTS.phase


def test_negotiation_failure_is_classified_and_ends_the_probe() -> None:
    prober = connected()
    drain(prober)
    prober.receive_data(cc(nego.NegFailure(failure_code=nego.FailureCode.SSL_CERT_NOT_ON_SERVER)), 0.1)
    actions = drain(prober)
    assert isinstance(actions[0], CloseConnection) and isinstance(actions[-1], Finished)
    result = prober.result
    assert result.signal is Signal.NEG_FAILURE
    assert result.failed_phase is Phase.CONNECTION_INITIATION
    assert result.verdict.taxonomy_id == "N3"
    assert result.facts.neg_failure_code == 3


def test_stop_after_connection_initiation_on_a_legacy_server() -> None:
    prober = connected(ProbeConfig(timeouts=TIMEOUTS, stop_after=Phase.CONNECTION_INITIATION))
    drain(prober)
    prober.receive_data(cc(None), 0.1)
    result = drain(prober)[-1].result  # type: ignore[attr-defined]
    assert result.ok and result.facts.legacy_no_negotiation
    assert result.facts.selected_protocol == "RDP"
    assert Phase.TLS in result.skipped_phases


def test_bytes_in_pieces_are_framed_whole() -> None:
    prober = connected()
    drain(prober)
    frame = cc(nego.NegRsp(selected_protocol=nego.SecurityProtocol.HYBRID))
    for i in range(len(frame)):
        assert drain(prober) == []
        prober.receive_data(frame[i : i + 1], 0.1)
    assert drain(prober) == [StartTls("server")]


def test_an_ssh_banner_is_not_rdp() -> None:
    prober = connected()
    drain(prober)
    prober.receive_data(b"SSH-2.0-OpenSSH_9.2\r\n", 0.1)
    drain(prober)
    assert prober.result.signal is Signal.NOT_RDP
    assert prober.result.verdict.taxonomy_id == "X4"


def test_silence_after_the_request_ends_at_the_phase_deadline() -> None:
    prober = connected()
    drain(prober)
    timer = prober.get_timer()
    assert timer == TIMEOUTS.phase
    prober.handle_timer(timer - 0.01)
    assert not prober.finished
    prober.handle_timer(timer)
    assert prober.result.signal is Signal.SILENT
    assert prober.result.verdict.taxonomy_id == "X3"


def test_a_giant_tpkt_length_is_framed_not_buffered_forever() -> None:
    prober = connected()
    drain(prober)
    prober.receive_data(b"\x03\x00\xff\xff" + b"\x00" * 100, 0.1)
    assert not prober.finished
    prober.receive_data(b"\x00" * 70000, 0.2)
    assert prober.finished
    assert prober.result.signal is Signal.DECODE_ERROR


def test_tls_alert_before_certificate_is_s2() -> None:
    prober = connected()
    drain(prober)
    prober.receive_data(cc(nego.NegRsp(selected_protocol=nego.SecurityProtocol.SSL)), 0.1)
    drain(prober)
    prober.failed(Observed(Signal.TLS_ALERT, "alert 80", 80, before_certificate=True), 0.2)
    assert prober.result.verdict.taxonomy_id == "S2"
    assert prober.result.failed_phase is Phase.TLS


def test_tls_established_records_certificate_facts() -> None:
    from rdpprobe.mock.certs import certificate_variant

    bundle = certificate_variant("expired")
    prober = connected(started_at=bundle.certificate.not_valid_after_utc.replace(year=2099))
    drain(prober)
    prober.receive_data(cc(nego.NegRsp(selected_protocol=nego.SecurityProtocol.SSL)), 0.1)
    drain(prober)
    der = bundle.cert_der
    prober.tls_established(TlsInfo("TLSv1.2", "AES", der), 0.2)
    tls = prober.result.facts.tls if prober.finished else None
    assert tls is None  # The probe goes on to MCS; facts are kept in the state.
    drain(prober)
    prober.handle_timer(10.0)
    facts = prober.result.facts.tls
    assert facts is not None and facts.version == "TLSv1.2"
    assert "expired" in facts.findings


EVENTS = st.lists(
    st.one_of(
        st.binary(max_size=64).map(lambda b: ("data", b)),
        st.just(("eof", b"")),
        st.floats(min_value=0.0, max_value=3.0).map(lambda t: ("wait", t)),
        st.sampled_from(list(Signal)).map(lambda s: ("fail", s)),
    ),
    max_size=30,
)


@settings(max_examples=300)
@given(EVENTS)
def test_any_events_end_in_a_result_within_the_deadline(events: list[tuple[str, object]]) -> None:
    prober = connected()
    now = 0.0
    reached: list[Phase] = []
    for kind, value in events:
        if kind == "data":
            prober.receive_data(value, now)  # type: ignore[arg-type]
        elif kind == "eof":
            prober.receive_data(b"", now)
        elif kind == "wait":
            now += value  # type: ignore[operator]
            prober.handle_timer(now)
        else:
            prober.failed(Observed(value), now)  # type: ignore[arg-type]
        drain(prober)
        if prober.finished:
            reached.append(prober.result.phase_reached)  # type: ignore[arg-type]
    prober.handle_timer(now + TIMEOUTS.overall + 1)
    actions = drain(prober)
    assert prober.finished
    result = prober.result
    assert result.verdict.category
    assert all(a <= b for a, b in zip(reached, reached[1:]))
    assert actions == [] or isinstance(actions[-1], Finished)


def test_bytes_after_the_confirm_are_handed_to_tls() -> None:
    prober = connected()
    drain(prober)
    hello = bytes.fromhex("160303004a02000046")
    prober.receive_data(cc(nego.NegRsp(selected_protocol=nego.SecurityProtocol.SSL)) + hello, 0.1)
    assert drain(prober) == [StartTls("server", hello)]
    assert not prober.finished


def test_an_ultimatum_instead_of_a_confirm_is_a_refusal_not_garbage() -> None:
    prober = connected()
    drain(prober)
    prober.receive_data(bytes.fromhex("0300000902f0802180"), 0.1)
    drain(prober)
    assert prober.result.signal is Signal.DISCONNECT_ULTIMATUM
    assert prober.result.failed_phase is Phase.CONNECTION_INITIATION


def test_a_repeated_confirm_gives_the_same_facts_and_a_bad_one_fails_every_time() -> None:
    """Decoded confirms are remembered per distinct frame; decode errors are not."""
    good = cc(nego.NegRsp(selected_protocol=nego.SecurityProtocol.HYBRID, flags=0x1F))
    truncated = good[:4] + good[4:-1]  # TPKT length now says one byte more than is there
    bad = truncated[:3] + bytes([len(truncated)]) + truncated[4:]
    results = []
    for frame in (good, bad, good, bad):
        prober = connected(ProbeConfig(timeouts=TIMEOUTS, stop_after=Phase.CONNECTION_INITIATION))
        drain(prober)
        prober.receive_data(frame, 0.1)
        drain(prober)
        results.append(prober.result)
    assert [r.signal for r in results] == [Signal.OK, Signal.DECODE_ERROR, Signal.OK, Signal.DECODE_ERROR]
    assert results[0].facts == results[2].facts
    assert results[0].facts.selected_protocol == "HYBRID"
    assert results[1].detail == results[3].detail


def test_a_target_deadline_earlier_than_the_overall_timeout_ends_the_connection() -> None:
    # The engine and the library give every connection of one target its deadline.
    prober = connected(now=10.0, deadline_at=11.5)
    drain(prober)
    assert prober.get_timer() == 11.5  # Before the phase timeout (12.0) and the overall one (15.0).
    prober.handle_timer(11.5)
    assert prober.result.signal is Signal.SILENT
    assert prober.result.detail == f"overall deadline of {TIMEOUTS.overall:g}s passed"


def test_a_target_deadline_later_than_the_overall_timeout_changes_nothing() -> None:
    prober = connected(deadline_at=100.0)
    drain(prober)
    prober.handle_timer(TIMEOUTS.phase)
    assert prober.result.detail == f"no answer within {TIMEOUTS.phase:g}s"


def _reset(prober: Prober, now: float) -> Prober:
    prober.failed(Observed(Signal.RESET, "ECONNRESET"), now)
    return prober


def test_a_reset_that_lands_before_connect_returns_is_a_reset_after_connecting() -> None:
    """Accepted, then reset: a loaded client may see the reset from connect() itself. The
    result is the one it gets when the reset comes after connect() returned."""
    config = ProbeConfig(timeouts=TIMEOUTS)
    early = Prober(Target("server", 3389), config, now=0.0, started_at=START, rng=fixed_rng)
    early.resolved("127.0.0.1", 0.0)
    late = connected(config)
    drain(late)
    early_result, late_result = _reset(early, 0.1).result, _reset(late, 0.1).result
    assert early_result.failed_phase is late_result.failed_phase is Phase.CONNECTION_INITIATION
    assert early_result.signal is late_result.signal is Signal.RESET
    assert early_result.verdict == late_result.verdict
    assert early_result.facts == late_result.facts


def test_a_reset_while_connecting_still_stops_after_tcp_connect_when_asked() -> None:
    config = ProbeConfig(timeouts=TIMEOUTS, stop_after=Phase.TCP_CONNECT)
    prober = Prober(Target("server", 3389), config, now=0.0, started_at=START, rng=fixed_rng)
    prober.resolved("127.0.0.1", 0.0)
    result = _reset(prober, 0.1).result
    assert (result.ok, result.phase_reached, result.signal) == (True, Phase.TCP_CONNECT, Signal.OK)
