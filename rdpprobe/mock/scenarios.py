"""Named scenarios: a personality, a fault plan and a one-line description.

The built-in set lives as TOML package data in ``rdpprobe/mock/scenarios/*.toml``; any other
TOML file can be loaded by path. A file holds one scenario (top-level keys) or several
(``[[scenario]]`` tables)::

    [[scenario]]
    name = "hybrid-required"
    personality = "windows-nla"
    taxonomy = ["N5"]
    description = "RDP_NEG_FAILURE 5 (HYBRID_REQUIRED_BY_SERVER) to every CR"
    faults = [{ phase = "connection_initiation", action = "neg_failure", code = 5 }]

Taxonomy rows a loopback server cannot reproduce are listed in ``NOT_REPRODUCIBLE``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from rdpprobe.mock.faults import Fault, FaultError, FaultPlan
from rdpprobe.mock.personality import PERSONALITIES, Personality

_BUILTIN_PACKAGE = "rdpprobe.mock"
_BUILTIN_DIR = "scenarios"

#: Taxonomy §4.1 rows no server on loopback can produce, and how they are covered instead.
NOT_REPRODUCIBLE: dict[str, str] = {
    "D1": "name resolution fails before any server is involved; cover it with an unresolvable "
    "name under the reserved .invalid TLD (RFC 6761)",
    "T3": "ICMP host/network unreachable needs a router; loopback never produces it; cover it by "
    "injecting EHOSTUNREACH/ENETUNREACH at the transport's error table in unit tests",
}


@dataclass(frozen=True, slots=True)
class Scenario:
    """A server personality with a fault plan, as the CLI and the fixture start it."""

    name: str
    personality: Personality
    plan: FaultPlan = FaultPlan()
    description: str = ""
    taxonomy: tuple[str, ...] = field(default=())
    """Taxonomy §4.1 row ids this scenario reproduces (``OK`` for a healthy server)."""

    @property
    def healthy(self) -> bool:
        return not self.plan

    def with_faults(self, *faults: Fault) -> Scenario:
        """A copy with ``faults`` appended to the plan."""
        return Scenario(self.name, self.personality, self.plan + FaultPlan.of(*faults),
                        self.description, self.taxonomy)


def scenario_from_dict(raw: Mapping[str, Any]) -> Scenario:
    """Build a scenario from one TOML table."""
    try:
        name = str(raw["name"])
        persona = PERSONALITIES[str(raw.get("personality", "windows-tls"))]
    except KeyError as exc:
        raise FaultError(f"bad scenario {dict(raw)!r}: missing or unknown {exc}") from exc
    plan = FaultPlan.from_list(raw.get("faults", ()))
    taxonomy = tuple(str(t) for t in raw.get("taxonomy", ()))
    return Scenario(name, persona, plan, str(raw.get("description", "")), taxonomy)


def scenario_to_dict(s: Scenario) -> dict[str, Any]:
    return {"name": s.name, "personality": s.personality.name, "description": s.description,
            "taxonomy": list(s.taxonomy), "faults": s.plan.to_list()}


def parse_scenarios(text: str) -> list[Scenario]:
    """Every scenario in the TOML document ``text``."""
    doc = tomllib.loads(text)
    tables = doc.get("scenario", [doc] if "name" in doc else [])
    return [scenario_from_dict(t) for t in tables]


def load_file(path: str | Path) -> list[Scenario]:
    """Every scenario in the TOML file at ``path``."""
    return parse_scenarios(Path(path).read_text(encoding="utf-8"))


@cache
def builtin_scenarios() -> dict[str, Scenario]:
    """The built-in scenarios (package data), by name, plus one healthy per personality."""
    found = {name: Scenario(name, p, description=f"healthy {name} server",
                            taxonomy=("X5", "OK") if p.legacy else ("OK",))
             for name, p in PERSONALITIES.items()}
    root = resources.files(_BUILTIN_PACKAGE) / _BUILTIN_DIR
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            found.update((s.name, s) for s in parse_scenarios(entry.read_text(encoding="utf-8")))
    return found


def get_scenario(name_or_path: str | Path | Scenario) -> Scenario:
    """A built-in scenario by name, or the first scenario of a TOML file by path.

    ``path.toml::name`` picks a named scenario out of a multi-scenario file.
    """
    if isinstance(name_or_path, Scenario):
        return name_or_path
    text = str(name_or_path)
    builtins = builtin_scenarios()
    if text in builtins:
        return builtins[text]
    path, _, wanted = text.partition("::")
    if not path.endswith(".toml") or not Path(path).is_file():
        raise KeyError(f"unknown scenario {text!r}; try --list or a .toml path")
    return _pick(load_file(path), wanted, path)


def _pick(items: Iterable[Scenario], wanted: str, path: str) -> Scenario:
    items = list(items)
    for s in items:
        if not wanted or s.name == wanted:
            return s
    raise KeyError(f"no scenario {wanted!r} in {path}")


def taxonomy_coverage() -> dict[str, list[str]]:
    """Taxonomy row id -> names of the built-in scenarios that reproduce it."""
    cover: dict[str, list[str]] = {}
    for s in builtin_scenarios().values():
        for row in s.taxonomy:
            cover.setdefault(row, []).append(s.name)
    return cover
