"""Which TLS library the engine drives: pyOpenSSL (fast, the default) or the stdlib ``ssl``.

Both are used through the memory-BIO pump interface of ``transport.tls.TlsPump``; a flavor
bundles the pump factory with the exceptions it raises and the table that classifies them.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from rdpprobe.errors import ProbeUsageError
from rdpprobe.sequence.config import TlsOffer
from rdpprobe.signals import Observed, Signal
from rdpprobe.transport.errors import observe
from rdpprobe.transport.tls import TlsPump, client_context

TLS_CHOICES = ("auto", "openssl", "stdlib")


@dataclass(frozen=True, slots=True)
class TlsFlavor:
    """A TLS implementation as the engine sees it."""

    name: str
    make_pump: Callable[[str | None], TlsPump]
    errors: tuple[type[BaseException], ...]
    """Exceptions the pump raises for a failed handshake or record."""
    observe: Callable[[BaseException], Observed]
    make_offer_pump: Callable[[TlsOffer, str | None], TlsPump] | None = None
    """A pump whose ClientHello offers exactly one ``TlsOffer`` (audit connections)."""


def tls_flavor(choice: str, legacy: bool, keylog_path: str | None = None) -> TlsFlavor:
    """The flavor for ``choice`` (one of ``TLS_CHOICES``); ``auto`` prefers pyOpenSSL."""
    if choice not in TLS_CHOICES:
        raise ProbeUsageError(f"unknown tls engine {choice!r}, expected one of {', '.join(TLS_CHOICES)}")
    if choice != "stdlib":
        try:
            return _openssl_flavor(legacy, keylog_path)
        except ImportError:
            if choice == "openssl":
                raise ProbeUsageError("--tls openssl needs pyOpenSSL") from None
    return _stdlib_flavor(legacy, keylog_path)


def _openssl_flavor(legacy: bool, keylog_path: str | None) -> TlsFlavor:
    from OpenSSL import SSL

    from rdpprobe.transport import tls_openssl

    keylog = tls_openssl.keylog_path_from_env(keylog_path)
    ctx = tls_openssl.openssl_context(legacy, keylog)
    return TlsFlavor(
        "openssl",
        functools.partial(tls_openssl.OpenSslPump, ctx),
        (SSL.Error,),
        tls_openssl.observe_failure,
        lambda offer, name: tls_openssl.offer_pump(offer, keylog, name),
    )


def audit_flavor(keylog_path: str | None = None) -> TlsFlavor:
    """The TLS library of audit connections: pyOpenSSL, whatever the scan's own choice, so
    that one library's offers decide what is tested (``tls_openssl.audit_settings``)."""
    return _openssl_flavor(True, keylog_path)


def _stdlib_flavor(legacy: bool, keylog_path: str | None) -> TlsFlavor:
    ctx = client_context(legacy, keylog_path)
    return TlsFlavor("stdlib", functools.partial(TlsPump, ctx), (ssl.SSLError,), observe)


def handshake_failure(pump: TlsPump, observed: Observed) -> Observed:
    """``observed``, or the server's own alert when it sent one before any handshake record."""
    before = not pump.saw_handshake_record
    alert = pump.early_alert
    if alert is not None:
        return Observed(Signal.TLS_ALERT, f"alert {alert.description}", alert.description, before)
    return Observed(observed.signal, observed.detail, observed.tls_alert, before)
