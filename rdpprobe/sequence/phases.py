"""The phases of a probe, named after the MS-RDPBCGR 1.3.1.1 connection sequence.

The value of each member is the name used in results and JSON; never write a second
string by hand.
"""

from __future__ import annotations

import enum


class Phase(enum.Enum):
    """One step of the connection sequence, in the order a probe walks them."""

    DNS = "dns"
    TCP_CONNECT = "tcp_connect"
    CONNECTION_INITIATION = "connection_initiation"  # X.224 CR/CC + RDP_NEG (2.2.1.1-2.2.1.2)
    TLS = "tls"  # External security protocol (5.4.5.1)
    NLA = "nla"  # CredSSP [MS-CSSP]; early user authorization (2.2.10.2)
    BASIC_SETTINGS_EXCHANGE = "basic_settings_exchange"  # MCS Connect + GCC (2.2.1.3-2.2.1.4)
    CHANNEL_CONNECTION = "channel_connection"  # Erect Domain, Attach User, Joins (2.2.1.5-2.2.1.9)
    SECURITY_COMMENCEMENT = "security_commencement"  # Security Exchange (2.2.1.10)
    SECURE_SETTINGS_EXCHANGE = "secure_settings_exchange"  # Client Info (2.2.1.11)
    LICENSING = "licensing"  # (2.2.1.12)
    CAPABILITIES_EXCHANGE = "capabilities_exchange"  # Demand Active (2.2.1.13.1)

    # Members are singletons, equal only to themselves, so object's hash (a C slot) agrees
    # with equality; Enum's own hashes the name in Python code, and a probe hashes its phase
    # for every timer, timing and ordering test.
    __hash__ = object.__hash__

    @property
    def index(self) -> int:
        return _ORDER[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Phase):
            return NotImplemented
        return _ORDER[self] < _ORDER[other]

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Phase):
            return NotImplemented
        return _ORDER[self] <= _ORDER[other]


_ORDER = {phase: i for i, phase in enumerate(Phase)}

#: Phases bounded by the connect timeout; a deadline there means "could not connect".
CONNECT_PHASES = frozenset({Phase.DNS, Phase.TCP_CONNECT})
#: Phases only Standard RDP Security walks.
STANDARD_SECURITY_ONLY = frozenset({Phase.SECURITY_COMMENCEMENT})
#: Phases only Enhanced RDP Security (TLS, CredSSP) walks.
ENHANCED_SECURITY_ONLY = frozenset({Phase.TLS, Phase.NLA})
