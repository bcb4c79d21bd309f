"""Finding, downloading and verifying the four MNIST files.

Where the files are looked for (first match wins; :func:`resolve_data_dir`):

1. the ``data_dir`` argument (the CLI's ``--data-dir``),
2. the environment variable ``TINYGRAD_MNIST_DATA``,
3. the download cache ``$XDG_CACHE_HOME/tinygrad_mnist/mnist``
   (``~/.cache/tinygrad_mnist/mnist`` when ``XDG_CACHE_HOME`` is unset).

Each file may be stored gzip-compressed (``name.gz``) or raw (``name``).
Every load checks every file against the sha256 of its *uncompressed*
contents (recompressed copies of MNIST exist whose ``.gz`` bytes differ), so
data is trusted for what it is, never for where it is. Decompressing and
hashing all four files takes about 0.3 s, which is why nothing is cached.

A file is refused before it is read whole when its size cannot be right (a
raw file must be exactly its known size; a gzip file cannot be much larger
than its contents), and gzip data is never inflated past the known size.

Downloads are kept in memory until verified; only then is the folder created
and the file written (atomically, next to its final name). Temporary files
that a killed process left there are removed at the next load.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import atomic_write_bytes, remove_stale_temporaries
from ..errors import IdxError, MnistDataError
from .download import ENV_MIRRORS, DownloadFailed, DownloadLimits, fetch, mirrors
from .idx import GZIP_MAGIC, decompress, parse_idx, read_uncompressed

__all__ = [
    "ENV_DATA",
    "MNIST_FILES",
    "MnistFile",
    "Mnist",
    "MnistDataError",
    "resolve_data_dir",
    "load_mnist",
]

#: Environment variable naming the folder with the four MNIST files (used when no data_dir is given).
ENV_DATA = "TINYGRAD_MNIST_DATA"

# A gzip download can be a little larger than its contents (headers, stored blocks), and a mirror
# may serve the raw file under the .gz name; anything bigger is the wrong thing and is cut off.
_DOWNLOAD_SLACK = 1 << 16


@dataclass(frozen=True)
class MnistFile:
    """One of the four MNIST files: its name (without ``.gz``), the sha256 and
    size of its uncompressed contents, and the array shape it holds.

    Example:
        >>> MNIST_FILES["train_labels"].shape
        (60000,)
    """

    name: str
    sha256: str
    size: int
    shape: tuple[int, ...]


#: The four files, keyed by the matching :class:`Mnist` field name.
MNIST_FILES: dict[str, MnistFile] = {
    "train_images": MnistFile(
        "train-images-idx3-ubyte",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        47_040_016,
        (60000, 28, 28),
    ),
    "train_labels": MnistFile(
        "train-labels-idx1-ubyte",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        60_008,
        (60000,),
    ),
    "test_images": MnistFile(
        "t10k-images-idx3-ubyte",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        7_840_016,
        (10000, 28, 28),
    ),
    "test_labels": MnistFile(
        "t10k-labels-idx1-ubyte",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        10_008,
        (10000,),
    ),
}


@dataclass(frozen=True, repr=False, eq=False)
class Mnist:
    """The MNIST data set as uint8 arrays, exactly as stored in the IDX files.

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
        fields = ", ".join(
            f"{k}={getattr(self, k).dtype}{getattr(self, k).shape}" for k in MNIST_FILES
        )
        return f"Mnist({fields})"


# --------------------------------------------------------------------------- locations


def _default_data_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    # The XDG spec says relative values must be ignored.
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "tinygrad_mnist" / "mnist"


