"""GCC user data blocks ([MS-RDPBCGR] 2.2.1.3.x client, 2.2.1.4.x server).

Each block is a TS_UD_HEADER (type, length including the header; little-endian) followed by
its fields. Blocks may come in any order; unknown types are kept raw as ``UnknownBlock``.

Rules of this module: decoders keep what was on the wire so that re-encoding is exact
(trailing optional fields of the core blocks stop where the peer stopped; bytes after the
last known field are kept in ``extra``); counts are checked against the bytes present
before anything is allocated.
"""

from __future__ import annotations

from typing import Iterable
from dataclasses import dataclass

from rdpprobe.errors import EncodeError, InvalidField
from rdpprobe.wire.buffer import Reader, Writer
from rdpprobe.wire.gcc_consts import (
    CHANNEL_DEF_SIZE,
    CHANNEL_NAME_SIZE,
    CLIENT_NAME_SIZE,
    DIG_PRODUCT_ID_SIZE,
    IME_FILE_NAME_SIZE,
    SERVER_RANDOM_SIZE,
    UD_HEADER_SIZE,
    ClientBlockType,
    ServerBlockType,
)
from rdpprobe.wire.gcc_fields import (  # noqa: F401 - re-exported for callers of this module
    channel_name,
    read_field,
    read_optional,
    utf16_field,
    utf16_text,
    write_field,
    write_optional,
)

# [MS-RDPBCGR] 2.2.1.3.2 TS_UD_CS_CORE: (field, size); sizes 1/2/4 are little-endian ints.
_CORE_FIELDS: tuple[tuple[str, int], ...] = (
    ("version", 4),
    ("desktop_width", 2),
    ("desktop_height", 2),
    ("color_depth", 2),
    ("sas_sequence", 2),
    ("keyboard_layout", 4),
    ("client_build", 4),
    ("client_name", CLIENT_NAME_SIZE),
    ("keyboard_type", 4),
    ("keyboard_sub_type", 4),
    ("keyboard_function_key", 4),
    ("ime_file_name", IME_FILE_NAME_SIZE),
)
_CORE_OPTIONAL_FIELDS: tuple[tuple[str, int], ...] = (
    ("post_beta2_color_depth", 2),
    ("client_product_id", 2),
    ("serial_number", 4),
    ("high_color_depth", 2),
    ("supported_color_depths", 2),
    ("early_capability_flags", 2),
    ("client_dig_product_id", DIG_PRODUCT_ID_SIZE),
    ("connection_type", 1),
    ("pad1octet", 1),
    ("server_selected_protocol", 4),
    ("desktop_physical_width", 4),
    ("desktop_physical_height", 4),
    ("desktop_orientation", 2),
    ("desktop_scale_factor", 4),
    ("device_scale_factor", 4),
)
# [MS-RDPBCGR] 2.2.1.4.2 TS_UD_SC_CORE optional fields.
_SERVER_CORE_OPTIONAL_FIELDS: tuple[tuple[str, int], ...] = (
    ("client_requested_protocols", 4),
    ("early_capability_flags", 4),
)
SERVER_RANDOM_LEN_SIZE = 4  # [MS-RDPBCGR] 2.2.1.4.3 serverRandomLen
CHANNEL_ID_SIZE = 2  # [MS-RDPBCGR] 2.2.1.4.4 channelIdArray element


@dataclass(frozen=True, slots=True)
class ClientCoreData:
    """[MS-RDPBCGR] 2.2.1.3.2 Client Core Data (TS_UD_CS_CORE).

    Desktop, keyboard and version details, and the early capability flags; optional fields
    are None when the client stopped before them.
    """

    version: int = 0x00080004
    desktop_width: int = 1024
    desktop_height: int = 768
    color_depth: int = 0xCA01
    sas_sequence: int = 0xAA03
    keyboard_layout: int = 0x409
    client_build: int = 0
    client_name: bytes = bytes(CLIENT_NAME_SIZE)
    """``clientName``: 32 bytes of NUL-padded UTF-16LE (see ``utf16_field``)."""
    keyboard_type: int = 4
    keyboard_sub_type: int = 0
    keyboard_function_key: int = 12
    ime_file_name: bytes = bytes(IME_FILE_NAME_SIZE)
    post_beta2_color_depth: int | None = None
    client_product_id: int | None = None
    serial_number: int | None = None
    high_color_depth: int | None = None
    supported_color_depths: int | None = None
    early_capability_flags: int | None = None
    client_dig_product_id: bytes | None = None
    connection_type: int | None = None
    pad1octet: int | None = None
    server_selected_protocol: int | None = None
    """``serverSelectedProtocol``: must echo the RDP_NEG_RSP selectedProtocol."""
    desktop_physical_width: int | None = None
    desktop_physical_height: int | None = None
    desktop_orientation: int | None = None
    desktop_scale_factor: int | None = None
    device_scale_factor: int | None = None
    extra: bytes = b""
    """Bytes after the last field this module knows."""


