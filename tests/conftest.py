"""Hypothesis profiles, chosen with the HYPOTHESIS_PROFILE environment variable.

- ci (default when CI is set): derandomized, so every CI run draws the same examples;
- dev (default otherwise): fewer examples for a quick local loop;
- thorough: many examples, for a long run before a release.

A test that needs a system program (graphviz's ``dot``) says so with
``@pytest.mark.requires_program("dot")``: where the program is missing it is skipped with the reason,
so the suite passes on a machine that has only Python (CI installs the program, so it runs there).
"""
import os
import shutil
import socket
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=40,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=20, deadline=None)
settings.register_profile("thorough", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


# How to get a program that a test may need, for the skip message.
_INSTALL_HINTS = {"dot": "graphviz: apt-get install graphviz, or brew install graphviz on macOS"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "requires_program(name): skip, saying why, when the system program is not on PATH"
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Looked up when the test runs, so a PATH that hides the program is honoured.
    for marker in item.iter_markers("requires_program"):
        for program in marker.args:
            if shutil.which(program) is None:
                hint = _INSTALL_HINTS.get(program)
                pytest.skip(f"needs the program {program!r}, which is not on PATH" + (f" ({hint})" if hint else ""))


# Where the real MNIST files are, read once at import: fixtures below clear TINYGRAD_MNIST_DATA so
# that commands under test cannot find data by accident.
_SHARED_MNIST = Path(
    os.environ.get("TINYGRAD_MNIST_SHARED")
    or os.environ.get("TINYGRAD_MNIST_DATA")
    or Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The read-only folder with the real MNIST files: $TINYGRAD_MNIST_SHARED or $TINYGRAD_MNIST_DATA,
    else ../shared/data/mnist beside the repository (never written to)."""
    if not _SHARED_MNIST.is_dir():
        pytest.skip(f"real MNIST files not found at {_SHARED_MNIST} (set TINYGRAD_MNIST_SHARED=DIR)")
    return _SHARED_MNIST


def _closed_port() -> int:
    """A localhost port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def closed_port():
    """A function giving a localhost port nobody listens on, for a dead download mirror."""
    return _closed_port


@pytest.fixture(scope="session")
def offline_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test may touch the user's real cache or reach the internet by accident: the default cache
    moves to a temporary folder, no data folder is preset and the download mirror is a dead port."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
        mp.delenv("TINYGRAD_MNIST_DATA", raising=False)
        mp.setenv("TINYGRAD_MNIST_MIRRORS", f"http://127.0.0.1:{_closed_port()}/")
        yield
