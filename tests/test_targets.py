"""Targets in: spec parsing, sources, de-duplication, exclusions, order, sharding, counting."""

from __future__ import annotations

import codecs
import io
import ipaddress
import itertools
import re
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdpprobe.addresses import is_non_unicast
from rdpprobe.intervals import Intervals, Permutation, subtract
from rdpprobe.targets import (
    Exclusions,
    LeftOut,
    Target,
    TargetError,
    TargetFile,
    count_targets,
    iter_targets,
    parse_ports,
    parse_shard,
    parse_spec,
)

V4 = 4
V6 = 6
MIB = 1024 * 1024
SLASH8_SIZE = 1 << 24


def ip(text: str) -> int:
    return int(ipaddress.ip_address(text))


def hosts(targets: list[Target]) -> list[str]:
    return [f"{t.host}:{t.port}" for t in targets]


# --- parse_spec -----------------------------------------------------------------------------

GOOD_SPECS = [
    # text, port, name, version, first, last
    ("host", 3389, "host", 0, 0, 0),
    ("rdp-01.corp.example.com:3390", 3390, "rdp-01.corp.example.com", 0, 0, 0),
    ("1.2.3.4", 3389, None, V4, ip("1.2.3.4"), ip("1.2.3.4")),
    ("1.2.3.4:3390", 3390, None, V4, ip("1.2.3.4"), ip("1.2.3.4")),
    ("[::1]:3390", 3390, None, V6, 1, 1),
    ("::1", 3389, None, V6, 1, 1),
    ("[::1]", 3389, None, V6, 1, 1),
    ("10.0.0.0/24", 3389, None, V4, ip("10.0.0.0"), ip("10.0.0.255")),
    ("10.0.0.0/24:3390", 3390, None, V4, ip("10.0.0.0"), ip("10.0.0.255")),
    ("10.0.0.77/24", 3389, None, V4, ip("10.0.0.0"), ip("10.0.0.255")),
    ("[2001:db8::/120]:3390", 3390, None, V6, ip("2001:db8::"), ip("2001:db8::ff")),
    ("10.0.0.1-10.0.0.20", 3389, None, V4, ip("10.0.0.1"), ip("10.0.0.20")),
    ("10.0.0.1-20", 3389, None, V4, ip("10.0.0.1"), ip("10.0.0.20")),
    ("10.0.0.1-20:3390", 3390, None, V4, ip("10.0.0.1"), ip("10.0.0.20")),
    ("10.0.0.250-10.0.1.5", 3389, None, V4, ip("10.0.0.250"), ip("10.0.1.5")),
    ("[2001:db8::1-2001:db8::9]:3390", 3390, None, V6, ip("2001:db8::1"), ip("2001:db8::9")),
    ("  10.0.0.1  ", 3389, None, V4, ip("10.0.0.1"), ip("10.0.0.1")),
]


@pytest.mark.parametrize(("text", "port", "name", "version", "first", "last"), GOOD_SPECS)
def test_parse_spec_accepts(
    text: str, port: int, name: str | None, version: int, first: int, last: int
) -> None:
    spec = parse_spec(text)
    assert (spec.port, spec.name, spec.version) == (port, name, version)
    if name is None:
        assert (spec.first, spec.last) == (first, last)


def test_parse_spec_default_port() -> None:
    assert parse_spec("10.0.0.1", default_port=3390).port == 3390
    assert parse_spec("10.0.0.1:3391", default_port=3390).port == 3391


