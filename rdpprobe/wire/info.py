"""Client Info PDU data ([MS-RDPBCGR] 2.2.1.11.1.1 TS_INFO_PACKET) and its extended info.

Layout (all little-endian)::

    codePage(4) flags(4) cbDomain(2) cbUserName(2) cbPassword(2) cbAlternateShell(2)
    cbWorkingDir(2) Domain UserName Password AlternateShell WorkingDir [extraInfo]

Rules of this module:
- each cb* of the five logon strings EXCLUDES the mandatory NUL terminator, which is still
  sent (2 bytes with INFO_UNICODE, else 1); ANSI strings are read as latin-1 so any byte
  survives a round trip;
- the extended-info strings (clientAddress, clientDir) are UTF-16LE and their cb* INCLUDES
  the terminator; one trailing NUL is stripped on decode and always written on encode;
- the fields after clientDir are optional in order: each is present only if all earlier
  ones are (None means absent and ends the structure);
- the password never appears in ``repr()``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from rdpprobe.errors import EncodeError, InvalidField
from rdpprobe.wire.buffer import Reader, Writer


class InfoFlags(enum.IntFlag):
    """[MS-RDPBCGR] 2.2.1.11.1.1 TS_INFO_PACKET flags (INFO_*)."""

    INFO_MOUSE = 0x00000001
    INFO_DISABLECTRLALTDEL = 0x00000002
    INFO_AUTOLOGON = 0x00000008
    INFO_UNICODE = 0x00000010
    INFO_MAXIMIZESHELL = 0x00000020
    INFO_LOGONNOTIFY = 0x00000040
    INFO_COMPRESSION = 0x00000080
    INFO_ENABLEWINDOWSKEY = 0x00000100
    INFO_REMOTECONSOLEAUDIO = 0x00002000
    INFO_FORCE_ENCRYPTED_CS_PDU = 0x00004000
    INFO_RAIL = 0x00008000
    INFO_LOGONERRORS = 0x00010000
    INFO_MOUSE_HAS_WHEEL = 0x00020000
    INFO_PASSWORD_IS_SC_PIN = 0x00040000
    INFO_NOAUDIOPLAYBACK = 0x00080000
    INFO_USING_SAVED_CREDS = 0x00100000
    INFO_AUDIOCAPTURE = 0x00200000
    INFO_VIDEO_DISABLE = 0x00400000
    INFO_RESERVED1 = 0x00800000
    INFO_RESERVED2 = 0x01000000
    INFO_HIDEF_RAIL_SUPPORTED = 0x02000000


INFO_UNICODE = 0x00000010  # [MS-RDPBCGR] 2.2.1.11.1.1
INFO_COMPRESSION_TYPE_MASK = 0x00001E00  # [MS-RDPBCGR] 2.2.1.11.1.1 CompressionTypeMask
AF_INET = 0x0002  # [MS-RDPBCGR] 2.2.1.11.1.1.1 clientAddressFamily
AF_INET6 = 0x0017  # [MS-RDPBCGR] 2.2.1.11.1.1.1 clientAddressFamily
TIME_ZONE_NAME_SIZE = 64  # [MS-RDPBCGR] 2.2.1.11.1.1.1.1 StandardName / DaylightName
SYSTEMTIME_SIZE = 16  # [MS-RDPBCGR] 2.2.1.11.1.1.1.1.1 TS_SYSTEMTIME
TIME_ZONE_SIZE = 4 + 64 + 16 + 4 + 64 + 16 + 4  # Bias, StandardName/Date/Bias, Daylight*
PERF_DISABLE_WALLPAPER = 0x00000001  # [MS-RDPBCGR] 2.2.1.11.1.1.1 performanceFlags
_UTF16 = "utf-16-le"
_INFO = "client info"


# --- Strings -----------------------------------------------------------------------------


def _decode_text(raw: bytes, unicode: bool, what: str) -> str:
    if not unicode:
        return raw.decode("latin-1")
    if len(raw) % 2:
        raise InvalidField(_INFO, what, f"odd length {len(raw)} for utf-16")
    return raw.decode(_UTF16, "surrogatepass")


def _encode_text(text: str, unicode: bool) -> bytes:
    try:
        return text.encode(_UTF16, "surrogatepass") if unicode else text.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise EncodeError(f"string not encodable: {text!r}") from exc


def _strip_nul(text: str) -> str:
    return text[:-1] if text.endswith("\0") else text


# --- TS_TIME_ZONE_INFORMATION --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimeZoneInformation:
    """[MS-RDPBCGR] 2.2.1.11.1.1.1.1 Time Zone Information (TS_TIME_ZONE_INFORMATION).

    The client's time zone, 172 bytes; names are UTF-16 padded with NULs to 64 bytes."""

    bias: int
    """Bias: minutes, raw unsigned 32-bit (two's complement of negative values)."""
    standard_name: str = ""
    standard_date: bytes = bytes(SYSTEMTIME_SIZE)
    standard_bias: int = 0
    daylight_name: str = ""
    daylight_date: bytes = bytes(SYSTEMTIME_SIZE)
    daylight_bias: int = 0


