"""Real downloads from HTTP servers on 127.0.0.1 (never an external host)."""

from __future__ import annotations

import gzip
import http.server
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tinygrad_mnist.data import MNIST_FILES, Mnist, MnistDataError, load_mnist
from tinygrad_mnist.data import download as download_module


LABELS = MNIST_FILES["train_labels"].name


def set_mirrors(monkeypatch: pytest.MonkeyPatch, *urls: str) -> None:
    monkeypatch.setenv("TINYGRAD_MNIST_MIRRORS", " ".join(urls))


def same_data(a: Mnist, b: Mnist) -> bool:
    return all(np.array_equal(getattr(a, k), getattr(b, k)) for k in MNIST_FILES)


def leftovers(directory: Path) -> list[str]:
    """Temporary files a download might have left behind."""
    return [p.name for p in directory.iterdir() if p.name.startswith(".") or p.suffix in (".part", ".tmp")]


def test_download_all_files(
    tmp_path: Path, shared_dir: Path, http_mirror: Any, mnist: Mnist, monkeypatch: pytest.MonkeyPatch,
    closed_port: Any,
) -> None:
    set_mirrors(monkeypatch, http_mirror(shared_dir))
    dest = tmp_path / "new" / "mnist"  # does not exist yet
    loaded = load_mnist(dest, progress=False)
    assert same_data(loaded, mnist)
    assert sorted(p.name for p in dest.iterdir()) == sorted(f"{f.name}.gz" for f in MNIST_FILES.values())
    assert leftovers(dest) == []
    # The downloaded files verify on their own: load again with no mirror.
    set_mirrors(monkeypatch, f"http://127.0.0.1:{closed_port()}/")
    assert same_data(load_mnist(dest, progress=False), mnist)


def corrupted_mirror_dir(tmp_path: Path, raw_contents: Callable[[str], bytes]) -> Path:
    served = tmp_path / "served"
    served.mkdir()
    data = bytearray(raw_contents("train_labels"))
    data[100] = (data[100] + 1) % 10  # same length, valid gzip: only the hash notices
    (served / f"{LABELS}.gz").write_bytes(gzip.compress(bytes(data)))
    return served


