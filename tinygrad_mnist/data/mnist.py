"""Finding, downloading, verifying and caching the four MNIST files.

Where the files are looked for (first match wins):

1. the ``data_dir`` argument (the CLI's ``--data-dir``),
2. the environment variable ``TINYGRAD_MNIST_DATA``,
3. the download cache ``$XDG_CACHE_HOME/tinygrad_mnist/mnist``
   (``~/.cache/tinygrad_mnist/mnist`` when ``XDG_CACHE_HOME`` is unset).

Each file may be stored gzip-compressed (``name.gz``) or raw (``name``).
Every file is checked against the sha256 of its *uncompressed* contents,
because recompressed copies of MNIST exist whose ``.gz`` bytes differ.

Decompressing the 47 MB training images costs about 0.2 s, so the verified
uncompressed bytes of gzipped sources are kept in a second cache
(``TINYGRAD_MNIST_CACHE``, default ``$XDG_CACHE_HOME/tinygrad_mnist/decompressed``),
which works even when the data folder is read-only. A cache entry is named
after the sha256 it must have and is re-hashed on every load (sha256 of
55 MB takes ~30 ms on CPUs with SHA instructions, ~0.15 s without; either
fits the 1 s budget), so a damaged entry is never used. The
gzip source itself is only re-verified when its size, mtime, ctime or inode
changed since it was last verified (the same cheap change test make and git
use); those "stamps" live next to the cache entries.

Everything written (downloads, cache entries, stamps) goes to a temporary
file in the destination folder first and is renamed into place with
``os.replace`` only when complete and verified.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import atomic_write_bytes, fsync_dir
from ..errors import UserError
from .idx import GZIP_MAGIC, IdxError, decompress, parse_idx

try:  # tqdm is a runtime dependency, but a missing progress bar must not stop a download.
    from tqdm import tqdm as _tqdm
except ImportError:  # pragma: no cover - exercised by monkeypatching _tqdm in tests
    _tqdm = None

__all__ = [
    "ENV_CACHE",
    "ENV_DATA",
    "ENV_MIRRORS",
    "DEFAULT_MIRRORS",
    "MNIST_FILES",
    "MnistFile",
    "Mnist",
    "MnistDataError",
    "MnistCacheWarning",
    "resolve_data_dir",
    "resolve_cache_dir",
    "mirrors",
    "load_mnist",
]

#: Environment variable naming the folder with the four MNIST files (used when no data_dir is given).
ENV_DATA = "TINYGRAD_MNIST_DATA"
#: Environment variable naming the folder of the decompressed, verified cache.
ENV_CACHE = "TINYGRAD_MNIST_CACHE"
#: Environment variable with mirror URLs (separated by spaces or commas) to use instead of the defaults.
ENV_MIRRORS = "TINYGRAD_MNIST_MIRRORS"

#: Standard public copies, tried in order. Integrity comes from the sha256
#: check, not from the transport, so a plain-http mirror is acceptable.
DEFAULT_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

_TIMEOUT_S = 30.0
_RACY_NS = 2_000_000_000
_CHUNK = 1 << 20
_USER_AGENT = "tinygrad_mnist (python urllib)"


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


class MnistDataError(UserError, RuntimeError):
    """The MNIST files are missing, could not be downloaded, or failed verification.

    The message says which files, where they were looked for, and what to do.

    Example:
        >>> try:
        ...     load_mnist("/nonexistent", download=False)
        ... except MnistDataError as e:
        ...     "--data-dir" in str(e)
        True
    """


class MnistCacheWarning(UserWarning):
    """The decompressed cache could not be used (unwritable or damaged entry).

    Loading still succeeds; it is just slower until the cache works again.

    Example:
        >>> import warnings
        >>> warnings.simplefilter("ignore", MnistCacheWarning)
    """


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


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def _user_cache_root() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    # The XDG spec says relative values must be ignored.
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "tinygrad_mnist"


def _default_data_dir() -> Path:
    return _user_cache_root() / "mnist"


def _resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> tuple[Path, str]:
    if data_dir is not None:
        return Path(data_dir).expanduser(), "from the data_dir argument / --data-dir"
    env = _env_path(ENV_DATA)
    if env is not None:
        return env, f"from {ENV_DATA}"
    return _default_data_dir(), "the default download cache"


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the folder the MNIST files are read from (and downloaded into).

    Order: the ``data_dir`` argument, then ``$TINYGRAD_MNIST_DATA``, then
    ``$XDG_CACHE_HOME/tinygrad_mnist/mnist`` (or ``~/.cache/tinygrad_mnist/mnist``).
    The folder does not need to exist.

    Example:
        >>> resolve_data_dir("/data/mnist")
        PosixPath('/data/mnist')
    """
    return _resolve_data_dir(data_dir)[0]


