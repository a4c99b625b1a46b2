"""Loader for the golden vectors in ``fixtures/vectors/*.toml``.

Each vector file holds tables like::

    [[vector]]
    name = "x224_connection_request"
    source = "[MS-RDPBCGR] 4.1.1 Client X.224 Connection Request PDU"
    hex = '''
    03 00 00 2c   # TPKT header, length 44
    27 e0 ...     # X.224 CR
    '''

Everything after ``#`` on a line of ``hex`` is a comment.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

VECTOR_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "vectors"


@dataclass(frozen=True)
class Vector:
    name: str
    source: str
    data: bytes


def parse_hex(text: str) -> bytes:
    """Bytes from annotated hex: whitespace ignored, ``#`` starts a comment."""
    digits = "".join(line.split("#", 1)[0] for line in text.splitlines())
    return bytes.fromhex("".join(digits.split()))


@functools.cache
def all_vectors() -> dict[str, Vector]:
    vectors: dict[str, Vector] = {}
    for path in sorted(VECTOR_DIR.glob("*.toml")):
        with path.open("rb") as f:
            doc = tomllib.load(f)
        for item in doc.get("vector", []):
            name = item["name"]
            if name in vectors:
                raise ValueError(f"duplicate vector name {name!r} in {path.name}")
            vectors[name] = Vector(name, item["source"], parse_hex(item["hex"]))
    return vectors


def vector(name: str) -> bytes:
    """The bytes of the vector called ``name``."""
    return all_vectors()[name].data


def hexdiff(a: bytes, b: bytes) -> str:
    """A readable message for two byte strings that differ."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"first difference at offset {i}: {a[i:i+16].hex(' ')} != {b[i:i+16].hex(' ')}"
    return f"lengths differ: {len(a)} != {len(b)}"
