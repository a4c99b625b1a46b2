"""Reading an interrupted scan's results: which targets they cover, where the whole lines end."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdpprobe.resume import MAX_LINE_BYTES, read_finished
from rdpprobe.result import Target
from rdpprobe.specs import TargetError


def _line(host: str, port: int = 3389, address: str | None = None) -> str:
    return json.dumps({"schema_version": 1, "target": {"host": host, "port": port, "address": address}}) + "\n"


def test_a_file_not_there_yet_covers_nothing(tmp_path: Path) -> None:
    finished = read_finished(str(tmp_path / "new.jsonl"))
    assert len(finished) == 0 and finished.whole_bytes == 0


def test_targets_are_compared_as_scan_writes_them(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(_line("10.0.0.1", 3389, "10.0.0.1") + _line("[2001:db8::1]", 3390) + "\n"
                    + _line("Server.Example.", 3389, "10.0.0.9"))  # fmt: skip
    finished = read_finished(str(path))
    assert len(finished) == 3
    assert finished.covers(Target("10.0.0.1", 3389, "10.0.0.1"))
    assert not finished.covers(Target("10.0.0.1", 3390, "10.0.0.1"))  # Same address, other port.
    assert finished.covers(Target("2001:db8::1", 3390, "2001:db8::1"))
    assert finished.covers(Target("server.example", 3389, None))
    assert not finished.covers(Target("10.0.0.9", 3389, "10.0.0.9"))  # The name's address was not a target.


def test_a_cut_last_line_is_dropped_and_its_target_probed_again(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    whole = _line("10.0.0.1") + _line("10.0.0.2")
    path.write_text(whole + _line("10.0.0.3")[:20])
    finished = read_finished(str(path))
    assert finished.whole_bytes == len(whole)
    assert not finished.covers(Target("10.0.0.3", 3389, "10.0.0.3"))
    finished.drop_cut_line(str(path))
    assert path.read_text() == whole


@pytest.mark.parametrize(
    "line",
    ["not json\n", "[1, 2]\n", '{"target": null}\n', '{"target": {"host": "", "port": 3389}}\n',
     '{"target": {"host": "10.0.0.1", "port": 0}}\n', '{"target": {"host": "10.0.0.1", "port": true}}\n',
     '{"target": {"host": 7, "port": 3389}}\n', "[" * 100_000 + "\n"],
)  # fmt: skip
def test_a_line_that_is_no_result_is_an_error_naming_it(tmp_path: Path, line: str) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(_line("10.0.0.1") + line)
    with pytest.raises(TargetError, match=f"{path}:2: not a result line"):
        read_finished(str(path))


def test_a_line_longer_than_any_result_ends_the_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(_line("10.0.0.1") + "x" * (MAX_LINE_BYTES + 10) + "\n" + _line("10.0.0.2"))
    finished = read_finished(str(path))
    assert len(finished) == 1 and finished.whole_bytes == len(_line("10.0.0.1"))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_are_read_or_refused_with_a_target_error(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("resume") / "r.jsonl"
    path.write_bytes(data)
    try:
        finished = read_finished(str(path))
    except TargetError:
        return
    assert 0 <= finished.whole_bytes <= len(data)
    assert data[: finished.whole_bytes].endswith(b"\n") or finished.whole_bytes == 0
    os.remove(path)