BAD_SPECS = [
    ("1.2.3.4:99999", "invalid port '99999' in '1.2.3.4:99999'"),
    ("1.2.3.4:0", "invalid port '0'"),
    ("1.2.3.4:rdp", "invalid port 'rdp'"),
    ("host:", "invalid port ''"),
    ("[::1]:", "invalid port ''"),
    ("", "empty target"),
    ("   ", "empty target"),
    (":3389", "empty host"),
    ("10.0.0.0/33", "invalid network '10.0.0.0/33'"),
    ("10.0.0.0/x", "invalid network"),
    ("bad!host", "illegal character '!' in host name in 'bad!host'"),
    ("bad host", "illegal character ' '"),
    ("héllo", "illegal character 'é'"),
    ("a..b", "label '' is empty"),
    ("-rf", "starts or ends with '-'"),
    ("10.0.0.256", "invalid ip address in '10.0.0.256'"),
    ("1.2.3", "invalid ip address"),
    ("10.0.0.20-5", "backwards range: end 10.0.0.5 is before 10.0.0.20"),
    ("10.0.0.20-10.0.0.1", "backwards range"),
    ("10.0.0.1-300", "invalid range end '300'"),
    ("10.0.0.1-x", "invalid range end 'x'"),
    ("1.2.3.4-::1", "range mixes ipv4 and ipv6"),
    ("[::1", "missing ']'"),
    ("[::1]x", "unexpected 'x' after ']'"),
    ("[10.0.0.1]:3389", "brackets are only for ipv6 addresses"),
    ("[host]:3389", "brackets are only for ipv6 addresses"),
    ("a" * 64 + ".example", "over 63 chars"),
    (".".join(["abcdefgh"] * 30), "longer than 253"),
]


@pytest.mark.parametrize(("text", "message"), BAD_SPECS)
def test_parse_spec_rejects_with_one_line_naming_source(text: str, message: str) -> None:
    with pytest.raises(TargetError) as info:
        parse_spec(text, where="targets.txt:3")
    assert str(info.value).startswith("targets.txt:3: ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert info.value.where == "targets.txt:3"


def test_parse_spec_error_example_from_the_issue() -> None:
    with pytest.raises(TargetError) as info:
        parse_spec("1.2.3.4:99999", where="targets.txt:3")
    assert str(info.value) == "targets.txt:3: invalid port '99999' in '1.2.3.4:99999'"


def test_bare_ipv6_never_carries_a_port() -> None:
    spec = parse_spec("::1:3390")
    assert (spec.version, spec.port, spec.first) == (V6, 3389, ip("::1:3390"))


def test_parsing_names_does_no_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("target parsing must not resolve names")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "gethostbyname", refuse)
    assert list(iter_targets(["dc01.corp.example:3390"])) == [
        Target("dc01.corp.example", 3390, None)
    ]


# --- sources --------------------------------------------------------------------------------


def test_argv_specs_in_input_order() -> None:
    got = list(iter_targets(["10.0.0.0/31", "host", "[::1]:3390", "10.0.0.5-6"]))
    assert hosts(got) == [
        "10.0.0.0:3389", "10.0.0.1:3389", "host:3389", "::1:3390", "10.0.0.5:3389", "10.0.0.6:3389"
    ]  # fmt: skip
    assert got[0] == Target("10.0.0.0", 3389, "10.0.0.0")
    assert got[2].address is None


def test_file_with_comments_blank_lines_and_several_specs_a_line(tmp_path: Path) -> None:
    path = tmp_path / "targets.txt"
    path.write_text("# office\n\n10.0.0.1  # reception\n10.0.0.2, 10.0.0.3 host-a:3390\n   \n")
    got = list(iter_targets([TargetFile(str(path))]))
    assert hosts(got) == ["10.0.0.1:3389", "10.0.0.2:3389", "10.0.0.3:3389", "host-a:3390"]


def test_file_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "targets.txt"
    path.write_text("10.0.0.1\n# fine\n1.2.3.4:99999\n")
    targets = iter_targets([TargetFile(str(path))])
    assert next(targets).host == "10.0.0.1"
    with pytest.raises(TargetError) as info:
        next(targets)
    assert str(info.value) == f"{path}:3: invalid port '99999' in '1.2.3.4:99999'"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16-le", "utf-16-be", "utf-16"])
