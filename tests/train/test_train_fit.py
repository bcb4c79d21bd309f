"""fit(): the run folder, the progress lines, determinism, schedules, early stopping, evaluation."""
import dataclasses
import json

import numpy as np
import pytest

from tinygrad_mnist.errors import ConfigError
from tinygrad_mnist.train import TrainConfig, evaluate, fit, load_checkpoint, build_model, read_metrics_csv
from train_helpers import metrics_without_seconds, model_arrays, quiet, synthetic

HEADER = "epoch,lr,train_loss,train_accuracy,test_loss,test_accuracy,seconds"


@pytest.mark.curves
def test_run_folder_contents(tmp_path, data, small_config):
    summary = fit(small_config, out_dir=tmp_path / "run", data=data, log=quiet)
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == [".lock", "checkpoint.npz", "config.json", "curves.png", "metrics.csv", "summary.json"]
    assert TrainConfig.from_dict(json.loads((run / "config.json").read_text())) == small_config
    lines = (run / "metrics.csv").read_text().splitlines()
    assert lines[0] == HEADER and len(lines) == 1 + small_config.epochs
    on_disk = json.loads((run / "summary.json").read_text())
    assert on_disk == json.loads(json.dumps(summary))
    assert summary["stopped"] == "completed" and summary["epochs_run"] == 3 and summary["skipped_batches"] == 0
    assert summary["test_accuracy"] == read_metrics_csv(run / "metrics.csv")[-1]["test_accuracy"]
    assert summary["best"]["monitor"] == "test_loss" and summary["seconds"] > 0
    assert (run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    model = build_model(small_config)
    meta = load_checkpoint(run, model)
    assert meta["training"]["status"] == "completed"


def test_it_learns_the_synthetic_rule(tmp_path, data, small_config):
    summary = fit(small_config.replace(epochs=4), out_dir=tmp_path / "run", data=data, log=quiet)
    assert summary["test_accuracy"] > 0.8
    rows = read_metrics_csv(tmp_path / "run" / "metrics.csv")
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]


def test_progress_lines_follow_the_lab_format(tmp_path, data, small_config):
    lines = []
    fit(small_config.replace(epochs=1, disp_freq=10), out_dir=tmp_path / "run", data=data, log=lines.append)
    batch_lines = [line for line in lines if "Batch" in line]
    assert [line.split(" Training")[0] for line in batch_lines] == [
        f"Epoch [1][1] Batch [{b}][30]" for b in (10, 20, 30)
    ]
    for line in batch_lines:
        words = line.split()
        assert words[4:6] == ["Training", "Loss"] and words[7] == "Accuracy"
        assert len(words[6].split(".")[1]) == 4 and 0.0 <= float(words[8]) <= 1.0
    epoch_line = next(line for line in lines if line.startswith("Epoch [1][1] | train loss"))
    assert "test loss" in epoch_line and "s/epoch" in epoch_line


def test_window_averages_cover_the_batches_since_the_last_line(tmp_path, data, small_config):
    lines = []
    summary = fit(small_config.replace(epochs=1, disp_freq=15), out_dir=tmp_path / "run", data=data, log=lines.append)
    losses = [float(line.split()[6]) for line in lines if "Batch" in line]
    # Two windows of 15 equal-size batches: their mean is the epoch mean.
    assert np.mean(losses) == pytest.approx(summary["train_loss"], abs=1e-4)


def test_same_seed_gives_bit_identical_runs(tmp_path, data, small_config):
    config = small_config.replace(epochs=2)
    fit(config, out_dir=tmp_path / "a", data=data, log=quiet)
    fit(config, out_dir=tmp_path / "b", data=data, log=quiet)
    assert metrics_without_seconds(tmp_path / "a" / "metrics.csv") == metrics_without_seconds(tmp_path / "b" / "metrics.csv")
    a, b = model_arrays(tmp_path / "a" / "checkpoint.npz"), model_arrays(tmp_path / "b" / "checkpoint.npz")
    assert a.keys() == b.keys() and all(a[k].tobytes() == b[k].tobytes() for k in a)
    fit(config.replace(seed=1), out_dir=tmp_path / "c", data=data, log=quiet)
    c = model_arrays(tmp_path / "c" / "checkpoint.npz")
    assert any(a[k].tobytes() != c[k].tobytes() for k in a)


@pytest.mark.parametrize(
    "schedule, expected",
    [
        ({"lr_schedule": "none"}, [0.05, 0.05, 0.05, 0.05]),
        ({"lr_schedule": "step", "lr_step_size": 2, "lr_gamma": 0.5}, [0.05, 0.05, 0.025, 0.025]),
        ({"lr_schedule": "exp", "lr_gamma": 0.5}, [0.05, 0.025, 0.0125, 0.00625]),
        ({"lr_schedule": "cosine"}, [0.05 * (1 + np.cos(np.pi * e / 4)) / 2 for e in range(4)]),
    ],
)
def test_schedules_set_the_lr_of_each_epoch(tmp_path, schedule, expected):
    config = TrainConfig(hidden=[], epochs=4, batch_size=100, lr=0.05, progress=False, disp_freq=0, **schedule)
    fit(config, out_dir=tmp_path / "run", data=synthetic(n_train=200, n_test=50), log=quiet)
    lrs = [row["lr"] for row in read_metrics_csv(tmp_path / "run" / "metrics.csv")]
    assert lrs == pytest.approx(expected, rel=1e-12)


