"""Reading and writing the IDX file format used by MNIST.

An IDX file is a 4-byte magic number ``00 00 <dtype code> <ndim>``, then
``ndim`` big-endian uint32 dimension sizes, then the elements in C order,
big-endian. MNIST ships the files gzip-compressed; this module accepts either
form and tells them apart by the gzip magic bytes, never by the file name,
because renamed or pre-decompressed copies are common.

Files from elsewhere are read with bounded memory: the header is read first,
a raw file's size must match what the header declares before its payload is
read, and gzip data is inflated a chunk at a time and never beyond what the
header declares (plus one byte, to notice trailing data). A hostile file is
refused without being read whole.

Every problem (bad magic, truncated or oversized payload, broken gzip stream,
unreadable file) is reported as :class:`IdxError`, so callers need to handle
exactly one exception type.
"""

from __future__ import annotations

import io
import math
import os
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import ConfigError, IdxError

__all__ = ["IdxError", "IDX_DTYPES", "decompress", "parse_idx", "read_idx", "read_uncompressed", "encode_idx"]

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
_HINT_UNREADABLE = "Check that the path exists, is a regular file and is readable."

# Compressed input is read this much at a time; what it inflates to is bounded separately.
_INPUT_CHUNK = 16 << 20
# The most asked of one read or inflate call: a header may declare sizes beyond what the C
# functions accept, and a file read preallocates what it is asked for.
_MAX_PIECE = 256 << 20


def _fail(source: str, problem: str, hint: str = _HINT_CORRUPT) -> IdxError:
    return IdxError(source, problem, hint)


def _gzip_size_bound(size: int) -> int:
    """The largest a gzip file holding ``size`` bytes can reasonably be: deflate's stored blocks add
    5 bytes per 64 KiB, plus the gzip header (with a name or comment) and trailer."""
    return size + size // 1000 + (64 << 10)


class _Contents:
    """The uncompressed bytes of a binary stream (gzip, possibly several members, or raw), read in
    order and never more than asked for: ``read(n)`` inflates at most ``n`` bytes, so a small
    compressed file cannot expand into gigabytes before the caller has looked at it."""

    def __init__(self, stream: BinaryIO, source: str) -> None:
        self._stream = stream
        self._source = source
        self._pending = stream.read(2)  # compressed input not yet given to an inflater
        self.compressed = self._pending == GZIP_MAGIC
        self._inflater: zlib._Decompress | None = None
        self._finished = False

    def read(self, n: int) -> bytes:
        """Up to ``n`` uncompressed bytes; fewer only at the end of the data."""
        parts: list[bytes] = []
        wanted = n
        while wanted > 0 and not self._finished:
            part = self._inflate(min(wanted, _MAX_PIECE)) if self.compressed else self._read_raw(min(wanted, _MAX_PIECE))
            if part:  # a lone part is returned as it is, without the copy a join makes
                wanted -= len(part)
                parts.append(part)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _read_raw(self, limit: int) -> bytes:
        head, self._pending = self._pending[:limit], self._pending[limit:]
        part = head + self._stream.read(limit - len(head)) if limit > len(head) else head
        self._finished = len(part) < limit
        return part

    def _inflate(self, limit: int) -> bytes:
        if self._inflater is None and not self._start_member():
            self._finished = True
            return b""
        inflater = self._inflater
        data = inflater.unconsumed_tail or self._take_pending() or self._stream.read(_INPUT_CHUNK)
        if not data:
            raise _fail(self._source, "truncated gzip stream (it ends before the end-of-stream marker)")
        try:
            part = inflater.decompress(data, limit)
        except zlib.error as e:
            raise _fail(self._source, f"broken gzip data ({e})") from e
        if inflater.eof:
            self._pending, self._inflater = inflater.unused_data, None
        return part

    def _take_pending(self) -> bytes:
        data, self._pending = self._pending, b""
        return data

    def _start_member(self) -> bool:
        """Begin the next gzip member; False at the end of the data. Zero padding between or after
        members is skipped, as gunzip does."""
        rest = self._pending.lstrip(b"\0")
        while len(rest) < 2:
            more = self._stream.read(_INPUT_CHUNK)
            if not more:
                break
            rest = (rest + more).lstrip(b"\0")
        if not rest:
            return False
        if rest[:2] != GZIP_MAGIC:
            raise _fail(self._source, "unexpected bytes after the end of the gzip stream")
        # wbits=31: zlib parses the gzip header itself and checks the CRC32 and
        # length trailer, so corruption anywhere in the member is caught.
        self._pending, self._inflater = rest, zlib.decompressobj(wbits=31)
        return True


