"""Write the fuzz targets' seed corpora: ``python -m fuzz.seeds [target ...]``.

Nothing binary is committed: the seeds are made here, from the golden vectors in
``fixtures/vectors`` (the codec targets), the mock's certificates (``certificates``), and
conversations recorded from the mock server over loopback (``prober``: what the server said
to a real probe; ``mock_server``: what the probe said to the server), on the TLS, NLA,
full-logon and Standard RDP Security paths and the failures the mock plays. The client's
randomness is seeded as in the targets, so a recorded conversation replays to its end.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from fuzz import certificates, conversation, mock_server, prober
from fuzz.codecs import Codec, seed
from fuzz.common import CORPUS_DIR, TARGETS
from fuzz.conversation import Conversation, Event
from rdpprobe.api import build
from rdpprobe.mock import MockRdpServer
from rdpprobe.mock import server as mock_server_module
from rdpprobe.mock.acceptor import Acceptor
from rdpprobe.mock.certs import VARIANTS, certificate_variant
from rdpprobe.mock.scenarios import builtin_scenarios
from rdpprobe.sequence.prober import Prober
from rdpprobe.signals import Signal
from rdpprobe.transport import blocking
from tests.recording import instances_of
from tests.vectors import all_vectors

#: Conversations recorded for the prober target: (scenario, index into ``prober.CONFIGS``).
PROBER_RECORDINGS = (
    *((name, 0) for name in (
        "windows-tls", "windows-nla", "windows-negotiate", "freerdp-like", "xrdp-like", "legacy-cc",
        "legacy-no-negotiation", "tls-1.0-only", "errinfo-denied", "redirect", "ultimatum-user-requested",
        "license-no-license-server", "attach-user-rejected", "channel-join-rejected", "mcs-connect-rejected",
        "downgrade", "hybrid-required", "ssl-required", "tls-handshake-failure",
    )),
    ("windows-nla", 1), ("credssp-logon-failure", 1),
    ("windows-nla", 2), ("authz-denied", 2), ("pubkey-mismatch", 2), ("credssp-v2-server", 2),
    ("windows-rdp-security", 3), ("windows-rdp-fips", 3), ("short-server-random", 3), ("bad-proprietary-cert", 3),
)  # fmt: skip
#: Milliseconds of a recorded timer event's wait, at most (a seed stays quick to run).
MAX_WAIT_MS = 60_000
#: Where a failure the driver reported becomes a conversation event.
_FAILURES = {Signal.RESET: "R", Signal.TLS_ALERT: "A"}


def _codec_seeds(module: ModuleType) -> Iterator[bytes]:
    family: tuple[Codec, ...] = module.FAMILY
    vectors = all_vectors()
    for vector_name, codec_names in module.SEEDS.items():
        for codec_name in codec_names:
            yield seed(family, codec_name, vectors[vector_name].data)
    for index in range(len(family)):
        yield bytes([index])


def _certificate_seeds() -> Iterator[bytes]:
    for variant in VARIANTS:
        der = certificate_variant(variant).cert_der
        for name in ("certinfo.analyze_certificate", "credssp.subject_public_key", "der.rsa_public_key"):
            yield seed(certificates.FAMILY, name, der)


class _RecordingProber(Prober):
    """A prober that notes what its driver told it, with the targets' seeded randomness."""

    __slots__ = ("events",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["rng"] = random.Random(prober.RNG_SEED).randbytes
        super().__init__(*args, **kwargs)
        self.events: list[tuple[str, Any, float]] = []

    def receive_data(self, data: bytes, now: float) -> None:
        self.events.append(("data", data, now))
        super().receive_data(data, now)

    def tls_established(self, info: Any, now: float) -> None:
        self.events.append(("tls", info, now))
        super().tls_established(info, now)

    def failed(self, observed: Any, now: float) -> None:
        self.events.append(("failed", observed, now))
        super().failed(observed, now)

    def handle_timer(self, now: float) -> None:
        self.events.append(("timer", None, now))
        super().handle_timer(now)


def _as_events(noted: Iterable[tuple[str, Any, float]]) -> Iterator[Event]:
    last = None
    for kind, value, now in noted:
        if kind == "data":
            for at in range(0, max(1, len(value)), conversation.MAX_CHUNK):
                yield Event("D", value[at : at + conversation.MAX_CHUNK]) if value else Event("E")
        elif kind == "tls":
            yield Event("T", value.certificate or b"")
        elif kind == "failed" and value.signal in _FAILURES:
            yield Event(_FAILURES[value.signal], value=value.tls_alert or 0)
        elif kind == "timer":
            yield Event("W", value=min(MAX_WAIT_MS, int((now - (last or now)) * 1000)))
        last = now


def record_prober(scenario: str, config: int) -> bytes:
    """One probe of the mock ``scenario`` with ``prober.CONFIGS[config]``, as a conversation."""
    with MockRdpServer(builtin_scenarios()[scenario]) as server, \
            instances_of(blocking, "Prober", _RecordingProber) as made:
        host, port = server.address
        target, probe_config, _ = build(f"{host}:{port}", None, dict(prober.CONFIGS[config]))
        blocking.run(target, probe_config)
    events = tuple(event for recorder in made[:1] for event in _as_events(recorder.events))
    return conversation.serialize(Conversation(config, events))


class _RecordingAcceptor(Acceptor):
    """An acceptor that notes what its driver gave it, with the target's fixed randomness."""

    def __init__(self, scenario: Any, credentials: Any = None, **_ignored: Any) -> None:
        super().__init__(scenario, credentials, rng=random.Random(mock_server.RNG_SEED).randbytes,
                         clock=lambda: mock_server.NOW)
        self.events: list[Event] = []

    def receive(self, data: bytes) -> list[Any]:
        self.events.append(Event("D", data))
        return super().receive(data)

    def tls_established(self) -> list[Any]:
        self.events.append(Event("T"))
        return super().tls_established()


def record_mock(index: int) -> bytes:
    """What a probe of ``mock_server.SCENARIOS[index]`` sent the acceptor, as a conversation."""
    name, options = mock_server.SCENARIOS[index]
    with instances_of(mock_server_module, "Acceptor", _RecordingAcceptor) as made, \
            MockRdpServer(builtin_scenarios()[name]) as server:
        host, port = server.address
        target, config, _ = build(f"{host}:{port}", None, dict(options))
        blocking.run(target, config)
    return conversation.serialize(Conversation(index, tuple(made[0].events)))


def seeds_for(target: str) -> Iterator[bytes]:
    if target == "prober":
        for scenario, config in PROBER_RECORDINGS:
            yield record_prober(scenario, config)
    elif target == "mock_server":
        for index in range(len(mock_server.SCENARIOS)):
            yield record_mock(index)
    elif target == "certificates":
        yield from _codec_seeds(certificates)
        yield from _certificate_seeds()
    else:
        module = __import__(f"fuzz.{target}", fromlist=["FAMILY"])
        yield from _codec_seeds(module)


def write(target: str, into: Path = CORPUS_DIR) -> int:
    """Write ``target``'s seeds under ``into/<target>/``; how many there are."""
    where = into / target
    where.mkdir(parents=True, exist_ok=True)
    count = 0
    for blob in seeds_for(target):
        (where / f"seed-{hashlib.sha1(blob).hexdigest()[:16]}").write_bytes(blob)
        count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", default=list(TARGETS), help=f"any of {', '.join(TARGETS)} (all)")
    parser.add_argument("--into", type=Path, default=CORPUS_DIR, help="corpus root (default fuzz/corpus)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.targets) - set(TARGETS))
    if unknown:
        parser.error(f"unknown targets: {', '.join(unknown)}")
    for target in args.targets:
        print(f"{target}: {write(target, args.into)} seeds in {args.into / target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