@dataclass(frozen=True, slots=True)
class ClientSecurityData:
    """[MS-RDPBCGR] 2.2.1.3.3 Client Security Data (TS_UD_CS_SEC).

    The Standard RDP Security encryption methods the client supports.
    """

    encryption_methods: int = 0
    ext_encryption_methods: int = 0


@dataclass(frozen=True, slots=True)
class ChannelDef:
    """[MS-RDPBCGR] 2.2.1.3.4.1 Channel Definition Structure (CHANNEL_DEF).

    A static virtual channel the client asks for.
    """

    name: bytes
    """8 bytes: ASCII name, NUL-terminated and NUL-padded (see ``channel_name``)."""
    options: int = 0


@dataclass(frozen=True, slots=True)
class ClientNetworkData:
    """[MS-RDPBCGR] 2.2.1.3.4 Client Network Data (TS_UD_CS_NET).

    The static virtual channels requested, in order (the server numbers them in this order).
    """

    channels: tuple[ChannelDef, ...] = ()


@dataclass(frozen=True, slots=True)
class ClientClusterData:
    """[MS-RDPBCGR] 2.2.1.3.5 Client Cluster Data (TS_UD_CS_CLUSTER).

    Advertises support for Server Redirection and the session to reconnect to.
    """

    flags: int = 0
    redirected_session_id: int = 0


@dataclass(frozen=True, slots=True)
class ServerCoreData:
    """[MS-RDPBCGR] 2.2.1.4.2 Server Core Data (TS_UD_SC_CORE).

    The server's RDP version, the protocols the client requested (echoed for downgrade
    protection) and the server's early capability flags.
    """

    version: int = 0x00080004
    client_requested_protocols: int | None = None
    early_capability_flags: int | None = None
    extra: bytes = b""


@dataclass(frozen=True, slots=True)
class ServerSecurityData:
    """[MS-RDPBCGR] 2.2.1.4.3 Server Security Data (TS_UD_SC_SEC1).

    Standard RDP Security method and level; with them the server random and the raw server
    certificate (parsed by ``rdpprobe.wire.security``). Both are None when absent.
    """

    encryption_method: int = 0
    encryption_level: int = 0
    server_random: bytes | None = None
    server_certificate: bytes | None = None


@dataclass(frozen=True, slots=True)
class ServerNetworkData:
    """[MS-RDPBCGR] 2.2.1.4.4 Server Network Data (TS_UD_SC_NET).

    The I/O channel id and the ids given to the requested static channels, in order.
    """

    io_channel: int = 1003
    channel_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class UnknownBlock:
    """[MS-RDPBCGR] 2.2.1.3.1 User Data Header (TS_UD_HEADER) with an unparsed body.

    Any block type this module does not decode (monitor, message channel, multitransport…).
    """

    type: int
    data: bytes = b""


ClientBlock = ClientCoreData | ClientSecurityData | ClientNetworkData | ClientClusterData | UnknownBlock
ServerBlock = ServerCoreData | ServerSecurityData | ServerNetworkData | UnknownBlock


# --- block bodies -----------------------------------------------------------------


def _read_client_core(r: Reader) -> ClientCoreData:
    fixed = {name: read_field(r, size) for name, size in _CORE_FIELDS}
    optional = read_optional(r, _CORE_OPTIONAL_FIELDS)
    return ClientCoreData(**fixed, **optional, extra=r.rest())  # type: ignore[arg-type]


