"""Results out: the versioned JSON Lines envelope, CSV, a terminal table and a summary.

Rules of this module:
- formatting only: no I/O beyond the stream or console it is given, no lookups;
- a writer takes a result (a ``dict`` in the ``ProbeResult.to_dict()`` shape, or anything
  with ``to_dict()``) and reads nested keys defensively, so a result that stopped early and
  learned few facts still produces a row;
- every string that came from a server is untrusted: CSV cells that a spreadsheet would run
  as a formula are quoted with a leading apostrophe, and terminal cells are shown as plain
  text with control characters escaped.
"""

from __future__ import annotations

import csv
import functools
import json
import math
import os
import stat
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from rdpprobe.addresses import host_port
from rdpprobe.findings import severity_rank
from rdpprobe.result import SCHEMA_VERSION, envelope_keys

if TYPE_CHECKING:  # rich loads only when a table is drawn: a JSON Lines scan never needs it.
    from rich.console import Console
    from rich.text import Text

__all__ = [
    "CSV_COLUMNS", "FORMATS", "SCHEMA_VERSION", "CsvWriter", "JsonlWriter", "Summary",
    "TableWriter", "Writer", "console_for", "csv_row", "envelope", "jsonl_line", "load_schema", "make_writer",
    "summary_key", "summary_of_key",
]  # fmt: skip

SCHEMA_RESOURCE = "schema/result-v1.json"
FORMATS = ("jsonl", "csv", "table")
TABLE_MAX_ROWS = 10_000  # Rows a table keeps in memory; the rest are counted, not shown.
#: Width of a table drawn to a file, or to a pipe with no terminal about (a CI log): rich
#: would draw 80 columns there and cut the cells short.
WIDE = 160
STDIN_FD, STDERR_FD = 0, 2
_JSON_SEPARATORS = (",", ":")
# What ``json.dumps`` would build on every call, built once: encoders keep no state between
# calls. One writes text as is, the other escapes everything beyond ASCII.
_TEXT_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=_JSON_SEPARATORS)
_ASCII_ENCODER = json.JSONEncoder(separators=_JSON_SEPARATORS)
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")  # OWASP CSV injection guidance
_NONE_LABEL = "none"

# Each CSV column and the path of keys that leads to it in the envelope.
_CSV_PATHS: dict[str, tuple[str, ...]] = {
    "ip": ("ip",),
    "port": ("port",),
    "hostname": ("hostname",),
    "phase_reached": ("phase_reached",),
    "failed_phase": ("failed_phase",),
    "signal": ("signal",),
    "category": ("verdict", "category"),
    "ms_code": ("verdict", "ms_client", "code"),
    "freerdp": ("verdict", "freerdp"),
    "selected_protocol": ("facts", "selected_protocol"),
    "nla_required": ("facts", "nla_required"),
    "tls_version": ("facts", "tls", "version"),
    "cert_sha256": ("facts", "tls", "certificate", "sha256"),
    "netbios_computer": ("facts", "ntlm", "netbios_computer"),
    "dns_domain": ("facts", "ntlm", "dns_domain"),
    "product_version": ("facts", "ntlm", "product_version"),
    "detail": ("detail",),
    # Added in a later release, after the first columns, so that those keep their places.
    "taxonomy_id": ("verdict", "taxonomy_id"),
    "accepted_protocols": ("facts", "accepted_protocols"),
    "cert_not_after": ("facts", "tls", "certificate", "not_after"),
    "cert_findings": ("facts", "tls", "certificate", "findings"),
    "encryption_method": ("facts", "encryption", "method"),
}


def _finding_list(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The record's findings (objects with ``id`` and ``severity``); none when absent."""
    found = record.get("findings")
    return [f for f in found if isinstance(f, Mapping)] if isinstance(found, list) else []


def finding_ids(record: Mapping[str, Any]) -> list[str]:
    """The ids of a record's findings, most severe first (their order in the record)."""
    return [str(f.get("id")) for f in _finding_list(record)]


def worst_severity(record: Mapping[str, Any]) -> str | None:
    """The most severe severity among a record's findings; None without findings."""
    severities = [str(f.get("severity")) for f in _finding_list(record)]
    return min(severities, key=severity_rank, default=None)


#: Columns computed from the record rather than read at one path, after those of ``_CSV_PATHS``.
_CSV_DERIVED: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "findings": finding_ids,
    "max_severity": worst_severity,
}
CSV_COLUMNS = (*_CSV_PATHS, *_CSV_DERIVED)


