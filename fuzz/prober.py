"""Fuzz target: the sans-IO prober fed server conversations (``fuzz.conversation``).

Seeded with conversations recorded from the mock server on the TLS, NLA, full-logon and
Standard RDP Security paths, changed by a structure-aware mutator that knows TPKT and
fast-path frames. ``python fuzz/prober.py [libFuzzer flags]``.

Invariants, for every conversation:
- the probe ends in a classified result: never ``internal_error``, always finished once its
  deadlines have passed, with a verdict citing a taxonomy row;
- bounded: at most ``MAX_ACTIONS_PER_EVENT`` actions per event, and the receive buffer
  never above ``MAX_BUFFERED_INPUT``;
- no credentials without proof: without credentials, or with credentials but no full
  logon, no TSCredentials (a TSRequest with authInfo) and no password in the clear ever go
  out; with a full logon, TSCredentials go out only after the server's CredSSP public-key
  proof verified ([MS-CSSP] 3.1.5);
- segmentation does not matter: the same server bytes with consecutive reads merged give
  the same phase, signal and verdict (what ``probe``, ``aprobe`` and the engine promise,
  each reading in its own pieces).
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fuzz import conversation  # noqa: E402
from fuzz.common import expect, import_all, instrumented, main  # noqa: E402
from fuzz.conversation import Conversation, Event  # noqa: E402

with instrumented(__name__):
    from rdpprobe.api import build
    from rdpprobe.errors import DecodeError
    from rdpprobe.result import AUTH_SUCCEEDED, ProbeResult
    from rdpprobe.sequence.actions import SendBytes, StartTls, TlsInfo
    from rdpprobe.sequence.prober import MAX_BUFFERED_INPUT, Prober
    from rdpprobe.signals import Observed, Signal
    from rdpprobe.wire import credssp

    import_all("rdpprobe.sequence", "rdpprobe.wire")

NAME = "prober"
#: The mock's account (``rdpprobe.mock.nla``): a full logon that the mock accepts.
USER = PASSWORD = "rdpprobe"
#: A password no byte the probe sends should ever contain in the clear.
CANARY = "Canary-7Qx!pw"
#: Probe configurations a conversation's first byte picks; seeds are recorded with each.
CONFIGS: tuple[dict[str, Any], ...] = (
    {},
    {"user": USER, "password": CANARY},
    {"user": USER, "password": PASSWORD, "full_logon": True},
    {"protocols": "RDP"},
)
TARGET = "127.0.0.1:3389"
STARTED = datetime(2026, 1, 1, tzinfo=timezone.utc)
RNG_SEED = 7  # as ``tests.sequence.replay``: the recordings' client randomness
THE_END = 1e6
MAX_ACTIONS_PER_EVENT = 64
TLS_VERSION, TLS_CIPHER = "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"


@dataclass
class Run:
    """What one drive of the prober produced."""

    result: ProbeResult
    sent: list[bytes] = field(default_factory=list)


def _config(index: int) -> tuple[Any, Any, dict[str, Any]]:
    options = CONFIGS[index % len(CONFIGS)]
    target, config, _ = build(TARGET, None, dict(options))
    return target, config, options


class _Driver:
    """Delivers events as a driver would, and watches what the prober sends."""

    def __init__(self, config_index: int) -> None:
        target, config, self.options = _config(config_index)
        self.now = 0.0
        self.prober = Prober(target, config, now=0.0, started_at=STARTED, rng=random.Random(RNG_SEED).randbytes)
        self.awaiting_tls = False
        self.sent: list[bytes] = []

    def start(self) -> None:
        self.prober.resolved("127.0.0.1", self.now)
        self._drain()
        self.prober.connection_made(self.now)
        self._drain()

    def deliver(self, event: Event) -> None:
        prober = self.prober
        self.now += conversation.STEP_S
        kind = event.kind
        if kind == "D" and event.data and not self.awaiting_tls:  # TLS bytes go to the pump
            prober.receive_data(event.data, self.now)
        elif kind == "T" and self.awaiting_tls and not prober.finished:
            self.awaiting_tls = False
            prober.tls_established(TlsInfo(TLS_VERSION, TLS_CIPHER, event.data or None), self.now)
        elif kind == "E":
            prober.receive_data(b"", self.now)
        elif kind == "R":
            prober.failed(Observed(Signal.RESET, "ECONNRESET"), self.now)
        elif kind == "A":
            prober.failed(Observed(Signal.TLS_ALERT, f"alert {event.value}", event.value, self.awaiting_tls), self.now)
        elif kind == "W":
            self.now += event.value / 1000
            prober.handle_timer(self.now)
        self._drain()

    def finish(self) -> ProbeResult:
        self.prober.handle_timer(THE_END)
        self._drain()
        expect(self.prober.finished, "the probe had not finished after every deadline passed")
        return self.prober.result

    def _drain(self) -> None:
        for _ in range(MAX_ACTIONS_PER_EVENT):
            action = self.prober.next_action()
            if action is None:
                break
            if isinstance(action, SendBytes):
                self._sending(action.data)
            elif isinstance(action, StartTls):
                self.awaiting_tls = True
        else:
            raise AssertionError(f"more than {MAX_ACTIONS_PER_EVENT} actions for one event")
        buffered = len(self.prober._buffer)  # noqa: SLF001 - the stated bound
        expect(buffered <= MAX_BUFFERED_INPUT, f"{buffered} bytes buffered, above {MAX_BUFFERED_INPUT}")

    def _sending(self, data: bytes) -> None:
        self.sent.append(data)
        options = self.options
        password = options.get("password")
        if password is not None and not options.get("full_logon"):
            for encoded in (password.encode("utf-16-le"), password.encode()):
                expect(encoded not in data, "the password went out in the clear without a full logon")
        if _carries_credentials(data):
            expect(bool(options.get("full_logon")), "TSCredentials went out without a full logon asked for")
            expect(self._proved(), "TSCredentials went out before the server's public-key proof verified")


    def _proved(self) -> bool:
        """Whether the server's CredSSP proof had verified by the end of this event. Within one
        read, the one verdict that can follow it is an Early User Authorization denial."""
        state = self.prober._state  # noqa: SLF001 - what the probe knew when it sent
        auth = state.learned.get("auth")
        denied_after_proof = state.outcome is not None and state.outcome.signal is Signal.AUTHZ_DENIED
        return auth is not None and (auth.status == AUTH_SUCCEEDED or denied_after_proof)


def _carries_credentials(data: bytes) -> bool:
    """True for a TSRequest with authInfo: the sealed TSCredentials ([MS-CSSP] 2.2.1)."""
    if not data or data[0] != 0x30:
        return False
    try:
        return credssp.decode_ts_request(data).auth_info is not None
    except DecodeError:
        return False


def drive(conv: Conversation) -> Run:
    """Run one conversation through a fresh prober, checking the per-event invariants."""
    driver = _Driver(conv.config)
    driver.start()
    for event in conv.events:
        if driver.prober.finished:
            break
        driver.deliver(event)
    result = driver.finish()
    return Run(result, driver.sent)



def _key(result: ProbeResult) -> tuple[object, ...]:
    return result.phase_reached, result.failed_phase, result.signal, result.verdict.taxonomy_id


def check(data: bytes) -> None:
    conv = conversation.parse(data)
    first = drive(conv).result
    expect(first.signal is not Signal.INTERNAL_ERROR, f"internal_error: {first.detail}")
    expect(bool(first.verdict.taxonomy_id), "a verdict without a taxonomy row")
    merged = conversation.merged_reads(conv.events)
    if merged != conv.events:
        again = drive(Conversation(conv.config, merged)).result
        expect(_key(again) == _key(first), f"resegmented reads changed the result: {_key(first)} -> {_key(again)}")



if __name__ == "__main__":
    main(NAME, check, conversation.libfuzzer_mutator)
