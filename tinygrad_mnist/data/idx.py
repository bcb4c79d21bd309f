"""Reading and writing the IDX file format used by MNIST.

An IDX file is a 4-byte magic number ``00 00 <dtype code> <ndim>``, then
``ndim`` big-endian uint32 dimension sizes, then the elements in C order,
big-endian. MNIST ships the files gzip-compressed; this module accepts either
form and tells them apart by the gzip magic bytes, never by the file name,
because renamed or pre-decompressed copies are common.

Every problem (bad magic, truncated or oversized payload, broken gzip stream,
unreadable file) is reported as :class:`IdxError`, so callers need to handle
exactly one exception type.
"""

from __future__ import annotations

import math
import os
import zlib
from pathlib import Path

import numpy as np

from ..errors import UserError

__all__ = ["IdxError", "IDX_DTYPES", "decompress", "parse_idx", "read_idx", "encode_idx"]

GZIP_MAGIC = b"\x1f\x8b"

#: IDX dtype code -> big-endian NumPy dtype, as defined by the format.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

# Reverse map keyed by the byte-order-free kind/size, so native-endian arrays encode too.
_CODE_FOR = {(dt.kind, dt.itemsize): code for code, dt in IDX_DTYPES.items()}

_HINT_CORRUPT = "The file is damaged or not an IDX file; delete it and download or copy it again."


class IdxError(UserError, ValueError):
    """The bytes are not a valid (optionally gzip-compressed) IDX file.

    The message names the file, says what is wrong and what to do about it.
    The parts are also available as attributes ``source``, ``problem`` and
    ``hint`` for callers that want to phrase their own message.

    Example:
        >>> try:
        ...     parse_idx(b"not idx", "x.idx")
        ... except IdxError as e:
        ...     print(str(e).split(":")[0])
        x.idx
    """

    def __init__(self, source: str, problem: str, hint: str) -> None:
        super().__init__(f"{source}: {problem}. {hint}")
        self.source = source
        self.problem = problem
        self.hint = hint

    def __reduce__(self):
        # Keeps the error picklable (e.g. across multiprocessing) despite the 3-arg init.
        return type(self), (self.source, self.problem, self.hint)


def _fail(source: str, problem: str, hint: str = _HINT_CORRUPT) -> IdxError:
    return IdxError(source, problem, hint)


def decompress(raw: bytes, source: str = "<bytes>", max_size: int | None = None) -> bytes:
    """Return the uncompressed contents of ``raw``: gunzipped if it starts with
    the gzip magic bytes, otherwise ``raw`` itself (no copy).

    Several gzip members back to back are concatenated, as ``gunzip`` does.
    ``max_size`` caps the decompressed size so a hostile or broken download
    cannot expand into gigabytes before it is rejected.

    Raises:
        IdxError: the data looks like gzip but the stream is broken, has
            trailing garbage, or expands beyond ``max_size``.

    Example:
        >>> import gzip
        >>> decompress(gzip.compress(b"abc"), "x.gz")
        b'abc'
        >>> decompress(b"abc", "x")
        b'abc'
    """
    if not isinstance(raw, (bytes, bytearray)):
        raw = bytes(raw)
    if raw[:2] != GZIP_MAGIC:
        return raw
    parts: list[bytes] = []
    produced = 0
    rest = raw
    while True:
        # wbits=31: zlib parses the gzip header itself and checks the CRC32 and
        # length trailer, so corruption anywhere in the member is caught here.
        inflater = zlib.decompressobj(wbits=31)
        limit = 0 if max_size is None else max_size - produced + 1
        try:
            part = inflater.decompress(rest, limit)
        except zlib.error as e:
            raise _fail(source, f"broken gzip data ({e})") from e
        produced += len(part)
        parts.append(part)
        if max_size is not None and produced > max_size:
            raise _fail(source, f"gzip data expands to more than {max_size} bytes")
        if not inflater.eof:
            raise _fail(source, "truncated gzip stream (it ends before the end-of-stream marker)")
        # Zero padding between or after members is tolerated, like gzip.decompress.
        rest = inflater.unused_data.lstrip(b"\0")
        if not rest:
            break
        if rest[:2] != GZIP_MAGIC:
            raise _fail(source, "unexpected bytes after the end of the gzip stream")
    return parts[0] if len(parts) == 1 else b"".join(parts)