def _write_client_core(w: Writer, b: ClientCoreData) -> None:
    for name, size in _CORE_FIELDS:
        write_field(w, size, getattr(b, name), name)
    write_optional(w, _CORE_OPTIONAL_FIELDS, b, b.extra)


def _read_client_security(r: Reader) -> ClientSecurityData:
    return ClientSecurityData(r.u32le(), r.u32le())


def _write_client_security(w: Writer, b: ClientSecurityData) -> None:
    w.u32le(b.encryption_methods)
    w.u32le(b.ext_encryption_methods)


def _read_client_network(r: Reader) -> ClientNetworkData:
    start = r.offset
    count = r.u32le()
    if count * CHANNEL_DEF_SIZE > r.remaining:
        raise InvalidField(r.pdu, "channelCount", f"{count} channels do not fit in {r.remaining} bytes", start)
    return ClientNetworkData(tuple(ChannelDef(r.take(CHANNEL_NAME_SIZE), r.u32le()) for _ in range(count)))


def _write_client_network(w: Writer, b: ClientNetworkData) -> None:
    w.u32le(len(b.channels))
    for ch in b.channels:
        write_field(w, CHANNEL_NAME_SIZE, ch.name, "channel name")
        w.u32le(ch.options)


def _read_client_cluster(r: Reader) -> ClientClusterData:
    return ClientClusterData(r.u32le(), r.u32le())


def _write_client_cluster(w: Writer, b: ClientClusterData) -> None:
    w.u32le(b.flags)
    w.u32le(b.redirected_session_id)


def _read_server_core(r: Reader) -> ServerCoreData:
    version = r.u32le()
    optional = read_optional(r, _SERVER_CORE_OPTIONAL_FIELDS)
    return ServerCoreData(version, **optional, extra=r.rest())  # type: ignore[arg-type]


def _write_server_core(w: Writer, b: ServerCoreData) -> None:
    w.u32le(b.version)
    write_optional(w, _SERVER_CORE_OPTIONAL_FIELDS, b, b.extra)


#: How a refused Server Security Data names itself (``InvalidField.pdu``).
SERVER_SECURITY_PDU = "server security data"


def _read_server_security(r: Reader) -> ServerSecurityData:
    """[MS-RDPBCGR] 2.2.1.4.3: serverRandomLen MUST be 32 when the server encrypts (method
    or level not 0); with neither, the random is absent (0 is accepted too)."""
    method, level = r.u32le(), r.u32le()
    if not r.remaining:
        return ServerSecurityData(method, level)
    at = r.offset
    random_len, cert_len = r.u32le(), r.u32le()
    if random_len != SERVER_RANDOM_SIZE and (random_len or method or level):
        reason = (f"{random_len}, must be {SERVER_RANDOM_SIZE} with encryption method 0x{method:x} "
                  f"and level {level} ([MS-RDPBCGR] 2.2.1.4.3)")  # fmt: skip
        raise InvalidField(SERVER_SECURITY_PDU, "serverRandomLen", reason, at)
    return ServerSecurityData(method, level, r.take(random_len), r.take(cert_len))


def _write_server_security(w: Writer, b: ServerSecurityData) -> None:
    w.u32le(b.encryption_method)
    w.u32le(b.encryption_level)
    if (b.server_random is None) != (b.server_certificate is None):
        raise EncodeError("server random and server certificate go together")
    if b.server_random is not None and b.server_certificate is not None:
        w.u32le(len(b.server_random))
        w.u32le(len(b.server_certificate))
        w.write(b.server_random)
        w.write(b.server_certificate)


def _read_server_network(r: Reader) -> ServerNetworkData:
    io_channel = r.u16le()
    start = r.offset
    count = r.u16le()
    if count * CHANNEL_ID_SIZE > r.remaining:
        raise InvalidField(r.pdu, "channelCount", f"{count} ids do not fit in {r.remaining} bytes", start)
    ids = tuple(r.u16le() for _ in range(count))
    if count % 2 and r.remaining == CHANNEL_ID_SIZE:
        r.skip(CHANNEL_ID_SIZE)  # [MS-RDPBCGR] 2.2.1.4.4: pad present only for odd counts
    return ServerNetworkData(io_channel, ids)


