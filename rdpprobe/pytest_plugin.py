"""pytest plugin: the ``rdp_mock_server`` fixture (registered through the ``pytest11`` entry point).

``rdp_mock_server`` is a factory: each call starts one mock RDP server on loopback in a
background thread and returns its ``(host, port)``; every server is stopped at teardown::

    def test_wrong_password(rdp_mock_server):
        host, port = rdp_mock_server("windows-nla", user="alice", password="s3cret")
        ...

The scenario is a built-in name (``rdpprobe mock --list``), a ``Scenario`` or a TOML path.
``rdp_mock_servers`` gives the started ``MockRdpServer`` objects (records of what each
connection went through).

pytest loads this module at every start wherever rdpprobe is installed, so the mock server
(asyncio, the certificate factory, the codecs) is imported only when a fixture is first used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from rdpprobe.mock.scenarios import Scenario
    from rdpprobe.mock.server import MockRdpServer

MockServerFactory = Callable[..., tuple[str, int]]


@pytest.fixture
def rdp_mock_servers() -> Iterator[list[MockRdpServer]]:
    """The servers ``rdp_mock_server`` started in this test, stopped at teardown."""
    servers: list[MockRdpServer] = []
    yield servers
    for server in reversed(servers):
        server.stop_thread()


@pytest.fixture
def rdp_mock_server(rdp_mock_servers: list[MockRdpServer]) -> MockServerFactory:
    """Start a mock RDP server: ``rdp_mock_server(scenario, user=…, password=…) -> (host, port)``."""
    from rdpprobe.mock.server import MockRdpServer

    def start(scenario: Scenario | str | Path = "windows-tls", **kwargs: Any) -> tuple[str, int]:
        server = MockRdpServer(scenario, **kwargs)
        address = server.start_in_thread()
        rdp_mock_servers.append(server)
        return address

    return start