@functools.cache
def _orjson() -> tuple[Callable[..., bytes], type] | None:
    """orjson's encoder, with what it would encode where ``json`` raises (dataclasses,
    datetimes, subclasses of the JSON types) handed back to the caller, and its ``Fragment``;
    None without orjson."""
    try:
        import orjson  # type: ignore[import-not-found, unused-ignore]  # an older venv may lack it
    except ImportError:  # pragma: no cover - a dependency; the stdlib encoder still works
        return None
    options = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
    return functools.partial(orjson.dumps, option=options), orjson.Fragment


def _refuse(value: Any) -> Any:
    raise TypeError(f"not a JSON value: {type(value).__name__}")


#: Floats orjson writes otherwise than ``json``: those nearer zero than this (``0.00001``
#: for ``1e-05``; checked on random doubles, every other finite float is written alike).
_ORJSON_TINY = 1e-4
_DIGITS = frozenset(b"0123456789")


def _json_float(value: float) -> str:
    """A float as ``json`` writes it (``float.__repr__``; ``NaN`` and ``Infinity`` as is)."""
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def text_json(record: Any) -> str:
    """``json.dumps(record, ensure_ascii=False, separators=(",", ":"))``, byte for byte, at a
    fraction of the cost (orjson).

    orjson and ``json`` write every value alike but floats nearer zero than 1e-4 (orjson:
    ``0.00001`` or ``1e-7``, ``json``: ``1e-05``, ``1e-07``) and non-finite ones (orjson:
    ``null``). So the timings, the only numbers of the schema that are not integers, are
    handed to orjson as ``json`` writes them, and a line that holds any other digit before
    ``e-``, or ``0.0000`` (another such float, or such text in a string) is encoded by ``json``
    itself, as is a record orjson refuses (big integers, lone surrogates, keys that are not
    strings). A non-finite float outside the timings, which no result holds, would come out
    ``null``.
    """
    fast = _orjson()
    if fast is None:
        return _TEXT_ENCODER.encode(record)
    dumps, fragment = fast
    exponents, written = 0, record
    timings = record.get("timings") if type(record) is dict else None
    if type(timings) is dict:
        as_json = {}
        for phase, seconds in timings.items():
            if type(seconds) is float and not (seconds == 0 or _ORJSON_TINY <= abs(seconds) < math.inf):
                text = _json_float(seconds)
                exponents += "e-" in text
                seconds = fragment(text)
            as_json[phase] = seconds
        written = {**record, "timings": as_json}
    try:
        raw = dumps(written, default=_refuse)
    except TypeError:  # orjson.JSONEncodeError: big ints, lone surrogates, other keys
        return _TEXT_ENCODER.encode(record)
    if b"0.0000" in raw or _exponents(raw) != exponents:
        return _TEXT_ENCODER.encode(record)
    return raw.decode()


def _exponents(raw: bytes) -> int:
    """How often a digit is followed by ``e-`` in ``raw`` (a line's text has a few ``e-``:
    "re-", "pre-"; a float's exponent has a digit before it)."""
    count, at = 0, raw.find(b"e-")
    while at > 0:
        count += raw[at - 1] in _DIGITS
        at = raw.find(b"e-", at + 2)
    return count


def _as_dict(result: Any) -> Mapping[str, Any]:
    # ``type(...) is dict`` first: the usual case, and a tenth of the cost of an ABC check.
    return result if type(result) is dict or isinstance(result, Mapping) else result.to_dict()


