"""Options of one probe: what to request, how long to wait, how far to go."""

from __future__ import annotations

from dataclasses import dataclass, field

from rdpprobe.sequence.phases import Phase

#: requestedProtocols a probe offers by default: SSL | HYBRID | HYBRID_EX ([MS-RDPBCGR] 2.2.1.1.1),
#: what current Microsoft clients offer.
DEFAULT_REQUESTED_PROTOCOLS = 0x1 | 0x2 | 0x8
#: The cookie a probe sends (``Cookie: mstshash=probe``): some middleboxes expect one.
DEFAULT_COOKIE = "probe"
#: mstsc truncates the cookie's user name to 9 characters ([MS-RDPBCGR] 2.2.1.1).
MAX_COOKIE_LENGTH = 9


#: ``--warn-days``' default: a certificate with fewer days left is reported (as certinfo's).
DEFAULT_WARN_DAYS = 30

#: Values of ``ProbeConfig.prefer``. FreeRDP's client takes a name's first IPv4 address
#: unless told to prefer IPv6 (its ``/ipv6``); the system resolver puts IPv6 first on a
#: host with a global IPv6 address.
ADDRESS_FAMILIES = ("ipv4", "ipv6")


@dataclass(frozen=True, slots=True)
class Credentials:
    """A user name and password for an authentication check; the password is never shown."""

    user: str
    password: str = field(repr=False)
    domain: str = ""

    @classmethod
    def parse(cls, user: str, password: str) -> Credentials:
        """Split ``DOMAIN\\user`` or ``user@domain`` into its parts."""
        if "\\" in user:
            domain, _, name = user.partition("\\")
            return cls(name, password, domain)
        return cls(user, password, "")


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Deadlines in seconds: TCP connect, each later phase, and the whole probe."""

    connect: float = 5.0
    phase: float = 10.0
    overall: float = 30.0


#: Connections one audited target may be sent, all its enumerations together.
AUDIT_BUDGET = 200
#: Audit connections open at once to one target. Windows counts half-open sessions against
#: MaxOutstandingConnections and drops clients beyond it; a few at a time stays far below.
AUDIT_CONCURRENCY = 4
#: New audit connections per second to one target.
AUDIT_RATE = 50.0


@dataclass(frozen=True, slots=True)
class TlsOffer:
    """What one audit connection offers in its ClientHello: exactly one version, these
    suites (OpenSSL names; TLS 1.3 suites for ``TLSv1.3``), and these groups (None: the
    library's usual ones)."""

    version: str
    suites: tuple[str, ...]
    groups: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class AuditSettings:
    """What ``--audit`` may do to a target, and what the TLS library can offer it.

    ``tls_suites`` pairs each version the library can offer with the suites it can offer
    there (OpenSSL names, the library's order of preference); a version missing from it
    stays untested. ``groups`` are the key exchange groups it can offer alone (OpenSSL
    names).
    """

    tls_suites: tuple[tuple[str, tuple[str, ...]], ...] = ()
    groups: tuple[str, ...] = ()
    library: str | None = None
    budget: int = AUDIT_BUDGET
    concurrency: int = AUDIT_CONCURRENCY
    rate: float = AUDIT_RATE


@dataclass(frozen=True, slots=True)
class ProbeConfig:
    """Everything a probe needs to know besides the target."""

    requested_protocols: int = DEFAULT_REQUESTED_PROTOCOLS
    cookie: str | None = DEFAULT_COOKIE
    routing_token: bytes | None = None
    timeouts: Timeouts = Timeouts()
    #: Stop successfully once this phase is complete (None: go as far as the server allows).
    stop_after: Phase | None = None
    credentials: Credentials | None = None
    #: With credentials, also delegate them (TSCredentials / Client Info) and log on fully.
    full_logon: bool = False
    #: Allow TLS 1.0 and legacy ciphers, so that old servers stay reachable.
    legacy_tls: bool = True
    #: After RDP_NEG_FAILURE, reconnect offering what the server asked for (as FreeRDP does).
    follow_negotiation: bool = True
    #: Reconnect once per protocol to learn which protocols the server accepts.
    enumerate_protocols: bool = False
    #: The name the user typed, checked against the certificate (defaults to the host).
    expected_name: str | None = None
    #: Trust anchors for the certificate chain check: a PEM file and/or a directory of them;
    #: both None: the system store (``rdpprobe.trust``).
    ca_file: str | None = None
    ca_path: str | None = None
    #: A certificate valid for at most this many more days is reported ``expiring_soon``.
    warn_days: float = DEFAULT_WARN_DAYS
    #: Send the password in Client Info even to a server that proved nothing (no CredSSP key
    #: proof, no certificate trusted for the name): anyone in the path may read it.
    allow_unverified_credentials: bool = False
    #: The address family to connect to first when a name has addresses of both
    #: (``ADDRESS_FAMILIES``); None: the resolver's order (RFC 6724 on most systems).
    prefer: str | None = None
    #: Record a trace of every PDU (phase, direction, name, length) in the result.
    trace: bool = False
    client_name: str = "rdpprobe"
    #: The CredSSP version to announce ([MS-CSSP] 2.2.1): 6 (current) down to 2 (pre-2018).
    credssp_version: int = 6
    #: Client Security Data encryptionMethods ([MS-RDPBCGR] 2.2.1.3.3); None: all four.
    encryption_methods: int | None = None
    #: The ClientHello of this connection, for an audit connection; None: the usual one.
    tls_offer: TlsOffer | None = None
    #: Analyse the certificate and check its chain (an audit connection, which only asks
    #: which version and suite a handshake reaches, leaves them to the probe's own).
    examine_certificate: bool = True
    #: Enumerate encryption methods, TLS versions and suites after the probe (``--audit``).
    audit: AuditSettings | None = None
