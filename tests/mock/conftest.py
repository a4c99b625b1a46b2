"""Helpers for the mock-server tests: loopback sockets with short, bounded waits."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

# The pytest11 entry point registers these when rdpprobe is installed; importing them here
# keeps the suite working from a plain checkout too (conftest fixtures take precedence).
from rdpprobe.pytest_plugin import rdp_mock_server, rdp_mock_servers  # noqa: F401

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "scenarios"
TIMEOUT = 3.0
CR_HEADER = bytes.fromhex("030000130ee00000000000")  # TPKT + X.224 CR, LI 14
NEG_REQ_HEADER = bytes.fromhex("01000800")  # TYPE_RDP_NEG_REQ, flags 0, length 8


def cr_bytes(requested: int | None) -> bytes:
    """A hand-made X.224 CR (taxonomy §5.x layout) with an optional RDP_NEG_REQ."""
    if requested is None:
        return bytes.fromhex("0300000b06e00000000000")
    return CR_HEADER + NEG_REQ_HEADER + requested.to_bytes(4, "little")


def recv_all(sock: socket.socket, timeout: float = TIMEOUT) -> tuple[bytes, str]:
    """Read until EOF, RST or timeout: (bytes, "eof" | "reset" | "timeout")."""
    sock.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data, "reset"
        except TimeoutError:
            return data, "timeout"
        if not chunk:
            return data, "eof"
        data += chunk


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