def _read_tz_name(r: Reader) -> str:
    text = _decode_text(r.take(TIME_ZONE_NAME_SIZE), True, "time zone name")
    return text.split("\0", 1)[0]


def _write_tz_name(w: Writer, name: str) -> None:
    raw = _encode_text(name, True)
    if len(raw) > TIME_ZONE_NAME_SIZE or "\0" in name:
        raise EncodeError(f"time zone name too long or contains nul: {name!r}")
    w.write(raw)
    w.pad(TIME_ZONE_NAME_SIZE - len(raw))


def read_time_zone(r: Reader) -> TimeZoneInformation:
    bias = r.u32le()
    std_name, std_date, std_bias = _read_tz_name(r), r.take(SYSTEMTIME_SIZE), r.u32le()
    dl_name, dl_date, dl_bias = _read_tz_name(r), r.take(SYSTEMTIME_SIZE), r.u32le()
    return TimeZoneInformation(bias, std_name, std_date, std_bias, dl_name, dl_date, dl_bias)


def write_time_zone(w: Writer, tz: TimeZoneInformation) -> None:
    w.u32le(tz.bias)
    for name, date, bias in (
        (tz.standard_name, tz.standard_date, tz.standard_bias),
        (tz.daylight_name, tz.daylight_date, tz.daylight_bias),
    ):
        _write_tz_name(w, name)
        if len(date) != SYSTEMTIME_SIZE:
            raise EncodeError(f"systemtime must be {SYSTEMTIME_SIZE} bytes")
        w.write(date)
        w.u32le(bias)


# --- TS_EXTENDED_INFO_PACKET ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExtendedInfo:
    """[MS-RDPBCGR] 2.2.1.11.1.1.1 Extended Info Packet (TS_EXTENDED_INFO_PACKET).

    RDP 5.0+ client details; every field after ``client_dir`` is optional, in order."""

    address_family: int = AF_INET
    """clientAddressFamily."""
    client_address: str = ""
    client_dir: str = ""
    time_zone: TimeZoneInformation | None = None
    session_id: int | None = None
    """clientSessionId."""
    performance_flags: int | None = None
    auto_reconnect_cookie: bytes | None = None
    """autoReconnectCookie, raw (ARC_CS_PRIVATE_PACKET when 28 bytes)."""
    reserved1: int | None = None
    reserved2: int | None = None
    dynamic_dst_time_zone_key_name: str | None = None
    dynamic_daylight_time_disabled: int | None = None


_TAIL = (
    "time_zone", "session_id", "performance_flags", "auto_reconnect_cookie", "reserved1",
    "reserved2", "dynamic_dst_time_zone_key_name", "dynamic_daylight_time_disabled",
)


def _read_prefixed_utf16(r: Reader, what: str) -> str:
    cb = r.u16le()
    return _strip_nul(_decode_text(r.take(cb), True, what))


def _write_prefixed_utf16(w: Writer, text: str) -> None:
    raw = _encode_text(text + "\0", True)
    w.u16le(len(raw))
    w.write(raw)


