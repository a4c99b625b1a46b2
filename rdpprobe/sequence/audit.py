"""The connections ``--audit`` makes after the probe, and the facts they establish.

Pure logic, like ``plan``: each enumeration is a *chain*, a generator that yields the config
of its next connection, receives that connection's result (None: not made, because the
target's deadline or connection budget ran out) and returns what it established. Chains are
independent of one another, so a driver may run them at once; the plan hands them over as
one ``Fanout`` and receives their answers in the same order.

- RDP encryption methods (as nmap's rdp-enum-encryption): one connection per method, with
  PROTOCOL_RDP requested and Client Security Data offering that method alone
  ([MS-RDPBCGR] 2.2.1.3.3; ``NONE`` offers none), read back from Server Security Data
  (2.2.1.4.3). The server chooses per 5.3.2; a method is accepted when it chose that one.
- TLS versions and suites: per version, a ClientHello offering only that version and every
  suite the library can offer there; the suite the server chose is removed and the offer
  repeated until the server refuses (N+1 handshakes for N suites). Each handshake follows a
  real X.224 negotiation that selected a TLS-based protocol ([MS-RDPBCGR] 5.4.5.1), stopped
  once TLS is up. One more offer, in reverse order, tells whether the server or the client
  order decides (with two suites or more). For TLS 1.3, each key exchange group is then
  offered alone.

What a connection could not show is unknown: a suite the library cannot offer is never
"refused", and a connection that failed for another reason than the server's answer to the
offer (a timeout, a refused TCP connection) leaves its question open.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from dataclasses import dataclass

from rdpprobe.result import ProbeResult, RdpEncryptionAuditFacts, TlsAuditFacts, TlsVersionSupport
from rdpprobe.sequence.config import AuditSettings, ProbeConfig, TlsOffer
from rdpprobe.sequence.phases import Phase
from rdpprobe.signals import Signal
from rdpprobe.tlssuites import iana_name
from rdpprobe.wire.gcc_consts import EncryptionMethod
from rdpprobe.wire.nego import SecurityProtocol

Chain = Generator[ProbeConfig, ProbeResult | None, object]
"""Yields each connection's config, receives its result (None: not made); returns its answer."""

