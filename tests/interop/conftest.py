"""Fixtures shared by the interop tests (real xrdp, FreeRDP, rdesktop, tshark)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.interop import harness


@pytest.fixture(scope="session")
def x_display() -> Iterator[str]:
    """A private Xvfb display (":N") for the whole session, for the X11 clients."""
    with harness.xvfb() as display:
        yield display


@pytest.fixture(scope="session")
def shadow_nla() -> Iterator[harness.Daemon]:
    """A FreeRDP shadow server that requires NLA; SAM user alice / Passw0rd!."""
    with harness.shadow_server("nla", user="alice", password="Passw0rd!") as server:
        yield server
