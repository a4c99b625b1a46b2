"""What every fuzz target shares: the atheris entry point, corpus and crash directories.

A target is a module of ``fuzz/`` with a ``check(data: bytes) -> None`` that raises only
when an invariant breaks, and that imports nothing of atheris: the regression tests under
``tests/regressions/`` replay crash inputs through the same ``check``. Run as a script, the
target hands ``check`` to atheris (``main``), with rdpprobe's modules instrumented for
coverage (``instrumented``).

Directories (both ignored by git):
- ``fuzz/corpus/<target>/``: the working corpus; seeded by ``python -m fuzz.seeds`` on
  first use, then grown by every run;
- ``fuzz/crashes/<target>/``: what atheris writes when an invariant breaks (``crash-*``),
  a run takes too long (``timeout-*``) or too much memory (``oom-*``).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

FUZZ_DIR = Path(__file__).resolve().parent
ROOT = FUZZ_DIR.parent
CORPUS_DIR = FUZZ_DIR / "corpus"
CRASH_DIR = FUZZ_DIR / "crashes"
#: libFuzzer options every target runs with unless the command line gives its own.
DEFAULT_OPTIONS = {
    "-max_len": "65536",  # a 64 KiB read: the largest chunk a driver hands the prober
    "-rss_limit_mb": "1024",
    "-timeout": "10",
}
#: Every target, as ``fuzz/<name>.py``: the codec families, then the state machines.
TARGETS = ("tpkt_x224", "ber_per_mcs", "credssp_ntlm", "licensing", "share", "certificates", "prober", "mock_server")
Check = Callable[[bytes], None]
Mutator = Callable[[bytes, int, int], bytes]


class InvariantBroken(AssertionError):
    """A target's invariant failed on this input: a bug, and a crash file for atheris."""


def expect(condition: bool, message: str) -> None:
    """Raise ``InvariantBroken`` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise InvariantBroken(message)


@contextlib.contextmanager
def instrumented(module: str) -> Iterator[None]:
    """Instrument the rdpprobe modules imported inside for coverage, when ``module`` (the
    caller's ``__name__``) is ``__main__``: a target run under atheris.

    Imported (by the tests, the runner, the seed script) it does nothing; nor without atheris.
    """
    if module != "__main__":
        yield
        return
    try:
        import atheris
    except ImportError:
        yield
        return
    with atheris.instrument_imports(include=["rdpprobe"]):
        yield


def import_all(*packages: str) -> None:
    """Import every module of ``packages`` now: inside ``instrumented``, the modules the code
    under test loads lazily (on first use) are instrumented too."""
    import importlib
    import pkgutil

    for name in packages:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            importlib.import_module(info.name)


def main(name: str, check: Check, mutator: Mutator | None = None, argv: list[str] | None = None) -> None:
    """Fuzz ``check`` with atheris: ``python fuzz/<name>.py [libFuzzer flags] [corpus dirs]``."""
    import atheris

    args = list(sys.argv if argv is None else argv)
    given = {arg.split("=", 1)[0] for arg in args[1:] if arg.startswith("-")}
    crashes = CRASH_DIR / name
    crashes.mkdir(parents=True, exist_ok=True)
    args += [f"{flag}={value}" for flag, value in DEFAULT_OPTIONS.items() if flag not in given]
    if "-artifact_prefix" not in given:
        args.append(f"-artifact_prefix={crashes}/")
    if not any(not arg.startswith("-") for arg in args[1:]):
        args.append(str(corpus(name)))
    options: dict[str, Any] = {}
    if mutator is not None:
        options["custom_mutator"] = mutator
    atheris.Setup(args, check, **options)
    atheris.Fuzz()


def corpus(name: str) -> Path:
    """The target's corpus directory, seeded first if it does not exist yet."""
    where = CORPUS_DIR / name
    if not where.is_dir() or not any(where.iterdir()):
        from fuzz import seeds

        seeds.write(name)
    return where

