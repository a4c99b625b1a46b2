"""Target specs: the grammar of what a user may type, and reading it from argv, files, stdin.

Rules of this module:
- parsing never touches the network: a host name is checked for legal characters, not looked up;
- every error is one ``TargetError`` line naming its source and line, then the problem and
  the spec, e.g. ``targets.txt:3: invalid port '99999' in '1.2.3.4:99999'``;
- files and standard input are read lazily, one line at a time.

Grammar (one spec per argument; a file holds any number per line, separated by blanks or
commas, and ``#`` starts a comment)::

    host  host:port  1.2.3.4  1.2.3.4:3390  ::1  [::1]:3390
    10.0.0.0/24  10.0.0.0/24:3390  [2001:db8::/120]:3390
    10.0.0.1-10.0.0.20  10.0.0.1-20 (last octet)  [2001:db8::1-2001:db8::9]:3390

A bare IPv6 address never carries a port (``::1:3390`` is an address); use brackets. A CIDR
with host bits set (``10.0.0.5/24``) means the network that contains it, as in nmap. Every
address of a network is a target, network and broadcast addresses included. Host names are
ASCII (give internationalised names in their ``xn--`` form).
"""

from __future__ import annotations

import codecs
import io
import ipaddress
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeGuard

from rdpprobe.errors import RdpProbeError

__all__ = [
    "DEFAULT_PORT", "STDIN", "Source", "TargetError", "TargetFile", "TargetSpec",
    "is_port", "is_stdin", "iter_specs", "parse_ports", "parse_spec",
]  # fmt: skip

# --- Constants ------------------------------------------------------------------------------

DEFAULT_PORT = 3389  # IANA "ms-wbt-server", the port RDP listens on by default
MAX_PORT = 65535
PORT_LIST_SEPARATOR = ","
PORT_RANGE_SEPARATOR = "-"
MAX_NAME_LENGTH = 253  # RFC 1035 2.3.4: 255 octets on the wire, 253 characters as text
MAX_LABEL_LENGTH = 63  # RFC 1035 2.3.4
OCTET_MAX = 255
OCTET_MASK = 0xFF
STDIN = "-"
COMMENT = "#"
BOM = "\ufeff"  # A byte order mark, as text: what a UTF-8 mark decodes to.
#: The byte order marks a target file may start with, and the codec that reads past each.
BYTE_ORDER_MARKS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
ZONE_SEPARATOR = "%"  # RFC 4007 11.2: fe80::1%eth0
#: Characters of a bad spec quoted in its error, so a 100 KB line gives a readable message.
QUOTED_SPEC_CHARS = 80
ADDRESS_TYPES = {4: ipaddress.IPv4Address, 6: ipaddress.IPv6Address}

_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_SEPARATORS = re.compile(r"[\s,]+")


class TargetError(RdpProbeError):
    """A target spec, file or option that cannot be used; the message names where it came from."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}")


class _Invalid(Exception):
    """Internal: what is wrong with a spec, before the source and spec text are attached."""


@dataclass(frozen=True, slots=True)
class TargetFile:
    """A file of specs (``-iL FILE``); the path ``-`` means standard input."""

    path: str


Source = str | TargetFile
"""An argument spec (``-`` alone means standard input) or a file of specs."""


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """One parsed spec: a host name, or an inclusive interval of addresses of one family."""

    text: str
    port: int
    name: str | None = None
    """The host name, for a spec that is not an address; resolved later by the engine."""
    version: int = 0
    """4 or 6 for address specs, 0 for names."""
    first: int = 0
    last: int = 0

    @property
    def size(self) -> int:
        return 1 if self.name is not None else self.last - self.first + 1


# --- Parsing --------------------------------------------------------------------------------


def parse_spec(text: str, default_port: int = DEFAULT_PORT, where: str = "argv") -> TargetSpec:
    """Parse one spec; raise ``TargetError`` naming ``where`` and the spec on bad input."""
    spec = text.strip()
    if not spec:
        raise TargetError(where, "empty target")
    try:
        host, port, bracketed = _split_port(spec, default_port)
        parsed = _parse_host(spec, host, port)
        if bracketed and parsed.version != 6:
            raise _Invalid("brackets are only for ipv6 addresses")
    except _Invalid as exc:
        raise TargetError(where, f"{exc} in {_quoted(spec)}") from None
    return parsed


def _quoted(spec: str) -> str:
    """``spec`` as an error quotes it: repr'd, and cut short when it is long."""
    if len(spec) <= QUOTED_SPEC_CHARS:
        return repr(spec)
    return f"{spec[:QUOTED_SPEC_CHARS]!r}... ({len(spec)} characters)"


