"""The classification table: every taxonomy row (reference §4.1), refinements, and totality."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdpprobe.classify import (
    DEFAULT_ROUTES,
    PHASE_ROUTES,
    ROW,
    ROWS,
    Detail,
    classify,
    classify_certificate,
)
from rdpprobe.result import Verdict, verdict_to_dict
from rdpprobe.sequence.phases import Phase
from rdpprobe.signals import Signal

P = Phase
S = Signal

#: Every row of taxonomy §4.1 (S3 comes from classify_certificate).
TAXONOMY_ROWS = (
    "D1 T1 T2 T3 X1 X2 X3 X4 X5 N1 N2 N3 N4 N5 N6 S1 S2 S3 C1 C2 C3 C4 C5 C6 "
    "M1 M2 M3 R1 L1 E1 E2 E3 A1 OK"
).split()

# (phase, signal, detail, taxonomy id, mstsc code, FreeRDP name, category)
# fmt: off
ROW_CASES = [
    (P.DNS, S.DNS_FAILURE, None, "D1", 0x104, "ERRCONNECT_DNS_NAME_NOT_FOUND", "dns_failure"),
    (P.TCP_CONNECT, S.REFUSED, None, "T1", 0x204, "ERRCONNECT_CONNECT_FAILED", "port_closed"),
    (P.TCP_CONNECT, S.TIMEOUT, None, "T2", 0x204, "ERRCONNECT_CONNECT_FAILED", "filtered"),
    (P.TCP_CONNECT, S.UNREACHABLE, None, "T3", 0x204, "ERRCONNECT_CONNECT_FAILED", "unreachable"),
    (P.CONNECTION_INITIATION, S.EOF, None, "X1", 0x4, "ERRCONNECT_CONNECT_TRANSPORT_FAILED",
     "connection_dropped"),
    (P.CONNECTION_INITIATION, S.RESET, None, "X2", 0x4, "ERRCONNECT_CONNECT_TRANSPORT_FAILED",
     "connection_reset"),
    (P.CONNECTION_INITIATION, S.SILENT, None, "X3", 0x204, "ERRCONNECT_CONNECT_TRANSPORT_FAILED",
     "no_response"),
    (P.CONNECTION_INITIATION, S.NOT_RDP, Detail(not_rdp_kind="ssh"), "X4", 0x4,
     "ERRCONNECT_CONNECT_TRANSPORT_FAILED", "not_rdp"),
    (P.CONNECTION_INITIATION, S.OK, Detail(legacy_no_negotiation=True), "X5", None, None, "ok"),
    (P.CONNECTION_INITIATION, S.NEG_FAILURE, Detail(neg_failure_code=1), "N1", None,
     "ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED", "negotiation_refused"),
    (P.CONNECTION_INITIATION, S.NEG_FAILURE, Detail(neg_failure_code=2), "N2", None,
     "ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED", "negotiation_refused"),
    (P.CONNECTION_INITIATION, S.NEG_FAILURE, Detail(neg_failure_code=3), "N3", 0x4,
     "ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED", "negotiation_refused"),
    (P.CONNECTION_INITIATION, S.NEG_FAILURE, Detail(neg_failure_code=4), "N4", None,
     "ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED", "negotiation_refused"),
    (P.CONNECTION_INITIATION, S.NEG_FAILURE, Detail(neg_failure_code=5), "N5", None,
     "ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED", "negotiation_refused"),
    (P.CONNECTION_INITIATION, S.NEG_FAILURE, Detail(neg_failure_code=6), "N6", None,
     "ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED", "negotiation_refused"),
    (P.CONNECTION_INITIATION, S.NEG_FAILURE, Detail(neg_failure_code=9), "N*", None,
     "ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED", "negotiation_refused"),
    (P.TLS, S.TLS_ALERT, Detail(tls_alert=40), "S1", 0x4, "ERRCONNECT_TLS_CONNECT_FAILED",
     "tls_failed"),
    (P.TLS, S.TLS_ALERT, Detail(tls_alert=70), "S1", 0x4, "ERRCONNECT_TLS_CONNECT_FAILED",
     "tls_failed"),
    (P.TLS, S.TLS_ALERT, Detail(tls_alert=71), "S1", 0x4, "ERRCONNECT_TLS_CONNECT_FAILED",
     "tls_failed"),
    (P.TLS, S.TLS_ERROR, None, "S1", 0x4, "ERRCONNECT_TLS_CONNECT_FAILED", "tls_failed"),
    (P.TLS, S.TLS_ALERT, Detail(tls_alert=80, before_certificate=True), "S2", 0x4,
     "ERRCONNECT_TLS_CONNECT_FAILED", "tls_failed"),
    (P.TLS, S.TLS_EOF, None, "S2", 0x4, "ERRCONNECT_TLS_CONNECT_FAILED", "tls_failed"),
    (P.TLS, S.RESET, Detail(before_certificate=True), "S2", 0x4, "ERRCONNECT_TLS_CONNECT_FAILED",
     "tls_failed"),
    (P.TLS, S.EOF, Detail(before_certificate=False), "S1", 0x4, "ERRCONNECT_TLS_CONNECT_FAILED",
     "tls_failed"),
    (P.NLA, S.EOF, None, "C1", None, "ERRCONNECT_CONNECT_TRANSPORT_FAILED", "nla_failed"),
    (P.NLA, S.RESET, None, "C1", None, "ERRCONNECT_CONNECT_TRANSPORT_FAILED", "nla_failed"),
    (P.NLA, S.CREDSSP_ERROR, Detail(ntstatus=0xC000006D), "C2", 0x807,
     "ERRCONNECT_LOGON_FAILURE", "logon_failed"),
    (P.NLA, S.TLS_ALERT, Detail(tls_alert=80), "C3", 0x807,
     "ERRCONNECT_PASSWORD_CERTAINLY_EXPIRED", "logon_failed"),
    (P.NLA, S.TLS_ALERT, Detail(tls_alert=49), "C3", 0x807, "ERRCONNECT_AUTHENTICATION_FAILED",
     "logon_failed"),
    # A FreeRDP server closes after a bad AUTHENTICATE; xfreerdp reports the transport failure.
    (P.NLA, S.EOF, Detail(after_authenticate=True), "C3", 0x807,
     "ERRCONNECT_CONNECT_TRANSPORT_FAILED", "logon_failed"),
    # A patched server closing on a client that announced CredSSP below 6.
    (P.NLA, S.EOF, Detail(client_credssp_version=5), "C4", None,
     "ERRCONNECT_PASSWORD_CERTAINLY_EXPIRED", "nla_failed"),
    (P.NLA, S.CREDSSP_VERSION, Detail(credssp_version=2), "C4", None,
     "ERRCONNECT_PASSWORD_CERTAINLY_EXPIRED", "nla_failed"),
    (P.NLA, S.PUBKEY_MISMATCH, None, "C5", None, "ERRCONNECT_CONNECT_TRANSPORT_FAILED",
     "nla_failed"),
    (P.NLA, S.AUTHZ_DENIED, None, "C6", None, "ERRCONNECT_AUTHENTICATION_FAILED", "logon_failed"),
    (P.BASIC_SETTINGS_EXCHANGE, S.MCS_REJECTED, None, "M1", 0x4,
     "ERRCONNECT_CONNECT_TRANSPORT_FAILED", "mcs_failed"),
    (P.BASIC_SETTINGS_EXCHANGE, S.EOF, None, "M1", 0x4, "ERRCONNECT_CONNECT_TRANSPORT_FAILED",
     "mcs_failed"),
    (P.BASIC_SETTINGS_EXCHANGE, S.DOWNGRADE, None, "M2", None, None, "security_failed"),
    (P.CHANNEL_CONNECTION, S.MCS_REJECTED, None, "M3", None,
     "ERRCONNECT_CONNECT_TRANSPORT_FAILED", "mcs_failed"),
    (P.CHANNEL_CONNECTION, S.RESET, None, "M3", None, "ERRCONNECT_CONNECT_TRANSPORT_FAILED",
     "mcs_failed"),
    (P.BASIC_SETTINGS_EXCHANGE, S.BAD_SERVER_SECURITY, None, "R1", 0x706,
     "ERRCONNECT_CONNECT_TRANSPORT_FAILED", "security_failed"),
    (P.LICENSING, S.LICENSE_ERROR, Detail(license_error_code=6), "L1", 0x808,
     "ERRCONNECT_CONNECT_TRANSPORT_FAILED", "licensing_failed"),
    (P.LICENSING, S.SET_ERROR_INFO, Detail(error_info=0x101), "L1", 0x808,
     "ERRINFO_LICENSE_NO_LICENSE_SERVER", "licensing_failed"),
    (P.CAPABILITIES_EXCHANGE, S.SET_ERROR_INFO, Detail(error_info=0x5), "E1", 0x3,
     "ERRINFO_DISCONNECTED_BY_OTHER_CONNECTION", "server_error"),  # FreeRDP's spelling
    (P.CAPABILITIES_EXCHANGE, S.SET_ERROR_INFO, Detail(error_info=0x9), "E1", 0x3,
     "ERRCONNECT_INSUFFICIENT_PRIVILEGES", "server_error"),
    (P.CAPABILITIES_EXCHANGE, S.DISCONNECT_ULTIMATUM, Detail(dpum_reason=1), "E2", 0x3,
     "ERRINFO_RPC_INITIATED_DISCONNECT", "server_disconnect"),
    (P.CAPABILITIES_EXCHANGE, S.DISCONNECT_ULTIMATUM, Detail(dpum_reason=3), "E2", 0x2,
     "ERRINFO_LOGOFF_BY_USER", "server_disconnect"),
    (P.CAPABILITIES_EXCHANGE, S.REDIRECTED, None, "E3", None, None, "redirected"),
    (P.CAPABILITIES_EXCHANGE, S.SILENT, None, "A1", None, "ERRCONNECT_ACTIVATION_TIMEOUT",
     "activation_timeout"),
    (P.SECURE_SETTINGS_EXCHANGE, S.SILENT, None, "A1", None, "ERRCONNECT_ACTIVATION_TIMEOUT",
     "activation_timeout"),
    (P.LICENSING, S.SILENT, None, "A1", 0x908, "ERRCONNECT_ACTIVATION_TIMEOUT",
     "activation_timeout"),
    (P.SECURE_SETTINGS_EXCHANGE, S.EOF, None, "A1", 0x904, "ERRCONNECT_CONNECT_TRANSPORT_FAILED",
     "connection_dropped"),
    (P.LICENSING, S.RESET, None, "A1", 0x904, "ERRCONNECT_CONNECT_TRANSPORT_FAILED",
     "connection_dropped"),
    (P.CAPABILITIES_EXCHANGE, S.OK, None, "OK", None, None, "ok"),
]
# fmt: on


def _case_id(case: tuple[object, ...]) -> str:
    phase, signal, detail, row = case[:4]
    return f"{row}-{getattr(phase, 'value', None)}-{signal.value}"  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", ROW_CASES, ids=[_case_id(c) for c in ROW_CASES])
def test_row_by_row(case: tuple[object, ...]) -> None:
    phase, signal, detail, taxonomy_id, ms_code, freerdp, category = case
    verdict = classify(phase, signal, detail)  # type: ignore[arg-type]
    assert verdict.taxonomy_id == taxonomy_id
    assert verdict.category == category
    assert (verdict.ms_client.code if verdict.ms_client else None) == ms_code
    assert verdict.freerdp == freerdp
    assert verdict.summary


def test_every_taxonomy_row_is_produced() -> None:
    produced = {c[3] for c in ROW_CASES}
    verdict = classify_certificate(("self_signed",))
    assert verdict is not None
    produced.add(verdict.taxonomy_id)
    assert set(TAXONOMY_ROWS) <= produced


def test_every_row_cites_a_taxonomy_row() -> None:
    allowed = set(TAXONOMY_ROWS) | {"N*", "INTERNAL"}
    assert {row.taxonomy_id for row in ROWS} <= allowed
    assert len({row.key for row in ROWS}) == len(ROWS)


def test_every_signal_has_a_default_and_every_route_a_row() -> None:
    assert set(DEFAULT_ROUTES) == set(Signal)
    assert set(DEFAULT_ROUTES.values()) | set(PHASE_ROUTES.values()) <= set(ROW)


@pytest.mark.parametrize(
    ("code", "expected"),
    [(0x0002000D, "ERRCONNECT_CONNECT_TRANSPORT_FAILED"), (0x00020006, "ERRCONNECT_CONNECT_FAILED")],
)
def test_freerdp_full_codes(code: int, expected: str) -> None:
    names = {classify(c[0], c[1], c[2]).freerdp_code: c[5] for c in ROW_CASES}  # type: ignore[arg-type]
    assert names[code] == expected


# ---- C2: one NTSTATUS at a time (taxonomy §2.2) ---------------------------------------------------

NTSTATUS_CASES = [
    (0xC000006D, 0x807, "ERRCONNECT_LOGON_FAILURE"),
    (0xC000006A, 0x807, "ERRCONNECT_WRONG_PASSWORD"),
    (0xC0000072, 0xB07, "ERRCONNECT_ACCOUNT_DISABLED"),
    (0xC0000234, 0xD07, "ERRCONNECT_ACCOUNT_LOCKED_OUT"),
    (0xC0000071, 0xF07, "ERRCONNECT_PASSWORD_EXPIRED"),
    (0xC0000224, 0x1207, "ERRCONNECT_PASSWORD_MUST_CHANGE"),
    (0xC0000193, 0xE07, "ERRCONNECT_ACCOUNT_EXPIRED"),
    (0xC000006E, 0xC07, "ERRCONNECT_ACCOUNT_RESTRICTION"),
    (0xC0000064, 0xA07, "ERRCONNECT_AUTHENTICATION_FAILED"),
    (0xC000015B, None, "ERRCONNECT_LOGON_TYPE_NOT_GRANTED"),
    (0xC0000022, None, "ERRCONNECT_ACCESS_DENIED"),
    (0xC0001234, None, "ERRCONNECT_AUTHENTICATION_FAILED"),
]


@pytest.mark.parametrize(("status", "ms_code", "freerdp"), NTSTATUS_CASES)
def test_ntstatus(status: int, ms_code: int | None, freerdp: str) -> None:
    verdict = classify(Phase.NLA, Signal.CREDSSP_ERROR, Detail(ntstatus=status))
    assert verdict.taxonomy_id == "C2"
    assert (verdict.ms_client.code if verdict.ms_client else None) == ms_code
    assert verdict.freerdp == freerdp
    assert f"{status:x}" in verdict.summary


# ---- E1 / E2 / L1 refinements -------------------------------------------------------------------


def test_set_error_info_codes() -> None:
    verdict = classify(Phase.CAPABILITIES_EXCHANGE, Signal.SET_ERROR_INFO, Detail(error_info=0x9))
    assert verdict.freerdp_code == 0x0002000A
    assert verdict.ms_client is not None and verdict.ms_client.extended == 0x9
    other = classify(None, Signal.SET_ERROR_INFO, Detail(error_info=0x10D2))
    assert other.freerdp == "ERRINFO_CREATE_USER_DATA_FAILED"  # FreeRDP's spelling (error.h)
    assert other.freerdp_code == 0x000110D2
    assert "client bug" in other.summary


@pytest.mark.parametrize("code", range(0x100, 0x10B))
def test_licensing_error_info(code: int) -> None:
    verdict = classify(Phase.LICENSING, Signal.SET_ERROR_INFO, Detail(error_info=code))
    assert verdict.taxonomy_id == "L1"
    assert verdict.ms_client is not None
    assert (verdict.ms_client.code, verdict.ms_client.extended) == (0x808, code)
    assert verdict.freerdp is not None and verdict.freerdp.startswith("ERRINFO_LICENSE_")
    assert verdict.freerdp_code == 0x00010000 | code


def test_unknown_error_info_still_classifies() -> None:
    verdict = classify(None, Signal.SET_ERROR_INFO, Detail(error_info=0xBEEF))
    assert verdict.taxonomy_id == "E1"
    assert verdict.freerdp is None
    assert verdict.freerdp_code == 0x0001BEEF


def test_ultimatum_codes() -> None:
    user = classify(None, Signal.DISCONNECT_ULTIMATUM, Detail(dpum_reason=3))
    provider = classify(None, Signal.DISCONNECT_ULTIMATUM, Detail(dpum_reason=1))
    assert (user.freerdp_code, provider.freerdp_code) == (0x0001000C, 0x00010001)
    bare = classify(None, Signal.DISCONNECT_ULTIMATUM)
    assert bare.freerdp == "ERRINFO_RPC_INITIATED_DISCONNECT"


def test_license_error_names_the_code() -> None:
    verdict = classify(Phase.LICENSING, Signal.LICENSE_ERROR, Detail(license_error_code=6))
    assert "ERR_NO_LICENSE_SERVER" in verdict.summary


# ---- other refinements ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ssh", "http", "tls", "vnc", "unknown", "gopher"])
def test_not_rdp_kinds(kind: str) -> None:
    verdict = classify(Phase.CONNECTION_INITIATION, Signal.NOT_RDP, Detail(not_rdp_kind=kind))
    assert verdict.taxonomy_id == "X4"
    assert verdict.summary.startswith("Something answered")


def test_x2_message_mentions_reset_by_peer() -> None:
    verdict = classify(Phase.CONNECTION_INITIATION, Signal.RESET)
    assert verdict.ms_client is not None
    assert "Connection reset by peer" in verdict.ms_client.message


def test_c3_names_freerdp_misleading_name() -> None:
    verdict = classify(Phase.NLA, Signal.TLS_ALERT, Detail(tls_alert=80))
    assert "misleading" in verdict.summary
    assert verdict.freerdp_code == 0x0002000F


def test_timeout_after_connect_is_silence() -> None:
    for phase in (Phase.CONNECTION_INITIATION, Phase.NLA, Phase.LICENSING):
        assert classify(phase, Signal.TIMEOUT) == classify(phase, Signal.SILENT)


def test_partial_ok_names_the_phase() -> None:
    verdict = classify(Phase.NLA, Signal.OK)
    assert verdict.ok and verdict.taxonomy_id == "OK" and "nla" in verdict.summary


def test_decode_error_cites_phase_family() -> None:
    assert classify(Phase.CONNECTION_INITIATION, Signal.DECODE_ERROR).taxonomy_id == "X4"
    assert classify(Phase.BASIC_SETTINGS_EXCHANGE, Signal.DECODE_ERROR).taxonomy_id == "M1"
    assert classify(Phase.LICENSING, Signal.DECODE_ERROR).category == "protocol_error"


def test_internal_error() -> None:
    verdict = classify(Phase.TLS, Signal.INTERNAL_ERROR)
    assert verdict.category == "internal_error"


def test_remediation_mentions_field_causes() -> None:
    text = lambda v: " ".join(v.causes + v.remediation)  # noqa: E731
    assert "MaxOutstandingConnections" in text(classify(Phase.CONNECTION_INITIATION, Signal.RESET))
    assert "MachineKeys" in text(classify(Phase.TLS, Signal.TLS_EOF))
    assert "powercfg" in text(classify(Phase.TCP_CONNECT, Signal.TIMEOUT))
    assert "TermService" in text(classify(Phase.TCP_CONNECT, Signal.REFUSED))
    assert "AllowEncryptionOracle" in text(classify(Phase.NLA, Signal.CREDSSP_VERSION))


# ---- certificate findings (S3) ---------------------------------------------------------------------


def test_classify_certificate() -> None:
    assert classify_certificate(()) is None
    assert classify_certificate(("something_else",)) is None
    untrusted = classify_certificate(("self_signed", "name_mismatch"))
    assert untrusted is not None and untrusted.ms_client is not None
    assert (untrusted.taxonomy_id, untrusted.ms_client.code) == ("S3", 0x907)
    assert "self signed" in untrusted.summary
    expired = classify_certificate(("expired",))
    assert expired is not None and expired.ms_client is not None
    assert expired.ms_client.code == 0x1B07


# ---- totality -----------------------------------------------------------------------------------------

_ints = st.one_of(st.none(), st.integers(min_value=-(2**40), max_value=2**40))
details = st.builds(
    Detail,
    neg_failure_code=_ints,
    ntstatus=_ints,
    error_info=_ints,
    dpum_reason=_ints,
    tls_alert=_ints,
    before_certificate=st.one_of(st.none(), st.booleans()),
    license_error_code=_ints,
    not_rdp_kind=st.one_of(st.none(), st.text(max_size=8)),
    credssp_version=_ints,
    legacy_no_negotiation=st.booleans(),
)


@given(
    phase=st.sampled_from([None, *Phase]),
    signal=st.sampled_from(Signal),
    detail=st.one_of(st.none(), details),
)
def test_classify_is_total(phase: Phase | None, signal: Signal, detail: Detail | None) -> None:
    verdict = classify(phase, signal, detail)
    assert isinstance(verdict, Verdict)
    assert verdict.category and verdict.taxonomy_id and verdict.summary
    assert verdict.category != "internal_error" or signal is Signal.INTERNAL_ERROR
    json.dumps(verdict_to_dict(verdict))


@given(st.lists(st.text(max_size=20), max_size=5))
def test_classify_certificate_is_total(findings: list[str]) -> None:
    verdict = classify_certificate(tuple(findings))
    assert verdict is None or verdict.taxonomy_id == "S3"


def test_advisories_name_what_did_not_stop_the_probe() -> None:
    from rdpprobe.classify import advisories
    from rdpprobe.result import Facts, TlsFacts

    facts = Facts(legacy_no_negotiation=True, neg_failure_code=2,
                  tls=TlsFacts(version="TLSv1", findings=("self_signed",)))
    ids = [v.taxonomy_id for v in advisories(facts)]
    assert ids == ["X5", "N2", "S1", "S3"]
    assert advisories(Facts()) == ()
