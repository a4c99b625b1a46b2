"""``MockRdpServer``'s constructor: the account NLA accepts, and the hosts it listens on."""

from __future__ import annotations

import asyncio
import gc
import socket
import warnings
from typing import Any

import pytest

from rdpprobe.mock.nla import Credentials
from rdpprobe.mock.pair import MockPair
from rdpprobe.mock.server import MockRdpServer

#: A name that stands for an IPv6-only loopback entry in a hosts file (``ip6-localhost``).
V6_ONLY_NAME = "v6-loopback.invalid"
#: How long a connect to the refusing listener may take before the test gives up.
CONNECT_TIMEOUT = 3.0


@pytest.mark.parametrize(("options", "message"), [
    ({"user": ""}, "user must not be empty (None keeps the default)"),
    ({"password": ""}, "password must not be empty (None keeps the default)"),
    ({"user": "", "password": "s3cret"}, "user must not be empty (None keeps the default)"),
    ({"user": "alice", "password": ""}, "password must not be empty (None keeps the default)"),
])  # fmt: skip
@pytest.mark.parametrize("mock", [MockRdpServer, MockPair])
def test_an_empty_user_or_password_is_refused_not_replaced(mock: Any, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        mock("windows-nla", **options)
    assert str(caught.value) == message


def test_none_keeps_the_default_account() -> None:
    defaults = Credentials()
    server = MockRdpServer("windows-nla")
    assert (server.credentials.user, server.credentials.password) == (defaults.user, defaults.password)


def test_given_credentials_are_kept_and_none_fills_only_the_missing_one() -> None:
    defaults = Credentials()
    assert MockRdpServer("windows-nla", user="alice", password="s3cret", domain="CORP").credentials == \
        Credentials("alice", "s3cret", "CORP")
    assert MockRdpServer("windows-nla", user="alice").credentials == Credentials("alice", defaults.password)
    assert MockRdpServer("windows-nla", password="s3cret").credentials == Credentials(defaults.user, "s3cret")
    assert MockPair("windows-nla", user="alice").acceptor.credentials == Credentials("alice", defaults.password)


@pytest.mark.parametrize("scenario", ["windows-tls", "refused"])
def test_a_host_name_is_accepted(scenario: str) -> None:
    with MockRdpServer(scenario, host="localhost") as server:
        host, port = server.address
        assert host == "127.0.0.1" and port > 0  # localhost is 127.0.0.1 in the hosts file.


def test_a_refusing_listener_binds_a_name_that_is_ipv6_only(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def v6_only(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == V6_ONLY_NAME:
            return [(socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("::1", port, 0, 0))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", v6_only)
    with MockRdpServer("refused", host=V6_ONLY_NAME) as server:
        assert server.address[0] == "::1"
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(server.address, timeout=CONNECT_TIMEOUT)


#: Connections made just as the server stops; on Python 3.11 nearly each one used to leave
#: an accepted socket open until the garbage collector found it.
CONNECTIONS_AT_STOP = 30
STOP_TIMEOUT = 2.0  # seconds a closed connection may take to show as closed


def test_a_connection_arriving_as_the_server_stops_is_closed() -> None:
    """Such a connection is closed, not served after the stop, and asyncio's accept still
    under way when the server closes must not leave its socket to the garbage collector (a
    ResourceWarning in whatever test runs then)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for _ in range(CONNECTIONS_AT_STOP):
            assert _connect_as_it_stops()
        gc.collect()
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == []


def _connect_as_it_stops() -> bool:
    """Whether the server closed a connection made just before it stopped."""
    with MockRdpServer("windows-nla") as server:
        client = socket.create_connection(server.address)
    with client:
        client.settimeout(STOP_TIMEOUT)
        try:
            return client.recv(1) == b""
        except ConnectionResetError:
            return True


def test_two_stops_at_once_both_end_cleanly() -> None:
    async def stop_twice() -> list[object]:
        server = MockRdpServer("windows-nla")
        await server.start()
        return await asyncio.gather(server.stop(), server.stop(), return_exceptions=True)

    assert asyncio.run(stop_twice()) == [None, None]
