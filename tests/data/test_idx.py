"""IDX parsing: round trips, every documented failure, and fuzzing."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinygrad_mnist.data import IDX_DTYPES, IdxError, decompress, encode_idx, parse_idx, read_idx

NATIVE = {code: dt.newbyteorder("=") for code, dt in IDX_DTYPES.items()}


def sample(dtype: np.dtype, shape: tuple[int, ...] = (3, 4, 5)) -> np.ndarray:
    rng = np.random.default_rng(0)
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize("code", sorted(IDX_DTYPES), ids=lambda c: f"0x{c:02X}")
@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_round_trip_every_dtype_code(code: int, compress: bool) -> None:
    arr = sample(NATIVE[code])
    data = encode_idx(arr)
    assert data[:4] == bytes([0, 0, code, 3])
    if compress:
        data = gzip.compress(data)
    out = parse_idx(data, "sample.idx")
    assert out.dtype == NATIVE[code] and out.dtype.isnative
    assert out.shape == arr.shape
    np.testing.assert_array_equal(out, arr)


@pytest.mark.parametrize("shape", [(0,), (7,), (2, 0, 3), (1, 1, 1, 1, 1, 2)])
def test_round_trip_shapes(shape: tuple[int, ...]) -> None:
    arr = sample(np.dtype(np.int32), shape)
    np.testing.assert_array_equal(parse_idx(encode_idx(arr), "s"), arr)
    assert parse_idx(encode_idx(arr), "s").shape == shape


def test_big_endian_payload_is_decoded() -> None:
    data = bytes([0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xFF, 0xFE])
    out = parse_idx(data, "be.idx")
    assert out.dtype == np.int16 and out.tolist() == [258, -2]


def test_encode_accepts_big_endian_input() -> None:
    arr = np.arange(5, dtype=">f8")
    np.testing.assert_array_equal(parse_idx(encode_idx(arr), "x"), arr)


def test_read_idx_detects_gzip_by_content_not_name(tmp_path: Path) -> None:
    arr = sample(np.dtype(np.uint8))
    misnamed_gzip = tmp_path / "plain-looking.idx"
    misnamed_gzip.write_bytes(gzip.compress(encode_idx(arr)))
    misnamed_raw = tmp_path / "looks-compressed.gz"
    misnamed_raw.write_bytes(encode_idx(arr))
    np.testing.assert_array_equal(read_idx(misnamed_gzip), arr)
    np.testing.assert_array_equal(read_idx(str(misnamed_raw)), arr)


def test_multi_member_gzip_is_concatenated() -> None:
    data = encode_idx(np.arange(6, dtype=np.uint8))
    two_members = gzip.compress(data[:5]) + gzip.compress(data[5:])
    assert parse_idx(two_members, "x").tolist() == list(range(6))


# ------------------------------------------------------------------ failures

VALID = encode_idx(np.arange(12, dtype=np.int16).reshape(3, 4))
VALID_GZ = gzip.compress(VALID)
GZ_BAD_CRC = VALID_GZ[:-8] + bytes([VALID_GZ[-8] ^ 0xFF]) + VALID_GZ[-7:]

FAILURES = {
    "empty": (b"", "too short"),
    "short": (b"\x00\x00\x08", "too short"),
    "magic-byte-0": (b"\x01" + VALID[1:], "bad magic"),
    "magic-byte-1": (VALID[:1] + b"\x07" + VALID[2:], "bad magic"),
    "unknown-dtype": (VALID[:2] + b"\x0a" + VALID[3:], "unknown IDX dtype code 0x0A"),
    "zero-ndim": (b"\x00\x00\x08\x00", "0 dimensions"),
    "truncated-header": (VALID[:10], "truncated header"),
    "truncated-payload": (VALID[:-1], "truncated"),
    "trailing-bytes": (VALID + b"\x00", "trailing bytes"),
    "gzip-truncated": (VALID_GZ[:-4], "truncated gzip"),
    "gzip-bad-crc": (GZ_BAD_CRC, "broken gzip"),
    "gzip-garbage-after": (VALID_GZ + b"junk", "after the end of the gzip stream"),
    "gzip-only-magic": (b"\x1f\x8b", "gzip"),
    "gzip-of-truncated-idx": (gzip.compress(VALID[:-2]), "truncated"),
}


@pytest.mark.parametrize("raw, expected", FAILURES.values(), ids=FAILURES.keys())
def test_documented_failures_raise_idx_error(raw: bytes, expected: str) -> None:
    with pytest.raises(IdxError) as info:
        parse_idx(raw, "some/file.idx")
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert message.startswith("some/file.idx: ")
    assert expected in message
    # The message says what to do, not only what is wrong.
    assert "delete it" in message or "Check" in message


def test_more_dimensions_than_numpy_supports() -> None:
    header = bytes([0, 0, 0x08, 200]) + (1).to_bytes(4, "big") * 200
    with pytest.raises(IdxError, match="cannot build a 200-dimensional array"):
        parse_idx(header + b"\x05", "deep.idx")


def test_read_idx_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.idx"
    with pytest.raises(IdxError, match="nope.idx: cannot read the file"):
        read_idx(missing)


def test_read_idx_directory(tmp_path: Path) -> None:
    with pytest.raises(IdxError, match="cannot read the file"):
        read_idx(tmp_path)


def test_read_idx_reports_path_of_corrupt_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.idx.gz"
    bad.write_bytes(VALID_GZ[:-4])
    with pytest.raises(IdxError, match=str(bad)):
        read_idx(bad)


def test_decompress_size_cap_stops_expansion() -> None:
    bomb = gzip.compress(b"\0" * 1_000_000)
    with pytest.raises(IdxError, match="expands to more than 1,000 bytes"):
        decompress(bomb, "bomb.gz", max_size=1000)
    assert len(decompress(bomb, "bomb.gz", max_size=1_000_000)) == 1_000_000


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_a_header_declaring_an_impossible_size_is_an_idx_error(compress: bool) -> None:
    """Found by fuzzing: three dims of 2**32 - 1 float64 (6e29 bytes) overflowed a C size argument."""
    data = bytes([0, 0, 0x0E, 3]) + (2**32 - 1).to_bytes(4, "big") * 3 + bytes(10)
    with pytest.raises(IdxError, match="truncated: header declares shape"):
        parse_idx(gzip.compress(data) if compress else data, "huge.idx")


def test_idx_error_parts_and_pickling() -> None:
    with pytest.raises(IdxError) as info:
        parse_idx(b"", "f.idx")
    err = info.value
    assert (err.source, err.problem) == ("f.idx", "only 0 bytes, too short for the 4-byte IDX magic number")
    clone = pickle.loads(pickle.dumps(err))
    assert str(clone) == str(err) and clone.hint == err.hint


@pytest.mark.parametrize(
    "arr, match",
    [
        (np.zeros(3, np.int64), "cannot store dtype int64"),
        (np.zeros(3, bool), "cannot store dtype bool"),
        (np.float32(1.0), "ndim=0"),
    ],
)
def test_encode_idx_rejects_unsupported(arr: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        encode_idx(arr)


# ------------------------------------------------------------------ fuzzing


def assert_valid_or_idx_error(raw: bytes) -> None:
    try:
        out = parse_idx(raw, "fuzz")
    except IdxError:
        return
    assert isinstance(out, np.ndarray)
    assert out.ndim >= 1 and out.dtype.isnative
    assert out.dtype in NATIVE.values()


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(raw: bytes) -> None:
    assert_valid_or_idx_error(raw)


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_random_bytes_behind_gzip_magic(raw: bytes) -> None:
    assert_valid_or_idx_error(b"\x1f\x8b" + raw)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid small IDX file (raw or gzipped) with a few random edits."""
    arr = draw(
        st.sampled_from([np.arange(12, dtype=np.int16).reshape(3, 4), np.eye(3, dtype=np.float64), np.arange(5, dtype=np.uint8)])
    )
    data = bytearray(encode_idx(arr))
    if draw(st.booleans()):
        data = bytearray(gzip.compress(bytes(data)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "append"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 8))]
        elif op == "truncate":
            del data[pos:]
        elif op == "append":
            data += draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


