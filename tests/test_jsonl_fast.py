"""The JSON lines' fast encoder writes exactly the bytes of the stdlib's ``json``."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdpprobe.demo import run_demo
from rdpprobe.output import envelope, jsonl_line, text_json

STDLIB = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
WHEN = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


@pytest.fixture(scope="module")
def real_results() -> list[Any]:
    """A result of every built-in mock scenario, as rdpprobe's probe gives it."""
    return [row.result for row in asyncio.run(run_demo())]


def test_every_scenario_s_line_is_the_stdlib_s(real_results: list[Any]) -> None:
    assert len(real_results) > 50
    for result in real_results:
        record = envelope(result, WHEN)
        assert text_json(record) == STDLIB.encode(record)
        assert jsonl_line(result, WHEN) == STDLIB.encode(record) + "\n"


floats = st.floats(allow_nan=False, allow_infinity=False)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), floats, st.text(max_size=12))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(values)
def test_any_json_value_is_encoded_as_the_stdlib_does(value: Any) -> None:
    assert text_json(value) == STDLIB.encode(value)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["dns", "tcp_connect", "tls"]), st.one_of(st.floats(), scalars), max_size=3), values)
def test_timings_of_any_floats_are_written_as_the_stdlib_does(timings: dict[str, Any], rest: Any) -> None:
    record = {"detail": rest, "timings": timings, "after": rest}
    assert text_json(record) == STDLIB.encode(record)


@pytest.mark.parametrize("value", [1.5e-05, 1e-07, 9.9e-05, 1e16, 1.5e16, -1e-05, 2**64, "\ud800", {1: "a"}, (1, 2)])
def test_what_orjson_writes_otherwise_goes_to_the_stdlib(value: Any) -> None:
    assert text_json({"timings": {"dns": value}}) == STDLIB.encode({"timings": {"dns": value}})


def test_what_the_stdlib_refuses_is_still_refused() -> None:
    with pytest.raises(TypeError):
        text_json({"when": WHEN})
