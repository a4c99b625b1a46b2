"""Every code block of README.md runs, so the README cannot rot.

Each fenced block is found by its language tag and handled by the rule for that tag; a block
with another tag, or none, fails here until it gets a rule or an opt-out:

- ``console``: each ``$ `` line runs in bash in a scratch folder, with the ``rdpprobe`` this
  test suite runs on the PATH, and must exit 0. ``rdpprobe mock`` without ``--list`` serves:
  it gets ``--port 0``, must print its address, answer a probe and stop on SIGTERM with 0.
- ``python``: the block runs as a script (top-level ``await`` allowed, as in a notebook or
  ``python -m asyncio``) and must exit 0; a block that defines ``test_`` functions runs
  under pytest, fixtures and all.
- ``sh``: each line (less a trailing ``#`` comment) must be a command ``.ci/run`` runs, or
  a part of one joined by ``&&``, word for word (nothing is run here).
- ``text``: a figure or a sample of output as it was captured (a directory layout, a
  report), not code: nothing runs it, so nothing fakes it either.

Targets are substituted mechanically before anything runs (``EXAMPLES``): the README's
example hosts become loopback mock servers, and the files its commands read
(``INPUT_FILES``) list those servers. Nothing else is changed, and output is never faked:
the commands print what they print. Every process started here runs with a guard
(``GUARD``) that refuses to resolve a name or connect to an address outside loopback and
records the attempt, so an example host without a mapping fails the test instead of
reaching the network.

A block opts out only with a visible marker on the line before its fence, stating why:
``<!-- readme-test: skip: REASON -->``.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from rdpprobe.mock.server import MockRdpServer

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CI_RUN = ROOT / ".ci" / "run"
FENCE = re.compile(r"^```(\S*)\s*$")
SKIP_MARKER = re.compile(r"^<!-- readme-test: skip: (\S.*\S) -->$")
PROMPT = "$ "
COMMAND_TIMEOUT = 90.0
#: The account of the NLA mock: the README's ``--user 'LAB\\alice'`` with its placeholder
#: password ``RDPPROBE_PASSWORD=...``.
NLA_USER, NLA_PASSWORD = "alice", "..."

#: The README's example targets, in the order they are substituted, and the mock each
#: becomes: ``tls`` a healthy TLS server, ``nla`` a healthy NLA server with NLA_USER's
#: account; a written port goes with the name, since the mock has a port of its own.
#: ``absent`` is a loopback address where nothing listens (an exclusion, say).
EXAMPLES: tuple[tuple[str, str], ...] = (
    (r"\b10\.\d+\.\d+\.\d+/\d+\b", "tls"),  # A network: the TLS mock is its one server.
    (r"\b10\.0\.0\.5(?::\d+)?\b", "nla"),
    (r"\b10\.\d+\.\d+\.\d+(?::\d+)?\b", "absent"),
    (r"\b[\w-]+(?:\.[\w-]+)*\.example\.test(?::\d+)?\b", "tls"),
)
ABSENT = "127.0.0.2"
#: Files the README's commands read without showing them, made to list both mocks.
INPUT_FILES = ("targets.txt", "hosts")
KNOWN_LANGUAGES = ("console", "python", "sh", "text")

GUARD = '''
import errno, ipaddress, os, socket

_LOG = os.environ["README_TEST_REFUSED"]


def _loopback(host):
    text = str(host).split("%", 1)[0].strip("[]")
    if text == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def _refuse(what):
    with open(_LOG, "a") as log:
        log.write(what + "\\n")
    raise OSError(errno.EACCES, "refused outside loopback by the README test: " + what)


_getaddrinfo = socket.getaddrinfo


def getaddrinfo(host, *args, **kwargs):
    if host is not None and not _loopback(host):
        _refuse("resolve " + str(host))
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = getaddrinfo
for _name in ("gethostbyname", "gethostbyname_ex"):
    setattr(socket, _name, lambda host, _name=_name: _refuse(_name + " " + str(host)))


def _guarded(method):
    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
            _refuse("connect " + str(address))
        return method(self, address)
    return connect


socket.socket.connect = _guarded(socket.socket.connect)
socket.socket.connect_ex = _guarded(socket.socket.connect_ex)
'''

#: Runs a Python block: top-level ``await`` allowed, the coroutine run to its end.
RUNNER = '''
import ast, asyncio, sys, types
source = open(sys.argv[1]).read()
code = compile(source, sys.argv[1], "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
module = types.ModuleType("__main__")
sys.modules["__main__"] = module
outcome = eval(code, module.__dict__)
if asyncio.iscoroutine(outcome):
    asyncio.run(outcome)
'''


@dataclass(frozen=True)
class Block:
    language: str
    text: str
    line: int
    skip: str | None

    @property
    def name(self) -> str:
        return f"README.md:{self.line} ({self.language or 'untagged'})"


def readme_blocks(text: str) -> list[Block]:
    """The fenced blocks of ``text``, each with its tag, first line and opt-out reason."""
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = next((i for i in range(index + 1, len(lines)) if lines[i].startswith("```")), None)
        assert end is not None, f"README.md:{index + 1}: a code block is never closed"
        marker = SKIP_MARKER.match(lines[index - 1]) if index else None
        body = "\n".join(lines[index + 1:end]) + "\n"
        blocks.append(Block(opening.group(1), body, index + 1, marker.group(1) if marker else None))
        index = end + 1
    return blocks


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))


def _params(*languages: str) -> list[object]:
    chosen = [b for b in BLOCKS if b.language in languages]
    return [pytest.param(b, id=b.name, marks=[pytest.mark.skip(reason=b.skip)] if b.skip else []) for b in chosen]


def test_every_block_has_a_rule_or_a_stated_opt_out() -> None:
    unknown = [b.name for b in BLOCKS if b.language not in KNOWN_LANGUAGES and not b.skip]
    assert not unknown, f"blocks without a rule here (tag them {KNOWN_LANGUAGES} or opt out): {unknown}"
    assert {"console", "python", "sh"} <= {b.language for b in BLOCKS}


def test_the_extractor_sees_fences_markers_and_tags() -> None:
    text = "intro\n```python\nx = 1\n```\n<!-- readme-test: skip: needs a real server -->\n```console\n$ a\n```\n"
    assert readme_blocks(text) == [Block("python", "x = 1\n", 2, None),
                                   Block("console", "$ a\n", 6, "needs a real server")]


@dataclass
class Sandbox:
    """A scratch folder, the mocks the examples map to and the environment commands get."""

    folder: Path
    mocks: dict[str, str]
    env: dict[str, str]
    refused: Path

    def substitute(self, text: str) -> str:
        for pattern, mock in EXAMPLES:
            text = re.sub(pattern, self.mocks[mock], text)
        return text

    def check_nothing_refused(self) -> None:
        attempts = self.refused.read_text() if self.refused.exists() else ""
        assert attempts == "", f"a README example reached outside loopback (add it to EXAMPLES): {attempts}"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    folder = tmp_path_factory.mktemp("readme")
    guard = folder / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD)
    refused = folder / "refused.log"
    with MockRdpServer("windows-tls") as tls, \
            MockRdpServer("windows-nla", user=NLA_USER, password=NLA_PASSWORD) as nla:  # fmt: skip
        mocks = {"tls": "{}:{}".format(*tls.address), "nla": "{}:{}".format(*nla.address), "absent": ABSENT}
        for name in INPUT_FILES:
            (folder / name).write_text(f"{mocks['tls']}\n{mocks['nla']}\n")
        bin_dir = str(Path(sys.executable).parent)
        env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
               "PYTHONPATH": os.pathsep.join([str(guard), str(ROOT)]), "README_TEST_REFUSED": str(refused)}
        env.pop("RDPPROBE_PASSWORD", None)
        yield Sandbox(folder, mocks, env, refused)


def _commands(block: Block) -> list[str]:
    commands = [line[len(PROMPT):] for line in block.text.splitlines() if line.startswith(PROMPT)]
    assert commands, f"{block.name}: a console block shows commands after '{PROMPT}'"
    return commands


@pytest.mark.parametrize("block", _params("console"))
def test_console_blocks_run(block: Block, sandbox: Sandbox) -> None:
    for command in _commands(block):
        line = sandbox.substitute(command)
        if re.search(r"\brdpprobe mock\b", line) and "--list" not in line:
            _serve(line, sandbox)
        else:
            done = subprocess.run(["bash", "-c", line], cwd=sandbox.folder, env=sandbox.env, capture_output=True,
                                  text=True, timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL, check=False)
            assert done.returncode == 0, f"{block.name}: {command!r} ran as {line!r}:\n{done.stdout}\n{done.stderr}"
        sandbox.check_nothing_refused()


def _serve(line: str, sandbox: Sandbox) -> None:
    """Run a mock server command on a free port, probe it once, stop it with SIGTERM."""
    with subprocess.Popen(["bash", "-c", f"exec env {line} --port 0"], cwd=sandbox.folder, env=sandbox.env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                          text=True) as proc:  # fmt: skip
        try:
            with selectors.DefaultSelector() as sel:
                sel.register(proc.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
                assert sel.select(COMMAND_TIMEOUT), f"{line!r} printed no address"
            found = re.search(r"listening on (\S+)", proc.stdout.readline())  # type: ignore[union-attr]
            assert found is not None, f"{line!r} printed no address"
            probe = subprocess.run(["rdpprobe", "check", found.group(1), "--stop-after", "tls"], env=sandbox.env,
                                   capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False)
            assert probe.returncode == 0, probe.stdout
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=COMMAND_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err


@pytest.mark.parametrize("block", _params("python"))
def test_python_blocks_run(block: Block, sandbox: Sandbox) -> None:
    source = sandbox.substitute(block.text)
    script = sandbox.folder / f"test_readme_block_{block.line}.py"
    script.write_text(source)
    if re.search(r"^def test_\w+\(", source, re.M):
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(script)]
    else:
        runner = sandbox.folder / "run_block.py"
        runner.write_text(textwrap.dedent(RUNNER))
        argv = [sys.executable, str(runner), str(script)]
    done = subprocess.run(argv, cwd=sandbox.folder, env=sandbox.env, capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 0, f"{block.name} ran as:\n{source}\n{done.stdout}\n{done.stderr}"
    sandbox.check_nothing_refused()


def _ci_lines() -> set[str]:
    """The command lines of ``.ci/run``, continuation lines joined, and each part of one
    joined by ``&&``."""
    joined = CI_RUN.read_text().replace("\\\n", " ")
    lines = {" ".join(line.split()) for line in joined.splitlines() if line.strip() and not line.startswith("#")}
    return lines | {part.strip() for line in lines for part in line.split(" && ")}


@pytest.mark.parametrize("block", _params("sh"))
def test_sh_blocks_are_what_ci_runs(block: Block) -> None:
    ci = _ci_lines()
    for line in block.text.splitlines():
        command = " ".join(line.split(" #", 1)[0].split())
        if command:
            assert command in ci, f"{block.name}: .ci/run does not run {command!r} word for word"


def test_the_guard_refuses_anything_outside_loopback(sandbox: Sandbox) -> None:
    code = textwrap.dedent('''
        import socket
        for attempt in (lambda: socket.getaddrinfo("rdp.example.org", 3389),
                        lambda: socket.create_connection(("192.0.2.1", 3389), timeout=1),
                        lambda: socket.socket().connect_ex(("198.51.100.7", 3389))):
            try:
                attempt()
            except OSError:
                continue
            raise SystemExit("not refused")
        socket.getaddrinfo("localhost", 3389)
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5).close()
    ''').replace("import socket", "import socket, sys")
    port = sandbox.mocks["tls"].rsplit(":", 1)[1]
    done = subprocess.run([sys.executable, "-c", code, port], env=sandbox.env, capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT, check=False)
    assert done.returncode == 0, done.stderr
    assert sandbox.refused.read_text().splitlines() == [
        "resolve rdp.example.org", "resolve 192.0.2.1", "connect ('198.51.100.7', 3389)",
    ]
    sandbox.refused.unlink()