def test_a_file_with_a_byte_order_mark_is_read_in_its_encoding(encoding: str, tmp_path: Path) -> None:
    """Notepad marks UTF-8; PowerShell 5's ``>`` writes UTF-16 LE with a mark and CRLF."""
    path = tmp_path / "targets.txt"
    text = "10.0.0.1\r\nhost-a:3390  # reception\r\n"
    path.write_bytes({"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}.get(encoding, b"")
                     + text.encode(encoding))
    assert hosts(list(iter_targets([TargetFile(str(path))]))) == ["10.0.0.1:3389", "host-a:3390"]


def test_a_file_in_utf16_without_a_mark_is_an_error_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "targets.txt"
    path.write_bytes("10.0.0.1\n".encode("utf-16-le"))
    with pytest.raises(TargetError, match=rf"^{re.escape(str(path))}:1: "):
        list(iter_targets([TargetFile(str(path))]))


def test_standard_input_may_start_with_a_byte_order_mark(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("\ufeff10.0.0.1\n10.0.0.2\n"))
    assert hosts(list(iter_targets(["-"]))) == ["10.0.0.1:3389", "10.0.0.2:3389"]


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.txt")
    with pytest.raises(TargetError, match="cannot read target file"):
        list(iter_targets([TargetFile(missing)]))


@pytest.mark.parametrize("source", ["-", TargetFile("-")])
def test_stdin(monkeypatch: pytest.MonkeyPatch, source: str | TargetFile) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("10.0.0.1\n# c\n10.0.0.2:3390\nbad!\n"))
    targets = iter_targets([source])
    assert hosts(list(itertools.islice(targets, 2))) == ["10.0.0.1:3389", "10.0.0.2:3390"]
    with pytest.raises(TargetError, match=r"^<stdin>:4: illegal character '!'"):
        next(targets)


# --- laziness -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [None, 1234])
def test_slash8_streams_without_materialising(seed: int | None) -> None:
    tracemalloc.start()
    try:
        started = time.perf_counter()
        targets = iter_targets(["10.0.0.0/8"], seed=seed)
        seen = 0
        for target in targets:
            assert target.host.startswith("10.")
            seen += 1
            if seen == 1000:
                break
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MIB
    assert elapsed < 2.0


def test_slash8_count_is_exact_without_enumerating() -> None:
    assert count_targets(["10.0.0.0/8"]) == SLASH8_SIZE
    assert count_targets(["::/64"], keep_non_unicast=True) == 1 << 64


# --- addresses no host has ------------------------------------------------------------------

#: 0.0.0.0/8, 224.0.0.0/4 and 240.0.0.0/4 (the last with the broadcast address).
IPV4_NON_UNICAST = SLASH8_SIZE + 2 * (1 << 28)
#: Their IPv4-mapped forms and ::; ff00::/8 lies outside ::/64.
SLASH64_NON_UNICAST = 1 + IPV4_NON_UNICAST


def test_addresses_no_host_has_are_left_out_and_counted() -> None:
    left_out = LeftOut()
    specs = ["223.255.255.254-224.0.0.1", "255.255.255.255", "0.0.0.0", "[ff02::1]:3390", "::", "::1", "[::ffff:224.0.0.9]"]
    assert hosts(list(iter_targets(specs, left_out=left_out))) == ["223.255.255.254:3389", "223.255.255.255:3389", "::1:3389"]
    assert left_out.non_unicast == 7
    kept = hosts(list(iter_targets(specs, keep_non_unicast=True)))
    assert len(kept) == 10 and "255.255.255.255:3389" in kept and "ff02::1:3390" in kept


def test_what_is_excluded_or_repeated_is_not_also_counted_as_non_unicast() -> None:
    left_out = LeftOut()
    specs = ["224.0.0.0/30", "224.0.0.0/29", "224.0.0.7"]
    assert list(iter_targets(specs, excludes=["224.0.0.4/31"], left_out=left_out)) == []
    assert left_out.non_unicast == 6  # 224.0.0.0-7, less the two excluded; each counted once.