def parse_idx(raw: bytes, source: str = "<bytes>") -> np.ndarray:
    """Parse the bytes of an IDX file (raw or gzip-compressed) into an array.

    ``source`` is only used in error messages (normally the file name).
    The result has native byte order and the shape stored in the header. For
    single-byte dtypes it may be a view of ``raw`` (read-only if ``raw`` is
    ``bytes``); call ``.copy()`` if you need to write to it.

    Raises:
        IdxError: anything wrong with the data (see module docstring).

    Example:
        >>> parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]), "tiny.idx")
        array([7, 8, 9], dtype=uint8)
    """
    data = decompress(raw, source)
    size = len(data)
    if size < 4:
        raise _fail(source, f"only {size} bytes, too short for the 4-byte IDX magic number")
    if data[0] != 0 or data[1] != 0:
        raise _fail(
            source,
            f"bad magic number {bytes(data[:4]).hex(' ')}: an IDX file starts with two zero bytes",
        )
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise _fail(source, f"unknown IDX dtype code 0x{code:02X} (known: {known})")
    if ndim < 1:
        raise _fail(source, "header declares 0 dimensions; an IDX array needs at least 1")
    header_len = 4 + 4 * ndim
    if size < header_len:
        raise _fail(
            source,
            f"truncated header: {ndim} dimensions need {header_len} header bytes, only {size} present",
        )
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    # Python ints: prod of up to 255 uint32 sizes would overflow int64.
    expected = math.prod(dims) * dtype.itemsize
    payload = size - header_len
    if payload != expected:
        problem = "truncated" if payload < expected else "trailing bytes"
        raise _fail(
            source,
            f"{problem}: header declares shape {dims} of {dtype.name} = {expected} payload bytes, "
            f"but {payload} are present",
        )
    arr = np.frombuffer(data, dtype=dtype, count=math.prod(dims), offset=header_len)
    try:
        arr = arr.reshape(dims)
    except ValueError as e:
        # IDX allows 255 dimensions, NumPy far fewer (32 or 64 depending on version).
        raise _fail(source, f"cannot build a {ndim}-dimensional array ({e})",
                    "Such a file cannot be loaded with NumPy; check that it is the file you meant.") from e
    if dtype.itemsize > 1:
        arr = arr.astype(dtype.newbyteorder("="))
    return arr


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file from disk (gzip-compressed or raw; the name does not matter).

    Raises:
        IdxError: the file cannot be read or is not a valid IDX file.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.idx"
        >>> _ = p.write_bytes(encode_idx(np.arange(4, dtype=np.int16)))
        >>> read_idx(p)
        array([0, 1, 2, 3], dtype=int16)
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise _fail(
            str(path),
            f"cannot read the file ({e.strerror or e})",
            "Check that the path exists, is a regular file and is readable.",
        ) from e
    return parse_idx(raw, str(path))


def encode_idx(array: np.ndarray) -> bytes:
    """Encode an array as uncompressed IDX bytes (the inverse of :func:`parse_idx`).

    Supported dtypes: uint8, int8, int16, int32, float32, float64; ``ndim >= 1``.

    Raises:
        ValueError: unsupported dtype, 0-d array, or a dimension >= 2**32.

    Example:
        >>> parse_idx(encode_idx(np.eye(2, dtype=np.float32)), "eye")
        array([[1., 0.],
               [0., 1.]], dtype=float32)
    """
    arr = np.asarray(array)
    code = _CODE_FOR.get((arr.dtype.kind, arr.dtype.itemsize))
    if code is None:
        names = ", ".join(dt.newbyteorder("=").name for dt in IDX_DTYPES.values())
        raise ValueError(f"IDX cannot store dtype {arr.dtype}; use one of: {names}")
    if not 1 <= arr.ndim <= 255:
        raise ValueError(f"IDX needs 1 to 255 dimensions, got an array with ndim={arr.ndim}")
    if any(d >= 2**32 for d in arr.shape):
        raise ValueError(f"IDX dimensions must be < 2**32, got shape {arr.shape}")
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    return header + np.ascontiguousarray(arr, dtype=IDX_DTYPES[code]).tobytes()
