"""Results out: the envelope, the writers, the summary and the JSON Schema that documents them."""

from __future__ import annotations

import copy
import csv
import io
import json
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from jsonschema.protocols import Validator
from rich.console import Console

from rdpprobe.output import (
    CSV_COLUMNS,
    SCHEMA_VERSION,
    WIDE,
    CsvWriter,
    JsonlWriter,
    Summary,
    TableWriter,
    console_for,
    envelope,
    load_schema,
    make_writer,
)
from rdpprobe.sequence.phases import Phase
from rdpprobe.signals import Signal

WHEN = datetime(2024, 5, 17, 9, 30, 1, 250000, tzinfo=UTC)
WHEN_TEXT = "2024-05-17T09:30:01.250Z"


def failed_result() -> dict[str, Any]:
    """A probe that reached NLA and failed there, in the ``ProbeResult.to_dict()`` shape."""
    return {
        "target": {"host": "dc01.corp.example", "port": 3389, "address": "10.0.0.5"},
        "started_at": "2024-05-17T09:30:00+00:00",
        "phase_reached": "nla",
        "failed_phase": "nla",
        "signal": "credssp_error",
        "detail": "=HYPERLINK(\"x\") STATUS_LOGON_FAILURE",
        "verdict": {
            "category": "auth_failed",
            "ms_client": {"code": "0x904", "code_int": 0x904, "message": "logon failed",
                          "confidence": "high", "extended": None},
            "freerdp": "ERRCONNECT_LOGON_FAILURE",
            "freerdp_code": "0x00020014",
            "causes": ["wrong password"],
            "remediation": ["check the credentials"],
            "taxonomy_id": "C2",
            "summary": "the server rejected the credentials",
        },
        "timings": {"tcp_connect": 0.001, "connection_initiation": 0.002, "tls": 0.01, "nla": 0.02},
        "skipped_phases": [],
        "facts": {
            "selected_protocol": "PROTOCOL_HYBRID",
            "nla_required": True,
            "accepted_protocols": ["SSL", "HYBRID"],
            "tls": {"version": "TLSv1.2", "certificate": {"sha256": "ab" * 32, "not_after": "2027-01-31T00:00:00+00:00",
                                                          "findings": ["self_signed", "name_mismatch"]}},
            "ntlm": {"netbios_computer": "DC01", "dns_domain": "corp.example",
                     "product_version": "10.0.20348"},
        },
        "error": None,
    }  # fmt: skip


def refused_result() -> dict[str, Any]:
    """A probe that never got past TCP: almost nothing learned."""
    return {
        "target": {"host": "10.0.0.9", "port": 3390, "address": "10.0.0.9"},
        "phase_reached": "tcp_connect",
        "failed_phase": "tcp_connect",
        "signal": "refused",
        "detail": "connection refused",
        "verdict": {"category": "port_closed", "ms_client": None, "freerdp": None,
                    "freerdp_code": None, "causes": [], "remediation": [],
                    "taxonomy_id": "T1", "summary": "nothing listens"},
        "timings": {"tcp_connect": 0.0005},
        "facts": {},
        "error": None,
    }  # fmt: skip


class HasToDict:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def to_dict(self) -> dict[str, Any]:
        return self.body