def test_the_count_agrees_with_the_targets_when_non_unicast_addresses_are_left_out() -> None:
    assert count_targets(["0.0.0.0/0"]) == (1 << 32) - IPV4_NON_UNICAST
    assert count_targets(["0.0.0.0/0"], keep_non_unicast=True) == 1 << 32
    assert count_targets(["::/64"]) == (1 << 64) - SLASH64_NON_UNICAST
    specs = ["239.255.255.250-240.0.0.3", "0.255.255.254/31", "1.0.0.0/31"]
    assert count_targets(specs) == len(list(iter_targets(specs))) == 2
    assert count_targets(specs, keep_non_unicast=True) == len(list(iter_targets(specs, keep_non_unicast=True))) == 14


@given(st.integers(0, (1 << 32) - 1), st.integers(0, 600))
def test_a_range_keeps_exactly_its_unicast_addresses(first: int, width: int) -> None:
    last = min(first + width, (1 << 32) - 1)
    spec = f"{ipaddress.IPv4Address(first)}-{ipaddress.IPv4Address(last)}"
    left_out = LeftOut()
    got = [ipaddress.IPv4Address(t.host) for t in iter_targets([spec], left_out=left_out)]
    expected = [a for a in map(ipaddress.IPv4Address, range(first, last + 1)) if not is_non_unicast(str(a))]
    assert got == expected and left_out.non_unicast == last - first + 1 - len(expected)


# --- de-duplication -------------------------------------------------------------------------


def test_overlapping_ranges_and_hosts_are_deduplicated_in_input_order() -> None:
    specs = ["10.0.0.2", "10.0.0.0/30", "10.0.0.1-5", "10.0.0.3", "10.0.0.2:3390", "HOST", "host."]
    got = hosts(list(iter_targets(specs)))
    assert got == [
        "10.0.0.2:3389", "10.0.0.0:3389", "10.0.0.1:3389", "10.0.0.3:3389",
        "10.0.0.4:3389", "10.0.0.5:3389", "10.0.0.2:3390", "HOST:3389",
    ]  # fmt: skip


def test_dedupe_off_keeps_duplicates() -> None:
    got = hosts(list(iter_targets(["10.0.0.1", "10.0.0.0/31", "10.0.0.1"], dedupe=False)))
    assert got == ["10.0.0.1:3389", "10.0.0.0:3389", "10.0.0.1:3389", "10.0.0.1:3389"]


def test_dedupe_holds_under_shuffling() -> None:
    specs = ["10.0.0.0/24", "10.0.0.128/25", "10.0.0.7", "10.0.1.0/24", "10.0.0.200-10.0.1.10"]
    got = list(iter_targets(specs, seed=99))
    assert len(got) == len(set(got)) == 512


# --- exclusions -----------------------------------------------------------------------------


def test_exclusions_of_every_kind(tmp_path: Path) -> None:
    exclude_file = tmp_path / "exclude.txt"
    exclude_file.write_text("# never touch\n10.0.0.10-12\n")
    excludes = ["10.0.0.0/29", "10.0.0.20", "printer", "10.0.0.30:3390"]
    excludes.append(TargetFile(str(exclude_file)))
    specs = ["10.0.0.0/27", "printer", "PRINTER:3390", "10.0.0.30:3390", "10.0.0.31:3390"]
    got = hosts(list(iter_targets(specs, excludes=excludes)))
    removed = {f"10.0.0.{i}:3389" for i in (*range(8), 10, 11, 12, 20)}
    assert got == [f"10.0.0.{i}:3389" for i in range(32) if f"10.0.0.{i}:3389" not in removed] + [
        "10.0.0.31:3390"
    ]


def test_exclusion_file_errors_surface_before_any_target(tmp_path: Path) -> None:
    bad = tmp_path / "exclude.txt"
    bad.write_text("10.0.0.1\n10.0.0.0/99\n")
    with pytest.raises(TargetError, match=r"exclude\.txt:2: invalid network"):
        iter_targets(["10.0.0.0/24"], excludes=[TargetFile(str(bad))])


