"""The asyncio runner of the mock RDP server, and a thread-backed wrapper for sync callers.

``MockRdpServer`` listens on loopback (an ephemeral port by default), runs one
``MockSession`` per connection, and applies the listener-level faults itself:

- ``refuse``: a socket is bound to the port but never listens, so connects get RST (T1);
- ``backlog_full``: the listener has a backlog of 0, never accepts, and its queue is filled
  at start, so further SYNs are dropped and connects time out (T2, Linux behaviour);
- ``wedge``: after ``after`` connections every new one is reset (or closed after its first
  bytes), the MaxOutstandingConnections pattern (X1/X2).

RST is a close with SO_LINGER {1, 0}.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rdpprobe.addresses import host_port
from rdpprobe.mock.acceptor import Acceptor, Record
from rdpprobe.mock.faults import Action, Fault
from rdpprobe.mock.nla import Credentials
from rdpprobe.mock.scenarios import Scenario, get_scenario
from rdpprobe.mock.session import Hangup, MockSession, Sleep, Write

log = logging.getLogger(__name__)

READ_SIZE = 65536
BACKLOG = 128
LINGER_RST = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST
FILL_CONNECTIONS = 2  # connections parked in a zero backlog so later SYNs are dropped
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class MockRdpServer:
    """An RDP server on loopback that behaves as ``scenario`` says.

    ``scenario`` is a ``Scenario``, a built-in scenario name or a TOML path. ``host`` is an
    address or a name (``localhost``); a name is resolved when the server starts, and a
    listener-level fault (``refuse``, ``backlog_full``) binds its first address. ``user``,
    ``password`` and ``domain`` set the one account NLA accepts; ``None`` keeps the default
    account's user or password, an empty one is a ``ValueError``. ``keylog_path`` appends
    the TLS secrets of every session to that file (NSS key log format), so captures of
    TLS and NLA sessions can be decrypted whatever the client.
    """

    def __init__(self, scenario: Scenario | str | Path, host: str = "127.0.0.1", port: int = 0,
                 user: str | None = None, password: str | None = None,
                 domain: str | None = None, keylog_path: str | Path | None = None) -> None:
        self.scenario = get_scenario(scenario)
        self.keylog_path = None if keylog_path is None else str(keylog_path)
        self.host = host
        self.port = port
        self.credentials = Credentials.given(user, password, domain)
        self.records: list[Record] = []
        self.connections = 0
        self._server: asyncio.base_events.Server | None = None
        self._sockets: list[socket.socket] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._address: tuple[str, int] | None = None
        self._thread: _LoopThread | None = None
        self._stopping = False

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) the server is reachable on; valid after ``start``."""
        if self._address is None:
            raise RuntimeError("mock server not started")
        return self._address

    def _listener_fault(self) -> Fault | None:
        return next((f for f in self.scenario.plan.faults if f.action in
                     (Action.REFUSE, Action.BACKLOG_FULL)), None)

    async def start(self) -> None:
        """Bind and start serving (or set up the refusing / full-backlog listener)."""
        self._stopping = False
        fault = self._listener_fault()
        if fault is not None and fault.action is Action.REFUSE:
            self._address = self._bind_only(listen=None)
        elif fault is not None:
            self._address = self._bind_only(listen=0)
            await self._fill_backlog()
        else:
            self._server = await asyncio.start_server(self._accepted, self.host, self.port, backlog=BACKLOG)
            self._address = self._server.sockets[0].getsockname()[:2]
        log.debug("Mock RDP server listening", extra={"scenario": self.scenario.name,
                                                      "address": self._address})

    def _bind_only(self, listen: int | None) -> tuple[str, int]:
        """A socket bound to the first address of ``host`` (a name may be IPv6 only)."""
        family, _, _, _, sockaddr = socket.getaddrinfo(
            self.host, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        self._sockets.append(sock)  # Closed by stop(), also when the bind below fails.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
        if listen is not None:
            sock.listen(listen)
        host, port = sock.getsockname()[:2]
        return host, port

    async def _fill_backlog(self) -> None:
        assert self._address is not None
        family = socket.AF_INET6 if ":" in self._address[0] else socket.AF_INET  # An address, not a name.
        for _ in range(FILL_CONNECTIONS):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setblocking(False)
            try:
                sock.connect(self._address)
            except (BlockingIOError, InterruptedError):
                pass
            self._sockets.append(sock)
        await asyncio.sleep(0.05)

    async def stop(self) -> None:
        """Stop listening, end every connection, release every socket. A connection
        accepted while it runs is closed as soon as it reaches ``_accepted``."""
        self._stopping = True
        server = self._server  # Held here: a second stop() may run while this one waits.
        if server is not None:
            await _stop_accepting(server)
            server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if server is not None:
            await server.wait_closed()
        self._server = None
        for writer in self._writers:  # Connections whose task was cancelled before it ran.
            writer.close()
        self._writers.clear()
        for sock in self._sockets:
            sock.close()
        self._sockets.clear()

    async def __aenter__(self) -> MockRdpServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- one connection ----------------------------------------------------------------------

    def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A new connection, known to ``stop`` from the moment it is accepted: a connection
        whose task has not run yet when the server stops is still closed, and one that
        asyncio hands over after ``stop`` is closed here."""
        if self._stopping:
            writer.transport.abort()
            return
        self._writers.add(writer)
        task = asyncio.get_running_loop().create_task(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        acceptor = Acceptor(self.scenario, self.credentials)
        try:
            await self._run(MockSession(acceptor, self.keylog_path), reader, writer, self._wedged())
        except (ConnectionError, OSError, asyncio.IncompleteReadError) as exc:
            acceptor.note(f"transport error: {exc!r}")
        except asyncio.CancelledError:
            # stop() cancels open connections; ending quietly keeps asyncio's stream
            # callback from logging the cancellation as an error (Python 3.11).
            acceptor.note("stopped")
        finally:
            record = acceptor.record()
            self.records.append(record)
            log.info("%s", _connection_line(writer.get_extra_info("peername"), self.scenario.name, record))
            self._writers.discard(writer)
            if not writer.is_closing():
                writer.close()

    def _wedged(self) -> Fault | None:
        f = self.scenario.plan.find(Action.WEDGE)
        return f if f is not None and self.connections > int(f.param("after")) else None

    async def _run(self, session: MockSession, reader: asyncio.StreamReader,
                   writer: asyncio.StreamWriter, wedge: Fault | None) -> None:
        if wedge is not None:
            if wedge.param("mode") == "close":
                await reader.read(READ_SIZE)
                await _hangup(writer, False)
            else:
                await _hangup(writer, True)
            return
        if await _perform(session.start(), writer):
            return
        while not session.closed:
            data = await reader.read(READ_SIZE)
            if await _perform(session.feed(data), writer) or not data:
                return

    # -- sync wrapper ------------------------------------------------------------------------

    def __enter__(self) -> MockRdpServer:
        self.start_in_thread()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_thread()

    def start_in_thread(self) -> tuple[str, int]:
        """Run the server on its own event loop in a daemon thread; return its address."""
        self._thread = _LoopThread()
        self._thread.call(self.start)
        return self.address

    def stop_thread(self) -> None:
        if self._thread is not None:
            self._thread.call(self.stop)
            self._thread.close()
            self._thread = None


def _connection_line(peer: Any, scenario: str, record: Record) -> str:
    """The log line of one finished connection: the peer, the scenario, how it ended."""
    where = host_port(str(peer[0]), peer[1]) if isinstance(peer, tuple) and len(peer) >= 2 else "unknown peer"
    ended = f"reached {record.phase_reached.value}, ended waiting in {record.state.value}"
    notes = f" ({'; '.join(record.notes)})" if record.notes else ""
    line = f"connection from {where}, scenario {scenario}: {ended}{notes}"
    # A client chose the user name in the notes: its control characters are shown, not run.
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in line)


async def _perform(ops: list[Write | Sleep | Hangup], writer: asyncio.StreamWriter) -> bool:
    """Carry out session operations; True once the connection was closed."""
    for op in ops:
        if isinstance(op, Write):
            writer.write(op.data)
            await writer.drain()
        elif isinstance(op, Sleep):
            await asyncio.sleep(op.seconds)
        else:
            await _hangup(writer, op.reset)
            return True
    return False


async def _hangup(writer: asyncio.StreamWriter, reset: bool) -> None:
    """FIN (after flushing), or RST via SO_LINGER 0 and an immediate close."""
    if reset:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RST)
        writer.transport.abort()
        return
    try:
        await writer.drain()
    except ConnectionError:
        pass
    writer.close()


class _LoopThread:
    """An asyncio loop in a daemon thread; ``call`` runs a coroutine there and waits."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="rdp-mock", daemon=True)
        self.thread.start()

    def call(self, fn: Callable[[], Awaitable[Any]], timeout: float = START_TIMEOUT) -> Any:
        future = asyncio.run_coroutine_threadsafe(_await(fn), self.loop)
        return future.result(timeout)

    def close(self) -> None:
        """End what still runs on the loop, as ``asyncio.run`` does, then stop it: a
        connection asyncio was still accepting gets its transport closed."""
        try:
            self.call(_cancel_the_rest)
        except (TimeoutError, RuntimeError):
            pass  # The loop is wedged or gone; the thread is a daemon and the join is bounded.
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(STOP_TIMEOUT)
        if not self.thread.is_alive():
            self.loop.close()


async def _stop_accepting(server: asyncio.base_events.Server) -> None:
    """Take no more connections, and let those asyncio has accepted become transports while
    ``server`` is still open. Python 3.11 refuses a transport for a closed server with an
    assertion, and leaves its socket open until the garbage collector finds it."""
    loop = asyncio.get_running_loop()
    try:
        for sock in server.sockets:
            loop.remove_reader(sock.fileno())
    except NotImplementedError:  # A loop without readers (Windows' proactor): close as it is.
        return
    await asyncio.sleep(0)  # Each accept under way makes its transport in one step.


async def _await(fn: Callable[[], Awaitable[Any]]) -> Any:
    return await fn()


async def _cancel_the_rest() -> None:
    """Cancel every task of the running loop but this one, and wait for them to end."""
    rest = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in rest:
        task.cancel()
    await asyncio.gather(*rest, return_exceptions=True)
    await asyncio.sleep(0)  # The transports closed meanwhile release their sockets now.
