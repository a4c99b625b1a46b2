"""Fuzz target: the mock server's acceptor fed client bytes.

Test authors point their own clients at the mock, and a client under test sends anything.
Input is a ``fuzz.conversation`` whose first byte picks a scenario (``SCENARIOS``) and whose
events are what the acceptor's driver hands it: the client's plaintext (``D``) and the end
of the TLS handshake (``T``). Seeds are rdpprobe's own bytes on every path the acceptor
serves, recorded; the mutator is the prober target's. ``python fuzz/mock_server.py``.

Invariants: the acceptor never raises; a protocol error it notes closes the connection; it
answers one read with a bounded number of steps and holds a bounded buffer; the same client
bytes in merged reads reach the same state.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fuzz import conversation  # noqa: E402
from fuzz.common import expect, import_all, instrumented, main  # noqa: E402
from fuzz.conversation import Conversation, Event  # noqa: E402

with instrumented(__name__):
    from rdpprobe.mock.acceptor import Acceptor
    from rdpprobe.mock.scenarios import Scenario, builtin_scenarios
    from rdpprobe.mock.states import State

    import_all("rdpprobe.mock", "rdpprobe.wire")

NAME = "mock_server"
#: Scenarios, and how rdpprobe probes each when the seeds are recorded.
SCENARIOS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("windows-tls", {}),
    ("windows-nla", {"user": "rdpprobe", "password": "rdpprobe", "full_logon": True}),
    ("windows-negotiate", {}),
    ("windows-rdp-security", {"protocols": "RDP"}),
    ("windows-rdp-fips", {"protocols": "RDP"}),
    ("legacy-no-negotiation", {"protocols": "RDP"}),
    ("xrdp-like", {}),
)
RNG_SEED = 3
NOW = 1_700_000_000.0
#: Steps the acceptor may answer one read with; a connection sequence needs a handful.
MAX_STEPS_PER_READ = 256
#: The acceptor's buffer: one incomplete frame (at most 64 KiB) plus one read.
MAX_BUFFER = 2 * 65536


def acceptor(scenario: Scenario, **_ignored: Any) -> Acceptor:
    """An acceptor with the fixed randomness and clock the seeds were recorded with."""
    return Acceptor(scenario, None, rng=random.Random(RNG_SEED).randbytes, clock=lambda: NOW)


def drive(conv: Conversation) -> Acceptor:
    name, _options = SCENARIOS[conv.config % len(SCENARIOS)]
    server = acceptor(builtin_scenarios()[name])
    server.on_connect()
    for event in conv.events:
        if server.state is State.CLOSED:
            break
        if event.kind == "D" and event.data:
            steps = server.receive(event.data)
        elif event.kind == "T" and server.state is State.TLS_HANDSHAKE:
            steps = server.tls_established()
        else:
            continue
        expect(len(steps) <= MAX_STEPS_PER_READ, f"{len(steps)} steps for one read")
        expect(len(server._buf) <= MAX_BUFFER, f"{len(server._buf)} bytes buffered")  # noqa: SLF001
    return server


def _end(server: Acceptor) -> tuple[object, ...]:
    record = server.record()
    return record.phase_reached, record.state, record.authenticated_user


def check(data: bytes) -> None:
    conv = conversation.parse(data)
    server = drive(conv)
    record = server.record()
    expect(record.state is State.CLOSED or not any(note.startswith("protocol error") for note in record.notes),
           "a protocol error left the connection open")
    merged = conversation.merged_reads(conv.events)
    if merged != conv.events:
        expect(_end(drive(Conversation(conv.config, merged))) == _end(server), "merged reads changed the state")




if __name__ == "__main__":
    main(NAME, check, conversation.libfuzzer_mutator)
