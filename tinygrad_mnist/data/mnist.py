"""Finding, downloading and verifying the four files of MNIST or another data set in its format
(``fashion-mnist``, ``kmnist``; see :mod:`tinygrad_mnist.data.datasets`).

Where the files are looked for (first match wins; :func:`resolve_data_dir`):

1. the ``data_dir`` argument (the CLI's ``--data-dir``),
2. the data set's environment variable (``TINYGRAD_MNIST_DATA``, ``TINYGRAD_FASHION_MNIST_DATA``,
   ``TINYGRAD_KMNIST_DATA``),
3. the download cache ``$XDG_CACHE_HOME/tinygrad_mnist/<data set>``
   (``~/.cache/tinygrad_mnist/mnist`` for MNIST when ``XDG_CACHE_HOME`` is unset).

Each file may be stored gzip-compressed (``name.gz``) or raw (``name``) when its contents' checksum
is known, as MNIST's are: every load checks every file against the sha256 of its *uncompressed*
contents (recompressed copies of MNIST exist whose ``.gz`` bytes differ), so data is trusted for
what it is, never for where it is. A data set whose published checksums are those of the ``.gz``
files as distributed (Fashion-MNIST, KMNIST) is verified as exactly those files: size, SHA-256 and
MD5. Decompressing and hashing all four files takes about 0.3 s, which is why nothing is cached.

A file is refused before it is read whole when its size cannot be right (a raw file must be exactly
its known size; a gzip file cannot be much larger than its contents), and gzip data is never
inflated past the known size. A file that turns out to be another known data set's (the MNIST
folder given for Fashion-MNIST, say) is named as such.

Downloads are kept in memory until verified; only then is the folder created and the file written
(atomically, next to its final name). Temporary files that a killed process left there are removed
at the next load.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import atomic_write_bytes, remove_stale_temporaries
from ..errors import IdxError, MnistDataError
from .datasets import DATASETS, FILE_KEYS, DatasetFile, DatasetInfo, dataset_info, mirrors
from .download import DownloadFailed, DownloadLimits, fetch
from .idx import GZIP_MAGIC, decompress, parse_idx, read_uncompressed

__all__ = [
    "Mnist",
    "MnistDataError",
    "resolve_data_dir",
    "load_mnist",
]

# A gzip download can be a little larger than its contents (headers, stored blocks), and a mirror
# may serve the raw file under the .gz name; anything bigger is the wrong thing and is cut off.
_DOWNLOAD_SLACK = 1 << 16


@dataclass(frozen=True, repr=False, eq=False)
class Mnist:
    """A data set in MNIST's format as uint8 arrays, exactly as stored in the IDX files.

    Images are ``(N, 28, 28)`` uint8 in 0..255, labels ``(N,)`` uint8 in 0..9.
    The arrays returned by :func:`load_mnist` are read-only so the loaded data
    cannot be modified by accident; use ``.copy()`` or
    :func:`tinygrad_mnist.data.prepare` for writable float arrays.

    Example:
        >>> m = Mnist(np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.uint8),
        ...           np.zeros((1, 28, 28), np.uint8), np.zeros(1, np.uint8))
        >>> m
        Mnist(train_images=uint8(2, 28, 28), train_labels=uint8(2,), test_images=uint8(1, 28, 28), test_labels=uint8(1,))
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray

    def __repr__(self) -> str:
        # The default repr would print four (abbreviated) arrays; shapes say more.
        fields = ", ".join(f"{k}={getattr(self, k).dtype}{getattr(self, k).shape}" for k in FILE_KEYS)
        return f"Mnist({fields})"


# --------------------------------------------------------------------------- locations


def _default_data_dir(info: DatasetInfo) -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    # The XDG spec says relative values must be ignored.
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "tinygrad_mnist" / info.name


