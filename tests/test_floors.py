"""The dependency floors in pyproject.toml are the versions constraints/floors.txt pins, which
.ci/run installs in a fresh venv and tests: a floor cannot drift from what was tested."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOORS = ROOT / "constraints" / "floors.txt"
REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[([\w,-]+)\])?\s*(>=|==)\s*([0-9][0-9A-Za-z.]*)$")


def _name(text: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", text).lower()


def _parse(lines: list[str], operator: str, where: str) -> dict[str, str]:
    """NAME -> VERSION of ``NAME[EXTRAS]OPERATOR VERSION`` lines; a project of an extra
    (``dask[distributed]``) gets the same floor as the one that names it."""
    found: dict[str, str] = {}
    for line in lines:
        match = REQUIREMENT.match(line.strip())
        assert match is not None and match.group(3) == operator, f"{where}: {line!r} is not NAME{operator}VERSION"
        for name in (match.group(1), *(match.group(2) or "").split(",")):
            if name:
                found[_name(name)] = match.group(4)
    return found


def _pyproject_floors() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    return _parse(lines, ">=", "pyproject.toml")


def _pinned() -> dict[str, str]:
    lines = [line for line in FLOORS.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return _parse(lines, "==", str(FLOORS.relative_to(ROOT)))


def test_every_floor_is_pinned_in_the_constraints_file() -> None:
    assert _pinned() == _pyproject_floors()


def test_ci_installs_the_floors_and_runs_the_unit_tests() -> None:
    ci = (ROOT / ".ci" / "run").read_text().replace("\\\n", " ")
    step = next((line for line in ci.splitlines() if "-c constraints/floors.txt" in line), None)
    assert step is not None, ".ci/run has no step installing constraints/floors.txt"
    assert "python3 -m venv" in step and "-m pytest" in step and "'not interop" in step
