"""Writing crafted .npz files byte by byte, as an attacker would: any header, any declared size,
and members that inflate to gigabytes from a few kilobytes (zip bombs) without the test ever
holding or compressing those gigabytes.

A run of zeros is compressed once with a full flush, which resets the compressor, so every further
megabyte of zeros compresses to the same bytes: a 1.5 GB member costs 1.5 MB to write.
"""
from __future__ import annotations

import io
import json
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence, Union

import numpy as np

_MB = 1 << 20
_ZEROS = bytes(_MB)


def npy_header(shape: Sequence[int], dtype: Union[str, np.dtype]) -> bytes:
    """The .npy header declaring ``shape`` and ``dtype`` (whatever the data that follows)."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": tuple(shape)}
    )
    return buffer.getvalue()  # the magic string included


@dataclass
class Zeros:
    """``count`` zero bytes, never materialised."""

    count: int


Data = Union[bytes, Zeros]


def _deflate(parts: List[Data]):
    """Raw deflate stream, CRC-32 and length of the concatenated parts."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    out, crc, size = [], 0, 0
    block = None
    for part in parts:
        if isinstance(part, bytes):
            out.append(compressor.compress(part) + compressor.flush(zlib.Z_FULL_FLUSH))
            crc, size = zlib.crc32(part, crc), size + len(part)
            continue
        whole, rest = divmod(part.count, _MB)
        if whole:
            if block is None:
                block = compressor.compress(_ZEROS) + compressor.flush(zlib.Z_FULL_FLUSH)
                out.append(block)
                whole -= 1
                crc = zlib.crc32(_ZEROS, crc)
            out.append(block * whole)
            for _ in range(whole):
                crc = zlib.crc32(_ZEROS, crc)
        if rest:
            out.append(compressor.compress(bytes(rest)) + compressor.flush(zlib.Z_FULL_FLUSH))
            crc = zlib.crc32(bytes(rest), crc)
        size += part.count
    out.append(compressor.flush(zlib.Z_FINISH))
    return b"".join(out), crc, size


def write_zip(path: Path, members: Sequence[tuple], declared_sizes: dict = None) -> Path:
    """A deflated zip of ``(name, [bytes or Zeros, ...])`` members; ``declared_sizes`` may give a
    member's uncompressed size in the directory that differs from its real size (a lie)."""
    declared_sizes = declared_sizes or {}
    central, offset = [], 0
    with open(path, "wb") as handle:
        for name, parts in members:
            data, crc, size = _deflate(list(parts))
            size = declared_sizes.get(name, size)
            encoded = name.encode()
            fields = struct.pack("<HHHHHIII", 20, 0, 8, 0, 0, crc, len(data), size)
            handle.write(b"PK\x03\x04" + fields + struct.pack("<HH", len(encoded), 0) + encoded + data)
            central.append(b"PK\x01\x02" + struct.pack("<H", 20) + fields
                           + struct.pack("<HHHHHI", len(encoded), 0, 0, 0, 0, 0) + struct.pack("<I", offset) + encoded)
            offset += 30 + len(encoded) + len(data)
        directory = b"".join(central)
        handle.write(directory)
        handle.write(b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(central) & 0xFFFF, len(central) & 0xFFFF,
                                                 len(directory), offset, 0))
    return path


def checkpoint_members(meta: dict, arrays: dict, extra_json: bytes = b"") -> List[tuple]:
    """Members of a checkpoint: each array as (declared shape, dtype, data), then the metadata
    listing every array as declared; ``extra_json`` (``, "key": value``) is spliced into the
    metadata's text as it is, for values ``json.dumps`` could not even write."""
    members = []
    listed = {}
    for key, (shape, dtype, data) in arrays.items():
        members.append((f"{key}.npy", [npy_header(shape, dtype), *data]))
        listed[key] = {"shape": list(shape), "dtype": np.dtype(dtype).str}
    meta = {"format": "tinygrad_mnist.checkpoint", "version": 1, "arrays": listed, **meta}
    text = json.dumps(meta).encode()[:-1] + extra_json + b"}"
    members.append(("__meta__.npy", [npy_header((len(text),), np.uint8), text]))
    return members


def real_arrays(model) -> dict:
    """A model's state dict as checkpoint arrays (declared as they are)."""
    return {f"model/{k}": (v.shape, v.dtype, [np.ascontiguousarray(v).tobytes()]) for k, v in model.state_dict().items()}
