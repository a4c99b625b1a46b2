"""The layers import only downwards (ARCHITECTURE.md): checked on the source, by AST."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "rdpprobe"

#: layer -> packages it must never import.
FORBIDDEN = {
    "wire": ("rdpprobe.sequence", "rdpprobe.transport", "rdpprobe.mock", "rdpprobe.classify",
             "rdpprobe.engine", "rdpprobe.scan", "rdpprobe.cli", "rdpprobe.api"),
    "sequence": ("rdpprobe.transport", "rdpprobe.mock", "rdpprobe.engine", "rdpprobe.scan",
                 "rdpprobe.cli", "rdpprobe.api"),
    "mock": ("rdpprobe.sequence", "rdpprobe.transport", "rdpprobe.engine", "rdpprobe.api",
             "rdpprobe.classify"),
    "transport": ("rdpprobe.mock", "rdpprobe.cli", "rdpprobe.scan"),
    # A scan spread over processes sits between the scan command and the scan stage: it runs
    # scan.py's stages in its workers and is run by scan_cli.py and many.py, never the reverse.
    "scale": ("rdpprobe.cli", "rdpprobe.scan_cli", "rdpprobe.many", "rdpprobe.api", "rdpprobe.mock"),
}
#: Modules that no layer below the CLI may use: I/O, clocks and randomness stay out of the core.
SANS_IO_FORBIDDEN = ("socket", "ssl", "asyncio", "selectors", "time", "random", "logging")


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).glob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_only_downwards(layer: str) -> None:
    for path in modules(layer):
        bad = {name for name in imports(path) if name.startswith(FORBIDDEN[layer])}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


@pytest.mark.parametrize("layer", ["wire", "sequence"])
def test_core_layers_do_no_io(layer: str) -> None:
    for path in modules(layer):
        bad = {name for name in imports(path) if name.split(".")[0] in SANS_IO_FORBIDDEN}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


#: Top-level modules the sequence imports on first use (at TLS): they may not reach the
#: drivers, the engine, the mock or the front ends. ``trust`` reads the trust store and asks
#: ``ssl`` only where the system keeps it (``ssl.get_default_verify_paths``); it opens no
#: connection, so ``ssl`` is allowed there and nothing else of the I/O modules.
CERTIFICATE_MODULES = {"certinfo.py": (), "trust.py": ("ssl",)}
CERTIFICATE_FORBIDDEN = ("rdpprobe.transport", "rdpprobe.engine", "rdpprobe.mock", "rdpprobe.scan",
                         "rdpprobe.cli", "rdpprobe.api", "rdpprobe.many")


@pytest.mark.parametrize("name", sorted(CERTIFICATE_MODULES))
def test_certificate_modules_stay_below_the_drivers(name: str) -> None:
    found = imports(PACKAGE / name)
    bad = {n for n in found if n.startswith(CERTIFICATE_FORBIDDEN)}
    io = {n for n in found if n.split(".")[0] in SANS_IO_FORBIDDEN} - set(CERTIFICATE_MODULES[name])
    assert not bad and not io, f"{name} imports {sorted(bad | io)}"
