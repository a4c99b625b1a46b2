"""Set Error Info codes ([MS-RDPBCGR] 2.2.5.1.1)."""

from __future__ import annotations

from rdpprobe.wire import errinfo
from rdpprobe.wire.codes import name_of


def test_names_and_meanings() -> None:
    assert name_of(errinfo.ErrorInfo, 0x9) == "SERVER_INSUFFICIENT_PRIVILEGES"
    assert errinfo.describe(0x9) == "user lacks the right to log on remotely"
    assert errinfo.describe(0x10E0).startswith("rdp protocol error")
    assert errinfo.describe(0xDEAD) == "unknown(0xdead)"
    assert errinfo.ErrorInfo.SECURITYDATATOOSHORT23 == 0x1126


def test_every_member_has_a_description() -> None:
    for member in errinfo.ErrorInfo:
        assert errinfo.describe(member) and not errinfo.describe(member).startswith("unknown")
