"""Every input a fuzz target ever failed on, replayed through that target's ``check``.

``tests/regressions/<target>/<file>``: what ``python -m fuzz.run --adopt`` copied from
``fuzz/crashes/<target>/`` once the bug it found was fixed (README, "Fuzzing"). The check is
the fuzzer's own, invariants and all, so a crash that comes back fails here, without atheris.
Beside them, every target checks a few inputs of its own kind that need no recording.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from fuzz.common import TARGETS
from fuzz.conversation import Conversation, Event, serialize

HERE = Path(__file__).resolve().parent
CRASHES = sorted(path for path in HERE.glob("*/*") if path.is_file() and path.parent.name in TARGETS)


@pytest.mark.parametrize("path", CRASHES, ids=lambda path: f"{path.parent.name}/{path.name[:20]}")
def test_a_crash_the_fuzzer_found_stays_fixed(path: Path) -> None:
    importlib.import_module(f"fuzz.{path.parent.name}").check(path.read_bytes())


def test_every_crash_directory_names_a_target() -> None:
    assert {path.name for path in HERE.iterdir() if path.is_dir() and path.name != "__pycache__"} <= set(TARGETS)


#: Inputs every target must take: nothing, a byte, bytes that pick each decoder or config.
SMALL_INPUTS = [b"", b"\x00", b"\xff" * 64, bytes(range(256))]
#: Conversations of the prober's and the mock's own form: a CC then a flood, a reset, a wait.
CONVERSATIONS = [
    serialize(Conversation(0, (Event("D", bytes.fromhex("030000130ed000001234000201080001000000")),
                               Event("D", b"\x00\x02" * 2000), Event("W", value=60_000)))),
    serialize(Conversation(3, (Event("D", b"\x03\x00\xff\xff" + bytes(100)), Event("R")))),
    serialize(Conversation(2, (Event("T", b""), Event("E")))),
]


@pytest.mark.parametrize("target", TARGETS)
def test_every_target_takes_small_and_structured_inputs(target: str) -> None:
    check = importlib.import_module(f"fuzz.{target}").check
    for data in SMALL_INPUTS + CONVERSATIONS:
        check(data)