def is_digits(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` alone also accepts '²' and other digits)."""
    return text.isascii() and text.isdigit()


def _split_port(spec: str, default_port: int) -> tuple[str, int, bool]:
    if spec.startswith("["):
        inner, sep, rest = spec[1:].partition("]")
        if not sep:
            raise _Invalid("missing ']'")
        if rest and not rest.startswith(":"):
            raise _Invalid(f"unexpected {rest!r} after ']'")
        return inner, _parse_port(rest[1:]) if rest else default_port, True
    if spec.count(":") == 1:
        host, _, port_text = spec.partition(":")
        return host, _parse_port(port_text), False
    return spec, default_port, False


def parse_ports(text: str, where: str = "--port") -> tuple[int, ...]:
    """A port list as nmap writes it, ``3389,3390,10000-10010``: each port once, in the
    order given. Raises ``TargetError`` naming ``where`` and the bad part."""
    ports: dict[int, None] = {}
    for part in text.split(PORT_LIST_SEPARATOR):
        try:
            first_text, dash, last_text = part.strip().partition(PORT_RANGE_SEPARATOR)
            first = _parse_port(first_text)
            last = _parse_port(last_text) if dash else first
        except _Invalid as exc:
            raise TargetError(where, f"{exc} in {_quoted(text)}") from None
        if last < first:
            raise TargetError(where, f"backwards port range {part.strip()!r} in {_quoted(text)}")
        ports.update(dict.fromkeys(range(first, last + 1)))
    return tuple(ports)


def is_port(value: object) -> TypeGuard[int]:
    """Whether ``value`` is a TCP port a target can have: an int (not a bool) from 1 to 65535."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_PORT


def _parse_port(text: str) -> int:
    if not is_digits(text) or not is_port(int(text)):
        raise _Invalid(f"invalid port {text!r}")
    return int(text)


def _parse_host(spec: str, host: str, port: int) -> TargetSpec:
    if not host:
        raise _Invalid("empty host")
    if ZONE_SEPARATOR in host:
        # ipaddress would accept the zone and the probe would then quietly drop it.
        raise _Invalid("ipv6 zone ids (the part after '%') are not supported")
    if "/" in host:
        return _parse_network(spec, host, port)
    start, dash, end = host.partition("-")
    if dash and (first := _address_or_none(start)) is not None:
        return _parse_range(spec, first, end, port)
    address = _address_or_none(host)
    if address is not None:
        return TargetSpec(spec, port, None, address.version, int(address), int(address))
    return TargetSpec(spec, port, _check_name(host))


def _address_or_none(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _parse_network(spec: str, host: str, port: int) -> TargetSpec:
    try:
        network = ipaddress.ip_network(host, strict=False)
    except ValueError:
        raise _Invalid(f"invalid network {host!r}") from None
    first, last = int(network.network_address), int(network.broadcast_address)
    return TargetSpec(spec, port, None, network.version, first, last)


def _parse_range(
    spec: str, start: ipaddress.IPv4Address | ipaddress.IPv6Address, end: str, port: int
) -> TargetSpec:
    first = int(start)
    if start.version == 4 and is_digits(end) and int(end) <= OCTET_MAX:
        last = (first & ~OCTET_MASK) | int(end)
    else:
        stop = _address_or_none(end)
        if stop is None:
            raise _Invalid(f"invalid range end {end!r}")
        if stop.version != start.version:
            raise _Invalid("range mixes ipv4 and ipv6")
        last = int(stop)
    if last < first:
        stop_text = ADDRESS_TYPES[start.version](last)
        raise _Invalid(f"backwards range: end {stop_text} is before {start}")
    return TargetSpec(spec, port, None, start.version, first, last)


def _check_name(name: str) -> str:
    bad = _NAME_CHARS.search(name)
    if bad:
        raise _Invalid(f"illegal character {bad.group()!r} in host name")
    labels = name.removesuffix(".").split(".")
    if labels[-1].isdigit():
        raise _Invalid("invalid ip address")
    if len(name) > MAX_NAME_LENGTH:
        raise _Invalid(f"host name longer than {MAX_NAME_LENGTH} characters")
    for label in labels:
        if not 1 <= len(label) <= MAX_LABEL_LENGTH:
            raise _Invalid(f"host name label {label!r} is empty or over {MAX_LABEL_LENGTH} chars")
        if label.startswith("-") or label.endswith("-"):
            raise _Invalid(f"host name label {label!r} starts or ends with '-'")
    return name


# --- Sources --------------------------------------------------------------------------------


def iter_specs(
    sources: Iterable[Source], default_port: int = DEFAULT_PORT
) -> Iterator[TargetSpec]:
    """Every spec of ``sources`` in input order, files and standard input read lazily."""
    for source in sources:
        if is_stdin(source):
            yield from _stream_specs(_stdin_lines(), "<stdin>", default_port)
        elif isinstance(source, TargetFile):
            yield from _file_specs(source.path, default_port)
        else:
            yield parse_spec(source, default_port)


def _stdin_lines() -> Iterator[str]:
    """Standard input's lines as they arrive, read from its descriptor unbuffered.

    A scan reads them in a thread of its own (``engine.intake``), which may still be waiting
    for a producer when the program ends; a read through ``sys.stdin``'s buffer would then
    hold that buffer's lock, and the interpreter aborts on it as it shuts down. A raw read
    holds no lock, and a line is taken as soon as the pipe holds it. A ``sys.stdin``
    without a descriptor (a program's own stream) is read as it is.
    """
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both.
        yield from sys.stdin
        return
    raw = io.FileIO(fd, "rb", closefd=False)
    encoding = getattr(sys.stdin, "encoding", None) or "utf-8"
    text = io.TextIOWrapper(raw, encoding, errors="replace")
    try:
        yield from text
    finally:
        text.detach()  # Leaves the descriptor open: it is sys.stdin's.


def _file_specs(path: str, default_port: int) -> Iterator[TargetSpec]:
    try:
        raw = open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise TargetError(path, f"cannot read target file: {exc.strerror}") from exc
    with io.TextIOWrapper(raw, _encoding(raw, path), errors="replace") as text:
        yield from _stream_specs(text, path, default_port)


def _encoding(raw: io.BufferedReader, path: str) -> str:
    """The encoding a target file's byte order mark names (Windows tools write one: UTF-16
    from PowerShell 5's ``>``, UTF-8 from Notepad), UTF-8 without one. Bytes that are not
    text in it are read as U+FFFD, which no target holds, so the error names the line."""
    try:
        head = raw.peek(len(codecs.BOM_UTF8))
    except OSError as exc:  # Opened, then unreadable: EIO, a device, a vanished mount.
        raw.close()
        raise TargetError(path, f"cannot read target file: {exc.strerror}") from exc
    return next((name for mark, name in BYTE_ORDER_MARKS if head.startswith(mark)), "utf-8")


def _stream_specs(lines: Iterable[str], name: str, default_port: int) -> Iterator[TargetSpec]:
    try:
        for number, line in enumerate(lines, 1):
            if number == 1:
                line = line.removeprefix(BOM)  # Standard input decoded with a UTF-8 mark left in.
            for token in _SEPARATORS.split(line.partition(COMMENT)[0]):
                if token:
                    yield parse_spec(token, default_port, f"{name}:{number}")
    except OSError as exc:  # Opened, then unreadable: EIO, a device, a vanished mount.
        raise TargetError(name, f"cannot read target file: {exc.strerror}") from exc


def is_stdin(source: Source) -> bool:
    """Whether ``source`` means standard input (``-``, as an argument or as a file)."""
    return source == STDIN or (isinstance(source, TargetFile) and source.path == STDIN)