#: Methods offered one at a time, in nmap's order, then NONE ([MS-RDPBCGR] 2.2.1.3.3).
AUDITED_METHODS = (
    EncryptionMethod.ENCRYPTION_METHOD_40BIT,
    EncryptionMethod.ENCRYPTION_METHOD_56BIT,
    EncryptionMethod.ENCRYPTION_METHOD_128BIT,
    EncryptionMethod.ENCRYPTION_METHOD_FIPS,
    EncryptionMethod.NONE,
)
#: Versions tried, oldest first, spelled as ``TlsFacts.version``.
AUDITED_VERSIONS = ("SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
#: requestedProtocols of a TLS audit connection: TLS, and CredSSP so that a server requiring
#: NLA still selects a protocol whose first step is the TLS handshake (5.4.5.1).
TLS_REQUEST = int(SecurityProtocol.SSL | SecurityProtocol.HYBRID)
#: The version whose key exchange groups are enumerated: in TLS 1.3 a group offered alone
#: either completes the handshake or is refused (RFC 8446 4.2.7, 4.1.1).
GROUPS_VERSION = "TLSv1.3"
#: The enumeration's name for Standard RDP Security, and for the protocols a TLS audit
#: connection requests (``TLS_REQUEST``): when it saw them refused (RDP_NEG_FAILURE or
#: another protocol selected), the audit's connections would be refused the same way.
STANDARD_RDP = "RDP"
TLS_PROTOCOLS = frozenset({"SSL", "HYBRID"})
#: Failures that are the server's answer to a ClientHello: it refused the offer.
TLS_REFUSALS = frozenset({Signal.TLS_ALERT, Signal.TLS_EOF, Signal.TLS_ERROR, Signal.RESET, Signal.EOF})
#: Failures after an MCS Connect Initial that are the server's answer to its security data.
MCS_REFUSALS = frozenset({Signal.EOF, Signal.RESET, Signal.MCS_REJECTED})
#: OpenSSL group names and the IANA Supported Groups registry's (RFC 8446 4.2.7, RFC 7919).
IANA_GROUPS = {
    "X25519": "x25519", "X448": "x448", "P-256": "secp256r1", "P-384": "secp384r1",
    "P-521": "secp521r1", "ffdhe2048": "ffdhe2048", "ffdhe3072": "ffdhe3072",
    "ffdhe4096": "ffdhe4096", "X25519MLKEM768": "X25519MLKEM768",
}

ACCEPTED = True
REFUSED = False


@dataclass(frozen=True, slots=True)
class Fanout:
    """Independent chains for a driver to run, at once where it can, within ``limits``."""

    chains: tuple[Chain, ...]
    limits: AuditSettings


@dataclass(frozen=True, slots=True)
class MethodAnswer:
    """What one RDP encryption connection showed: accepted, refused or None (unknown)."""

    method: str
    accepted: bool | None
    level: str | None = None


@dataclass(frozen=True, slots=True)
class VersionAnswer:
    """What the connections of one TLS version showed."""

    support: TlsVersionSupport
    preference: bool | None = None
    groups: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Answered:
    """A chain's answer: it makes no more connections."""

    value: object


def step(chain: Chain, result: ProbeResult | None) -> ProbeConfig | Answered:
    """Give ``chain`` the result of its last connection (None: not made); its next
    connection's config, or its answer. The first call starts the chain (``result`` None)."""
    try:
        return chain.send(result)
    except StopIteration as done:
        return Answered(done.value)


class Budget:
    """The connections an audit may still make to its target."""

    __slots__ = ("left",)

    def __init__(self, left: int) -> None:
        self.left = left

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True


def fanout(config: ProbeConfig, result: ProbeResult) -> Fanout | None:
    """The audit of the target ``result`` probed, or None when it showed no RDP server there."""
    settings = config.audit
    if settings is None or not _reached_rdp(result):
        return None
    budget = Budget(settings.budget)
    base = dataclasses.replace(config, audit=None, enumerate_protocols=False, follow_negotiation=False,
                               credentials=None, full_logon=False, trace=False)
    suites = dict(settings.tls_suites)
    refused = set(result.facts.refused_protocols or ())
    chains: list[Chain] = []
    for method in AUDITED_METHODS:
        if STANDARD_RDP in refused:  # The enumeration's refusal answers each method offered.
            chains.append(_answered(MethodAnswer(str(method.name), REFUSED)))
        else:
            chains.append(_method_chain(base, method, budget))
    for version in AUDITED_VERSIONS:
        if version not in suites:
            continue
        if TLS_PROTOCOLS <= refused:
            chains.append(_answered(VersionAnswer(TlsVersionSupport(version, False, (), True))))
        else:
            groups = settings.groups if version == GROUPS_VERSION else ()
            chains.append(_version_chain(base, version, suites[version], groups, budget))
    return Fanout(tuple(chains), settings)


def _answered(answer: object) -> Chain:
    """A chain that answers without a connection: the enumeration already showed it."""
    return answer
    yield  # A generator that returns at once.


def with_audit(result: ProbeResult, plan: Fanout, answers: tuple[object, ...]) -> ProbeResult:
    """``result`` with the facts the audit's ``answers`` establish (one per chain of ``plan``)."""
    methods = [a for a in answers if isinstance(a, MethodAnswer)]
    versions = {a.support.version: a for a in answers if isinstance(a, VersionAnswer)}
    rdp = RdpEncryptionAuditFacts(
        methods_accepted=tuple(m.method for m in methods if m.accepted is ACCEPTED),
        methods_refused=tuple(m.method for m in methods if m.accepted is REFUSED),
        methods_unknown=tuple(m.method for m in methods if m.accepted is None),
        levels=tuple(dict.fromkeys(m.level for m in methods if m.level is not None)),
    )
    tls = TlsAuditFacts(
        versions=tuple(versions[v].support if v in versions else TlsVersionSupport(v, None)
                       for v in AUDITED_VERSIONS),
        server_cipher_preference=_preference(versions),
        groups=next((a.groups for a in versions.values() if a.groups is not None), None),
        library=plan.limits.library,
    )
    facts = result.facts.update(tls_audit=tls, rdp_encryption_audit=rdp)
    return dataclasses.replace(result, facts=facts)


def _reached_rdp(result: ProbeResult) -> bool:
    """Whether an RDP server answered (a Connection Confirm, or a refusal of the request)."""
    reached = result.phase_reached
    if reached is None or reached < Phase.CONNECTION_INITIATION:
        return False
    if reached is Phase.CONNECTION_INITIATION and result.failed_phase is not None:
        return result.signal is Signal.NEG_FAILURE
    return True


def _preference(versions: dict[str, VersionAnswer]) -> bool | None:
    """The newest version's answer that could tell (two suites or more accepted)."""
    for version in reversed(AUDITED_VERSIONS):
        answer = versions.get(version)
        if answer is not None and answer.preference is not None:
            return answer.preference
    return None


# --- RDP encryption methods ------------------------------------------------------------


def _method_chain(base: ProbeConfig, method: EncryptionMethod, budget: Budget) -> Chain:
    name = str(method.name)
    if not budget.take():
        return MethodAnswer(name, None)
    step = dataclasses.replace(base, requested_protocols=int(SecurityProtocol.RDP), encryption_methods=int(method),
                               stop_after=Phase.BASIC_SETTINGS_EXCHANGE, tls_offer=None)
    return method_answer(name, (yield step))


def method_answer(name: str, result: ProbeResult | None) -> MethodAnswer:
    """What a connection that offered only the method ``name`` shows about it."""
    if result is None:
        return MethodAnswer(name, None)
    chosen = result.facts.encryption
    if chosen is not None and chosen.method is not None:
        return MethodAnswer(name, chosen.method == name, chosen.level)
    if result.signal is Signal.NEG_FAILURE:
        return MethodAnswer(name, REFUSED)  # Standard RDP Security itself is refused (2.2.1.2.2).
    if result.failed_phase is Phase.BASIC_SETTINGS_EXCHANGE and result.signal in MCS_REFUSALS:
        return MethodAnswer(name, REFUSED)
    return MethodAnswer(name, None)


# --- TLS versions, suites and groups ---------------------------------------------------


def _version_chain(base: ProbeConfig, version: str, suites: tuple[str, ...], groups: tuple[str, ...],
                   budget: Budget) -> Chain:
    """N+1 offers for N accepted suites, one reversed offer, then one offer per group."""
    accepted: list[str] = []
    remaining = list(suites)
    complete = False
    while remaining and budget.take():
        answer = handshake_answer((yield _tls_step(base, TlsOffer(version, tuple(remaining)))), version)
        if answer is None or answer is REFUSED or answer not in remaining:
            complete = answer is REFUSED
            break
        accepted.append(answer)
        remaining.remove(answer)
    else:
        complete = not remaining
    support = _support(version, accepted, complete)
    preference = None
    if len(accepted) > 1 and budget.take():
        reverse = handshake_answer((yield _tls_step(base, TlsOffer(version, tuple(reversed(suites))))), version)
        preference = None if not isinstance(reverse, str) else reverse == accepted[0]
    found = None
    if accepted and groups:
        found = yield from _groups(base, version, tuple(accepted), groups, budget)
    return VersionAnswer(support, preference, found)


def _support(version: str, accepted: list[str], complete: bool) -> TlsVersionSupport:
    ciphers = tuple(name for name in map(iana_name, accepted) if name is not None)
    if accepted:
        return TlsVersionSupport(version, True, ciphers, complete)
    return TlsVersionSupport(version, False if complete else None, (), complete)


def _groups(base: ProbeConfig, version: str, suites: tuple[str, ...], groups: tuple[str, ...],
            budget: Budget) -> Generator[ProbeConfig, ProbeResult | None, tuple[str, ...] | None]:
    """The groups the server completes a handshake with when offered alone; None when one
    of them could not be tried or its connection failed for another reason."""
    found: list[str] = []
    for group in groups:
        if not budget.take():
            return None
        answer = handshake_answer((yield _tls_step(base, TlsOffer(version, suites, (group,)))), version)
        if answer is None:
            return None
        if answer is not REFUSED:
            found.append(IANA_GROUPS.get(group, group))
    return tuple(found)


def _tls_step(base: ProbeConfig, offer: TlsOffer) -> ProbeConfig:
    return dataclasses.replace(base, requested_protocols=TLS_REQUEST, stop_after=Phase.TLS, tls_offer=offer,
                               encryption_methods=None, examine_certificate=False)


def handshake_answer(result: ProbeResult | None, version: str) -> str | bool | None:
    """The suite (OpenSSL name) a handshake offering only ``version`` completed with;
    ``REFUSED`` when the server answered the ClientHello with a refusal; None: unknown."""
    if result is None:
        return None
    tls = result.facts.tls
    if result.failed_phase is None and tls is not None and tls.cipher is not None:
        return tls.cipher if tls.version == version else None
    if result.failed_phase is Phase.TLS and result.signal in TLS_REFUSALS:
        return REFUSED
    if result.signal is Signal.NEG_FAILURE:
        return REFUSED  # No TLS-based protocol at all (2.2.1.2.2): no version is accepted.
    return None
