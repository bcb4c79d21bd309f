"""Hypothesis profiles, chosen with the HYPOTHESIS_PROFILE environment variable.

- ci (default when CI is set): derandomized, so every CI run draws the same examples;
- dev (default otherwise): fewer examples for a quick local loop;
- thorough: many examples, for a long run before a release.

A test that needs a system program (graphviz's ``dot``) says so with
``@pytest.mark.requires_program("dot")``: where the program is missing it is skipped with the reason,
so the suite passes on a machine that has only Python (CI installs the program, so it runs there).
"""
import functools
import http.server
import os
import shutil
import socket
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

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
    moves to a temporary folder, no data folder is preset and every data set's download mirror is a
    dead port."""
    from tinygrad_mnist.data import DATASETS

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
        dead = f"http://127.0.0.1:{_closed_port()}/"
        for info in DATASETS.values():
            mp.delenv(info.env_data, raising=False)
            mp.setenv(info.env_mirrors, dead)
        yield


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_mirror() -> Iterator[Callable[..., str]]:
    """Factory: serve a folder on 127.0.0.1 (random port), return its base URL.

    A custom ``handler`` class (not a SimpleHTTPRequestHandler) ignores the folder.
    """
    servers: list[tuple[http.server.ThreadingHTTPServer, threading.Thread]] = []

    def start(directory: Path, handler: type[http.server.BaseHTTPRequestHandler] = _QuietHandler) -> str:
        factory: Any = handler
        if issubclass(handler, http.server.SimpleHTTPRequestHandler):
            factory = functools.partial(handler, directory=str(directory))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), factory)
        # A short poll interval keeps shutdown() (and so each test's teardown) fast.
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