class FlushCounter(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0
        self.lines_at_flush: list[int] = []

    def flush(self) -> None:
        self.flushes += 1
        self.lines_at_flush.append(self.getvalue().count("\n"))
        super().flush()


# --- envelope -------------------------------------------------------------------------------


def test_envelope_puts_the_stable_keys_first() -> None:
    record = envelope(failed_result(), WHEN)
    assert list(record)[:5] == ["schema_version", "timestamp", "ip", "port", "hostname"]
    assert record["schema_version"] == SCHEMA_VERSION == 1
    assert record["timestamp"] == WHEN_TEXT
    got = (record["ip"], record["port"], record["hostname"])
    assert got == ("10.0.0.5", 3389, "dc01.corp.example")
    assert record["verdict"] == failed_result()["verdict"]


def test_envelope_of_an_address_target_has_no_hostname() -> None:
    record = envelope(refused_result(), WHEN)
    assert (record["ip"], record["port"], record["hostname"]) == ("10.0.0.9", 3390, None)


def test_envelope_of_an_unresolved_name_has_no_ip() -> None:
    body = refused_result()
    body["target"] = {"host": "nowhere.example", "port": 3389, "address": None}
    record = envelope(body, WHEN)
    assert (record["ip"], record["hostname"]) == (None, "nowhere.example")


def test_envelope_accepts_objects_with_to_dict() -> None:
    assert envelope(HasToDict(refused_result()), WHEN) == envelope(refused_result(), WHEN)


def test_envelope_converts_the_timestamp_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    record = envelope(refused_result(), datetime(2024, 5, 17, 11, 30, 1, 250000, tzinfo=plus_two))
    assert record["timestamp"] == WHEN_TEXT


def test_envelope_rejects_a_naive_timestamp() -> None:
    with pytest.raises(ValueError, match="timestamp has no time zone"):
        envelope(refused_result(), datetime(2024, 5, 17))


# --- writers --------------------------------------------------------------------------------


def test_jsonl_writes_one_compact_line_per_result_and_flushes_when_asked() -> None:
    stream = FlushCounter()
    writer = JsonlWriter(stream)
    body = failed_result()
    body["facts"]["ntlm"]["netbios_computer"] = "SRV-ÆØÅ-東京"
    writer.write(body, WHEN)
    writer.write(refused_result(), WHEN)
    assert stream.flushes == 0
    writer.flush()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert stream.lines_at_flush == [2]
    assert ", " not in lines[0] and '": ' not in lines[0]
    assert "SRV-ÆØÅ-東京" in lines[0]
    assert json.loads(lines[0]) == envelope(body, WHEN)


def test_jsonl_falls_back_to_escapes_when_the_stream_cannot_encode() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    body = refused_result()
    body["detail"] = "caf\u00e9"
    writer = JsonlWriter(stream)
    writer.write(body, WHEN)
    writer.flush()
    assert b"caf\\u00e9" in raw.getvalue()


def test_jsonl_without_timestamp_uses_now() -> None:
    stream = io.StringIO()
    JsonlWriter(stream).write(refused_result())
    stamp = json.loads(stream.getvalue())["timestamp"]
    assert stamp.endswith("Z")
    written = datetime.fromisoformat(stamp.removesuffix("Z") + "+00:00")
    assert abs(datetime.now(UTC) - written) < timedelta(minutes=1)


def test_csv_header_and_fixed_columns_read_defensively() -> None:
    stream = FlushCounter()
    writer = CsvWriter(stream)
    writer.write(failed_result(), WHEN)
    writer.write(refused_result(), WHEN)
    writer.write({"target": {"host": "x", "port": 1},  # Almost nothing known.
                  "facts": {"encryption": {"method": "ENCRYPTION_METHOD_40BIT"}}}, WHEN)
    writer.close()
    rows = list(csv.DictReader(io.StringIO(stream.getvalue())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[0] == {
        "ip": "10.0.0.5", "port": "3389", "hostname": "dc01.corp.example",
        "phase_reached": "nla", "failed_phase": "nla", "signal": "credssp_error",
        "category": "auth_failed", "ms_code": "0x904", "freerdp": "ERRCONNECT_LOGON_FAILURE",
        "selected_protocol": "PROTOCOL_HYBRID", "nla_required": "true", "tls_version": "TLSv1.2",
        "cert_sha256": "ab" * 32, "netbios_computer": "DC01", "dns_domain": "corp.example",
        "product_version": "10.0.20348", "detail": "'=HYPERLINK(\"x\") STATUS_LOGON_FAILURE",
        "taxonomy_id": "C2", "accepted_protocols": "SSL;HYBRID", "cert_not_after": "2027-01-31T00:00:00+00:00",
        "cert_findings": "self_signed;name_mismatch", "encryption_method": "", "findings": "", "max_severity": "",
    }  # fmt: skip
    assert rows[1]["ms_code"] == "" and rows[1]["tls_version"] == "" and rows[1]["port"] == "3390"
    assert rows[2]["category"] == "" and rows[2]["hostname"] == "x"
    assert rows[2]["encryption_method"] == "ENCRYPTION_METHOD_40BIT" and rows[2]["cert_findings"] == ""
    assert stream.lines_at_flush == [4]  # The header and three rows, pushed out by close.


def test_table_renders_rows_as_plain_text_at_close() -> None:
    out = io.StringIO()
    writer = TableWriter(Console(file=out, width=200, color_system=None))
    hostile = failed_result()
    hostile["detail"] = "[bold red]pwned[/] \x1b[31mred\x07"
    writer.write(hostile, WHEN)
    writer.write(refused_result(), WHEN)
    assert out.getvalue() == ""
    writer.close()
    text = out.getvalue()
    assert "dc01.corp.example:3389" in text and "10.0.0.9:3390" in text
    assert "0x904" in text and "port_closed" in text
    assert "[bold red]pwned[/]" in text
    assert "\x1b" not in text and "\x07" not in text and "\\x1b" in text


def test_table_keeps_a_bounded_number_of_rows() -> None:
    out = io.StringIO()
    writer = TableWriter(Console(file=out, width=200, color_system=None), max_rows=2)
    for _ in range(5):
        writer.write(refused_result(), WHEN)
    writer.close()
    assert out.getvalue().count("10.0.0.9:3390") == 2
    assert "3 more results not shown" in out.getvalue()


def test_a_table_written_to_a_file_is_drawn_wide_and_cuts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr("rdpprobe.output.terminal_width", lambda: None)  # As in CI: no terminal about.
    out = io.StringIO()
    writer = make_writer("table", out)
    long = refused_result()
    long["target"] = {"host": "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe", "port": 3389,
                      "address": "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe"}
    long["detail"] = "stopped after the NTLM challenge, as asked"
    writer.write(long, WHEN)
    writer.close()
    lines = out.getvalue().splitlines()
    assert max(map(len, lines)) > 80  # rich would draw 80 columns to a non-terminal.
    assert any("[2001:db8:ffff:ffff:ffff:ffff:ffff:fffe]:3389" in line and long["detail"] in line for line in lines)
    assert "…" not in out.getvalue()


@pytest.mark.parametrize(("terminal", "width"), [(None, WIDE), (100, 100)])
def test_output_to_a_pipe_takes_the_width_of_the_terminal_the_user_is_at(
    terminal: int | None, width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr("rdpprobe.output.terminal_width", lambda: terminal)
    with os.fdopen(os.pipe()[1], "w") as pipe:
        assert console_for(pipe).width == width
    assert console_for(io.StringIO()).width == width  # No descriptor: taken as a pipe.


def test_output_to_a_file_is_wide_whatever_the_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``scan --format table -o results.txt`` from an 80-column terminal cuts no cell."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr("rdpprobe.output.terminal_width", lambda: 80)
    with open(tmp_path / "results.txt", "w", encoding="utf-8") as file:
        assert console_for(file).width == WIDE


def test_columns_in_the_environment_is_the_width_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr("rdpprobe.output.terminal_width", lambda: 80)
    assert console_for(io.StringIO()).width == 200


def test_a_narrow_terminal_folds_cells_instead_of_cutting_them() -> None:
    out = io.StringIO()
    writer = TableWriter(Console(file=out, width=60, color_system=None))
    writer.write(refused_result() | {"target": {"host": "rdp-gateway-17.branch.corp.example", "port": 3389}}, WHEN)
    writer.close()
    target_cells = [line.split("│")[1].strip() for line in out.getvalue().splitlines() if line.startswith("│")]
    assert "".join(target_cells) == "rdp-gateway-17.branch.corp.example:3389"
    assert "…" not in out.getvalue()  # Nor is any other cell cut: "tcp_connect", "port_closed".


@pytest.mark.parametrize(
    ("fmt", "kind"), [("jsonl", JsonlWriter), ("csv", CsvWriter), ("table", TableWriter)]
)
def test_make_writer(fmt: str, kind: type) -> None:
    assert isinstance(make_writer(fmt, io.StringIO()), kind)


def test_make_writer_rejects_unknown_formats() -> None:
    with pytest.raises(ValueError, match="unknown output format 'xml'"):
        make_writer("xml", io.StringIO())


# --- summary --------------------------------------------------------------------------------


def test_summary_counts_by_category_and_ms_code() -> None:
    summary = Summary()
    for body in (failed_result(), failed_result(), refused_result()):
        summary.add(body)
    summary.add(HasToDict(refused_result()))
    assert summary.total == 4
    assert summary.by_category == {"auth_failed": 2, "port_closed": 2}
    assert summary.by_ms_code == {"0x904": 2, "none": 2}
    out = io.StringIO()
    summary.render(Console(file=out, width=120, color_system=None))
    assert "auth_failed" in out.getvalue() and "0x904" in out.getvalue()


# --- the schema -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validator() -> Validator:
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def test_schema_enums_match_the_python_enums() -> None:
    schema = load_schema()
    assert schema["properties"]["signal"]["enum"] == [s.value for s in Signal]
    assert schema["$defs"]["phase"]["enum"] == [p.value for p in Phase]
    assert schema["properties"]["schema_version"]["const"] == SCHEMA_VERSION


def test_schema_requires_the_documented_keys() -> None:
    assert set(load_schema()["required"]) == {
        "schema_version", "timestamp", "ip", "port", "hostname", "target", "phase_reached",
        "failed_phase", "signal", "detail", "verdict", "timings", "facts",
    }  # fmt: skip


@pytest.mark.parametrize("make", [failed_result, refused_result])
def test_sample_envelopes_validate(validator: Validator, make: Any) -> None:
    validator.validate(envelope(make(), WHEN))


def test_every_line_a_jsonl_writer_emits_validates(validator: Validator) -> None:
    stream = io.StringIO()
    writer = JsonlWriter(stream)
    for make in (failed_result, refused_result):
        writer.write(make(), WHEN)
    for line in stream.getvalue().splitlines():
        validator.validate(json.loads(line))


def test_a_real_probe_result_validates(validator: Validator) -> None:
    from rdpprobe.result import Target, internal_error_result

    result = internal_error_result(Target("10.0.0.1", 3389, "10.0.0.1"), WHEN, "boom", Phase.TLS)
    validator.validate(envelope(result, WHEN))


@pytest.mark.parametrize("scenario", ["windows-tls", "windows-nla", "ssl-required"])
def test_check_json_and_to_dict_are_the_scan_line(validator: Validator, scenario: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """One result, one JSON form: ``check --json``, ``to_dict()`` and a scan's line agree and
    validate against the schema."""
    from rdpprobe import probe
    from rdpprobe.cli import main
    from rdpprobe.mock.server import MockRdpServer

    with MockRdpServer(scenario) as server:
        host, port = server.address
        result = probe(f"{host}:{port}", timeout=5, deadline=10)
        main(["check", f"{host}:{port}", "--json", "--timeout", "5", "--deadline", "10"])
    checked = json.loads(capsys.readouterr().out)
    validator.validate(checked)
    validator.validate(result.to_dict())
    assert result.to_dict() == envelope(result, result.started_at)  # The scan's line, byte for byte.
    stream = io.StringIO()
    JsonlWriter(stream).write(result, result.started_at)
    assert stream.getvalue() == json.dumps(result.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n"
    assert list(checked)[:5] == ["schema_version", "timestamp", "ip", "port", "hostname"]
    assert (checked["ip"], checked["port"], checked["hostname"]) == (host, port, None)


def _set(path: tuple[str, ...], value: Any) -> Any:
    def mutate(record: dict[str, Any]) -> None:
        node = record
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


def _drop(key: str) -> Any:
    return lambda record: record.pop(key)


BROKEN = [
    ("missing verdict", _drop("verdict")),
    ("missing facts", _drop("facts")),
    ("missing timestamp", _drop("timestamp")),
    ("unknown signal", _set(("signal",), "exploded")),
    ("unknown phase", _set(("phase_reached",), "handshake")),
    ("phase in timings", _set(("timings",), {"warp": 0.1})),
    ("negative timing", _set(("timings",), {"tls": -1.0})),
    ("ms code not hex", _set(("verdict", "ms_client", "code"), "516")),
    ("ms code uppercase", _set(("verdict", "ms_client", "code"), "0X204")),
    ("ms code without int", lambda r: r["verdict"]["ms_client"].pop("code_int")),
    ("freerdp not a string", _set(("verdict", "freerdp"), 7)),
    ("causes not an array", _set(("verdict", "causes"), "wrong password")),
    ("timestamp not utc", _set(("timestamp",), "2024-05-17T09:30:01+02:00")),
    ("timestamp not a date", _set(("timestamp",), "yesterday")),
    ("wrong schema version", _set(("schema_version",), 2)),
    ("port out of range", _set(("port",), 70000)),
    ("facts not an object", _set(("facts",), [])),
    ("nla_required not a bool", _set(("facts", "nla_required"), "yes")),
]


@pytest.mark.parametrize(("name", "mutate"), BROKEN, ids=[name for name, _ in BROKEN])
def test_broken_envelopes_fail(validator: Validator, name: str, mutate: Any) -> None:
    record = copy.deepcopy(envelope(failed_result(), WHEN))
    mutate(record)
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(record)