def _read_bounded(contents: _Contents, source: str, max_size: int | None) -> bytes:
    if max_size is None:
        parts = []
        while part := contents.read(_INPUT_CHUNK):
            parts.append(part)
        return b"".join(parts)
    data = contents.read(max_size + 1)
    if len(data) > max_size:
        raise _fail(source, f"gzip data expands to more than {max_size:,} bytes")
    return data


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
    return _read_bounded(_Contents(io.BytesIO(raw), source), source, max_size)


def _open_for_reading(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as e:
        raise _fail(str(path), f"cannot read the file ({e.strerror or e})", _HINT_UNREADABLE) from e


def _file_size(handle: BinaryIO, path: Path) -> int:
    try:
        return os.fstat(handle.fileno()).st_size
    except OSError as e:
        raise _fail(str(path), f"cannot read the file ({e.strerror or e})", _HINT_UNREADABLE) from e


def read_uncompressed(path: str | os.PathLike[str], max_size: int) -> bytes:
    """The uncompressed contents of a file (gzip or raw), refusing anything over ``max_size`` bytes
    without reading it whole: a raw file's size is checked before it is read, and gzip data is
    inflated in chunks and stopped one byte past the limit.

    Raises:
        IdxError: the file cannot be read, is a broken gzip stream, or holds more than ``max_size``.

    Example:
        >>> import gzip, tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.gz"
        >>> _ = p.write_bytes(gzip.compress(b"hello"))
        >>> read_uncompressed(p, max_size=5)
        b'hello'
        >>> read_uncompressed(p, max_size=4)
        Traceback (most recent call last):
        ...
        tinygrad_mnist.errors.IdxError: ...x.gz: gzip data expands to more than 4 bytes. ...
    """
    path = Path(path)
    with _open_for_reading(path) as handle:
        size = _file_size(handle, path)
        try:
            contents = _Contents(handle, str(path))
            if not contents.compressed and size > max_size:
                raise _fail(str(path), f"the file is {size:,} bytes, more than the {max_size:,} expected")
            if contents.compressed and size > _gzip_size_bound(max_size):
                raise _fail(str(path), f"the gzip file is {size:,} bytes, more than any gzip of {max_size:,} bytes can be")
            return _read_bounded(contents, str(path), max_size)
        except OSError as e:
            raise _fail(str(path), f"cannot read the file ({e.strerror or e})", _HINT_UNREADABLE) from e


def _parse(contents: _Contents, source: str, stored_size: int | None, max_bytes: int | None) -> np.ndarray:
    """Read an IDX array from ``contents``: header first, then exactly the payload it declares.

    ``stored_size`` is the size of uncompressed data when it is known without reading it (a raw
    file's size), so a payload of the wrong size is refused before it is read.
    """
    magic = contents.read(4)
    if len(magic) < 4:
        raise _fail(source, f"only {len(magic)} bytes, too short for the 4-byte IDX magic number")
    if magic[0] != 0 or magic[1] != 0:
        raise _fail(source, f"bad magic number {magic.hex(' ')}: an IDX file starts with two zero bytes")
    code, ndim = magic[2], magic[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise _fail(source, f"unknown IDX dtype code 0x{code:02X} (known: {known})")
    if ndim < 1:
        raise _fail(source, "header declares 0 dimensions; an IDX array needs at least 1")
    header_len = 4 + 4 * ndim
    sizes = contents.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise _fail(
            source,
            f"truncated header: {ndim} dimensions need {header_len} header bytes, only {4 + len(sizes)} present",
        )
    dims = tuple(int(d) for d in np.frombuffer(sizes, dtype=">u4"))
    dtype = IDX_DTYPES[code]
    # Python ints: prod of up to 255 uint32 sizes would overflow int64.
    expected = math.prod(dims) * dtype.itemsize
    declared = f"header declares shape {dims} of {dtype.name} = {expected} payload bytes"
    if stored_size is not None and stored_size - header_len != expected:
        present = stored_size - header_len
        problem = "truncated" if present < expected else "trailing bytes"
        raise _fail(source, f"{problem}: {declared}, but {present} are present")
    if max_bytes is not None and header_len + expected > max_bytes:
        raise _fail(source, f"{declared}, more than the {max_bytes:,} bytes allowed",
                    "Check that it is the file you meant, or raise max_bytes.")
    payload = contents.read(expected)
    if len(payload) < expected:
        raise _fail(source, f"truncated: {declared}, but {len(payload)} are present")
    if stored_size is None and contents.read(1):
        raise _fail(source, f"trailing bytes: {declared}, but more are present")
    arr = np.frombuffer(payload, dtype=dtype, count=math.prod(dims))
    try:
        arr = arr.reshape(dims)
    except ValueError as e:
        # IDX allows 255 dimensions, NumPy far fewer (32 or 64 depending on version).
        raise _fail(source, f"cannot build a {ndim}-dimensional array ({e})",
                    "Such a file cannot be loaded with NumPy; check that it is the file you meant.") from e
    if dtype.itemsize > 1:
        arr = arr.astype(dtype.newbyteorder("="))
    return arr


def parse_idx(raw: bytes, source: str = "<bytes>") -> np.ndarray:
    """Parse the bytes of an IDX file (raw or gzip-compressed) into an array.

    ``source`` is only used in error messages (normally the file name).
    The result has native byte order and the shape stored in the header. For
    single-byte dtypes it may be a view of the data (read-only); call
    ``.copy()`` if you need to write to it. Gzip data is never inflated beyond
    the size its header declares.

    Raises:
        IdxError: anything wrong with the data (see module docstring).

    Example:
        >>> parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]), "tiny.idx")
        array([7, 8, 9], dtype=uint8)
    """
    if not isinstance(raw, (bytes, bytearray)):
        raw = bytes(raw)
    contents = _Contents(io.BytesIO(raw), source)
    return _parse(contents, source, None if contents.compressed else len(raw), None)


def read_idx(path: str | os.PathLike[str], max_bytes: int | None = None) -> np.ndarray:
    """Read an IDX file from disk (gzip-compressed or raw; the name does not matter).

    The header is read first: a raw file whose size disagrees with it, or a file declaring more
    than ``max_bytes`` uncompressed bytes, is refused before its payload is read, and gzip data is
    never inflated past what the header declares.

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
    with _open_for_reading(path) as handle:
        size = _file_size(handle, path)
        try:
            contents = _Contents(handle, str(path))
            return _parse(contents, str(path), None if contents.compressed else size, max_bytes)
        except OSError as e:
            raise _fail(str(path), f"cannot read the file ({e.strerror or e})", _HINT_UNREADABLE) from e


def encode_idx(array: np.ndarray) -> bytes:
    """Encode an array as uncompressed IDX bytes (the inverse of :func:`parse_idx`).

    Supported dtypes: uint8, int8, int16, int32, float32, float64; ``ndim >= 1``.

    Raises:
        ConfigError: (a ValueError) unsupported dtype, 0-d array, or a dimension >= 2**32.

    Example:
        >>> parse_idx(encode_idx(np.eye(2, dtype=np.float32)), "eye")
        array([[1., 0.],
               [0., 1.]], dtype=float32)
    """
    arr = np.asarray(array)
    code = _CODE_FOR.get((arr.dtype.kind, arr.dtype.itemsize))
    if code is None:
        names = ", ".join(dt.newbyteorder("=").name for dt in IDX_DTYPES.values())
        raise ConfigError(f"IDX cannot store dtype {arr.dtype}; use one of: {names}")
    if not 1 <= arr.ndim <= 255:
        raise ConfigError(f"IDX needs 1 to 255 dimensions, got an array with ndim={arr.ndim}")
    if any(d >= 2**32 for d in arr.shape):
        raise ConfigError(f"IDX dimensions must be < 2**32, got shape {arr.shape}")
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    return header + np.ascontiguousarray(arr, dtype=IDX_DTYPES[code]).tobytes()
