"""Fashion-MNIST and KMNIST: the registry's published checksums and mirrors, and verification of the
.gz files as distributed, with small synthetic IDX files served from 127.0.0.1 (the real files are
not on this machine; the real MNIST files stand in for "another data set's files")."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from idx_datasets import KEYS, gz, synthetic_mnist, write_dataset
from tinygrad_mnist.data import (
    DATASET_NAMES,
    DATASETS,
    DatasetFile,
    DatasetInfo,
    Mnist,
    MnistDataError,
    dataset_info,
    encode_idx,
    load_mnist,
    mirrors,
    resolve_data_dir,
)
from tinygrad_mnist.errors import ConfigError

# The published values, typed in again from the sources named in tinygrad_mnist/data/datasets.py, so
# that an accidental edit of one digit there fails here.
PUBLISHED = {
    "fashion-mnist": {
        "train_images": (26_421_880, "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        "train_labels": (29_515, "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", "25c81989df183df01b3e8a0aad5dffbe"),
        "test_images": (4_422_102, "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", "bef4ecab320f06d8554ea6380940ec79"),
        "test_labels": (5_148, "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", "bb300cfdad3c16e7a12a480ee83cd310"),
    },
    "kmnist": {
        "train_images": (18_165_135, "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4", "bdb82020997e1d708af4cf47b453dcf7"),
        "train_labels": (29_497, "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17", "e144d726b3acfaa3e44228e80efcd344"),
        "test_images": (3_041_136, "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5", "5c965bf0a639b31b8f53240b1b52f4d7"),
        "test_labels": (5_120, "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c", "7320c461ea6c1c855c0b718fb2a4b134"),
    },
}


def set_mirrors(monkeypatch: pytest.MonkeyPatch, info: DatasetInfo, *urls: str) -> None:
    monkeypatch.setenv(info.env_mirrors, " ".join(urls))


def leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.startswith(".") or p.suffix in (".part", ".tmp")]


def same(a: Mnist, b: Mnist) -> bool:
    return all(np.array_equal(getattr(a, k), getattr(b, k)) for k in KEYS)


# ---- the registry ------------------------------------------------------------------------------------


def test_the_known_data_sets() -> None:
    assert DATASET_NAMES == ("mnist", "fashion-mnist", "kmnist")
    assert dataset_info("fashion-mnist").classes == (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
    assert dataset_info("kmnist").classes == ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")
    assert dataset_info("mnist").classes == tuple("0123456789") and dataset_info("mnist").class_noun == "digit"
    for info in DATASETS.values():
        assert len(set(info.classes)) == 10 and (info.n_train, info.n_test) == (60000, 10000)
        assert all(url.endswith("/") for url in info.mirrors) and info.mirrors
        for key, f in info.files.items():
            # The IDX header (magic and one uint32 per axis) and one byte per pixel or label.
            assert f.size == 4 + 4 * len(f.shape) + int(np.prod(f.shape)), key


@pytest.mark.parametrize("name", ["fashion-mnist", "kmnist"])
def test_published_checksums_are_recorded_exactly(name: str) -> None:
    info = dataset_info(name)
    for key, (size, sha256, md5) in PUBLISHED[name].items():
        f = info.files[key]
        assert (f.gz_size, f.gz_sha256, f.gz_md5, f.sha256) == (size, sha256, md5, None)
        assert f.gz_digests == (("sha256", sha256), ("md5", md5))
    assert all(f.sha256 and not f.gz_digests for f in dataset_info("mnist").files.values())


def test_environment_variables_and_cache_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert [(i.env_data, i.env_mirrors) for i in DATASETS.values()] == [
        ("TINYGRAD_MNIST_DATA", "TINYGRAD_MNIST_MIRRORS"),
        ("TINYGRAD_FASHION_MNIST_DATA", "TINYGRAD_FASHION_MNIST_MIRRORS"),
        ("TINYGRAD_KMNIST_DATA", "TINYGRAD_KMNIST_MIRRORS"),
    ]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("TINYGRAD_MNIST_DATA", str(tmp_path / "mnist-here"))
    # MNIST's folder is not another data set's: each has its own variable and cache folder.
    assert resolve_data_dir(dataset="fashion-mnist") == tmp_path / "xdg" / "tinygrad_mnist" / "fashion-mnist"
    monkeypatch.setenv("TINYGRAD_KMNIST_DATA", str(tmp_path / "k"))
    assert resolve_data_dir(dataset="kmnist") == tmp_path / "k"
    assert resolve_data_dir(tmp_path / "arg", dataset="kmnist") == tmp_path / "arg"
    monkeypatch.setenv("TINYGRAD_KMNIST_MIRRORS", "http://127.0.0.1:1/k")
    assert mirrors("kmnist") == ["http://127.0.0.1:1/k/"]
    monkeypatch.delenv("TINYGRAD_FASHION_MNIST_MIRRORS")
    assert mirrors("fashion-mnist") == list(dataset_info("fashion-mnist").mirrors)


@pytest.mark.parametrize(
    "name, match",
    [
        ("fashion", "unknown dataset 'fashion'; did you mean 'fashion-mnist'?"),
        ("kminst", "did you mean 'kmnist'?"),
        (3, "unknown dataset 3 \\(choose from: mnist, fashion-mnist, kmnist\\)"),
    ],
)
def test_unknown_names_are_one_clear_line(name: Any, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        dataset_info(name)
    with pytest.raises(ConfigError, match=match):
        load_mnist("/nonexistent", download=False, dataset=name)


def test_descriptions_refuse_what_cannot_be_verified() -> None:
    with pytest.raises(ConfigError, match="needs a checksum"):
        DatasetFile("x", None, 8, (1,))
    with pytest.raises(ConfigError, match="gz_md5 must be 32 lower-case hex digits"):
        DatasetFile("x", None, 8, (1,), gz_md5="ABC")
    files = dict(DATASETS["kmnist"].files)
    with pytest.raises(ConfigError, match="must list its files as train_images, train_labels"):
        dataclasses.replace(DATASETS["kmnist"], files=dict(reversed(files.items())))
    with pytest.raises(ConfigError, match="lower-case letters, digits and dashes"):
        dataclasses.replace(DATASETS["kmnist"], name="K MNIST")


# ---- verification of .gz files as distributed ----------------------------------------------------------


@pytest.mark.parametrize("like", ["fashion-mnist", "kmnist"])
def test_download_verify_save_and_load_again(
    tmp_path: Path, http_mirror: Any, closed_port: Any, monkeypatch: pytest.MonkeyPatch, like: str
) -> None:
    info, data = write_dataset(tmp_path / "served", like)
    set_mirrors(monkeypatch, info, f"http://127.0.0.1:{closed_port()}/", http_mirror(tmp_path / "served"))
    dest = tmp_path / "new" / like
    assert same(load_mnist(dest, progress=False, dataset=info), data)
    assert sorted(p.name for p in dest.iterdir()) == sorted(f"{f.name}.gz" for f in info.files.values())
    for f in info.files.values():  # saved as distributed, byte for byte
        assert (dest / f"{f.name}.gz").read_bytes() == (tmp_path / "served" / f"{f.name}.gz").read_bytes()
    assert leftovers(dest) == []
    set_mirrors(monkeypatch, info, f"http://127.0.0.1:{closed_port()}/")
    assert same(load_mnist(dest, progress=False, dataset=info), data)


def corrupt(body: bytes) -> bytes:
    """Same size, one byte of the compressed stream changed."""
    damaged = bytearray(body)
    damaged[len(damaged) // 2] ^= 0x01
    return bytes(damaged)


def test_a_bad_download_is_never_saved_and_each_mirror_says_why(
    tmp_path: Path, http_mirror: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    info, data = write_dataset(tmp_path / "good")
    labels = info.files["train_labels"]
    good = (tmp_path / "good" / f"{labels.name}.gz").read_bytes()
    damaged, recompressed, raw = tmp_path / "damaged", tmp_path / "recompressed", tmp_path / "raw"
    for folder, body in ((damaged, corrupt(good)),
                         (recompressed, gzip.compress(encode_idx(data.train_labels), compresslevel=1, mtime=12345)),
                         (raw, encode_idx(data.train_labels))):
        folder.mkdir()
        (folder / f"{labels.name}.gz").write_bytes(body)
    dest = tmp_path / "dest"
    dest.mkdir()
    for key in ("train_images", "test_images", "test_labels"):
        name = f"{info.files[key].name}.gz"
        (dest / name).write_bytes((tmp_path / "good" / name).read_bytes())
    bad = [http_mirror(damaged), http_mirror(recompressed), http_mirror(raw)]
    set_mirrors(monkeypatch, info, *bad)
    with pytest.raises(MnistDataError) as error:
        load_mnist(dest, progress=False, dataset=info)
    message = str(error.value)
    assert message.startswith(f"Fashion-MNIST files not found: {labels.name}.gz\n")
    reasons = {line.split(": ", 1)[0].strip(): line for line in message.splitlines() if line.startswith("  http")}
    assert f"its sha256 is {hashlib.sha256(corrupt(good)).hexdigest()}, but the published sha256 of {labels.name}.gz is {labels.gz_sha256}" in reasons[f"{bad[0]}{labels.name}.gz"]
    # Right contents, other gzip bytes: refused, because only the distributed file was published.
    assert "downloaded file failed verification: its sha256 is" in reasons[f"{bad[1]}{labels.name}.gz"]
    # The raw file is larger than the published .gz: cut off at that size, never read whole.
    assert f"response is larger than {labels.gz_size:,} bytes" in reasons[f"{bad[2]}{labels.name}.gz"]
    assert not (dest / f"{labels.name}.gz").exists() and not (dest / labels.name).exists()
    assert leftovers(dest) == []


def test_the_md5_is_checked_too(tmp_path: Path) -> None:
    info, _ = write_dataset(tmp_path)
    wrong = dataclasses.replace(info.files["test_labels"], gz_md5="0" * 32)
    info = dataclasses.replace(info, files={**info.files, "test_labels": wrong})
    with pytest.raises(MnistDataError, match=f"its md5 is [0-9a-f]{{32}}, but the published md5 of {wrong.name}.gz is 0{{32}}"):
        load_mnist(tmp_path, download=False, dataset=info)


@pytest.mark.parametrize("variant", ["decompressed", "recompressed", "damaged"])
def test_a_local_copy_that_is_not_the_distributed_file_is_refused_and_kept(tmp_path: Path, variant: str) -> None:
    info, data = write_dataset(tmp_path)
    labels = info.files["test_labels"]
    stored = tmp_path / f"{labels.name}.gz"
    if variant == "decompressed":
        stored.unlink()
        stored = tmp_path / labels.name
        stored.write_bytes(encode_idx(data.test_labels))
        expected = "it is not gzip-compressed, and only the .gz file as distributed can be checked"
    elif variant == "recompressed":
        stored.write_bytes(gzip.compress(encode_idx(data.test_labels), compresslevel=1, mtime=99))
        expected = "but the published"
    else:
        stored.write_bytes(corrupt(stored.read_bytes()))
        expected = "its sha256 is"
    before = stored.read_bytes()
    with pytest.raises(MnistDataError) as error:
        load_mnist(tmp_path, download=False, dataset=info)
    message = str(error.value)
    assert message.startswith(f"Fashion-MNIST file {stored} failed verification: ") and expected in message
    assert "Replace it with the .gz file as downloaded (a decompressed or recompressed copy cannot be verified)" in message
    assert "\n" not in message
    assert stored.read_bytes() == before  # a user's own folder is never cleaned up behind their back


def test_the_gz_is_preferred_to_a_raw_copy_beside_it(tmp_path: Path) -> None:
    info, data = write_dataset(tmp_path)
    (tmp_path / info.files["test_labels"].name).write_bytes(b"a raw copy that is never read")
    assert same(load_mnist(tmp_path, download=False, dataset=info), data)


def test_a_bad_file_in_the_download_cache_is_deleted_and_downloaded_again(
    tmp_path: Path, http_mirror: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    info, data = write_dataset(tmp_path / "served", "kmnist")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    set_mirrors(monkeypatch, info, http_mirror(tmp_path / "served"))
    assert same(load_mnist(progress=False, dataset=info), data)
    cached = tmp_path / "xdg" / "tinygrad_mnist" / "kmnist" / f"{info.files['train_images'].name}.gz"
    cached.write_bytes(corrupt(cached.read_bytes()))
    with pytest.raises(MnistDataError, match="KMNIST file .* failed verification: its sha256 is .* deleted; run again"):
        load_mnist(progress=False, dataset=info)
    assert not cached.exists()
    assert same(load_mnist(progress=False, dataset=info), data)


def test_missing_files_say_where_and_how_for_that_data_set(tmp_path: Path, closed_port: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    dead = f"http://127.0.0.1:{closed_port()}/kmnist/"
    monkeypatch.setenv("TINYGRAD_KMNIST_MIRRORS", dead)
    with pytest.raises(MnistDataError) as error:
        load_mnist(tmp_path, progress=False, dataset="kmnist")
    message = str(error.value)
    assert message.startswith("KMNIST files not found: train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz")
    assert f"{dead}train-images-idx3-ubyte.gz" in message and str(tmp_path) in message
    assert "as downloaded (.gz)" in message
    assert "TINYGRAD_KMNIST_DATA=DIR" in message and "TINYGRAD_KMNIST_MIRRORS='URL1 URL2'" in message
    assert leftovers(tmp_path) == []


# ---- the real published checksums against files that are not the real ones -----------------------------


def test_the_real_entry_refuses_a_synthetic_file_by_its_published_size_and_digests(tmp_path: Path) -> None:
    real = dataset_info("fashion-mnist")
    info, _ = write_dataset(tmp_path)
    with pytest.raises(MnistDataError, match=f"published {real.files['train_images'].name}.gz is 26,421,880 bytes"):
        load_mnist(tmp_path, download=False, dataset="fashion-mnist")
    # A labels file of exactly the published size that starts like gzip: only the digests can tell.
    labels = real.files["test_labels"]
    body = gz(encode_idx(synthetic_mnist().test_labels))
    body += b"\0" * (labels.gz_size - len(body))
    (tmp_path / f"{labels.name}.gz").write_bytes(body)
    mixed = dataclasses.replace(info, files={**info.files, "test_labels": labels})
    with pytest.raises(MnistDataError) as error:
        load_mnist(tmp_path, download=False, dataset=mixed)
    assert (f"its sha256 is {hashlib.sha256(body).hexdigest()}, but the published sha256 of {labels.name}.gz is "
            f"{PUBLISHED['fashion-mnist']['test_labels'][1]}") in str(error.value)


def test_the_mnist_folder_given_for_fashion_mnist_is_named_as_such(shared_dir: Path) -> None:
    with pytest.raises(MnistDataError) as error:
        load_mnist(shared_dir, download=False, dataset="fashion-mnist")
    message = str(error.value)
    assert "It is MNIST's train-images-idx3-ubyte: each data set needs its own folder" in message
    assert "TINYGRAD_FASHION_MNIST_DATA=DIR" in message and "\n" not in message


def test_fashion_files_given_for_mnist_are_named_as_such(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info, _ = write_dataset(tmp_path)
    monkeypatch.setitem(DATASETS, "fashion-mnist", info)
    with pytest.raises(MnistDataError, match=r"^MNIST file .* failed verification: its uncompressed contents are .* "
                                             r"It is Fashion-MNIST's train-images-idx3-ubyte"):
        load_mnist(tmp_path, download=False)


def test_a_mirror_serving_another_data_set_is_named_as_such(
    tmp_path: Path, http_mirror: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fashion-MNIST's link once sent some users to MNIST's files (zalandoresearch/fashion-mnist#107).
    fashion, _ = write_dataset(tmp_path / "fashion", data=synthetic_mnist(seed=1))
    # Smaller than the file asked for, as MNIST's files are smaller than Fashion-MNIST's.
    kmnist, _ = write_dataset(tmp_path / "kmnist", "kmnist", data=synthetic_mnist(n_train=100, seed=2))
    monkeypatch.setitem(DATASETS, "kmnist", kmnist)
    set_mirrors(monkeypatch, fashion, http_mirror(tmp_path / "kmnist"))
    with pytest.raises(MnistDataError) as error:
        load_mnist(tmp_path / "dest", progress=False, dataset=fashion)
    assert re.search(r"downloaded file failed verification: .* \(it is KMNIST's train-images-idx3-ubyte\)", str(error.value))


def test_a_data_set_of_ones_own(tmp_path: Path) -> None:
    """A DatasetInfo describes any data set in MNIST's format; its shapes are checked too."""
    info, data = write_dataset(tmp_path, "mnist", synthetic_mnist(n_train=30, n_test=10))
    mine = dataclasses.replace(info, name="my-digits", title="My digits")
    assert same(load_mnist(tmp_path, download=False, dataset=mine), data)
    wrong = dataclasses.replace(mine.files["test_labels"], shape=(11,))
    with pytest.raises(MnistDataError, match=r"holds an array of shape \(10,\), but its description says \(11,\)"):
        load_mnist(tmp_path, download=False, dataset=dataclasses.replace(mine, files={**mine.files, "test_labels": wrong}))
