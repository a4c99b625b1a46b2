"""``--audit``: the enumerations' chains (pure) and their facts against the mock's scenarios."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from typing import Any
from datetime import datetime, timezone

import jsonschema
import pytest

import rdpprobe
from rdpprobe.api import build
from rdpprobe.classify import classify
from rdpprobe.engine import link
from rdpprobe.errors import ProbeUsageError
from rdpprobe.mock.server import MockRdpServer
from rdpprobe.output import envelope, load_schema
from rdpprobe.result import EncryptionFacts, Facts, ProbeResult, Target, TlsFacts, TlsVersionSupport
from rdpprobe.sequence import audit
from rdpprobe.sequence.config import AUDIT_BUDGET, AuditSettings, ProbeConfig, Timeouts
from rdpprobe.sequence.plan import ENUMERATION
from rdpprobe.sequence.phases import Phase
from rdpprobe.signals import Signal

STARTED = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
TARGET = Target("127.0.0.1", 3389, "127.0.0.1")
SUITES = ("ECDHE-RSA-AES128-GCM-SHA256", "AES128-SHA", "AES256-SHA", "ECDHE-RSA-AES256-SHA")


def _result(phase: Phase | None, signal: Signal = Signal.OK, facts: Facts = Facts()) -> ProbeResult:
    failed = None if signal is Signal.OK else phase
    return ProbeResult(TARGET, STARTED, phase, failed, signal, None, classify(failed, signal), facts=facts)


def _handshake(cipher: str, version: str = "TLSv1.2") -> ProbeResult:
    return _result(Phase.TLS, facts=Facts(tls=TlsFacts(version, cipher)))


def _run(chain: audit.Chain, server: object) -> tuple[object, list[ProbeConfig]]:
    """Drive ``chain`` against ``server`` (config -> result); its answer and what it sent."""
    sent: list[ProbeConfig] = []
    after = audit.step(chain, None)
    for _ in range(1000):
        if isinstance(after, audit.Answered):
            return after.value, sent
        sent.append(after)
        after = audit.step(chain, server(after))  # type: ignore[operator]
    raise AssertionError("chain never answered")


def _server_choosing(accepted: tuple[str, ...], server_order: bool = True) -> object:
    """A TLS server that accepts ``accepted``, in its own order or the client's."""
    def answer(config: ProbeConfig) -> ProbeResult:
        offer = config.tls_offer
        assert offer is not None and config.stop_after is Phase.TLS
        order = accepted if server_order else offer.suites
        chosen = next((s for s in order if s in offer.suites and s in accepted), None)
        if chosen is None:
            return _result(Phase.TLS, Signal.TLS_ALERT)
        return _handshake(chosen, offer.version)
    return answer


def _version_chain(budget: int = 100) -> audit.Chain:
    settings = AuditSettings(tls_suites=(("TLSv1.2", SUITES),), budget=budget)
    fan = audit.fanout(ProbeConfig(audit=settings), _result(Phase.CONNECTION_INITIATION))
    assert fan is not None
    return fan.chains[-1]  # After the five encryption methods.


def test_a_version_takes_n_plus_one_offers_and_one_reversed() -> None:
    accepted = ("AES256-SHA", "ECDHE-RSA-AES128-GCM-SHA256")
    answer, sent = _run(_version_chain(), _server_choosing(accepted))
    assert isinstance(answer, audit.VersionAnswer)
    assert answer.support == TlsVersionSupport(
        "TLSv1.2", True, ("TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"), True)
    assert len(sent) == len(accepted) + 1 + 1
    assert [c.tls_offer.suites for c in sent[:3]] == [  # type: ignore[union-attr]
        SUITES, ("ECDHE-RSA-AES128-GCM-SHA256", "AES128-SHA", "ECDHE-RSA-AES256-SHA"),
        ("AES128-SHA", "ECDHE-RSA-AES256-SHA")]
    assert sent[-1].tls_offer.suites == tuple(reversed(SUITES))  # type: ignore[union-attr]
    assert answer.preference is True