def test_exclusions_answer_the_engine_about_resolved_addresses() -> None:
    exclusions = Exclusions.from_sources(["10.0.0.0/24", "[2001:db8::1]:3390", "Printer."])
    assert exclusions.covers("10.0.0.77", 3389) and exclusions.covers("10.0.0.77", 1)
    assert not exclusions.covers("10.0.1.1", 3389)
    assert exclusions.covers("2001:db8::1", 3390) and not exclusions.covers("2001:db8::1", 3389)
    assert exclusions.covers_name("printer", 3389) and not exclusions.covers_name("fax", 3389)
    assert hosts(list(iter_targets(["10.0.0.255-10.0.1.1"], excludes=exclusions))) == [
        "10.0.1.0:3389", "10.0.1.1:3389"
    ]  # fmt: skip


# --- order ----------------------------------------------------------------------------------


def test_seed_none_is_input_order_and_seed_shuffles_deterministically() -> None:
    plain = list(iter_targets(["10.0.0.0/24"]))
    first = list(iter_targets(["10.0.0.0/24"], seed=5))
    again = list(iter_targets(["10.0.0.0/24"], seed=5))
    other = list(iter_targets(["10.0.0.0/24"], seed=6))
    assert [int(ipaddress.ip_address(t.host)) & 0xFF for t in plain] == list(range(256))
    assert first == again
    assert first != plain and first != other
    assert sorted(first, key=lambda t: ip(t.host)) == plain


def test_shuffled_neighbours_are_rarely_adjacent() -> None:
    order = [ip(t.host) for t in iter_targets(["10.0.0.0/16"], seed=11)]
    adjacent = sum(1 for a, b in itertools.pairwise(order) if abs(a - b) == 1)
    assert adjacent < len(order) // 100


def test_shuffle_interleaves_sources_and_subnets() -> None:
    specs = ["10.1.0.0/24", "10.2.0.0/24", "10.3.0.0/24", "10.4.0.0/24"]
    got = list(iter_targets(specs, seed=3))
    head_subnets = {t.host.split(".")[1] for t in got[:16]}
    assert head_subnets == {"1", "2", "3", "4"}
    subnets = [t.host.split(".")[1] for t in got]
    runs = sum(1 for a, b in itertools.pairwise(subnets) if a == b)
    assert runs < len(got) // 2


@given(size=st.integers(min_value=1, max_value=3000), seed=st.integers(), salt=st.integers(0, 9))
def test_permutation_is_a_bijection(size: int, seed: int, salt: int) -> None:
    permutation = Permutation.keyed(size, seed, salt)
    assert sorted(map(permutation, range(size))) == list(range(size))


def test_permutation_handles_ipv6_sized_domains() -> None:
    permutation = Permutation.keyed(1 << 128, 1, 0)
    images = {permutation(i) for i in range(100)}
    assert len(images) == 100 and all(0 <= x < 1 << 128 for x in images)


# --- ports ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3389", (3389,)), ("3389,3390", (3389, 3390)), ("10-12,11,3389", (10, 11, 12, 3389)),
     (" 1 , 2", (1, 2)), ("65535", (65535,))],
)  # fmt: skip
def test_parse_ports_keeps_each_port_once_in_the_order_given(text: str, expected: tuple[int, ...]) -> None:
    assert parse_ports(text) == expected


def test_every_port_is_a_port_list() -> None:
    assert parse_ports("1-65535") == tuple(range(1, 65536))


