"""Fixtures for the training tests: synthetic data, small configs, isolated working folders."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The helpers module sits next to the tests; training subprocesses import it from here too.
sys.path.insert(0, str(Path(__file__).parent))

from train_helpers import synthetic  # noqa: E402

from tinygrad_mnist.train import TrainConfig  # noqa: E402
from tinygrad_mnist.train.trainer import Trainer  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "curves: let fit() draw curves.png (skipped elsewhere to save time)")


@pytest.fixture(scope="session")
def data():
    """600 training and 200 test examples of the synthetic rule."""
    return synthetic()


@pytest.fixture
def small_config() -> TrainConfig:
    """A quick run on the synthetic data: 784-32-10 ReLU, CE, 3 epochs of 30 batches."""
    return TrainConfig(hidden=[32], epochs=3, batch_size=20, lr=0.05, disp_freq=0, progress=False)


@pytest.fixture(autouse=True)
def _run_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # fit() without out_dir creates runs/... in the working directory: keep it in the test's folder.
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def _no_curves_unless_asked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    # Drawing curves.png takes most of a tiny run's time; only the tests marked "curves" need it.
    if request.node.get_closest_marker("curves") is None:
        monkeypatch.setattr(Trainer, "_plot", lambda self: None)