def test_a_server_taking_the_clients_order_has_no_preference() -> None:
    answer, _ = _run(_version_chain(), _server_choosing(("AES128-SHA", "AES256-SHA"), server_order=False))
    assert isinstance(answer, audit.VersionAnswer) and answer.preference is False


def test_a_budget_cut_short_leaves_the_rest_unknown() -> None:
    answer, sent = _run(_version_chain(budget=1), _server_choosing(SUITES))  # Only this chain runs.
    assert isinstance(answer, audit.VersionAnswer) and len(sent) == 1
    assert answer.support == TlsVersionSupport("TLSv1.2", True, ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",), False)
    answer, sent = _run(_version_chain(budget=0), _server_choosing(SUITES))
    assert sent == [] and answer.support == TlsVersionSupport("TLSv1.2", None, (), False)  # type: ignore[union-attr]


def test_a_failure_that_is_no_answer_to_the_offer_is_unknown_not_refused() -> None:
    answer, _ = _run(_version_chain(), lambda config: _result(Phase.TCP_CONNECT, Signal.TIMEOUT))
    assert answer.support.accepted is None  # type: ignore[attr-defined]
    assert audit.handshake_answer(None, "TLSv1.2") is None  # Not made: the deadline passed.
    assert audit.handshake_answer(_result(Phase.TLS, Signal.SILENT), "TLSv1.2") is None
    assert audit.handshake_answer(_result(Phase.TLS, Signal.TLS_ALERT), "TLSv1.2") is audit.REFUSED
    assert audit.handshake_answer(_result(Phase.CONNECTION_INITIATION, Signal.NEG_FAILURE), "TLSv1") is audit.REFUSED


@pytest.mark.parametrize(("result", "accepted"), [
    (_result(Phase.BASIC_SETTINGS_EXCHANGE, facts=Facts(encryption=EncryptionFacts("ENCRYPTION_METHOD_40BIT"))), True),
    (_result(Phase.BASIC_SETTINGS_EXCHANGE, facts=Facts(encryption=EncryptionFacts("ENCRYPTION_METHOD_128BIT"))), False),
    (_result(Phase.CONNECTION_INITIATION, Signal.NEG_FAILURE), False),
    (_result(Phase.BASIC_SETTINGS_EXCHANGE, Signal.EOF), False),
    (_result(Phase.BASIC_SETTINGS_EXCHANGE, Signal.MCS_REJECTED), False),
    (_result(Phase.BASIC_SETTINGS_EXCHANGE, Signal.SILENT), None),
    (_result(Phase.TCP_CONNECT, Signal.REFUSED), None),
    (None, None),
])
def test_a_method_is_accepted_only_when_the_server_chose_it(result: ProbeResult | None, accepted: bool | None) -> None:
    assert audit.method_answer("ENCRYPTION_METHOD_40BIT", result).accepted is accepted


def test_no_audit_where_no_rdp_server_answered() -> None:
    config = ProbeConfig(audit=AuditSettings())
    assert audit.fanout(config, _result(Phase.TCP_CONNECT, Signal.REFUSED)) is None
    assert audit.fanout(config, _result(Phase.CONNECTION_INITIATION, Signal.NOT_RDP)) is None
    assert audit.fanout(config, _result(Phase.CONNECTION_INITIATION, Signal.NEG_FAILURE)) is not None


# --- Against the mock -------------------------------------------------------------------

M40, M56, M128, FIPS, NONE = (m.name for m in audit.AUDITED_METHODS)
METHODS = {
    "rdp-40bit-only": ((M40,), ("ENCRYPTION_LEVEL_LOW",)),
    "rdp-56bit-only": ((M56,), ("ENCRYPTION_LEVEL_CLIENT_COMPATIBLE",)),
    "rdp-client-compatible": ((M40, M56, M128), ("ENCRYPTION_LEVEL_CLIENT_COMPATIBLE",)),
    "rdp-high": ((M128,), ("ENCRYPTION_LEVEL_HIGH",)),
    "windows-rdp-fips": ((FIPS,), ("ENCRYPTION_LEVEL_FIPS",)),
    "rdp-no-encryption": ((NONE,), ("ENCRYPTION_LEVEL_NONE",)),
    "windows-tls": ((), ()),
}


def _audited(scenario: str, **options: object) -> tuple[ProbeResult, int]:
    with MockRdpServer(scenario) as server:
        host, port = server.address
        result = rdpprobe.probe(f"{host}:{port}", audit=True, deadline=30, **options)
        return result, server.connections


@pytest.mark.parametrize("scenario", sorted(METHODS))
def test_encryption_methods_accepted(scenario: str) -> None:
    result, _ = _audited(scenario)
    facts = result.facts.rdp_encryption_audit
    assert facts is not None
    accepted, levels = METHODS[scenario]
    assert facts.methods_accepted == accepted and facts.levels == levels
    ids = {f.id for f in result.findings}
    for method, finding in ((M40, "rdp-encryption-40bit"), (M56, "rdp-encryption-56bit"), (NONE, "rdp-encryption-none")):
        assert (finding in ids) == (method in accepted)
    assert set(facts.methods_refused) == {m.name for m in audit.AUDITED_METHODS} - set(accepted)
    assert facts.methods_unknown == ()


def _versions(result: ProbeResult) -> dict[str, bool | None]:
    assert result.facts.tls_audit is not None
    return {v.version: v.accepted for v in result.facts.tls_audit.versions}


def test_tls_1_0_only() -> None:
    result, _ = _audited("tls-1.0-only")
    assert _versions(result) == {"SSLv3": None, "TLSv1": True, "TLSv1.1": False, "TLSv1.2": False, "TLSv1.3": False}
    assert result.facts.accepted_protocols == ("SSL",)


def test_weak_ciphers_in_the_clients_order() -> None:
    result, connections = _audited("tls-weak-ciphers")
    tls = result.facts.tls_audit
    assert tls is not None and tls.server_cipher_preference is False
    (v12,) = [v for v in tls.versions if v.version == "TLSv1.2"]
    assert set(v12.ciphers) == {"TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_256_CBC_SHA",
                                "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"}
    assert v12.complete is True and tls.groups is None  # No TLS 1.3: no groups enumerated.
    assert connections <= AUDIT_BUDGET + len(ENUMERATION) + 1
    assert json.loads(json.dumps(result.to_dict()))["facts"]["tls_audit"]["server_cipher_preference"] is False
    # The findings read the audit's facts: neither the probe's own suite nor its order shows these.
    assert {"tls-no-server-cipher-preference", "tls-weak-cipher"} <= {f.id for f in result.findings}


def test_tls_1_3_groups_and_server_preference() -> None:
    result, _ = _audited("windows-tls")
    tls = result.facts.tls_audit
    assert tls is not None and tls.server_cipher_preference is True
    assert tls.groups is not None and {"x25519", "secp256r1"} <= set(tls.groups)
    assert all(v.accepted for v in tls.versions if v.version != "SSLv3")


def test_the_budget_bounds_the_connections() -> None:
    result, connections = _audited("rdp-client-compatible", audit_budget=3)
    assert connections == len(ENUMERATION) + 2 + 3  # The probe is refused TLS, then retries with RDP.
    facts = result.facts.rdp_encryption_audit
    assert facts is not None and facts.methods_accepted == (M40, M56, M128) and len(facts.methods_unknown) == 2
    result, connections = _audited("windows-tls", audit_budget=3)
    assert connections == len(ENUMERATION) + 1 + 3  # The enumeration's refusal of RDP answers the methods.
    tls = result.facts.tls_audit
    assert tls is not None
    assert [(v.accepted, v.complete) for v in tls.versions] == [
        (None, None), (True, False), (True, False), (True, False), (None, False)]  # SSLv3 untestable.


def test_what_the_enumeration_saw_refused_takes_no_connection() -> None:
    result, connections = _audited("windows-rdp-security")
    tls = result.facts.tls_audit
    assert tls is not None and result.facts.refused_protocols is not None
    assert {v.version: v.accepted for v in tls.versions} == {
        "SSLv3": None, "TLSv1": False, "TLSv1.1": False, "TLSv1.2": False, "TLSv1.3": False}
    assert connections == len(ENUMERATION) + 2 + len(audit.AUDITED_METHODS)  # Refused TLS, RDP retried.


def test_probe_many_and_aprobe_agree_with_probe() -> None:
    with MockRdpServer("rdp-client-compatible") as rdp, MockRdpServer("tls-weak-ciphers") as tls:
        targets = [f"127.0.0.1:{rdp.address[1]}", f"127.0.0.1:{tls.address[1]}"]
        many = {r.target.port: r for r in rdpprobe.probe_many(targets, audit=True, deadline=30)}
        one = {port: rdpprobe.probe(f"127.0.0.1:{port}", audit=True, deadline=30) for port in many}
        aone = asyncio.run(rdpprobe.aprobe(targets[1], audit=True, deadline=30))
    for port, result in many.items():
        assert result.facts.rdp_encryption_audit == one[port].facts.rdp_encryption_audit
        assert result.facts.tls_audit == one[port].facts.tls_audit
    assert aone.facts.tls_audit == one[tls.address[1]].facts.tls_audit


def test_no_audit_facts_without_audit_or_without_a_server() -> None:
    with MockRdpServer("windows-tls") as server:
        plain = rdpprobe.probe(f"127.0.0.1:{server.address[1]}")
    assert plain.facts.tls_audit is None and plain.facts.rdp_encryption_audit is None
    with MockRdpServer("refused") as server:
        down = rdpprobe.probe(f"127.0.0.1:{server.address[1]}", audit=True, connect_timeout=2)
    assert down.facts.tls_audit is None and down.facts.rdp_encryption_audit is None


@pytest.mark.parametrize(("options", "message"), [
    ({"audit_budget": 5}, "audit_budget needs audit"),
    ({"audit": True, "audit_budget": 0}, "audit_budget must be a whole number"),
    ({"audit": True, "audit_concurrency": 1.5}, "audit_concurrency must be a whole number"),
    ({"audit": True, "audit_rate": 0}, "audit_rate must be positive"),
])
def test_bad_audit_options_are_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(ProbeUsageError, match=message):
        rdpprobe.probe("127.0.0.1", **options)


def test_timeouts_unchanged_by_the_audit() -> None:
    _, config, _ = build("127.0.0.1", None, {"audit": True, "deadline": 7})
    assert config.timeouts == Timeouts(overall=7) and config.enumerate_protocols


class _Counted(socket.socket):
    """A socket that counts the engine's sockets open at once (``Counting``)."""

    counter: Counting

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.counter.opened()
        self._counted = True

    def close(self) -> None:
        if getattr(self, "_counted", False):
            self._counted = False
            self.counter.closed()
        super().close()


class Counting:
    """The engine's view of ``socket``, with its sockets counted while open."""

    def __init__(self) -> None:
        self.open = self.most = 0
        self.lock = threading.Lock()
        self.socket = type("CountedSocket", (_Counted,), {"counter": self})

    def __getattr__(self, name: str) -> Any:
        return getattr(socket, name)

    def opened(self) -> None:
        with self.lock:
            self.open += 1
            self.most = max(self.most, self.open)

    def closed(self) -> None:
        with self.lock:
            self.open -= 1


def test_no_more_audit_connections_open_at_once_than_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    counting = Counting()
    monkeypatch.setattr(link, "socket", counting)
    with MockRdpServer("slow-cc") as server:
        result = rdpprobe.probe(f"127.0.0.1:{server.address[1]}", audit=True, audit_concurrency=2,
                                audit_budget=8, deadline=60)
    # Each Connection Confirm comes after 0.5 s: the audit's connections overlap, two at most.
    assert result.facts.rdp_encryption_audit is not None and server.connections == len(ENUMERATION) + 1 + 8
    assert (counting.most, counting.open) == (2, 0)


def test_an_audited_result_validates_against_the_schema() -> None:
    schema = load_schema()
    validator = jsonschema.Draft202012Validator(schema)
    result, _ = _audited("windows-tls")
    record = envelope(result, STARTED)
    validator.validate(record)
    broken = json.loads(json.dumps(record))
    broken["facts"]["tls_audit"]["versions"][0]["version"] = "TLSv9"
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)
