"""The package type-checks under ``mypy --strict`` (configured in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MYPY_TIMEOUT_S = 600


def test_the_package_passes_mypy_strict(tmp_path: Path) -> None:
    pytest.importorskip("mypy", reason="mypy comes with the test extra: pip install -e '.[test]'")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache")],
        cwd=ROOT, capture_output=True, text=True, timeout=MYPY_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


#: A caller's program: correct calls, then one misspelt keyword per entry point, and a
#: credential passed to a scan. mypy must flag exactly the marked lines.
_CALLER = '''
import rdpprobe

async def main() -> None:
    rdpprobe.probe("127.0.0.1", timeout=5, deadline=20, enumerate=True, protocols=["SSL"])
    await rdpprobe.aprobe("127.0.0.1", user="alice", password="x", stop_after="nla")
    for r in rdpprobe.probe_many(["127.0.0.1"], depth="quick", concurrency=5, timeout=1.0):
        print(str(r.target), r.verdict.ms_client.hex if r.verdict.ms_client else None)
    rdpprobe.probe("127.0.0.1", timout=5)  # E1
    await rdpprobe.aprobe("127.0.0.1", deadlin=5)  # E2
    rdpprobe.probe_many("127.0.0.1", concurrancy=5)  # E3
    rdpprobe.aprobe_many("127.0.0.1", user="alice")  # E4
    rdpprobe.probe("127.0.0.1", timeout="5")  # E5
    try:
        pass
    except rdpprobe.ProbeUsageError:
        pass
'''


def test_a_misspelt_keyword_is_a_mypy_error(tmp_path: Path) -> None:
    """The keyword options are spelt out (``ProbeOptions``, ``ScanOptions``), so a type
    checker rejects a misspelt one and a credential passed to a scan."""
    pytest.importorskip("mypy", reason="mypy comes with the test extra: pip install -e '.[test]'")
    caller = tmp_path / "caller.py"
    caller.write_text(_CALLER, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--cache-dir", str(tmp_path / "cache"),
         str(caller)],
        cwd=ROOT, capture_output=True, text=True, timeout=MYPY_TIMEOUT_S, check=False,
    )  # fmt: skip
    flagged = {int(line.split(":")[1]) for line in proc.stdout.splitlines() if ": error:" in line}
    marked = {n for n, line in enumerate(_CALLER.splitlines(), start=1) if "# E" in line}
    assert flagged == marked, proc.stdout