def _dig(record: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at ``path``, or None where any step is missing or not an object."""
    value: Any = record
    for key in path:
        if type(value) is not dict and not isinstance(value, Mapping):  # dict: as _as_dict
            return None
        value = value.get(key)
    return value


def envelope(result: Any, timestamp: datetime) -> dict[str, Any]:
    """The output record for one result: ``ProbeResult.to_dict()`` with the envelope's keys
    (``envelope_keys``) for ``timestamp``, first, whatever the body held under their names."""
    body = _as_dict(result)
    stable = envelope_keys(body.get("target") or {}, timestamp)
    # Keys keep the place of their first appearance and the value of their last: the stable
    # keys come first, and a body key of the same name cannot replace their values.
    return {**stable, **body, **stable}


def load_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one output line, shipped as package data."""
    from importlib import resources

    text = resources.files("rdpprobe").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


class Writer(Protocol):
    """What the scanner writes results to."""

    def write(self, result: Any, timestamp: datetime | None = None) -> None:
        """Write one result; ``timestamp`` defaults to now (UTC)."""

    def flush(self) -> None:
        """Push the lines written so far to the stream (a table holds its rows until close)."""

    def close(self) -> None:
        """Finish the output (a table renders here); the stream itself stays open."""


def _now_or(timestamp: datetime | None) -> datetime:
    return timestamp if timestamp is not None else datetime.now(UTC)


class JsonlWriter:
    """One compact JSON object per line.

    Lines are buffered until ``flush`` or ``close``; a scan flushes after each turn of the
    engine's loop, so every finished result is out before the scanner waits again.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, result: Any, timestamp: datetime | None = None) -> None:
        record = envelope(result, _now_or(timestamp))
        line = text_json(record)
        try:
            self._stream.write(line + "\n")
        except UnicodeEncodeError:  # A stream that cannot carry the text gets \u escapes.
            self._stream.write(_ASCII_ENCODER.encode(record) + "\n")

    def flush(self) -> None:
        self._stream.flush()

    close = flush


def jsonl_line(result: Any, timestamp: datetime | None = None, ascii_only: bool = False) -> str:
    """One result as ``JsonlWriter`` writes it, newline included; ``ascii_only`` escapes
    everything beyond ASCII (for a stream that cannot carry it)."""
    record = envelope(result, _now_or(timestamp))
    return (_ASCII_ENCODER.encode(record) if ascii_only else text_json(record)) + "\n"


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        value = ";".join(_csv_cell(item) for item in value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def csv_row(result: Any, timestamp: datetime | None = None) -> list[str]:
    """The ``CSV_COLUMNS`` of one result, as text."""
    record = envelope(result, _now_or(timestamp))
    row = [_csv_cell(_dig(record, path)) for path in _CSV_PATHS.values()]
    return row + [_csv_cell(derive(record)) for derive in _CSV_DERIVED.values()]


class CsvWriter:
    """A header, then one row of ``CSV_COLUMNS`` per result; buffered as ``JsonlWriter``."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._csv = csv.writer(stream, lineterminator="\n")
        self._csv.writerow(CSV_COLUMNS)

    def write(self, result: Any, timestamp: datetime | None = None) -> None:
        self._csv.writerow(csv_row(result, timestamp))

    def flush(self) -> None:
        self._stream.flush()

    close = flush


def _escape_controls(text: str) -> str:
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)


def _plain_text(value: Any) -> Text:
    """A table cell that shows exactly what the server sent: no markup, no control codes."""
    from rich.text import Text

    return Text("" if value is None else _escape_controls(str(value)))


_TABLE_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("phase reached", ("phase_reached",)),
    ("failed phase", ("failed_phase",)),
    ("signal", ("signal",)),
    ("verdict", ("verdict", "category")),
    ("ms code", ("verdict", "ms_client", "code")),
    ("detail", ("detail",)),
)


class TableWriter:
    """Collects rows and renders one ``rich`` table at ``close``; keeps ``max_rows`` at most."""

    def __init__(self, console: Console, max_rows: int = TABLE_MAX_ROWS) -> None:
        self._console = console
        self._max_rows = max_rows
        self._rows: list[list[Text]] = []
        self._dropped = 0

    def write(self, result: Any, timestamp: datetime | None = None) -> None:
        if len(self._rows) >= self._max_rows:
            self._dropped += 1
            return
        record = envelope(result, _now_or(timestamp))
        where = host_port(str(record.get("hostname") or record.get("ip")), str(record.get("port")))
        cells = [_dig(record, path) for _, path in _TABLE_COLUMNS]
        self._rows.append([_plain_text(where), *map(_plain_text, cells)])

    def flush(self) -> None:
        """Nothing to push: the table is drawn once, at close."""

    def close(self) -> None:
        from rich.table import Table

        table = Table(title="rdpprobe results")
        for name in ("target", *(name for name, _ in _TABLE_COLUMNS)):
            table.add_column(name, overflow="fold")  # Folded onto more lines, never cut.
        for row in self._rows:
            table.add_row(*row)
        self._console.print(table)
        if self._dropped:
            self._console.print(f"{self._dropped} more results not shown; use --format jsonl")


def make_writer(fmt: str, stream: TextIO) -> Writer:
    """The writer for ``fmt``, one of ``FORMATS``."""
    if fmt == "jsonl":
        return JsonlWriter(stream)
    if fmt == "csv":
        return CsvWriter(stream)
    if fmt == "table":
        return TableWriter(console_for(stream))
    raise ValueError(f"unknown output format {fmt!r}, expected one of {', '.join(FORMATS)}")


def console_for(stream: TextIO) -> Console:
    """A ``rich`` console on ``stream``: a terminal's own width, or ``$COLUMNS`` when set;
    ``WIDE`` columns in a file; in a pipe, the width of the terminal the user is at
    (``rdpprobe check HOST | less``), or ``WIDE`` when there is none (a CI log)."""
    from rich.console import Console

    if stream.isatty() or os.environ.get("COLUMNS", "").isdigit():
        return Console(file=stream)  # rich reads the terminal, or $COLUMNS.
    return Console(file=stream, width=WIDE if _is_regular_file(stream) else terminal_width() or WIDE)