def test_early_stopping_watches_the_test_loss_without_a_validation_split(tmp_path, data):
    # A huge min_delta means no epoch after the first counts as an improvement.
    config = TrainConfig(hidden=[16], epochs=10, batch_size=50, lr=0.05, early_stop=2, early_stop_min_delta=100.0,
                         progress=False, disp_freq=0)
    lines = []
    summary = fit(config, out_dir=tmp_path / "run", data=data, log=lines.append)
    assert summary["stopped"] == "early_stop" and summary["epochs_run"] == 3
    assert summary["best"] == {**summary["best"], "monitor": "test_loss", "epoch": 1}
    assert any(line.startswith("early stop after epoch 3: test_loss did not improve") for line in lines)
    assert load_checkpoint(tmp_path / "run")["training"]["status"] == "early_stop"


def test_early_stopping_watches_the_validation_loss_when_there_is_one(tmp_path):
    splits = synthetic(n_train=400, n_test=100, n_val=100)
    config = TrainConfig(hidden=[16], epochs=10, batch_size=50, lr=0.05, early_stop=1, early_stop_min_delta=100.0,
                         progress=False, disp_freq=0)
    summary = fit(config, out_dir=tmp_path / "run", data=splits, log=quiet)
    assert summary["best"]["monitor"] == "val_loss" and summary["epochs_run"] == 2
    header = (tmp_path / "run" / "metrics.csv").read_text().splitlines()[0]
    assert header == HEADER + ",val_loss,val_accuracy"
    assert "val_accuracy" in summary


def test_no_early_stop_while_the_loss_improves(tmp_path, data, small_config):
    summary = fit(small_config.replace(early_stop=3), out_dir=tmp_path / "run", data=data, log=quiet)
    assert summary["stopped"] == "completed"


def test_evaluate_reproduces_the_final_test_metrics(tmp_path, data, small_config):
    summary = fit(small_config.replace(epochs=2), out_dir=tmp_path / "run", data=data, log=quiet)
    result = evaluate(tmp_path / "run", data=data)
    assert result["accuracy"] == summary["test_accuracy"] and result["loss"] == summary["test_loss"]
    confusion = np.array(result["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == result["n"] == len(data.y_test)
    assert np.trace(confusion) == round(result["accuracy"] * result["n"])
    assert confusion.sum(axis=1).tolist() == np.bincount(data.y_test, minlength=10).tolist()


def test_labels_outside_the_classes_are_refused_before_training(tmp_path, data, small_config):
    bad = dataclasses.replace(data, y_train=np.where(data.y_train == 3, 10, data.y_train))
    with pytest.raises(ConfigError, match=r"y_train has labels up to 10, but the model has 10 classes \(0..9\)"):
        fit(small_config, out_dir=tmp_path / "run", data=bad, log=quiet)
    assert not (tmp_path / "run").exists()
    negative = dataclasses.replace(data, y_test=data.y_test - 1)
    with pytest.raises(ConfigError, match="y_test has labels down to -1"):
        fit(small_config, out_dir=tmp_path / "run", data=negative, log=quiet)
    floats = dataclasses.replace(data, y_train=data.y_train.astype(np.float32))
    with pytest.raises(ConfigError, match="integer class labels"):
        fit(small_config, out_dir=tmp_path / "run", data=floats, log=quiet)


def test_data_of_another_dtype_is_refused(tmp_path, data, small_config):
    with pytest.raises(ConfigError, match="x_train is float32 but dtype is float64"):
        fit(small_config.replace(dtype="float64"), out_dir=tmp_path / "run", data=data, log=quiet)


def test_given_data_must_agree_with_the_config(tmp_path, data, small_config):
    with pytest.raises(ConfigError, match="asks for a validation split but the given data have none"):
        fit(small_config.replace(val_size=0.1), out_dir=tmp_path / "run", data=data, log=quiet)
    with pytest.raises(ConfigError, match="prepared with normalize='scale' but the config says 'standardize'"):
        fit(small_config.replace(normalize="standardize"), out_dir=tmp_path / "run", data=data, log=quiet)


def test_batch_larger_than_the_data_is_refused(tmp_path, data, small_config):
    with pytest.raises(ConfigError, match="batch_size 1000 is larger than the 600 training samples"):
        fit(small_config.replace(batch_size=1000), out_dir=tmp_path / "run", data=data, log=quiet)


def test_train_and_test_size_take_subsets(tmp_path, data, small_config):
    lines = []
    fit(small_config.replace(epochs=1, train_size=100, test_size=40), out_dir=tmp_path / "run", data=data, log=lines.append)
    assert "100 training and 40 test examples" in lines[0]
    assert evaluate(tmp_path / "run", data=data)["n"] == 40


def test_float64_runs_stay_float64(tmp_path, small_config):
    splits = synthetic(n_train=200, n_test=50)
    splits64 = dataclasses.replace(
        splits, x_train=splits.x_train.astype(np.float64), x_test=splits.x_test.astype(np.float64)
    )
    fit(small_config.replace(dtype="float64", epochs=1), out_dir=tmp_path / "run", data=splits64, log=quiet)
    assert {a.dtype for a in model_arrays(tmp_path / "run" / "checkpoint.npz").values()} == {np.dtype(np.float64)}


def test_detect_anomaly_is_wired(tmp_path, data, small_config, monkeypatch):
    import tinygrad_mnist.autograd as autograd

    entered = []
    original = autograd.detect_anomaly

    class Spy(original):
        def __enter__(self):
            entered.append(True)
            return super().__enter__()

    monkeypatch.setattr(autograd, "detect_anomaly", Spy)
    summary = fit(small_config.replace(epochs=1, detect_anomaly=True), out_dir=tmp_path / "run", data=data, log=quiet)
    assert summary["stopped"] == "completed" and entered == [True]
