"""Fixtures for the grid tests: the training tests' helpers (synthetic data, checkpoint arrays),
and a fresh working folder per test."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

# train_helpers sits with the training tests; grid subprocesses import it from there too.
TRAIN_TESTS = Path(__file__).resolve().parents[1] / "train"
sys.path.insert(0, str(TRAIN_TESTS))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "curves: let fit() draw curves.png (skipped elsewhere to save time)")


@pytest.fixture(autouse=True)
def _no_curves_unless_asked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    # Drawing a run's curves.png takes most of a tiny run's time; only tests marked "curves" need
    # it (this reaches runs in this process; worker processes draw theirs).
    from tinygrad_mnist.train.trainer import Trainer

    if request.node.get_closest_marker("curves") is None:
        monkeypatch.setattr(Trainer, "_plot", lambda self: None)


@pytest.fixture(autouse=True)
def _run_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(offline_environment: None) -> None:
    # Runs must neither write the user's cache nor reach the internet (see tests/conftest.py).
    return None