def _resolve_data_dir(data_dir: str | os.PathLike[str] | None, info: DatasetInfo) -> tuple[Path, str]:
    if data_dir is not None:
        found = (os.fspath(data_dir), "from the data_dir argument / --data-dir")
    elif os.environ.get(info.env_data, "").strip():
        found = (os.environ[info.env_data].strip(), f"from {info.env_data}")
    else:
        return _default_data_dir(info), "the default download cache"
    path, origin = found
    if "\0" in path:
        raise MnistDataError(
            f"the {info.title} folder {path!r} ({origin}) contains a NUL character; no folder can be named so")
    try:
        return Path(path).expanduser(), origin
    except RuntimeError as e:  # "~someone" where no such user exists
        raise MnistDataError(f"cannot use the {info.title} folder {path!r} ({origin}): {e}") from None


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None, dataset: str | DatasetInfo = "mnist") -> Path:
    """Return the folder a data set's files are read from (and downloaded into).

    Order: the ``data_dir`` argument (a command's ``--data-dir``), then the data set's environment
    variable (``$TINYGRAD_MNIST_DATA`` for MNIST), then ``$XDG_CACHE_HOME/tinygrad_mnist/<data set>``
    (or ``~/.cache/tinygrad_mnist/<data set>``). This is the one place that order is decided;
    :func:`load_mnist` uses it too. The folder does not need to exist, and nothing is created.

    Example:
        >>> resolve_data_dir("/data/mnist")
        PosixPath('/data/mnist')
        >>> resolve_data_dir(dataset="kmnist").name if "TINYGRAD_KMNIST_DATA" not in os.environ else "kmnist"
        'kmnist'
    """
    return _resolve_data_dir(data_dir, dataset_info(dataset))[0]


# --------------------------------------------------------------------------- verification


def _content_problem(data: bytes, f: DatasetFile) -> str | None:
    """Why ``data`` is not the expected uncompressed contents of ``f``, or None."""
    if len(data) != f.size:
        return f"its uncompressed contents are {len(data):,} bytes, expected {f.size:,}"
    if f.sha256 is not None:
        digest = hashlib.sha256(data).hexdigest()
        if digest != f.sha256:
            return f"sha256 of its uncompressed contents is {digest}, expected {f.sha256}"
    return None


def _distributed_problem(body: bytes, f: DatasetFile) -> str | None:
    """Why ``body`` is not ``f``'s .gz file as distributed (by its published size and digests), or None."""
    if body[:2] != GZIP_MAGIC:
        return ("it is not gzip-compressed, and only the .gz file as distributed can be checked against the "
                "published checksums")
    if f.gz_size is not None and len(body) != f.gz_size:
        return f"it is {len(body):,} bytes, but the published {f.name}.gz is {f.gz_size:,} bytes"
    for algorithm, expected in f.gz_digests:
        digest = hashlib.new(algorithm, body, usedforsecurity=False).hexdigest()
        if digest != expected:
            return f"its {algorithm} is {digest}, but the published {algorithm} of {f.name}.gz is {expected}"
    return None


def _is_file_of(body: bytes, f: DatasetFile) -> bool:
    """Whether the stored bytes ``body`` verify as ``f`` by all that is known of it."""
    if f.gz_digests and _distributed_problem(body, f) is not None:
        return False
    try:
        data = decompress(body, max_size=f.size)
    except IdxError:
        return False
    return _content_problem(data, f) is None


def _known_as(body: bytes, key: str, info: DatasetInfo) -> str | None:
    """The title of another known data set whose file ``key`` the stored bytes ``body`` are, or None."""
    for other in DATASETS.values():
        if other.name != info.name and _is_file_of(body, other.files[key]):
            return other.title
    return None


def _could_be(size: int, head: bytes, f: DatasetFile) -> bool:
    """Whether a stored file of ``size`` bytes starting with ``head`` can be ``f`` at all."""
    if f.gz_digests:
        return head == GZIP_MAGIC and (f.gz_size is None or size == f.gz_size)
    return size <= f.size + _DOWNLOAD_SLACK if head == GZIP_MAGIC else size == f.size


def _other_data_set(path: Path, key: str, info: DatasetInfo) -> str | None:
    """The title of the known data set the local file ``path`` belongs to instead, or None. Only a
    file whose size fits another data set's file is read, so an odd file still costs nothing."""
    try:
        with path.open("rb") as handle:
            head, size = handle.read(2), os.fstat(handle.fileno()).st_size
            if not any(_could_be(size, head, d.files[key]) for d in DATASETS.values() if d.name != info.name):
                return None
            handle.seek(0)
            body = handle.read()
    except OSError:
        return None
    return _known_as(body, key, info)


