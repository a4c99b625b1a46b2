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
