"""The hand-rolled TSRequest codec agrees with the pyasn1 reference, byte for byte, except
where the reference breaks DER: pyasn1 (0.6.4 and 0.6.5 at least) writes -2**(8k-1) with
an extra 0xFF octet, which X.690 8.3.2 forbids. For those error codes the codec is held to
the minimal encoding instead, and still reads the reference's padded form."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rdpprobe.errors import DecodeError
from rdpprobe.wire import credssp, credssp_fast

UINT32 = 2**32
blobs = st.binary(max_size=300)
requests = st.builds(
    credssp.TsRequest,
    version=st.integers(min_value=0, max_value=2**40),
    nego_tokens=st.lists(blobs, max_size=3).map(tuple),
    auth_info=st.none() | blobs,
    pub_key_auth=st.none() | st.binary(max_size=600),
    error_code=st.none() | st.integers(min_value=0, max_value=UINT32 - 1),
    client_nonce=st.none() | st.binary(min_size=32, max_size=32),
)


#: Error codes whose signed 32-bit value is -2**(8k-1): the values pyasn1 pads (see above).
PADDED_BY_PYASN1 = frozenset(UINT32 - 2 ** (8 * k - 1) for k in (1, 2, 3, 4))


def _reference_is_der(req: credssp.TsRequest) -> bool:
    return req.error_code not in PADDED_BY_PYASN1


@given(requests)
def test_encoder_matches_pyasn1(req: credssp.TsRequest) -> None:
    assume(_reference_is_der(req))
    assert credssp.encode_ts_request(req) == credssp.encode_ts_request_asn1(req)


@given(requests)
def test_fast_decoder_reads_what_pyasn1_reads(req: credssp.TsRequest) -> None:
    assume(_reference_is_der(req))
    data = credssp.encode_ts_request_asn1(req)
    assert credssp_fast.decode_fields(data) is not None
    assert credssp.decode_ts_request(data) == credssp.decode_ts_request_asn1(data) == req


@pytest.mark.parametrize(
    ("error_code", "minimal"),
    [(0x80000000, "020480000000"), (0xFF800000, "0203800000"), (0xFFFF8000, "02028000"), (0xFFFFFF80, "020180")],
)
def test_error_codes_of_minus_a_power_of_two_are_written_minimally(error_code: int, minimal: str) -> None:
    req = credssp.TsRequest(version=6, error_code=error_code)
    data = credssp.encode_ts_request(req)
    assert data.endswith(bytes.fromhex(minimal))  # errorCode is the last field written.
    assert credssp.decode_ts_request(data) == credssp.decode_ts_request_asn1(data) == req
    padded = credssp.encode_ts_request_asn1(req)  # The fast decoder hands it to pyasn1.
    assert credssp.decode_ts_request(padded) == req


def _outcome(decode: object, data: bytes) -> object:
    try:
        return decode(data)  # type: ignore[operator]
    except DecodeError:
        return DecodeError


@settings(max_examples=300)
@given(requests, st.data())
def test_mutated_input_decodes_like_pyasn1(req: credssp.TsRequest, data: st.DataObject) -> None:
    raw = bytearray(credssp.encode_ts_request_asn1(req))
    for _ in range(data.draw(st.integers(1, 3))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    for sample in (bytes(raw), bytes(raw[:cut])):
        assert _outcome(credssp.decode_ts_request, sample) == _outcome(credssp.decode_ts_request_asn1, sample)


@given(st.binary(max_size=64))
def test_arbitrary_bytes_decode_like_pyasn1(raw: bytes) -> None:
    assert _outcome(credssp.decode_ts_request, raw) == _outcome(credssp.decode_ts_request_asn1, raw)


@pytest.mark.parametrize(
    "hexdata",
    [
        "3003a00102",  # version INTEGER without content octets
        "3007a0050203000001",  # non-minimal INTEGER
        "308105a003020106",  # long-form length below 128
        "3005a103300000",  # empty negoTokens
    ],
)
def test_unusual_forms_fall_back(hexdata: str) -> None:
    raw = bytes.fromhex(hexdata)
    assert credssp_fast.decode_fields(raw) is None
    assert _outcome(credssp.decode_ts_request, raw) == _outcome(credssp.decode_ts_request_asn1, raw)
