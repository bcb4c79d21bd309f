import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The real MNIST files: $TINYGRAD_MNIST_DATA, else ../shared/data/mnist beside the repository."""
    folder = Path(os.environ.get("TINYGRAD_MNIST_DATA") or Path(__file__).resolve().parents[3] / "shared/data/mnist")
    if not folder.is_dir():
        pytest.skip(f"MNIST files not found in {folder}")
    return folder
