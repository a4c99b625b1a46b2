"""What bounds a scan besides the targets: file descriptors, connection rate, local retries.

Rules of this module:
- a shortage of this machine's resources is never a fact about a target: the engine waits
  and retries (``Backoff``) and keeps its concurrency below the descriptor limit;
- the token bucket works on the caller's clock (``now``), so it is deterministic in tests.
"""

from __future__ import annotations

import errno
import resource

from rdpprobe.errors import ProbeUsageError
from rdpprobe.transport.errors import LOCAL_RESOURCE_ERRNOS

#: Descriptors kept free for stdio, the output file, the poller, the wake-up pair, resolver
#: threads and whatever the embedding program holds open.
RESERVED_FDS = 64
#: Upper bound for the soft limit when the hard limit is "unlimited" (the kernel's nr_open).
FD_CEILING = 1 << 20
#: errno values of this machine running short, as the engine sees them: the errors module's
#: set plus an exhausted ephemeral port range (EADDRNOTAVAIL on connect).
LOCAL_ERRNOS = LOCAL_RESOURCE_ERRNOS | {errno.EADDRNOTAVAIL}
#: Seconds of traffic a token bucket may spend at once.
BURST_SECONDS = 0.05
#: First wait after a local shortage, its growth factor and its ceiling, in seconds.
BACKOFF_FIRST = 0.02
BACKOFF_FACTOR = 2.0
BACKOFF_MAX = 1.0
#: Local retries of one target before it is reported as an internal error (never as down).
MAX_LOCAL_RETRIES = 200


def raise_fd_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = FD_CEILING if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    return FD_CEILING if soft == resource.RLIM_INFINITY else soft


def cap_concurrency(requested: int, fd_limit: int) -> int:
    """``requested``, lowered so that every in-flight probe has a descriptor to spare."""
    return max(1, min(requested, fd_limit - RESERVED_FDS))


def check_rate(rate: object, option: str) -> None:
    """A connection rate as ``rdpprobe scan`` and ``probe_many`` take it: a positive number
    of new connections per second, infinity for no limit. NaN, zero, a negative or anything
    else is refused with a ``ProbeUsageError`` naming ``option``."""
    if isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate > 0:
        return
    shown = f"{rate:g}" if isinstance(rate, float) else repr(rate)
    raise ProbeUsageError(f"{option} must be positive, got {shown} (new connections per second; inf for no limit)")


class TokenBucket:
    """New connections per second: ``rate`` tokens a second, at most a short burst banked."""

    def __init__(self, rate: float, now: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = max(1.0, rate * BURST_SECONDS)
        self._tokens = 1.0
        self._stamp = now

    def take(self, now: float) -> bool:
        """Spend a token if one is there."""
        self._refill(now)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def wait(self, now: float) -> float:
        """Seconds until the next token."""
        self._refill(now)
        return max(0.0, (1.0 - self._tokens) / self.rate)

    def _refill(self, now: float) -> None:
        if now > self._stamp:
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now


def backoff_delay(retries: int) -> float:
    """The wait before local retry number ``retries`` (1-based)."""
    return float(min(BACKOFF_MAX, BACKOFF_FIRST * BACKOFF_FACTOR ** max(0, retries - 1)))