def _resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> tuple[Path, str]:
    if data_dir is not None:
        found = (os.fspath(data_dir), "from the data_dir argument / --data-dir")
    elif os.environ.get(ENV_DATA, "").strip():
        found = (os.environ[ENV_DATA].strip(), f"from {ENV_DATA}")
    else:
        return _default_data_dir(), "the default download cache"
    path, origin = found
    if "\0" in path:
        raise MnistDataError(f"the MNIST folder {path!r} ({origin}) contains a NUL character; no folder can be named so")
    try:
        return Path(path).expanduser(), origin
    except RuntimeError as e:  # "~someone" where no such user exists
        raise MnistDataError(f"cannot use the MNIST folder {path!r} ({origin}): {e}") from None


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the folder the MNIST files are read from (and downloaded into).

    Order: the ``data_dir`` argument (a command's ``--data-dir``), then ``$TINYGRAD_MNIST_DATA``,
    then ``$XDG_CACHE_HOME/tinygrad_mnist/mnist`` (or ``~/.cache/tinygrad_mnist/mnist``). This is the
    one place that order is decided; :func:`load_mnist` uses it too. The folder does not need to
    exist, and nothing is created.

    Example:
        >>> resolve_data_dir("/data/mnist")
        PosixPath('/data/mnist')
    """
    return _resolve_data_dir(data_dir)[0]


# --------------------------------------------------------------------------- verification


def _content_problem(data: bytes, f: MnistFile) -> str | None:
    """Why ``data`` is not the expected uncompressed contents of ``f``, or None."""
    if len(data) != f.size:
        return f"its uncompressed contents are {len(data):,} bytes, expected {f.size:,}"
    digest = hashlib.sha256(data).hexdigest()
    if digest != f.sha256:
        return f"sha256 of its uncompressed contents is {digest}, expected {f.sha256}"
    return None


def _find_local(directory: Path, f: MnistFile) -> Path | None:
    for candidate in (directory / f.name, directory / f"{f.name}.gz"):
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


def _verified_source(path: Path, f: MnistFile, in_download_cache: bool) -> bytes:
    """Uncompressed contents of a local file, or MnistDataError if they are wrong."""
    try:
        data = read_uncompressed(path, max_size=f.size)
        problem = _content_problem(data, f)
    except IdxError as e:
        if isinstance(e.__cause__, OSError):  # unreadable, not damaged: never delete it for that
            raise MnistDataError(f"cannot read {path} ({e.__cause__}). Check its permissions.") from None
        data, problem = b"", e.problem
    if problem is None:
        return data
    if in_download_cache:
        try:
            path.unlink()
        except OSError:
            pass
        action = "It was in the download cache and has been deleted; run again to download it anew."
    else:
        action = "Replace it with a good copy, or delete it to have it downloaded again."
    raise MnistDataError(f"MNIST file {path} failed verification: {problem}. {action}")


# --------------------------------------------------------------------------- download


def _download(
    f: MnistFile, dest: Path, urls: list[str], progress: bool, limits: DownloadLimits
) -> tuple[bytes | None, list[str]]:
    """The verified contents of ``f`` from the first mirror that delivers them, saved into ``dest``
    (created only now), and the reasons of the mirrors that failed before; None if all failed."""
    failures = []
    for base in urls:
        url = f"{base}{f.name}.gz"
        try:
            body = fetch(url, f.size + _DOWNLOAD_SLACK, limits, progress)
            data = decompress(body, url, max_size=f.size)
        except DownloadFailed as e:
            failures.append(f"  {url}: {e}")
            continue
        except IdxError as e:
            failures.append(f"  {url}: downloaded file is not valid gzip: {e.problem}")
            continue
        problem = _content_problem(data, f)
        if problem is not None:
            failures.append(f"  {url}: downloaded file failed verification: {problem}")
            continue
        # Named by content, so a mirror that serves the raw file doesn't leave a fake .gz.
        _save(dest / (f"{f.name}.gz" if body[:2] == GZIP_MAGIC else f.name), body)
        return data, failures
    return None, failures


def _save(path: Path, body: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise MnistDataError(
            f"cannot create the MNIST folder {path.parent} ({e}). Use a writable folder with "
            f"--data-dir DIR or {ENV_DATA}=DIR."
        ) from None
    try:
        atomic_write_bytes(path, body)
    except OSError as e:
        raise MnistDataError(
            f"cannot write the download of {path.name} into {path.parent} ({e}). Use a writable "
            f"folder with --data-dir DIR or {ENV_DATA}=DIR, or put the files there yourself."
        ) from None


def _missing_message(missing: list[MnistFile], directory: Path, origin: str, why: str) -> str:
    names = ", ".join(f"{f.name}[.gz]" for f in missing)
    return (
        f"MNIST files not found: {names}\n"
        f"Looked in {directory} ({origin}).\n"
        f"{why}\n"
        f"If you have the files (gzipped or raw), put all four in one folder and pass "
        f"--data-dir DIR or set {ENV_DATA}=DIR. Other download mirrors can be given with "
        f"{ENV_MIRRORS}='URL1 URL2'."
    )


# --------------------------------------------------------------------------- loading


def load_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    progress: bool = True,
    download_limits: DownloadLimits | None = None,
) -> Mnist:
    """Load the verified MNIST data set, downloading missing files if allowed.

    Args:
        data_dir: folder with the four files (``.gz`` or raw); see
            :func:`resolve_data_dir` for what ``None`` means.
        download: fetch missing files from :func:`~tinygrad_mnist.data.mirrors` into that folder.
        progress: show a download progress bar (tqdm, if installed).
        download_limits: when a slow or stalled mirror is given up (see
            :class:`~tinygrad_mnist.data.DownloadLimits`); the defaults suit a real network.

    Raises:
        MnistDataError: files missing and not downloadable, unreadable, or failing verification.

    Example:
        >>> m = load_mnist("../shared/data/mnist", download=False)  # doctest: +SKIP
        >>> m.train_images.shape, m.test_labels.dtype  # doctest: +SKIP
        ((60000, 28, 28), dtype('uint8'))
    """
    directory, origin = _resolve_data_dir(data_dir)
    in_download_cache = _same_dir(directory, _default_data_dir())
    for f in MNIST_FILES.values():
        for name in (f.name, f"{f.name}.gz"):
            remove_stale_temporaries(directory / name)

    contents: dict[str, bytes] = {}
    missing = [key for key, f in MNIST_FILES.items() if _find_local(directory, f) is None]
    if missing and not download:
        raise MnistDataError(
            _missing_message([MNIST_FILES[k] for k in missing], directory, origin, "Downloading is disabled.")
        )
    urls = mirrors()
    for key in missing:
        data, failures = _download(MNIST_FILES[key], directory, urls, progress, download_limits or DownloadLimits())
        if data is None:
            still = [MNIST_FILES[k] for k in missing if k not in contents]
            why = "Download failed from every mirror:\n" + "\n".join(failures)
            raise MnistDataError(_missing_message(still, directory, origin, why))
        contents[key] = data

    arrays = {}
    for key, f in MNIST_FILES.items():
        data = contents.get(key)
        if data is None:
            source = _find_local(directory, f)
            if source is None:  # deleted by someone else between the two looks
                raise MnistDataError(_missing_message([f], directory, origin, "It disappeared while loading."))
            data = _verified_source(source, f, in_download_cache)
        arr = parse_idx(data, f.name)  # cannot fail: the bytes match the known sha256
        arr.flags.writeable = False
        arrays[key] = arr
    return Mnist(**arrays)
