"""Atomic file writes for the pictures viz produces: a reader never sees half a file."""
from __future__ import annotations

import os
import uuid
from pathlib import Path


def write_bytes_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename it.

    Missing parent folders are created. A crash or an error leaves either the old file or none,
    never a truncated one (a curves.png refreshed every epoch may be open in a viewer meanwhile).

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "out" / "hello.txt"
    >>> write_bytes_atomically(target, b"hi")
    >>> target.read_bytes()
    b'hi'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # open(..., "xb") rather than mkstemp: the file gets the usual permissions (mkstemp's are 0600).
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(temporary, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
