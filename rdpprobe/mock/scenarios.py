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

A file that cannot be used raises ``ScenarioError`` (from ``load_file``, the one place that
reads scenario files) with a one-line message naming the file, the scenario and the field;
a name that matches no scenario raises ``UnknownScenario`` (a ``KeyError``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from rdpprobe.mock.faults import Fault, FaultError, FaultPlan, toml_type
from rdpprobe.mock.personality import PERSONALITIES, Personality

_BUILTIN_PACKAGE = "rdpprobe.mock"
_BUILTIN_DIR = "scenarios"
_ENCODING = "utf-8"
_SUFFIX = ".toml"
_SELECT = "::"  # ``file.toml::name`` picks one scenario of a file
_TABLES_KEY = "scenario"  # ``[[scenario]]``: several scenarios in one file
_DEFAULT_PERSONALITY = "windows-tls"
#: The keys of a scenario table.
_FIELDS = frozenset({"name", "personality", "description", "taxonomy", "faults"})

#: Taxonomy §4.1 rows no server on loopback can produce, and how they are covered instead.
NOT_REPRODUCIBLE: dict[str, str] = {
    "D1": "name resolution fails before any server is involved; cover it with an unresolvable "
    "name under the reserved .invalid TLD (RFC 6761)",
    "T3": "ICMP host/network unreachable needs a router; loopback never produces it; cover it by "
    "injecting EHOSTUNREACH/ENETUNREACH at the transport's error table in unit tests",
}


class ScenarioError(FaultError):
    """A scenario file or table that cannot be used; the message is one line for the user."""


class UnknownScenario(KeyError):
    """No built-in scenario, and no scenario in the file, has the name asked for."""

    def __str__(self) -> str:
        return str(self.args[0])  # the message itself, not KeyError's quoted repr


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


def scenario_from_dict(raw: Mapping[str, Any], number: int = 1) -> Scenario:
    """Build a scenario from one TOML table, the ``number``-th of its file.

    ``ScenarioError`` names the scenario (by name, else by number) and the bad field.
    """
    label = _label(raw, number)
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise ScenarioError(f"{label}: unknown field {unknown[0]!r} (known: {', '.join(sorted(_FIELDS))})")
    name = _string(raw, "name", label, None)
    if not name:
        raise ScenarioError(f"{label}: 'name' must not be empty")
    persona = _personality(_string(raw, "personality", label, _DEFAULT_PERSONALITY), label)
    description = _string(raw, "description", label, "")
    return Scenario(name, persona, _plan(raw, label), description, _taxonomy(raw, label))


def _label(raw: Mapping[str, Any], number: int) -> str:
    """How messages name a scenario table: by its name when it has one."""
    name = raw.get("name")
    return f"scenario {name!r}" if isinstance(name, str) and name else f"scenario #{number}"


def _string(raw: Mapping[str, Any], key: str, label: str, default: str | None) -> str:
    """``raw[key]``, which must be a string; ``default`` when absent (None: required)."""
    value = raw.get(key, default)
    if value is None:
        raise ScenarioError(f"{label} lacks its {key!r}")
    if not isinstance(value, str):
        raise ScenarioError(f"{label}: {key!r} must be a string, not {toml_type(value)}")
    return value


def _personality(name: str, label: str) -> Personality:
    if name not in PERSONALITIES:
        known = ", ".join(sorted(PERSONALITIES))
        raise ScenarioError(f"{label}: unknown personality {name!r} (known: {known})")
    return PERSONALITIES[name]


def _taxonomy(raw: Mapping[str, Any], label: str) -> tuple[str, ...]:
    rows = raw.get("taxonomy", [])
    if not isinstance(rows, list) or not all(isinstance(row, str) for row in rows):
        raise ScenarioError(f"{label}: 'taxonomy' must be an array of strings, not {toml_type(rows)}")
    return tuple(rows)


def _plan(raw: Mapping[str, Any], label: str) -> FaultPlan:
    """The scenario's ``faults``; a bad fault's message gains the scenario's label."""
    try:
        return FaultPlan.from_list(raw.get("faults", []))
    except FaultError as exc:
        raise ScenarioError(f"{label}: {exc}") from exc


def scenario_to_dict(s: Scenario) -> dict[str, Any]:
    return {"name": s.name, "personality": s.personality.name, "description": s.description,
            "taxonomy": list(s.taxonomy), "faults": s.plan.to_list()}


def parse_scenarios(text: str) -> list[Scenario]:
    """Every scenario in the TOML document ``text`` (``tomllib.TOMLDecodeError``, ``ScenarioError``)."""
    tables = _scenario_tables(tomllib.loads(text))
    return [scenario_from_dict(table, number) for number, table in enumerate(tables, 1)]


def _scenario_tables(doc: dict[str, Any]) -> list[Mapping[str, Any]]:
    """The scenario tables of a document: its ``[[scenario]]`` array, or the document itself."""
    if _TABLES_KEY not in doc:
        return [doc] if _FIELDS & doc.keys() else []
    tables = doc[_TABLES_KEY]
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ScenarioError(f"{_TABLES_KEY!r} must be an array of tables ([[{_TABLES_KEY}]]), "
                            f"not {toml_type(tables)}")
    beside = sorted(set(doc) - {_TABLES_KEY})
    if beside:
        raise ScenarioError(f"top-level key {beside[0]!r} beside the [[{_TABLES_KEY}]] tables")
    return tables


def load_file(path: str | Path) -> list[Scenario]:
    """Every scenario in the TOML file at ``path``.

    Every expected failure (unreadable file, not UTF-8, not TOML, a bad scenario or fault)
    becomes one ``ScenarioError`` whose message starts with ``path``.
    """
    try:
        return parse_scenarios(Path(path).read_text(encoding=_ENCODING))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not {_ENCODING.upper()} text: {exc.reason} at byte {exc.start}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from exc
    except RecursionError as exc:
        raise ScenarioError(f"{path}: not valid TOML: nested too deeply") from exc
    except FaultError as exc:
        raise ScenarioError(f"{path}: {exc}") from exc


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

    ``path.toml::name`` picks a named scenario out of a multi-scenario file. Raises
    ``UnknownScenario`` when nothing has that name, ``ScenarioError`` for a bad file.
    """
    if isinstance(name_or_path, Scenario):
        return name_or_path
    text = str(name_or_path)
    builtins = builtin_scenarios()
    if text in builtins:
        return builtins[text]
    path, _, wanted = text.partition(_SELECT)
    if not path.endswith(_SUFFIX):
        raise UnknownScenario(f"unknown scenario {text!r}; try --list or a {_SUFFIX} path")
    return _pick(load_file(path), wanted, path)


def _pick(items: Iterable[Scenario], wanted: str, path: str) -> Scenario:
    """The scenario called ``wanted`` (any name: the first) among a file's ``items``."""
    items = list(items)
    if not items:
        raise ScenarioError(f"{path}: defines no scenario (no 'name' key or [[{_TABLES_KEY}]] tables)")
    for s in items:
        if not wanted or s.name == wanted:
            return s
    names = ", ".join(s.name for s in items)
    raise UnknownScenario(f"no scenario {wanted!r} in {path} (it defines: {names})")


def taxonomy_coverage() -> dict[str, list[str]]:
    """Taxonomy row id -> names of the built-in scenarios that reproduce it."""
    cover: dict[str, list[str]] = {}
    for s in builtin_scenarios().values():
        for row in s.taxonomy:
            cover.setdefault(row, []).append(s.name)
    return cover