def _write_server_network(w: Writer, b: ServerNetworkData) -> None:
    w.u16le(b.io_channel)
    w.u16le(len(b.channel_ids))
    for channel_id in b.channel_ids:
        w.u16le(channel_id)
    if len(b.channel_ids) % 2:
        w.pad(CHANNEL_ID_SIZE)


# --- dispatch ---------------------------------------------------------------------

_CLIENT_READERS = {
    ClientBlockType.CS_CORE: _read_client_core,
    ClientBlockType.CS_SECURITY: _read_client_security,
    ClientBlockType.CS_NET: _read_client_network,
    ClientBlockType.CS_CLUSTER: _read_client_cluster,
}
_SERVER_READERS = {
    ServerBlockType.SC_CORE: _read_server_core,
    ServerBlockType.SC_SECURITY: _read_server_security,
    ServerBlockType.SC_NET: _read_server_network,
}
_WRITERS = {
    ClientCoreData: (ClientBlockType.CS_CORE, _write_client_core),
    ClientSecurityData: (ClientBlockType.CS_SECURITY, _write_client_security),
    ClientNetworkData: (ClientBlockType.CS_NET, _write_client_network),
    ClientClusterData: (ClientBlockType.CS_CLUSTER, _write_client_cluster),
    ServerCoreData: (ServerBlockType.SC_CORE, _write_server_core),
    ServerSecurityData: (ServerBlockType.SC_SECURITY, _write_server_security),
    ServerNetworkData: (ServerBlockType.SC_NET, _write_server_network),
}


def _read_block(r: Reader, readers: dict) -> object:  # type: ignore[type-arg]
    start = r.offset
    block_type, length = r.u16le(), r.u16le()
    if length < UD_HEADER_SIZE:
        raise InvalidField(r.pdu, "block length", f"{length} < {UD_HEADER_SIZE}", start + 2)
    body = r.sub(length - UD_HEADER_SIZE, f"{r.pdu} 0x{block_type:04x}")
    reader = readers.get(block_type)
    if reader is None:
        return UnknownBlock(block_type, body.rest())
    block = reader(body)
    body.expect_end()
    return block


def read_client_block(r: Reader) -> ClientBlock:
    return _read_block(r, _CLIENT_READERS)  # type: ignore[return-value]


def read_server_block(r: Reader) -> ServerBlock:
    return _read_block(r, _SERVER_READERS)  # type: ignore[return-value]


def write_block(w: Writer, block: ClientBlock | ServerBlock) -> None:
    """Write one block with its TS_UD_HEADER."""
    if isinstance(block, UnknownBlock):
        block_type, body = block.type, block.data
    else:
        block_type, writer = _WRITERS[type(block)]
        bw = Writer()
        writer(bw, block)  # type: ignore[operator]
        body = bytes(bw)
    w.u16le(block_type)
    w.u16le(UD_HEADER_SIZE + len(body))
    w.write(body)


write_client_block = write_block
write_server_block = write_block


def decode_client_blocks(data: bytes) -> tuple[ClientBlock, ...]:
    """Every client data block in ``data`` (the GCC request user data), in wire order."""
    r = Reader(data, "client data blocks")
    blocks = []
    while r.remaining:
        blocks.append(read_client_block(r))
    return tuple(blocks)


def decode_server_blocks(data: bytes) -> tuple[ServerBlock, ...]:
    """Every server data block in ``data`` (the GCC response user data), in wire order."""
    r = Reader(data, "server data blocks")
    blocks = []
    while r.remaining:
        blocks.append(read_server_block(r))
    return tuple(blocks)


def encode_blocks(blocks: Iterable[ClientBlock | ServerBlock]) -> bytes:
    w = Writer()
    for block in blocks:
        write_block(w, block)
    return bytes(w)


encode_client_blocks = encode_blocks
encode_server_blocks = encode_blocks


def find_block(blocks: tuple[object, ...], kind: type[object]) -> object | None:
    """The first block of type ``kind``, or None."""
    return next((b for b in blocks if isinstance(b, kind)), None)