def resolve_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the folder for the verified decompressed copies of gzipped files.

    Order: the ``cache_dir`` argument, then ``$TINYGRAD_MNIST_CACHE``, then
    ``$XDG_CACHE_HOME/tinygrad_mnist/decompressed`` (or under ``~/.cache``).

    Example:
        >>> resolve_cache_dir("/tmp/mnist-cache")
        PosixPath('/tmp/mnist-cache')
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = _env_path(ENV_CACHE)
    return env if env is not None else _user_cache_root() / "decompressed"


def mirrors() -> list[str]:
    """Return the base URLs to download from, each ending in ``/``.

    ``$TINYGRAD_MNIST_MIRRORS`` (URLs separated by whitespace or commas)
    replaces :data:`DEFAULT_MIRRORS` when set and non-empty.

    Example:
        >>> all(url.endswith("/") for url in mirrors())
        True
    """
    urls = [u for u in re.split(r"[\s,]+", os.environ.get(ENV_MIRRORS, "")) if u]
    return [u if u.endswith("/") else u + "/" for u in (urls or DEFAULT_MIRRORS)]


# --------------------------------------------------------------------------- file helpers


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _content_problem(data: bytes, f: MnistFile) -> str | None:
    """Why ``data`` is not the expected uncompressed contents of ``f``, or None."""
    if len(data) != f.size:
        return f"its uncompressed contents are {len(data):,} bytes, expected {f.size:,}"
    digest = _sha256(data)
    if digest != f.sha256:
        return f"sha256 of its uncompressed contents is {digest}, expected {f.sha256}"
    return None


