"""The server capability sets of the mock's Demand Active, and the finalization PDU bodies.

``rdpprobe.wire.share`` keeps capability sets raw (type + bytes), so the bytes are given
here. They are the capability sets of the Demand Active in [MS-RDPBCGR] 4.1.12 (decrypted
form), minus DrawGdiPlus, RAIL and Window (optional, 2.2.1.13.1.1), with the Bitmap
Capability Set's desktop size set to the client's (2.2.7.1.2) and the Input Capability
Set's keyboard fields zeroed (a server sends zeros there, 2.2.7.1.6).

The finalization PDUs a server sends (Synchronize 2.2.1.19, Control Cooperate 2.2.1.20,
Control Granted Control 2.2.1.21, Font Map 2.2.1.22) have no wire codec either; their
bodies are the small fixed structures below.
"""

from __future__ import annotations

import struct

from rdpprobe.wire.share import CapabilitySet, CapabilitySetType

# [MS-RDPBCGR] 4.1.12: capability data (after each 4-byte TS_CAPS_SET header).
_SHARE = bytes.fromhex("ea030000")  # 2.2.7.2.3 nodeId 1002 + pad
_GENERAL = bytes.fromhex("010003000002000000001d040000000000000101")  # 2.2.7.1.1
_VIRTUAL_CHANNEL = bytes.fromhex("02000000")  # 2.2.7.1.10 VCCAPS_COMPR_CS_8K
_FONT = b""  # 2.2.7.2.5: the spec example sends the 4-byte header only
_ORDER = bytes.fromhex(
    "0000000000000000000000000000000040420f000100140000000100000022000101010101000001010101"
    "010000000101010101010101000101010100000000a106000040420f0040420f000100000000000000"
)  # 2.2.7.1.3
_COLOR_CACHE = bytes.fromhex("06000000")  # 2.2.7.1.4 colorTableCacheSize 6
_BITMAP_CACHE_HOST = bytes.fromhex("01000000")  # 2.2.7.2.1 TS_BITMAPCACHE_REV2
_POINTER = bytes.fromhex("010019001900")  # 2.2.7.1.5 color pointers, cache 25
INPUT_FLAGS = 0x0035  # 2.2.7.1.6 SCANCODES | MOUSEX | FASTPATH_INPUT | UNICODE
INPUT_CAPABILITY_SIZE = 2 + 2 + 4 + 4 + 4 + 4 + 64  # flags, pad, layout, type, subtype, fkeys, ime
# 2.2.7.1.2 Bitmap Capability Set, packed field by field.
_BITMAP_FORMAT = "<HHHHHHHHHBBHH"
BITMAP_BPP = 24
DESKTOP_RESIZE_SUPPORTED = 1

# [MS-RDPBCGR] 2.2.1.14.1 / 2.2.1.15.1 / 2.2.1.22.1 finalization constants.
SYNCMSGTYPE_SYNC = 1
CTRLACTION_REQUEST_CONTROL = 1
CTRLACTION_GRANTED_CONTROL = 2
CTRLACTION_COOPERATE = 4
FONTMAP_FIRST_LAST = 0x0003  # FONTMAP_FIRST | FONTMAP_LAST
FONTMAP_ENTRY_SIZE = 4


def bitmap_capability(width: int, height: int) -> bytes:
    """2.2.7.1.2: 24 bpp, the client's desktop size, resize and compression supported."""
    return struct.pack(_BITMAP_FORMAT, BITMAP_BPP, 1, 1, 1, width, height, 0,
                       DESKTOP_RESIZE_SUPPORTED, 1, 0, 0, 1, 0)


def server_capability_sets(width: int, height: int) -> tuple[CapabilitySet, ...]:
    """The capability sets of the mock's Demand Active, in the spec example's order."""
    t = CapabilitySetType
    input_cap = struct.pack("<H", INPUT_FLAGS) + bytes(INPUT_CAPABILITY_SIZE - 2)
    return (
        CapabilitySet(t.CAPSTYPE_SHARE, _SHARE),
        CapabilitySet(t.CAPSTYPE_GENERAL, _GENERAL),
        CapabilitySet(t.CAPSTYPE_VIRTUALCHANNEL, _VIRTUAL_CHANNEL),
        CapabilitySet(t.CAPSTYPE_FONT, _FONT),
        CapabilitySet(t.CAPSTYPE_BITMAP, bitmap_capability(width, height)),
        CapabilitySet(t.CAPSTYPE_ORDER, _ORDER),
        CapabilitySet(t.CAPSTYPE_COLORCACHE, _COLOR_CACHE),
        CapabilitySet(t.CAPSTYPE_BITMAPCACHE_HOSTSUPPORT, _BITMAP_CACHE_HOST),
        CapabilitySet(t.CAPSTYPE_POINTER, _POINTER),
        CapabilitySet(t.CAPSTYPE_INPUT, input_cap),
    )


def synchronize_body(target_user: int) -> bytes:
    """2.2.1.14.1 TS_SYNCHRONIZE_PDU: messageType, targetUser."""
    return struct.pack("<HH", SYNCMSGTYPE_SYNC, target_user)


def control_body(action: int, grant_id: int = 0, control_id: int = 0) -> bytes:
    """2.2.1.15.1 TS_CONTROL_PDU: action, grantId, controlId."""
    return struct.pack("<HHI", action, grant_id, control_id)


def font_map_body() -> bytes:
    """2.2.1.22.1 TS_FONT_MAP_PDU: no entries, first and last."""
    return struct.pack("<HHHH", 0, 0, FONTMAP_FIRST_LAST, FONTMAP_ENTRY_SIZE)
