"""Resuming a scan: the targets an earlier, interrupted run already wrote results for.

``rdpprobe scan --resume FILE`` reads FILE (JSON Lines, as ``scan`` writes them), skips every
target that has a line there and appends the results of the others to FILE. An interrupted
run writes whole lines (a Ctrl-C or SIGTERM flushes every finished result), but a killed one
may leave its last line cut short: that line is dropped from the file and its target probed
again.

Rules of this module:
- targets are compared as ``scan`` wrote them: an address literal by its value, a host name
  without case or final dot, each with its port;
- skipping happens after sharding, so a resumed shard keeps the targets of its shard;
- memory grows with the results read: one int per address target, one pair per name.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from rdpprobe.addresses import ip_literal
from rdpprobe.result import Target
from rdpprobe.specs import TargetError, is_port
from rdpprobe.targets import name_key

#: Longest line read as a result; ``scan``'s lines are a few KiB, so longer is not one of them.
MAX_LINE_BYTES = 1 << 20
#: Bits of a packed address key below the address: 16 for the port, 1 for the IP version.
_PORT_BITS = 16
_VERSION_BITS = 1


def target_key(host: str, port: int) -> int | tuple[str, int]:
    """How a target is remembered (here, and by a scan spread over processes): an address literal and its port packed into one int, a
    name as a (name, port) pair."""
    address = ip_literal(host.strip("[]"))
    if address is None:
        return name_key(host), port
    return ((int(address) << _PORT_BITS | port) << _VERSION_BITS) | (address.version == 6)


@dataclass(slots=True)
class Finished:
    """The targets a results file already covers, and where its last whole line ends."""

    keys: set[int | tuple[str, int]] = field(default_factory=set)
    whole_bytes: int = 0

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, host: str, port: int) -> None:
        self.keys.add(target_key(host, port))

    def covers(self, target: Target) -> bool:
        """Whether ``target`` (as ``iter_targets`` yields it) already has a result."""
        return target_key(target.host, target.port) in self.keys

    def drop_cut_line(self, path: str) -> None:
        """Cut ``path`` back to its last whole line, before results are appended to it."""
        try:
            if os.path.getsize(path) > self.whole_bytes:
                os.truncate(path, self.whole_bytes)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise TargetError(path, f"cannot cut its unfinished last line: {exc.strerror}") from exc


def read_finished(path: str) -> Finished:
    """The targets ``path`` has results for; a file that does not exist yet has none.

    A line that is not a ``scan`` result raises ``TargetError`` naming it: appending to a
    file of something else would mix two kinds of data.
    """
    finished = Finished()
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed below; a missing file is no error
    except FileNotFoundError:
        return finished
    except OSError as exc:
        raise TargetError(path, f"cannot read: {exc.strerror}") from exc
    with stream:
        for number, line in enumerate(iter(lambda: stream.readline(MAX_LINE_BYTES + 1), b""), start=1):
            if not line.endswith(b"\n"):
                break  # The line a killed run was writing (or one far too long): probe it again.
            if line.strip():
                finished.add(*_target_of(line, f"{path}:{number}"))
            finished.whole_bytes += len(line)
    return finished


def _target_of(line: bytes, where: str) -> tuple[str, int]:
    """The (host, port) of one result line."""
    try:
        target = json.loads(line)["target"]
        host, port = target["host"], target["port"]
    except (ValueError, TypeError, KeyError, RecursionError) as exc:  # RecursionError: deep nesting.
        raise TargetError(where, "not a result line of rdpprobe scan (JSON with a target)") from exc
    if not isinstance(host, str) or not host or not is_port(port):
        raise TargetError(where, "not a result line of rdpprobe scan (its target has no host or port)")
    return host, port
