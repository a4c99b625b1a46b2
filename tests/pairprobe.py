"""A probe driven straight into an in-memory mock (``MockPair``): every byte the client sends
is kept, in the clear (before TLS or, under Standard RDP Security, before RC4).

The prober sees what a driver gives it: the TLS outcome (version, cipher, certificate and
the intermediates the mock sent, as ``transport.tls`` reads them), the server's plaintext,
the peer's close; time stands still, and a probe waiting on a silent server is given its
deadline.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone

from rdpprobe.mock.pair import MockPair
from rdpprobe.result import ProbeResult, Target
from rdpprobe.sequence.actions import CloseConnection, Finished, SendBytes, StartTls, TlsInfo
from rdpprobe.sequence.config import ProbeConfig
from rdpprobe.sequence.prober import Prober
from rdpprobe.transport.tls import sent_chain

#: Far past every deadline: what a probe waiting on a silent pair is told the time is.
THE_END = 1e6
#: Bound on driver turns; a probe needs a few dozen.
MAX_TURNS = 2000


@dataclass
class PairRun:
    result: ProbeResult
    sent: list[bytes] = field(default_factory=list)
    """Every SendBytes payload, in order, as the prober produced it."""

    @property
    def sent_bytes(self) -> bytes:
        return b"".join(self.sent)


def probe_pair(pair: MockPair, config: ProbeConfig, host: str = "localhost") -> PairRun:
    prober = Prober(Target(host, 3389), config, now=0.0, started_at=datetime.now(timezone.utc), rng=os.urandom)
    prober.resolved("127.0.0.1", 0.0)
    prober.connection_made(0.0)
    run = PairRun(result=None)  # type: ignore[arg-type]
    for _ in range(MAX_TURNS):
        action = prober.next_action()
        if isinstance(action, Finished):
            run.result = action.result
            return run
        if isinstance(action, SendBytes):
            run.sent.append(action.data)
            pair.send(action.data)
        elif isinstance(action, StartTls):
            obj = pair.start_tls()
            cipher = obj.cipher()
            info = TlsInfo(obj.version(), cipher[0] if cipher else None, obj.getpeercert(True), sent_chain(obj))
            prober.tls_established(info, 0.0)
        elif isinstance(action, CloseConnection):
            pair.close()
        else:
            data = pair.receive()
            if data:
                prober.receive_data(data, 0.0)
            elif pair.server_closed:
                prober.receive_data(b"", 0.0)
            else:
                prober.handle_timer(THE_END)
    raise AssertionError("the probe did not finish")
