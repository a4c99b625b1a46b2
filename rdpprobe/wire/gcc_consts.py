"""Named values of the GCC user data blocks ([MS-RDPBCGR] 2.2.1.3.x and 2.2.1.4.x).

Open code spaces: block fields keep raw ints, these enums only give them names (look them
up with ``rdpprobe.wire.codes.name_of`` / ``flag_names``).
"""

from __future__ import annotations

import enum

from rdpprobe.wire.codes import name_of

# [MS-RDPBCGR] 2.2.1.3.1 TS_UD_HEADER.
UD_HEADER_SIZE = 2 + 2  # type + length
# [MS-RDPBCGR] 2.2.1.3.2 TS_UD_CS_CORE fixed-size byte fields.
CLIENT_NAME_SIZE = 32
IME_FILE_NAME_SIZE = 64
DIG_PRODUCT_ID_SIZE = 64
# [MS-RDPBCGR] 2.2.1.3.4.1 CHANNEL_DEF.
CHANNEL_NAME_SIZE = 8
CHANNEL_DEF_SIZE = CHANNEL_NAME_SIZE + 4  # name + options
# [MS-RDPBCGR] 2.2.1.4.3: serverRandom length.
SERVER_RANDOM_SIZE = 32


class ClientBlockType(enum.IntEnum):
    """[MS-RDPBCGR] 2.2.1.3.1 TS_UD_HEADER type values of client blocks."""

    CS_CORE = 0xC001
    CS_SECURITY = 0xC002
    CS_NET = 0xC003
    CS_CLUSTER = 0xC004
    CS_MONITOR = 0xC005
    CS_MCS_MSGCHANNEL = 0xC006
    CS_MONITOR_EX = 0xC008
    CS_MULTITRANSPORT = 0xC00A
    CS_UNUSED1 = 0xC00C


class ServerBlockType(enum.IntEnum):
    """[MS-RDPBCGR] 2.2.1.3.1 TS_UD_HEADER type values of server blocks."""

    SC_CORE = 0x0C01
    SC_SECURITY = 0x0C02
    SC_NET = 0x0C03
    SC_MCS_MSGCHANNEL = 0x0C04
    SC_MULTITRANSPORT = 0x0C08


class RdpVersion(enum.IntEnum):
    """[MS-RDPBCGR] 2.2.1.3.2 / 2.2.1.4.2 version values."""

    RDP_4_0 = 0x00080001
    RDP_5_PLUS = 0x00080004
    RDP_10_0 = 0x00080005
    RDP_10_1 = 0x00080006
    RDP_10_2 = 0x00080007
    RDP_10_3 = 0x00080008
    RDP_10_4 = 0x00080009
    RDP_10_5 = 0x0008000A
    RDP_10_6 = 0x0008000B
    RDP_10_7 = 0x0008000C
    RDP_10_8 = 0x0008000D
    RDP_10_9 = 0x0008000E
    RDP_10_10 = 0x0008000F
    RDP_10_11 = 0x00080010
    RDP_10_12 = 0x00080011


def rdp_version_name(version: int) -> str:
    """A display name for a core data version: "RDP 4.0", "RDP 5.0-8.1", "RDP 10.x"."""
    if version == RdpVersion.RDP_4_0:
        return "RDP 4.0"
    if version == RdpVersion.RDP_5_PLUS:
        return "RDP 5.0-8.1"
    if RdpVersion.RDP_10_0 <= version <= RdpVersion.RDP_10_12:
        return f"RDP 10.{version - RdpVersion.RDP_10_0}"
    return name_of(RdpVersion, version)


class ColorDepth(enum.IntEnum):
    """[MS-RDPBCGR] 2.2.1.3.2 colorDepth / postBeta2ColorDepth values."""

    RNS_UD_COLOR_4BPP = 0xCA00
    RNS_UD_COLOR_8BPP = 0xCA01
    RNS_UD_COLOR_16BPP_555 = 0xCA02
    RNS_UD_COLOR_16BPP_565 = 0xCA03
    RNS_UD_COLOR_24BPP = 0xCA04


RNS_UD_SAS_DEL = 0xAA03  # [MS-RDPBCGR] 2.2.1.3.2 SASSequence


class HighColorDepth(enum.IntEnum):
    """[MS-RDPBCGR] 2.2.1.3.2 highColorDepth values."""

    HIGH_COLOR_4BPP = 0x0004
    HIGH_COLOR_8BPP = 0x0008
    HIGH_COLOR_15BPP = 0x000F
    HIGH_COLOR_16BPP = 0x0010
    HIGH_COLOR_24BPP = 0x0018


class SupportedColorDepths(enum.IntFlag):
    """[MS-RDPBCGR] 2.2.1.3.2 supportedColorDepths flags."""

    RNS_UD_24BPP_SUPPORT = 0x0001
    RNS_UD_16BPP_SUPPORT = 0x0002
    RNS_UD_15BPP_SUPPORT = 0x0004
    RNS_UD_32BPP_SUPPORT = 0x0008