@pytest.mark.parametrize(
    ("text", "message"),
    [("0", "invalid port '0' in '0'"), ("65536", "invalid port '65536'"), ("3-1", "backwards port range '3-1'"),
     ("", "invalid port ''"), (",3389", "invalid port '' in ',3389'"), ("3389-", "invalid port ''"),
     ("1-2-3", "invalid port '2-3'"), ("٣٣٨٩", "invalid port")],
)  # fmt: skip
def test_parse_ports_rejects_with_the_option_named(text: str, message: str) -> None:
    with pytest.raises(TargetError, match=f"^--port: {re.escape(message)}"):
        parse_ports(text)


def test_a_spec_without_a_port_is_one_target_per_port() -> None:
    specs = ["10.0.0.1", "10.0.0.2:3390", "[::1]", "host", "10.0.0.1:3390", "10.0.0.0/31"]
    got = hosts(list(iter_targets(specs, ports=(3389, 3390))))
    assert got == [
        "10.0.0.1:3389", "10.0.0.1:3390", "10.0.0.2:3390", "::1:3389", "::1:3390", "host:3389", "host:3390",
        "10.0.0.0:3389", "10.0.0.0:3390",  # 10.0.0.1 on both ports came first.
    ]  # fmt: skip
    assert count_targets(specs, ports=(3389, 3390)) == len(got)


def test_an_exclusion_with_a_port_leaves_the_others() -> None:
    got = hosts(list(iter_targets(["10.0.0.1-2"], excludes=["10.0.0.1:3390", "10.0.0.2"], ports=(3389, 3390))))
    assert got == ["10.0.0.1:3389"]


@pytest.mark.parametrize("ports", [(), (0,), (3389, 70000)])
def test_impossible_port_lists_are_refused(ports: tuple[int, ...]) -> None:
    with pytest.raises(TargetError, match="^--port: "):
        iter_targets(["10.0.0.1"], ports=ports)


# --- sharding -------------------------------------------------------------------------------


SHARD_SPECS = [
    "10.0.0.0/25", "10.0.0.100-10.0.0.140", "host-a", "[2001:db8::/124]:3390", "10.0.0.3"
]  # fmt: skip


@pytest.mark.parametrize("ports", [(3389,), (3389, 3390, 5000)])
@pytest.mark.parametrize("seed", [None, 42])
@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_shards_partition_the_target_set_exactly(seed: int | None, count: int, ports: tuple[int, ...]) -> None:
    whole = list(iter_targets(SHARD_SPECS, seed=seed, ports=ports))
    parts = [list(iter_targets(SHARD_SPECS, shard=(i, count), seed=seed, ports=ports)) for i in range(count)]
    union = [t for part in parts for t in part]
    assert len(union) == len(set(union)) == len(whole)
    assert set(union) == set(whole)
    for i, part in enumerate(parts):
        assert part == whole[i::count]
        assert count_targets(SHARD_SPECS, shard=(i, count), seed=seed, ports=ports) == len(part)


@pytest.mark.parametrize(
    ("text", "expected"), [("0/1", (0, 1)), ("2/4", (2, 4)), ("0/4", (0, 4))]
)
def test_parse_shard(text: str, expected: tuple[int, int]) -> None:
    assert parse_shard(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [("4/4", "shard index 4 out of range 0..3"), ("1/0", "invalid shard count 0"),
     ("a/4", "invalid shard 'a/4'"), ("1", "invalid shard '1'"), ("-1/4", "invalid shard")],
)  # fmt: skip
def test_parse_shard_rejects(text: str, message: str) -> None:
    with pytest.raises(TargetError, match=message):
        parse_shard(text)


def test_iter_targets_checks_the_shard_eagerly() -> None:
    with pytest.raises(TargetError, match="shard index 3 out of range"):
        iter_targets(["10.0.0.1"], shard=(3, 3))


# --- counting -------------------------------------------------------------------------------


def test_count_is_none_for_stdin() -> None:
    assert count_targets(["10.0.0.1", "-"]) is None
    assert count_targets([TargetFile("-")]) is None


