"""The exception hierarchy of rdpprobe.

Inside the library failures are typed exceptions; at the edge of a probe they become
result values (a classified ``ProbeResult``), never tracebacks.

Rules of this module:
- every ``DecodeError`` names the PDU it was decoding and, where known, the byte offset;
- messages are lowercase, without a trailing period, and name the field.
"""

from __future__ import annotations


class RdpProbeError(Exception):
    """Root of every exception rdpprobe raises on purpose."""


class DecodeError(RdpProbeError):
    """Bytes that cannot be decoded as the PDU they should be."""

    def __init__(self, pdu: str, message: str, offset: int | None = None) -> None:
        self.pdu = pdu
        self.offset = offset
        where = f" at offset {offset}" if offset is not None else ""
        super().__init__(f"{pdu}: {message}{where}")


class NotEnoughData(DecodeError):
    """A complete frame ended before the PDU inside it did (a truncated PDU)."""

    def __init__(self, pdu: str, needed: int, available: int, offset: int | None = None) -> None:
        self.needed = needed
        self.available = available
        super().__init__(pdu, f"not enough data: need {needed} bytes, have {available}", offset)


class InvalidField(DecodeError):
    """A field holds a value the specification does not allow."""

    def __init__(self, pdu: str, field: str, reason: str, offset: int | None = None) -> None:
        self.field = field
        self.reason = reason
        super().__init__(pdu, f"invalid {field}: {reason}", offset)


class UnexpectedType(DecodeError):
    """A type or tag field names a different PDU than the one expected here."""

    def __init__(self, pdu: str, got: object, expected: object, offset: int | None = None) -> None:
        self.got = got
        self.expected = expected
        super().__init__(pdu, f"unexpected type {got!r}, expected {expected!r}", offset)


class UnsupportedVersion(DecodeError):
    """A version field names a version this decoder does not implement."""

    def __init__(self, pdu: str, got: object, offset: int | None = None) -> None:
        self.got = got
        super().__init__(pdu, f"unsupported version {got!r}", offset)


class EncodeError(RdpProbeError):
    """The caller asked to encode a value the wire format cannot carry."""


class ProbeUsageError(RdpProbeError):
    """The API was misused (for example, data fed to a finished prober)."""