def test_corrupted_download_is_never_saved(
    tmp_path: Path,
    link_real: Any,
    http_mirror: Any,
    raw_contents: Callable[[str], bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_mirrors(monkeypatch, http_mirror(corrupted_mirror_dir(tmp_path, raw_contents)))
    dest = tmp_path / "dest"
    link_real(dest, ["train_images", "test_images", "test_labels"])
    with pytest.raises(MnistDataError) as info:
        load_mnist(dest, progress=False)
    message = str(info.value)
    assert f"{LABELS}.gz: downloaded file failed verification: sha256" in message
    assert not any(p.name.startswith(LABELS) for p in dest.iterdir())
    assert leftovers(dest) == []


class TruncatingHandler(http.server.BaseHTTPRequestHandler):
    """Promises more bytes than it sends, then hangs up (a dropped connection)."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(b"\x1f\x8b" + b"\0" * 998)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass


class HugeHandler(TruncatingHandler):
    """Streams far more than any MNIST file could be, without a Content-Length."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        try:
            for _ in range(200):
                self.wfile.write(b"\0" * 65536)
        except OSError:
            pass  # the client hung up, as it should
        self.close_connection = True


def test_bad_mirrors_fall_through_to_a_good_one(
    closed_port: Any,
    tmp_path: Path,
    shared_dir: Path,
    link_real: Any,
    http_mirror: Any,
    raw_contents: Callable[[str], bytes],
    mnist: Mnist,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    empty, portal, broken = tmp_path / "empty", tmp_path / "portal", tmp_path / "broken"
    for d in (empty, portal, broken):
        d.mkdir()
    (portal / f"{LABELS}.gz").write_bytes(b"<html>Please log in to the Wi-Fi</html>")
    (broken / f"{LABELS}.gz").write_bytes(b"\x1f\x8b" + b"\x08" + b"junk" * 100)
    bad_mirrors = [
        f"http://127.0.0.1:{closed_port()}/",  # unreachable
        http_mirror(empty),  # 404
        http_mirror(corrupted_mirror_dir(tmp_path, raw_contents)),  # wrong contents
        http_mirror(empty, TruncatingHandler),  # connection drops
        http_mirror(portal),  # a captive portal's HTML page
        http_mirror(broken),  # gzip magic, then garbage
    ]
    expected_reasons = [
        "refused",
        "404",
        "failed verification",
        "connection ended after 1,000 of 100,000 bytes",
        "uncompressed contents are 39 bytes, expected 60,008",
        "downloaded file is not valid gzip",
    ]
    dest = tmp_path / "dest"
    link_real(dest, ["train_images", "test_images", "test_labels"])
    set_mirrors(monkeypatch, *bad_mirrors)
    with pytest.raises(MnistDataError) as info:
        load_mnist(dest, progress=False)
    reasons = str(info.value).splitlines()
    for url, reason in zip(bad_mirrors, expected_reasons):
        assert any(line.startswith(f"  {url}") and reason in line for line in reasons), (url, reason)
    assert leftovers(dest) == []

    set_mirrors(monkeypatch, *bad_mirrors, http_mirror(shared_dir))
    loaded = load_mnist(dest, progress=False)
    assert np.array_equal(loaded.train_labels, mnist.train_labels)
    assert (dest / f"{LABELS}.gz").is_file() and not (dest / f"{LABELS}.gz").is_symlink()
    assert leftovers(dest) == []


def test_oversized_response_is_cut_off(
    tmp_path: Path, link_real: Any, http_mirror: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_mirrors(monkeypatch, http_mirror(tmp_path, HugeHandler))
    dest = tmp_path / "dest"
    link_real(dest, ["train_images", "test_images", "test_labels"])
    with pytest.raises(MnistDataError, match="response is larger than"):
        load_mnist(dest, progress=False)
    assert leftovers(dest) == []


def test_all_mirrors_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, closed_port: Any) -> None:
    dead = [f"http://127.0.0.1:{closed_port()}/", f"http://127.0.0.1:{closed_port()}/mnist/"]
    set_mirrors(monkeypatch, *dead)
    with pytest.raises(MnistDataError) as info:
        load_mnist(tmp_path, progress=False)
    message = str(info.value)
    assert "--data-dir DIR" in message and "TINYGRAD_MNIST_DATA=DIR" in message
    assert str(tmp_path) in message
    for f in MNIST_FILES.values():
        assert f.name in message
    for url in dead:
        assert url in message  # each mirror's failure is reported
    assert leftovers(tmp_path) == []


def test_unwritable_destination(tmp_path: Path, shared_dir: Path, http_mirror: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    set_mirrors(monkeypatch, http_mirror(shared_dir))
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    # Running as root defeats permission bits; a path through a regular file fails for anyone.
    with pytest.raises(MnistDataError, match="cannot create the MNIST folder"):
        load_mnist(blocker / "mnist", progress=False)


def test_download_cache_cycle(
    tmp_path: Path,
    shared_dir: Path,
    http_mirror: Any,
    raw_contents: Callable[[str], bytes],
    mnist: Mnist,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Default folder: download, detect a damaged file, delete it, re-download."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    set_mirrors(monkeypatch, http_mirror(shared_dir))
    default_dir = tmp_path / "tinygrad_mnist" / "mnist"
    assert same_data(load_mnist(progress=False), mnist)
    labels = default_dir / f"{LABELS}.gz"
    assert labels.is_file()

    labels.write_bytes(gzip.compress(raw_contents("train_labels")[:-1]))
    with pytest.raises(MnistDataError, match="deleted; run again"):
        load_mnist(progress=False)
    assert not labels.exists()

    assert np.array_equal(load_mnist(progress=False).train_labels, mnist.train_labels)
    assert labels.is_file()


def test_mirror_serving_uncompressed_file(
    tmp_path: Path,
    link_real: Any,
    http_mirror: Any,
    raw_contents: Callable[[str], bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served = tmp_path / "served"
    served.mkdir()
    (served / f"{LABELS}.gz").write_bytes(raw_contents("train_labels"))  # a lie: not gzip
    set_mirrors(monkeypatch, http_mirror(served))
    dest = tmp_path / "dest"
    link_real(dest, ["train_images", "test_images", "test_labels"])
    load_mnist(dest, progress=False)
    # Saved under its true (uncompressed) name, so nothing pretends to be gzip.
    assert (dest / LABELS).read_bytes() == raw_contents("train_labels")
    assert not (dest / f"{LABELS}.gz").exists()


@pytest.mark.parametrize("have_tqdm", [True, False], ids=["tqdm", "no-tqdm"])
def test_progress_output(
    tmp_path: Path,
    link_real: Any,
    shared_dir: Path,
    http_mirror: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    have_tqdm: bool,
) -> None:
    if not have_tqdm:
        monkeypatch.setattr(download_module, "_tqdm", None)
    set_mirrors(monkeypatch, http_mirror(shared_dir))
    dest = tmp_path / "dest"
    link_real(dest, ["train_images", "test_images", "test_labels"])
    load_mnist(dest, progress=True)
    err = capsys.readouterr().err
    assert f"{LABELS}.gz" in err
    if not have_tqdm:
        assert "downloading" in err
