"""The real proof: FreeRDP's xfreerdp accepts the mock as an RDP server.

xfreerdp runs headless on a private ``Xvfb`` display with a fresh HOME, ``/cert:ignore``,
and a hard timeout. The session counts as active when the client logs the transition to
CONNECTION_STATE_ACTIVE and the server recorded the ACTIVE phase.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rdpprobe.mock import MockRdpServer, ServerPhase

pytestmark = pytest.mark.interop

USER, PASSWORD = "alice", "Passw0rd!"
CLIENT_TIMEOUT = 15.0
DISPLAY_WAIT = 5.0
XF_EXIT_WRONG_PASSWORD = 154  # client/X11/xfreerdp.h XF_EXIT_LOGON_FAILURE family


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is required in CI")
        pytest.skip(f"{tool} not installed")
    return path


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    xvfb = _need("Xvfb")
    _need("xfreerdp")
    number = 90 + os.getpid() % 400
    proc = subprocess.Popen([xvfb, f":{number}", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    socket_path = Path(f"/tmp/.X11-unix/X{number}")
    deadline = time.monotonic() + DISPLAY_WAIT
    while not socket_path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(5)


def xfreerdp(display: str, home: Path, port: int, *extra: str, stop_when=None) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """Run xfreerdp; stop it early once ``stop_when()`` is true. Returns (rc or -1, log)."""
    env = {**os.environ, "DISPLAY": display, "HOME": str(home)}
    log = home / "xfreerdp.log"
    cmd = ["xfreerdp", f"/v:127.0.0.1:{port}", f"/u:{USER}", "/cert:ignore", "/log-level:DEBUG", *extra]
    with log.open("wb") as out:
        proc = subprocess.Popen(["stdbuf", "-oL", "-eL", *cmd], env=env, stdout=out, stderr=out)
        deadline = time.monotonic() + CLIENT_TIMEOUT
        while proc.poll() is None and time.monotonic() < deadline:
            if stop_when is not None and stop_when():
                time.sleep(0.3)
                break
            time.sleep(0.05)
        rc = proc.poll()
        if rc is None:
            proc.terminate()
            proc.wait(5)
            rc = -1
    return rc, log.read_text(errors="replace")


@pytest.mark.parametrize("scenario", ["windows-tls", "windows-nla", "windows-rdp-security", "windows-rdp-fips"])
def test_xfreerdp_reaches_the_active_state(display: str, tmp_path: Path, scenario: str) -> None:
    """FreeRDP's own client, including its FIPS code (3DES, HMAC-SHA1) against the mock's."""
    with MockRdpServer(scenario, user=USER, password=PASSWORD) as server:
        extra = ("/sec:rdp",) if scenario.startswith("windows-rdp-") else ()
        _, log = xfreerdp(display, tmp_path, server.address[1], f"/p:{PASSWORD}", *extra,
                          stop_when=lambda: "--> CONNECTION_STATE_ACTIVE" in _read(tmp_path))
    assert "CONNECTION_STATE_FINALIZATION --> CONNECTION_STATE_ACTIVE" in log
    assert server.records and server.records[0].phase_reached is ServerPhase.ACTIVE


def _read(home: Path) -> str:
    log = home / "xfreerdp.log"
    return log.read_text(errors="replace") if log.exists() else ""


def test_auth_only_succeeds_with_the_right_password(display: str, tmp_path: Path) -> None:
    with MockRdpServer("windows-nla", user=USER, password=PASSWORD) as server:
        rc, _ = xfreerdp(display, tmp_path, server.address[1], f"/p:{PASSWORD}", "+auth-only")
    assert rc == 0
    assert server.records[0].authenticated_user == USER


def test_auth_only_fails_with_a_wrong_password(display: str, tmp_path: Path) -> None:
    with MockRdpServer("windows-nla", user=USER, password=PASSWORD) as server:
        rc, log = xfreerdp(display, tmp_path, server.address[1], "/p:wrong", "+auth-only")
    assert rc == XF_EXIT_WRONG_PASSWORD
    assert "ERRCONNECT_WRONG_PASSWORD" in log and "STATUS_WRONG_PASSWORD" in log