def _read_tail_field(r: Reader, name: str) -> object:
    if name == "time_zone":
        return read_time_zone(r)
    if name in ("session_id", "performance_flags"):
        return r.u32le()
    if name == "auto_reconnect_cookie":
        return r.take(r.u16le())
    if name == "dynamic_dst_time_zone_key_name":
        return _decode_text(r.take(r.u16le()), True, "dynamicDSTTimeZoneKeyName")
    return r.u16le()


def _write_tail_field(w: Writer, name: str, value: object) -> None:
    if isinstance(value, TimeZoneInformation):
        write_time_zone(w, value)
    elif name in ("session_id", "performance_flags"):
        w.u32le(int(value))  # type: ignore[call-overload]
    elif isinstance(value, bytes):
        w.u16le(len(value))
        w.write(value)
    elif isinstance(value, str):
        raw = _encode_text(value, True)
        w.u16le(len(raw))
        w.write(raw)
    else:
        w.u16le(int(value))  # type: ignore[call-overload]


def read_extended_info(r: Reader) -> ExtendedInfo:
    family = r.u16le()
    address = _read_prefixed_utf16(r, "clientAddress")
    client_dir = _read_prefixed_utf16(r, "clientDir")
    tail: dict[str, object] = {}
    for name in _TAIL:
        if r.remaining == 0:
            break
        tail[name] = _read_tail_field(r, name)
    return ExtendedInfo(family, address, client_dir, **tail)  # type: ignore[arg-type]


def write_extended_info(w: Writer, info: ExtendedInfo) -> None:
    w.u16le(info.address_family)
    _write_prefixed_utf16(w, info.client_address)
    _write_prefixed_utf16(w, info.client_dir)
    ended = False
    for name in _TAIL:
        value = getattr(info, name)
        if value is None:
            ended = True
        elif ended:
            raise EncodeError(f"extended info field {name} present after an absent field")
        else:
            _write_tail_field(w, name, value)


# --- TS_INFO_PACKET ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """[MS-RDPBCGR] 2.2.1.11.1.1 Info Packet (TS_INFO_PACKET).

    Logon credentials and client settings sent in the Client Info PDU."""

    code_page: int = 0
    """CodePage (an input locale identifier when INFO_UNICODE is set)."""
    flags: int = InfoFlags.INFO_MOUSE | InfoFlags.INFO_DISABLECTRLALTDEL | InfoFlags.INFO_UNICODE
    domain: str = ""
    user_name: str = ""
    password: str = field(default="", repr=False)
    alternate_shell: str = ""
    working_dir: str = ""
    extended: ExtendedInfo | None = None
    """extraInfo; None when absent (RDP 4.0 clients)."""


_LOGON_FIELDS = ("domain", "user_name", "password", "alternate_shell", "working_dir")
_LOGON_NAMES = ("Domain", "UserName", "Password", "AlternateShell", "WorkingDir")


def read_client_info(r: Reader) -> ClientInfo:
    code_page, flags = r.u32le(), r.u32le()
    unicode = bool(flags & INFO_UNICODE)
    nul = 2 if unicode else 1
    sizes = [r.u16le() for _ in _LOGON_FIELDS]
    texts: list[str] = []
    for size, name in zip(sizes, _LOGON_NAMES):
        texts.append(_decode_text(r.take(size), unicode, name))
        r.skip(nul)  # INVARIANT: the terminator is sent even though cb* excludes it.
    extended = read_extended_info(r) if r.remaining else None
    domain, user, password, shell, work_dir = texts
    return ClientInfo(code_page, flags, domain, user, password, shell, work_dir, extended)


def write_client_info(w: Writer, info: ClientInfo) -> None:
    unicode = bool(info.flags & INFO_UNICODE)
    raws = [_encode_text(getattr(info, name), unicode) for name in _LOGON_FIELDS]
    w.u32le(info.code_page)
    w.u32le(info.flags)
    for raw in raws:
        w.u16le(len(raw))
    for raw in raws:
        w.write(raw)
        w.pad(2 if unicode else 1)
    if info.extended is not None:
        write_extended_info(w, info.extended)


def decode_client_info(data: bytes) -> ClientInfo:
    r = Reader(data, _INFO)
    info = read_client_info(r)
    r.expect_end()
    return info


def encode_client_info(info: ClientInfo) -> bytes:
    w = Writer()
    write_client_info(w, info)
    return bytes(w)