def _is_regular_file(stream: TextIO) -> bool:
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError):  # No descriptor (io.UnsupportedOperation is both), or closed.
        return False


def terminal_width() -> int | None:
    """Columns of the terminal on standard error or standard input, if either is one."""
    for fd in (STDERR_FD, STDIN_FD):
        try:
            return os.get_terminal_size(fd).columns
        except OSError:
            continue
    return None


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 result``, ``2 results``: English plurals, ``nouns`` where an ``s`` is not one."""
    return f"{count} {noun}" if count == 1 else f"{count} {nouns or noun + 's'}"


#: What ``Summary.add`` reads of a result, in a hashable form: (verdict category, Microsoft
#: code, ((finding id, severity), ...)). A worker process sends this instead of the result.
SummaryKey = tuple[Any, Any, tuple[tuple[Any, Any], ...]]


def summary_key(result: Any) -> SummaryKey:
    """The ``SummaryKey`` of ``result``; equal keys count alike."""
    record = _as_dict(result)
    found = tuple((f.get("id"), f.get("severity")) for f in _finding_list(record))
    return _dig(record, ("verdict", "category")), _dig(record, ("verdict", "ms_client", "code")), found


def summary_of_key(key: SummaryKey) -> dict[str, Any]:
    """A record ``Summary.add`` counts as it counts the result ``key`` came from."""
    category, code, found = key
    return {"verdict": {"category": category, "ms_client": {"code": code}},
            "findings": [{"id": fid, "severity": severity} for fid, severity in found]}  # fmt: skip


class Summary:
    """Counts of results by verdict category and by Microsoft client code; of targets by
    finding, and of findings by severity."""

    def __init__(self) -> None:
        self.total = 0
        self.by_category: Counter[str] = Counter()
        self.by_ms_code: Counter[str] = Counter()
        self.by_finding: Counter[str] = Counter()
        self.by_severity: Counter[str] = Counter()
        self.worst: str | None = None
        """The most severe severity of any finding seen; None while there is none."""
        self._severity_of: dict[str, str] = {}

    def add(self, result: Any, count: int = 1) -> None:
        """Count ``result``, ``count`` times (a batch of results alike from a worker)."""
        record = _as_dict(result)
        self.total += count
        self.by_category[str(_dig(record, ("verdict", "category")) or _NONE_LABEL)] += count
        self.by_ms_code[str(_dig(record, ("verdict", "ms_client", "code")) or _NONE_LABEL)] += count
        found = _finding_list(record)
        for finding in found:
            self.by_severity[str(finding.get("severity"))] += count
            fid, severity = str(finding.get("id")), str(finding.get("severity"))
            if severity_rank(severity) < severity_rank(self._severity_of.get(fid, "")):
                self._severity_of[fid] = severity  # A finding graded per case shows its worst.
        for finding_id in set(finding_ids(record)):  # A target counts once per finding.
            self.by_finding[finding_id] += count
        worst = worst_severity(record)
        if worst is not None and (self.worst is None or severity_rank(worst) < severity_rank(self.worst)):
            self.worst = worst

    def _groupings(self) -> list[tuple[str, list[tuple[str, int]]]]:
        """(title, rows) of each table: findings only when a target had any."""
        groups = [("verdict", self.by_category.most_common()), ("ms code", self.by_ms_code.most_common())]
        if self.by_finding:
            order = sorted(self.by_finding.items(),
                           key=lambda item: (-item[1], severity_rank(self._severity_of[item[0]]), item[0]))
            groups.append(("finding (targets)", [(f"{fid} ({self._severity_of[fid]})", n) for fid, n in order]))
            ranked = sorted(self.by_severity.items(), key=lambda item: severity_rank(item[0]))
            groups.append(("severity (findings)", ranked))
        return groups

    def render(self, console: Console, headline: str | None = None) -> None:
        """``headline`` (default: the number of results), then a table per grouping."""
        from rich.table import Table

        console.print(headline or plural(self.total, "result"), markup=False, highlight=False, soft_wrap=True)
        if not self.total:
            return  # Two empty tables would say nothing; the headline has said it.
        for title, rows in self._groupings():
            table = Table()
            table.add_column(f"by {title}")
            table.add_column("count", justify="right")
            for key, count in rows:
                table.add_row(_plain_text(key), str(count))
            console.print(table)
