"""The real thing: one epoch on 2,000 real MNIST training images learns far beyond chance."""
import pytest

from tinygrad_mnist.data import MNIST_FILES
from tinygrad_mnist.train import TrainConfig, evaluate, fit
from train_helpers import quiet


@pytest.fixture
def real_mnist(mnist_dir):
    folder = mnist_dir  # tests/conftest.py: the shared folder, skipped when absent
    if not all((folder / f"{f.name}.gz").is_file() or (folder / f.name).is_file() for f in MNIST_FILES.values()):
        pytest.skip(f"real MNIST files not found in {folder} (set TINYGRAD_MNIST_SHARED=DIR)")
    return folder


def test_one_epoch_on_2000_real_images_learns(tmp_path, real_mnist):
    config = TrainConfig(data_dir=str(real_mnist), train_size=2000, epochs=1, batch_size=20, progress=False, disp_freq=0)
    summary = fit(config, out_dir=tmp_path / "run", log=quiet)
    assert summary["stopped"] == "completed"
    assert summary["test_accuracy"] > 0.7, summary  # chance is 0.1
    # The data folder is given again: a folder named in a checkpoint is never used (it may have moved).
    result = evaluate(tmp_path / "run", data_dir=str(real_mnist))
    assert result["n"] == 10000 and result["accuracy"] == summary["test_accuracy"]
    assert sum(map(sum, result["confusion"])) == 10000