def _find_local(directory: Path, f: MnistFile) -> Path | None:
    # Raw first: it needs no decompression and therefore no cache.
    for candidate in (directory / f.name, directory / f"{f.name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _is_gzip(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(2) == GZIP_MAGIC
    except OSError as e:
        raise MnistDataError(f"cannot read {path} ({e}). Check its permissions.") from e


def _same_dir(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


# --------------------------------------------------------------------------- decompressed cache


class _Cache:
    """Verified uncompressed copies of gzipped sources, named by their sha256."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.usable = True

    def _disable(self, why: str) -> None:
        if self.usable:
            warnings.warn(
                f"MNIST cache {self.directory} is not usable ({why}); loading without it "
                f"is slower. Set {ENV_CACHE} to a writable folder to fix this.",
                MnistCacheWarning,
                stacklevel=4,
            )
        self.usable = False

    def entry(self, f: MnistFile) -> Path:
        return self.directory / f"{f.name}-{f.sha256}"

    def _stamp_path(self, f: MnistFile, source: Path) -> Path:
        key = _sha256(str(source.resolve()).encode())[:16]
        return self.directory / f"{f.name}-{f.sha256}.source-{key}.json"

    def load(self, f: MnistFile) -> bytes | None:
        """The cached contents if present and verified; a bad entry is deleted."""
        path = self.entry(f)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            self._disable(f"cannot read {path.name}: {e}")
            return None
        problem = _content_problem(data, f)
        if problem is None:
            return data
        warnings.warn(
            f"MNIST cache entry {path} failed verification ({problem}); rebuilding it.",
            MnistCacheWarning,
            stacklevel=3,
        )
        try:
            path.unlink()
        except OSError as e:
            self._disable(f"cannot remove damaged entry {path.name}: {e}")
        return None

    def store(self, f: MnistFile, data: bytes) -> None:
        if not self.usable:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.entry(f), data)
        except OSError as e:
            self._disable(str(e))

    @staticmethod
    def signature(source: Path) -> dict[str, int | str] | None:
        """What must stay the same for an earlier verification of ``source`` to hold."""
        try:
            st = source.stat()
        except OSError:
            return None
        return {
            "path": str(source.resolve()),
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "ctime_ns": st.st_ctime_ns,
            "ino": st.st_ino,
            "dev": st.st_dev,
        }

    def source_unchanged(self, f: MnistFile, source: Path) -> bool:
        """True if ``source`` was verified before and has not changed since."""
        try:
            recorded = json.loads(self._stamp_path(f, source).read_text())
            return recorded == self.signature(source)
        except (OSError, ValueError):
            return False

    def record_source(self, f: MnistFile, source: Path, signature: dict[str, int | str] | None) -> None:
        """Remember that ``source`` verified while it had ``signature`` (taken before reading it)."""
        if not self.usable or signature is None:
            return
        # Timestamps are coarse (a few ms), so a file changed just now could change
        # again without a visible difference; such files stay unstamped and are
        # simply verified again next time (git's "racy clean" rule).
        changed_ns = max(int(signature["mtime_ns"]), int(signature["ctime_ns"]))
        if time.time_ns() - changed_ns < _RACY_NS:
            return
        try:
            payload = json.dumps(signature).encode()
            atomic_write_bytes(self._stamp_path(f, source), payload)
        except OSError as e:
            self._disable(str(e))


# --------------------------------------------------------------------------- download


class _MirrorFailed(Exception):
    """One mirror could not deliver a good copy; the next one is tried."""


class _NoBar:
    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int) -> None:
        pass


def _progress_bar(total: int | None, desc: str, progress: bool):
    if progress and _tqdm is not None:
        return _tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, leave=False)
    if progress:
        print(f"downloading {desc} ...", file=sys.stderr, flush=True)
    return _NoBar()


def _fetch_into(url: str, out, f: MnistFile, progress: bool) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    # A .gz can't be larger than its contents plus a little framing, nor a raw copy
    # larger than f.size, so anything bigger is the wrong thing and is cut off.
    limit = f.size + (1 << 16)
    with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        received = 0
        with _progress_bar(total, url.rsplit("/", 1)[-1], progress) as bar:
            while chunk := response.read(_CHUNK):
                received += len(chunk)
                if received > limit:
                    raise _MirrorFailed(f"response is larger than {limit:,} bytes")
                out.write(chunk)
                bar.update(len(chunk))
    if total is not None and received != total:
        raise _MirrorFailed(f"connection ended after {received:,} of {total:,} bytes")


def _download_one(url: str, f: MnistFile, dest: Path, progress: bool) -> tuple[Path, bytes]:
    try:
        fd, tmp_name = tempfile.mkstemp(dir=dest, prefix=f".{f.name}.", suffix=".part")
    except OSError as e:
        raise MnistDataError(
            f"cannot write the download of {f.name} into {dest} ({e}). Use a writable "
            f"folder with --data-dir DIR or {ENV_DATA}=DIR, or put the files there yourself."
        ) from e
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                _fetch_into(url, out, f, progress)
            except (OSError, http.client.HTTPException, ValueError) as e:
                # URLError/HTTPError/timeouts are OSErrors; ValueError is a malformed URL.
                raise _MirrorFailed(str(e) or type(e).__name__) from e
            out.flush()
            os.fsync(out.fileno())
        # Verify what actually landed on disk, not what we think we wrote.
        raw = tmp.read_bytes()
        try:
            data = decompress(raw, url, max_size=f.size)
        except IdxError as e:
            raise _MirrorFailed(f"downloaded file is not valid gzip: {e.problem}") from e
        problem = _content_problem(data, f)
        if problem is not None:
            raise _MirrorFailed(f"downloaded file failed verification: {problem}")
        # Name by content so a mirror that serves the raw file doesn't leave a fake .gz.
        final = dest / (f"{f.name}.gz" if raw[:2] == GZIP_MAGIC else f.name)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(dest)
    return final, data


def _download(f: MnistFile, dest: Path, urls: list[str], progress: bool) -> tuple[Path, bytes]:
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise MnistDataError(
            f"cannot create the MNIST folder {dest} ({e}). Use a writable folder with "
            f"--data-dir DIR or {ENV_DATA}=DIR."
        ) from e
    failures = []
    for base in urls:
        url = f"{base}{f.name}.gz"
        try:
            return _download_one(url, f, dest, progress)
        except _MirrorFailed as e:
            failures.append(f"  {url}: {e}")
    raise _AllMirrorsFailed("\n".join(failures))


class _AllMirrorsFailed(Exception):
    pass


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


def _verified_source(path: Path, f: MnistFile, in_download_cache: bool) -> bytes:
    """Uncompressed contents of a local file, or MnistDataError if they are wrong."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise MnistDataError(f"cannot read {path} ({e}). Check its permissions.") from e
    try:
        data = decompress(raw, str(path), max_size=f.size)
        problem = _content_problem(data, f)
    except IdxError as e:
        data, problem = b"", e.problem
    if problem is None:
        return data
    if in_download_cache:
        path.unlink(missing_ok=True)
        action = "It was in the download cache and has been deleted; run again to download it anew."
    else:
        action = "Replace it with a good copy, or delete it to have it downloaded again."
    raise MnistDataError(f"MNIST file {path} failed verification: {problem}. {action}")


def load_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    progress: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Mnist:
    """Load the verified MNIST data set, downloading missing files if allowed.

    Args:
        data_dir: folder with the four files (``.gz`` or raw); see
            :func:`resolve_data_dir` for what ``None`` means.
        download: fetch missing files from :func:`mirrors` into that folder.
        progress: show a download progress bar (tqdm, if installed).
        cache_dir: folder for the decompressed cache; see :func:`resolve_cache_dir`.

    Raises:
        MnistDataError: files missing and not downloadable, or failing verification.

    Example:
        >>> m = load_mnist("../shared/data/mnist", download=False)  # doctest: +SKIP
        >>> m.train_images.shape, m.test_labels.dtype  # doctest: +SKIP
        ((60000, 28, 28), dtype('uint8'))
    """
    directory, origin = _resolve_data_dir(data_dir)
    in_download_cache = _same_dir(directory, _default_data_dir())
    cache = _Cache(resolve_cache_dir(cache_dir))

    sources: dict[str, Path] = {}
    contents: dict[str, bytes] = {}
    missing = [key for key, f in MNIST_FILES.items() if _find_local(directory, f) is None]
    if missing and not download:
        raise MnistDataError(
            _missing_message(
                [MNIST_FILES[k] for k in missing], directory, origin, "Downloading is disabled."
            )
        )
    urls = mirrors()
    for key in missing:
        try:
            sources[key], contents[key] = _download(MNIST_FILES[key], directory, urls, progress)
        except _AllMirrorsFailed as e:
            still = [MNIST_FILES[k] for k in missing if k not in sources]
            raise MnistDataError(
                _missing_message(still, directory, origin, f"Download failed from every mirror:\n{e}")
            ) from None

    arrays = {}
    for key, f in MNIST_FILES.items():
        source = sources.get(key) or _find_local(directory, f)
        if source is None:  # deleted by someone else between the two looks
            raise MnistDataError(_missing_message([f], directory, origin, "It disappeared while loading."))
        data = contents.get(key)
        if data is None:
            if _is_gzip(source):
                data = cache.load(f)
                if data is None or not cache.source_unchanged(f, source):
                    signature = cache.signature(source)  # before reading: see record_source
                    fresh = _verified_source(source, f, in_download_cache)
                    if data is None:
                        cache.store(f, fresh)
                    data = fresh
                    cache.record_source(f, source, signature)
            else:
                # Raw files verify as fast as a cache entry would; no copy needed.
                data = _verified_source(source, f, in_download_cache)
        elif source.name.endswith(".gz"):
            # Just downloaded: fill the cache. The source gets its stamp on the next
            # load, which verifies it once more from disk.
            cache.store(f, data)
        arr = parse_idx(data, str(source))  # cannot fail: the bytes match the known sha256
        arr.flags.writeable = False
        arrays[key] = arr
    return Mnist(**arrays)