def _find_local(directory: Path, f: DatasetFile) -> Path | None:
    # Where only the .gz as distributed verifies, a .gz next to a raw copy is the one to use.
    names = (f"{f.name}.gz", f.name) if f.gz_digests else (f.name, f"{f.name}.gz")
    for candidate in (directory / name for name in names):
        try:
            if candidate.is_file():
                return candidate
        except OSError:  # e.g. a name too long for the file system: not there
            continue
    return None


def _same_dir(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except (OSError, RuntimeError):
        return False


def _read_distributed(path: Path, f: DatasetFile) -> tuple[bytes, str | None]:
    """The stored bytes of a local copy of a .gz-verified file, or why it cannot be that file
    (decided from its first bytes and its size before it is read whole)."""
    with path.open("rb") as handle:
        if handle.read(2) != GZIP_MAGIC:
            return b"", _distributed_problem(b"", f)
        size = os.fstat(handle.fileno()).st_size
        if f.gz_size is not None and size != f.gz_size:
            return b"", f"it is {size:,} bytes, but the published {f.name}.gz is {f.gz_size:,} bytes"
        handle.seek(0)
        body = handle.read()
    return body, _distributed_problem(body, f)


def _verified_source(path: Path, key: str, info: DatasetInfo, in_download_cache: bool) -> bytes:
    """Uncompressed contents of a local file, or MnistDataError if they are wrong."""
    f = info.files[key]
    data = b""
    try:
        if f.gz_digests:
            body, problem = _read_distributed(path, f)
            if problem is None:
                data = decompress(body, str(path), max_size=f.size)
        else:
            data, problem = read_uncompressed(path, max_size=f.size), None
        problem = problem or _content_problem(data, f)
    except OSError as e:  # unreadable, not damaged: never delete it for that
        raise MnistDataError(f"cannot read {path} ({e.strerror or e}). Check its permissions.") from None
    except IdxError as e:
        if isinstance(e.__cause__, OSError):
            raise MnistDataError(f"cannot read {path} ({e.__cause__}). Check its permissions.") from None
        problem = e.problem
    if problem is None:
        return data
    other = _other_data_set(path, key, info)
    if other is not None:
        problem += (f". It is {other}'s {f.name}: each data set needs its own folder (--data-dir DIR or "
                    f"{info.env_data}=DIR; a grid over --dataset needs the variables, not --data-dir)")
    if in_download_cache:
        try:
            path.unlink()
        except OSError:
            pass
        action = "It was in the download cache and has been deleted; run again to download it anew."
    elif f.gz_digests:
        action = ("Replace it with the .gz file as downloaded (a decompressed or recompressed copy cannot be "
                  "verified), or delete it to have it downloaded again.")
    else:
        action = "Replace it with a good copy, or delete it to have it downloaded again."
    raise MnistDataError(f"{info.title} file {path} failed verification: {problem}. {action}")


# --------------------------------------------------------------------------- download


def _download(
    key: str, info: DatasetInfo, dest: Path, urls: list[str], progress: bool, limits: DownloadLimits
) -> tuple[bytes | None, list[str]]:
    """The verified contents of file ``key`` from the first mirror that delivers them, saved into
    ``dest`` (created only now), and the reasons of the mirrors that failed before; None if all failed."""
    f = info.files[key]
    max_bytes = f.gz_size if f.gz_size is not None else f.size + _DOWNLOAD_SLACK
    failures = []
    for base in urls:
        url = f"{base}{f.name}.gz"
        try:
            body = fetch(url, max_bytes, limits, progress)
            problem = _distributed_problem(body, f) if f.gz_digests else None
            data = b"" if problem else decompress(body, url, max_size=f.size)
        except DownloadFailed as e:
            failures.append(f"  {url}: {e}")
            continue
        except IdxError as e:
            failures.append(f"  {url}: downloaded file is not valid gzip: {e.problem}")
            continue
        problem = problem or _content_problem(data, f)
        if problem is not None:
            other = _known_as(body, key, info)
            failures.append(f"  {url}: downloaded file failed verification: {problem}"
                            + (f" (it is {other}'s {f.name})" if other else ""))
            continue
        # Named by content, so a mirror that serves the raw file doesn't leave a fake .gz.
        _save(dest / (f"{f.name}.gz" if body[:2] == GZIP_MAGIC else f.name), body, info)
        return data, failures
    return None, failures


def _save(path: Path, body: bytes, info: DatasetInfo) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise MnistDataError(
            f"cannot create the {info.title} folder {path.parent} ({e}). Use a writable folder with "
            f"--data-dir DIR or {info.env_data}=DIR."
        ) from None
    try:
        atomic_write_bytes(path, body)
    except OSError as e:
        raise MnistDataError(
            f"cannot write the download of {path.name} into {path.parent} ({e}). Use a writable "
            f"folder with --data-dir DIR or {info.env_data}=DIR, or put the files there yourself."
        ) from None


def _missing_message(missing: list[str], info: DatasetInfo, directory: Path, origin: str, why: str) -> str:
    names = ", ".join(f"{info.files[key].name}{'.gz' if info.files[key].gz_digests else '[.gz]'}" for key in missing)
    form = "as downloaded (.gz)" if any(f.gz_digests for f in info.files.values()) else "gzipped or raw"
    return (
        f"{info.title} files not found: {names}\n"
        f"Looked in {directory} ({origin}).\n"
        f"{why}\n"
        f"If you have the files ({form}), put all four in one folder and pass "
        f"--data-dir DIR or set {info.env_data}=DIR. Other download mirrors can be given with "
        f"{info.env_mirrors}='URL1 URL2'."
    )


# --------------------------------------------------------------------------- loading


def load_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    progress: bool = True,
    download_limits: DownloadLimits | None = None,
    dataset: str | DatasetInfo = "mnist",
) -> Mnist:
    """Load a verified data set in MNIST's format (MNIST by default), downloading missing files if
    allowed.

    Args:
        data_dir: folder with the four files; see :func:`resolve_data_dir` for what ``None`` means.
        download: fetch missing files from :func:`~tinygrad_mnist.data.mirrors` into that folder.
        progress: show a download progress bar (tqdm, if installed).
        download_limits: when a slow or stalled mirror is given up (see
            :class:`~tinygrad_mnist.data.DownloadLimits`); the defaults suit a real network.
        dataset: ``"mnist"``, ``"fashion-mnist"`` or ``"kmnist"`` (see
            :data:`~tinygrad_mnist.data.DATASETS`), or a
            :class:`~tinygrad_mnist.data.DatasetInfo` describing a data set of one's own.

    Raises:
        MnistDataError: files missing and not downloadable, unreadable, or failing verification.
        ConfigError: an unknown data set name.

    Example:
        >>> m = load_mnist("../shared/data/mnist", download=False)  # doctest: +SKIP
        >>> m.train_images.shape, m.test_labels.dtype  # doctest: +SKIP
        ((60000, 28, 28), dtype('uint8'))
        >>> load_mnist(dataset="fashion-mnist").train_labels[:3]  # doctest: +SKIP
        array([9, 0, 0], dtype=uint8)
    """
    info = dataset_info(dataset)
    directory, origin = _resolve_data_dir(data_dir, info)
    in_download_cache = _same_dir(directory, _default_data_dir(info))
    for f in info.files.values():
        for name in (f.name, f"{f.name}.gz"):
            remove_stale_temporaries(directory / name)

    contents: dict[str, bytes] = {}
    missing = [key for key, f in info.files.items() if _find_local(directory, f) is None]
    if missing and not download:
        raise MnistDataError(_missing_message(missing, info, directory, origin, "Downloading is disabled."))
    urls = mirrors(info)
    for key in missing:
        data, failures = _download(key, info, directory, urls, progress, download_limits or DownloadLimits())
        if data is None:
            still = [k for k in missing if k not in contents]
            why = "Download failed from every mirror:\n" + "\n".join(failures)
            raise MnistDataError(_missing_message(still, info, directory, origin, why))
        contents[key] = data

    arrays = {}
    for key, f in info.files.items():
        data = contents.get(key)
        if data is None:
            source = _find_local(directory, f)
            if source is None:  # deleted by someone else between the two looks
                raise MnistDataError(_missing_message([key], info, directory, origin, "It disappeared while loading."))
            data = _verified_source(source, key, info, in_download_cache)
        arr = parse_idx(data, f.name)
        if arr.shape != f.shape:  # only a data set of one's own can get here: the checksums pin the rest
            raise MnistDataError(f"{info.title} file {f.name} holds an array of shape {arr.shape}, but its "
                                 f"description says {f.shape}; fix the DatasetInfo")
        arr.flags.writeable = False
        arrays[key] = arr
    return Mnist(**arrays)
