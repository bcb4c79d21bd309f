"""Fixtures for the CLI tests: running ``main`` in-process, the real MNIST folder, a trained run."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tinygrad_mnist.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = REPO_ROOT / "examples" / "experiments"
# Read before the isolation fixture clears it from the environment.


@dataclass
class Result:
    """What one command printed, and its exit status."""

    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(offline_environment: None) -> Iterator[None]:
    # Commands must neither write the user's cache nor reach the internet (see tests/conftest.py).
    yield


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """``cli(*argv)`` runs the command line in-process and returns a :class:`Result`."""

    def run(*argv: object) -> Result:
        capsys.readouterr()
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def trained_run(mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One small real training run, shared by the train, eval and plot tests: (run dir, stdout)."""
    import contextlib
    import io

    run_dir = tmp_path_factory.mktemp("trained") / "run"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["train", "--data-dir", str(mnist_dir), "--train-size", "1000", "--test-size", "500",
                     "--epochs", "1", "--hidden", "32", "--batch-size", "20", "--disp-freq", "10",
                     "--no-progress", "--out", str(run_dir)])
    assert code == 0, err.getvalue()
    return run_dir, out.getvalue()
