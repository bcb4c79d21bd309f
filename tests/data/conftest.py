"""Fixtures for the data tests: the real MNIST files and isolation (local HTTP mirrors: tests/conftest.py)."""

from __future__ import annotations

import functools
import gzip
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tinygrad_mnist.data import MNIST_FILES, Mnist, load_mnist


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(offline_environment: None) -> Iterator[None]:
    yield


@pytest.fixture(scope="session")
def shared_dir(mnist_dir: Path) -> Path:
    """The read-only folder with the real MNIST .gz files (never written to)."""
    return mnist_dir


@pytest.fixture(scope="session")
def mnist(shared_dir: Path) -> Mnist:
    """The real data set, loaded once per session."""
    return load_mnist(shared_dir, download=False, progress=False)


@pytest.fixture(scope="session")
def raw_contents(shared_dir: Path) -> Callable[[str], bytes]:
    """Uncompressed bytes of a real file by Mnist field name (memoised)."""

    @functools.cache
    def get(key: str) -> bytes:
        return gzip.decompress((shared_dir / f"{MNIST_FILES[key].name}.gz").read_bytes())

    return get


@pytest.fixture(scope="session")
def link_real(shared_dir: Path) -> Callable[[Path, list[str]], None]:
    """Function symlinking some real .gz files (by field name) into a folder.

    Symlinks are cheap stand-ins for copies; the shared files stay untouched.
    """

    def link(dest: Path, keys: list[str]) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        for key in keys:
            name = f"{MNIST_FILES[key].name}.gz"
            (dest / name).symlink_to(shared_dir / name)

    return link