def test_count_reads_files(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("10.0.0.0/24\n10.0.0.5\nhost\n")
    assert count_targets([TargetFile(str(path))], excludes=["10.0.0.0/26"]) == 192 + 1


# --- a model check: everything against a naive set computation -------------------------------

small_v4 = st.integers(min_value=0, max_value=63).map(lambda n: f"10.0.0.{n}")


@st.composite
def small_specs(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["host", "range", "cidr", "name"]))
    port = draw(st.sampled_from(["", ":3390"]))
    if kind == "host":
        return draw(small_v4) + port
    if kind == "name":
        return draw(st.sampled_from(["a", "b", "A"])) + port
    if kind == "cidr":
        prefix = draw(st.integers(min_value=27, max_value=32))
        return f"10.0.0.{draw(st.integers(0, 63))}/{prefix}{port}"
    low, high = sorted(draw(st.lists(st.integers(0, 63), min_size=2, max_size=2)))
    return f"10.0.0.{low}-{high}{port}"


def naive(specs: list[str], excludes: list[str]) -> list[tuple[str, int]]:
    def members(text: str) -> list[tuple[str, int]]:
        spec = parse_spec(text)
        if spec.name is not None:
            return [(spec.name.lower(), spec.port)]
        return [(str(ipaddress.ip_address(v)), spec.port) for v in range(spec.first, spec.last + 1)]

    banned = {m[0] for e in excludes for m in members(e)}
    seen: dict[tuple[str, int], None] = {}
    for text in specs:
        for member in members(text):
            if member[0] not in banned:
                seen.setdefault(member)
    return list(seen)


@given(
    specs=st.lists(small_specs(), max_size=8),
    excludes=st.lists(st.one_of(small_v4, st.just("a")), max_size=3),
    seed=st.one_of(st.none(), st.integers(0, 2**32)),
    count=st.integers(1, 4),
)
def test_targets_match_a_naive_model(
    specs: list[str], excludes: list[str], seed: int | None, count: int
) -> None:
    expected = naive(specs, excludes)
    whole = [(t.host.lower(), t.port) for t in iter_targets(specs, excludes=excludes, seed=seed)]
    assert sorted(whole) == sorted(expected)
    if seed is None:
        assert whole == expected
    assert count_targets(specs, excludes=excludes) == len(expected)
    parts = [list(iter_targets(specs, excludes, (i, count), seed)) for i in range(count)]
    assert sorted((t.host.lower(), t.port) for p in parts for t in p) == sorted(expected)


# --- interval arithmetic --------------------------------------------------------------------


@given(st.lists(st.tuples(st.integers(0, 100), st.integers(0, 20)), max_size=12))
def test_intervals_merge_and_subtract_like_sets(pairs: list[tuple[int, int]]) -> None:
    intervals = Intervals()
    members: set[int] = set()
    for start, width in pairs:
        intervals.add(start, start + width)
        members.update(range(start, start + width + 1))
    assert {v for v in range(130) if v in intervals} == members
    left = subtract([(0, 130)], intervals.overlapping)
    assert {v for a, b in left for v in range(a, b + 1)} == set(range(131)) - members


def test_targets_given_excluded_and_repeated_are_counted() -> None:
    left_out = LeftOut()
    specs = ["10.0.0.0/30", "10.0.0.1", "host.example", "HOST.example.", "224.0.0.1", "other.example"]
    got = list(iter_targets(specs, excludes=["10.0.0.2", "other.example"], ports=(1, 2), left_out=left_out))
    assert len(got) == 8  # 10.0.0.0, .1 and .3, and host.example, on each port.
    assert (left_out.given, left_out.excluded, left_out.repeated, left_out.non_unicast) == (18, 4, 4, 2)
    assert left_out.kept == len(got)


def test_an_input_left_empty_by_exclusions_says_how_much_was_given() -> None:
    left_out = LeftOut()
    assert list(iter_targets(["10.0.0.0/24"], excludes=["10.0.0.0/24"], left_out=left_out)) == []
    assert (left_out.given, left_out.excluded, left_out.kept) == (256, 256, 0)
