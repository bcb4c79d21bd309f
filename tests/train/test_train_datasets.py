"""The dataset setting end to end in the library (fit, resume, evaluate), and the trainer's batches:
they are BatchIterator's, so a run gives the same numbers as a hand-written loop, bit for bit."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from idx_datasets import write_dataset
from train_helpers import model_arrays, quiet
from tinygrad_mnist import Tensor
from tinygrad_mnist.data import DATASETS, BatchIterator, DataLoader
from tinygrad_mnist.errors import ConfigError
from tinygrad_mnist.train import TrainConfig, evaluate, fit, resume
from tinygrad_mnist.train.builders import build_loss, build_model, build_optimizer


@pytest.fixture
def fashion(tmp_path: Path, http_mirror, offline_environment, monkeypatch: pytest.MonkeyPatch):
    """A small synthetic Fashion-MNIST (200 training, 50 test images) that the registry knows under
    its real name, served from 127.0.0.1 as the only mirror."""
    info, data = write_dataset(tmp_path / "served")
    monkeypatch.setitem(DATASETS, "fashion-mnist", info)
    monkeypatch.setenv(info.env_mirrors, http_mirror(tmp_path / "served"))
    return info, data


def test_a_run_on_another_data_set_records_it(fashion, tmp_path: Path) -> None:
    info, data = fashion
    config = TrainConfig(dataset="Fashion-MNIST", hidden=[16], epochs=2, batch_size=20, progress=False, disp_freq=0,
                         data_dir=str(tmp_path / "fashion"))
    summary = fit(config, out_dir=tmp_path / "run", log=quiet)
    assert summary["dataset"] == "fashion-mnist" and summary["stopped"] == "completed"
    assert json.loads((tmp_path / "run" / "config.json").read_text())["dataset"] == "fashion-mnist"
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["dataset"] == "fashion-mnist"
    assert sorted(p.name for p in (tmp_path / "fashion").iterdir()) == sorted(f"{f.name}.gz" for f in info.files.values())
    result = evaluate(tmp_path / "run")  # the checkpoint's data set, from the checkpoint's folder
    assert result["dataset"] == "fashion-mnist" and result["classes"] == list(info.classes)
    assert result["n"] == len(data.test_labels) and result["accuracy"] == summary["test_accuracy"]


def test_the_data_set_is_checked_before_anything_is_loaded(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown dataset 'fashion'; did you mean 'fashion-mnist'"):
        fit(TrainConfig(dataset="fashion"), out_dir=tmp_path / "run", log=quiet)
    assert not (tmp_path / "run").exists()


def test_sizes_are_checked_against_the_chosen_data_set(fashion) -> None:
    with pytest.raises(ConfigError, match="batch_size 300 is larger than the 200 training samples"):
        TrainConfig(dataset="fashion-mnist", batch_size=300).validate()


def test_a_resumed_run_keeps_its_data_set(fashion, tmp_path: Path) -> None:
    config = TrainConfig(dataset="fashion-mnist", hidden=[8], epochs=1, batch_size=50, progress=False, disp_freq=0,
                         data_dir=str(tmp_path / "fashion"))
    fit(config, out_dir=tmp_path / "run", log=quiet)
    with pytest.raises(ConfigError, match="a resumed run keeps its settings, so dataset cannot change"):
        resume(tmp_path / "run", changes={"dataset": "mnist"}, log=quiet)


def test_the_trainer_uses_a_data_loader_with_batch_iterators_order(tmp_path: Path, data, small_config) -> None:
    """One epoch of fit() equals one epoch of the hand-written loop over BatchIterator, bit for bit."""
    config = small_config.replace(epochs=1, seed=5)
    fit(config, out_dir=tmp_path / "run", data=data, log=quiet)
    model = build_model(config, in_features=784, num_classes=10)
    optimizer, loss_fn = build_optimizer(config, model), build_loss(config)
    for xb, yb in BatchIterator(data.x_train, data.y_train, config.batch_size, shuffle=True, seed=config.seed).epoch(0):
        loss = loss_fn(model(Tensor(xb)), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    trained = model_arrays(tmp_path / "run" / "checkpoint.npz")
    by_hand = {f"model/{name}": value for name, value in model.state_dict().items()}
    assert trained.keys() == by_hand.keys()
    assert all(trained[k].dtype == by_hand[k].dtype and trained[k].tobytes() == by_hand[k].tobytes() for k in trained)


def test_the_trainers_batches_are_a_data_loader(data, small_config, tmp_path: Path) -> None:
    from tinygrad_mnist.train.state import TrainingState
    from tinygrad_mnist.train.trainer import Trainer

    model = build_model(small_config)
    trainer = Trainer(small_config, data, tmp_path, model, build_loss(small_config), build_optimizer(small_config, model),
                      None, TrainingState(), {}, {}, quiet)
    assert isinstance(trainer.batches, DataLoader) and len(trainer.batches) == 30
    reference = BatchIterator(data.x_train, data.y_train, 20, seed=small_config.seed)
    assert all(np.array_equal(yb.data, ref) for (_, yb), (_, ref) in zip(trainer.batches.epoch(2), reference.epoch(2)))