class ClientEarlyCapabilityFlags(enum.IntFlag):
    """[MS-RDPBCGR] 2.2.1.3.2 earlyCapabilityFlags (client)."""

    RNS_UD_CS_SUPPORT_ERRINFO_PDU = 0x0001
    RNS_UD_CS_WANT_32BPP_SESSION = 0x0002
    RNS_UD_CS_SUPPORT_STATUSINFO_PDU = 0x0004
    RNS_UD_CS_STRONG_ASYMMETRIC_KEYS = 0x0008
    RNS_UD_CS_RELATIVE_MOUSE_INPUT = 0x0010
    RNS_UD_CS_VALID_CONNECTION_TYPE = 0x0020
    RNS_UD_CS_SUPPORT_MONITOR_LAYOUT_PDU = 0x0040
    RNS_UD_CS_SUPPORT_NETCHAR_AUTODETECT = 0x0080
    RNS_UD_CS_SUPPORT_DYNVC_GFX_PROTOCOL = 0x0100
    RNS_UD_CS_SUPPORT_DYNAMIC_TIME_ZONE = 0x0200
    RNS_UD_CS_SUPPORT_HEARTBEAT_PDU = 0x0400
    RNS_UD_CS_SUPPORT_SKIP_CHANNELJOIN = 0x0800


class ServerEarlyCapabilityFlags(enum.IntFlag):
    """[MS-RDPBCGR] 2.2.1.4.2 earlyCapabilityFlags (server)."""

    RNS_UD_SC_EDGE_ACTIONS_SUPPORTED_V1 = 0x00000001
    RNS_UD_SC_DYNAMIC_DST_SUPPORTED = 0x00000002
    RNS_UD_SC_EDGE_ACTIONS_SUPPORTED_V2 = 0x00000004
    RNS_UD_SC_SKIP_CHANNELJOIN_SUPPORTED = 0x00000008


class ConnectionType(enum.IntEnum):
    """[MS-RDPBCGR] 2.2.1.3.2 connectionType values."""

    CONNECTION_TYPE_MODEM = 0x01
    CONNECTION_TYPE_BROADBAND_LOW = 0x02
    CONNECTION_TYPE_SATELLITE = 0x03
    CONNECTION_TYPE_BROADBAND_HIGH = 0x04
    CONNECTION_TYPE_WAN = 0x05
    CONNECTION_TYPE_LAN = 0x06
    CONNECTION_TYPE_AUTODETECT = 0x07


class EncryptionMethod(enum.IntFlag):
    """[MS-RDPBCGR] 2.2.1.3.3 encryptionMethods / 2.2.1.4.3 encryptionMethod.

    One type for both fields: the client offers a combination of these flags, the server
    chooses one of them (or NONE), and the keys follow the one chosen (5.3.5).
    """

    NONE = 0x00000000
    ENCRYPTION_METHOD_40BIT = 0x00000001
    ENCRYPTION_METHOD_128BIT = 0x00000002
    ENCRYPTION_METHOD_56BIT = 0x00000008
    ENCRYPTION_METHOD_FIPS = 0x00000010


class EncryptionLevel(enum.IntEnum):
    """[MS-RDPBCGR] 2.2.1.4.3 encryptionLevel."""

    ENCRYPTION_LEVEL_NONE = 0
    ENCRYPTION_LEVEL_LOW = 1
    ENCRYPTION_LEVEL_CLIENT_COMPATIBLE = 2
    ENCRYPTION_LEVEL_HIGH = 3
    ENCRYPTION_LEVEL_FIPS = 4


class ClusterFlags(enum.IntFlag):
    """[MS-RDPBCGR] 2.2.1.3.5 TS_UD_CS_CLUSTER Flags."""

    REDIRECTION_SUPPORTED = 0x00000001
    REDIRECTED_SESSIONID_FIELD_VALID = 0x00000002
    REDIRECTED_SMARTCARD = 0x00000040


REDIRECTION_VERSION_MASK = 0x0000003C  # [MS-RDPBCGR] 2.2.1.3.5 ServerSessionRedirectionVersionMask
REDIRECTION_VERSION_SHIFT = 2


class RedirectionVersion(enum.IntEnum):
    """[MS-RDPBCGR] 2.2.1.3.5 redirection version (bits 2..5 of Flags)."""

    REDIRECTION_VERSION1 = 0x00
    REDIRECTION_VERSION2 = 0x01
    REDIRECTION_VERSION3 = 0x02
    REDIRECTION_VERSION4 = 0x03
    REDIRECTION_VERSION5 = 0x04
    REDIRECTION_VERSION6 = 0x05


def redirection_version(flags: int) -> int:
    """The redirection version field of TS_UD_CS_CLUSTER Flags (raw, 0 = version 1)."""
    return (flags & REDIRECTION_VERSION_MASK) >> REDIRECTION_VERSION_SHIFT


class ChannelOptions(enum.IntFlag):
    """[MS-RDPBCGR] 2.2.1.3.4.1 CHANNEL_DEF options."""

    CHANNEL_OPTION_INITIALIZED = 0x80000000
    CHANNEL_OPTION_ENCRYPT_RDP = 0x40000000
    CHANNEL_OPTION_ENCRYPT_SC = 0x20000000
    CHANNEL_OPTION_ENCRYPT_CS = 0x10000000
    CHANNEL_OPTION_PRI_HIGH = 0x08000000
    CHANNEL_OPTION_PRI_MED = 0x04000000
    CHANNEL_OPTION_PRI_LOW = 0x02000000
    CHANNEL_OPTION_COMPRESS_RDP = 0x00800000
    CHANNEL_OPTION_COMPRESS = 0x00400000
    CHANNEL_OPTION_SHOW_PROTOCOL = 0x00200000
    REMOTE_CONTROL_PERSISTENT = 0x00100000
