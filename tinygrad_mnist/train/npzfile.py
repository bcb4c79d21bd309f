"""Reading an ``.npz`` file without trusting it: every member's declared shape and dtype first,
from its ``.npy`` header, and an array's bytes only when asked for, never more than it declared.

``np.load`` reads a whole member as soon as it is indexed, so a crafted file (a zip bomb, a header
declaring 2**40 elements) costs its full size in memory before anything can be checked. Here the
zip's directory and each member's header are read first (a few hundred bytes each); the caller
checks them against what it expects; then :func:`read_members` fills arrays of exactly the
declared size, in 1 MiB steps, and the zip CRC check runs at the end of each member.
"""
from __future__ import annotations

import io
import math
import os
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, Tuple, Union

import numpy as np

#: More members than any checkpoint has (a model with hundreds of layers and an optimizer with
#: several buffers per parameter stays far below); a crafted directory of millions is refused
#: before zipfile builds an object for each.
MAX_MEMBERS = 10_000
_SUFFIX = ".npy"
_CHUNK = 1 << 20
_MAX_HEADER = 10_000  # NumPy's own default limit for .npy headers
_EOCD = b"PK\x05\x06"
_EOCD_SIZE = 22
_MAX_COMMENT = 0xFFFF


class NpzError(ValueError):
    """The file is not an npz this module accepts; the message says why (without the path)."""


class NotNpzError(NpzError):
    """The file is not a zip at all (another format, or cut off before its directory)."""


@dataclass(frozen=True)
class Member:
    """One array of an npz as its header declares it.

    >>> Member("w", (2, 3), np.dtype("float32"), False, 128).nbytes
    24
    """

    key: str
    shape: Tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    header_size: int

    @property
    def nbytes(self) -> int:
        """The bytes of the array's data (Python ints: no overflow, however large the shape)."""
        return math.prod(self.shape) * self.dtype.itemsize


def _declared_member_count(path: Path) -> int:
    """The member count in the zip's end record, read before zipfile reads the directory."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        handle.seek(max(0, size - _EOCD_SIZE - _MAX_COMMENT))
        tail = handle.read()
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < _EOCD_SIZE:
        raise NotNpzError("it is not an .npz (zip) file (truncated, or another format)")
    return struct.unpack("<H", tail[at + 10 : at + 12])[0]


def _read_header(handle, key: str) -> Member:
    try:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(handle, max_header_size=_MAX_HEADER)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(handle, max_header_size=_MAX_HEADER)
        else:
            raise NpzError(f"member {key!r} uses .npy format version {version}, which is not read here")
    except NpzError:
        raise
    except (ValueError, TypeError, SyntaxError, OverflowError, EOFError) as error:
        raise NpzError(f"member {key!r} has no valid .npy header ({error})") from None
    if dtype.hasobject:
        raise NpzError(
            f"member {key!r} holds Python objects (a pickle); refusing to load it: checkpoints contain only "
            "numeric arrays, never pickles"
        )
    if not all(isinstance(n, int) and n >= 0 for n in shape):
        raise NpzError(f"member {key!r} declares an invalid shape {shape!r}")
    return Member(key, tuple(shape), dtype, bool(fortran_order), handle.tell())


def index_npz(path: Union[str, os.PathLike]) -> Dict[str, Member]:
    """Every member of the npz at ``path`` with its declared shape and dtype, reading only the zip
    directory and the ``.npy`` headers. Raises NpzError for anything malformed: not a zip, too many
    or duplicate members, names without ``.npy``, bad headers, or a member whose size in the zip
    directory differs from what its header declares.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.npz"
    >>> np.savez(path, w=np.zeros((2, 3), np.float32))
    >>> index_npz(path)["w"].shape
    (2, 3)
    """
    path = Path(path)
    count = _declared_member_count(path)
    if count > MAX_MEMBERS:
        raise NpzError(f"its zip directory declares {count} members; a checkpoint has far fewer (at most {MAX_MEMBERS})")
    members: Dict[str, Member] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_MEMBERS:
                raise NpzError(f"it has {len(infos)} members, more than the {MAX_MEMBERS} a checkpoint may have")
            for info in infos:
                if not info.filename.endswith(_SUFFIX):
                    raise NpzError(f"member {info.filename!r} is not a NumPy array (.npy); refusing to load it")
                key = info.filename[: -len(_SUFFIX)]
                if key in members:
                    raise NpzError(f"member {key!r} appears twice")
                with archive.open(info) as handle:
                    member = _read_header(handle, key)
                if info.file_size != member.header_size + member.nbytes:
                    raise NpzError(
                        f"member {key!r} declares {member.dtype}{member.shape} ({member.nbytes:,} bytes) but the zip "
                        f"directory gives it {max(0, info.file_size - member.header_size):,} bytes"
                    )
                members[key] = member
    except NpzError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError, NotImplementedError,
            ValueError, struct.error) as error:
        # RuntimeError: an encrypted member; NotImplementedError: an unknown compression method.
        raise NpzError(f"it is damaged or truncated ({type(error).__name__}: {error})") from None
    return members


def _fill(handle, member: Member) -> np.ndarray:
    array = np.empty(member.shape, dtype=member.dtype, order="F" if member.fortran_order else "C")
    view = memoryview(array.reshape(-1, order="A").view(np.uint8)) if array.size else memoryview(b"")
    position = 0
    while position < member.nbytes:
        chunk = handle.read(min(_CHUNK, member.nbytes - position))
        if not chunk:
            raise NpzError(f"member {member.key!r} ends after {position:,} of its {member.nbytes:,} bytes")
        view[position : position + len(chunk)] = chunk
        position += len(chunk)
    if handle.read(1):  # also completes the zip's CRC check of the member
        raise NpzError(f"member {member.key!r} holds more bytes than its header declares")
    return array


def read_members(path: Union[str, os.PathLike], members: Iterable[Member]) -> Dict[str, np.ndarray]:
    """The arrays of ``members`` (from :func:`index_npz`), each read into an array of exactly its
    declared size; the file must still declare the same shapes and dtypes.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.npz"
    >>> np.savez(path, w=np.arange(6, dtype=np.int64).reshape(2, 3))
    >>> read_members(path, index_npz(path).values())["w"].tolist()
    [[0, 1, 2], [3, 4, 5]]
    """
    arrays: Dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in members:
                with archive.open(member.key + _SUFFIX) as handle:
                    if _read_header(handle, member.key) != member:
                        raise NpzError(f"member {member.key!r} changed while it was being read")
                    arrays[member.key] = _fill(handle, member)
    except NpzError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, KeyError, ValueError, io.UnsupportedOperation) as error:
        raise NpzError(f"it is damaged or truncated ({type(error).__name__}: {error})") from None
    return arrays