@st.composite
def plausible_headers(draw: st.DrawFn) -> bytes:
    """Well-formed-looking headers (any code, up to 255 tiny dims) with a payload of
    exactly the declared size or off by a little."""
    code = draw(st.one_of(st.sampled_from(sorted(IDX_DTYPES)), st.integers(0, 255)))
    # Mostly-1 dims keep the payload tiny even at 255 dimensions.
    dims = [1] * draw(st.integers(0, 255))
    for _ in range(draw(st.integers(0, 4)) if dims else 0):
        dims[draw(st.integers(0, len(dims) - 1))] = draw(st.integers(0, 3))
    itemsize = IDX_DTYPES[code].itemsize if code in IDX_DTYPES else 1
    size = max(0, int(np.prod(dims, dtype=np.int64)) * itemsize + draw(st.sampled_from([0, 0, 0, -1, 1])))
    size = min(size, 4096)
    raw = bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims) + bytes(size)
    return gzip.compress(raw) if draw(st.booleans()) else raw


@FUZZ
@given(plausible_headers())
def test_fuzz_plausible_headers(raw: bytes) -> None:
    assert_valid_or_idx_error(raw)


@FUZZ
@given(mutated())
def test_fuzz_mutations_of_valid_files(raw: bytes) -> None:
    assert_valid_or_idx_error(raw)
