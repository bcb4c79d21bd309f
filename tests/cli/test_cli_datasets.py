"""--dataset on the command line: train (downloading a synthetic Fashion-MNIST from 127.0.0.1), eval
with the class names, grid axes, TOML keys, help and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from idx_datasets import write_dataset
from tinygrad_mnist.data import DATASETS

from test_cli_bad_input import assert_one_line_error


@pytest.fixture
def fashion(tmp_path: Path, http_mirror, monkeypatch: pytest.MonkeyPatch):
    """A small synthetic Fashion-MNIST under the registry's real name, served as its only mirror."""
    info, data = write_dataset(tmp_path / "served")
    monkeypatch.setitem(DATASETS, "fashion-mnist", info)
    monkeypatch.setenv(info.env_mirrors, http_mirror(tmp_path / "served"))
    return info, data


def test_train_and_eval_on_fashion_mnist(cli, fashion, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info, data = fashion
    monkeypatch.chdir(tmp_path)
    result = cli("train", "--dataset", "fashion-mnist", "--data-dir", tmp_path / "fashion", "--epochs", "2",
                 "--hidden", "16", "--batch-size", "20", "--no-progress", "--disp-freq", "0")
    assert result.code == 0, result.err
    run_dir = tmp_path / "runs" / "fashion-mnist-relu-ce-16-s0"  # the data set leads the run's name
    assert json.loads((run_dir / "config.json").read_text())["dataset"] == "fashion-mnist"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["dataset"] == "fashion-mnist"

    result = cli("eval", run_dir)  # the checkpoint knows its data set and its folder
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].endswith(f"of {len(data.test_labels)} test images of Fashion-MNIST)")
    assert lines[2] == "confusion matrix (rows: true class, columns: predicted class):"
    assert lines[3].split() == ["true", *map(str, range(10)), "recall"]
    assert [line[:13].strip() for line in lines[4:14]] == [f"{i} {name}" for i, name in enumerate(info.classes)]
    matrix = [[int(c) for c in line[13:].split()[:10]] for line in lines[4:14]]
    assert sum(map(sum, matrix)) == len(data.test_labels)
    assert float(lines[0].split()[1].rstrip("%")) == pytest.approx(100 * summary["test_accuracy"], abs=0.006)


def test_dataset_is_an_option_a_grid_axis_and_a_toml_key(cli, tmp_path: Path) -> None:
    for command in ("train", "grid"):
        help_text = cli(command, "--help").out
        assert "--dataset" in help_text and "one of: mnist, fashion-mnist, kmnist" in " ".join(help_text.split())
    result = cli("grid", "--dataset", "mnist", "kmnist", "--out", "somewhere", "--dry-run")
    assert result.code == 0, result.err
    assert result.out.startswith("2 runs into somewhere")
    assert "somewhere/kmnist): dataset=" in result.out
    config = tmp_path / "k.toml"
    config.write_text('dataset = "KMNIST"\n')
    result = cli("train", "--config", config, "--dry-run")
    assert result.code == 0, result.err
    assert '"dataset": "kmnist"' in result.out


def test_bad_dataset_names_and_missing_files_are_one_line(cli, tmp_path: Path) -> None:
    assert_one_line_error(cli("train", "--dataset", "fashion", "--dry-run"), "--dataset", "did you mean 'fashion-mnist'?")
    config = tmp_path / "bad.toml"
    config.write_text('dataset = "kmnst"\n')
    assert_one_line_error(cli("train", "--config", config, "--dry-run"), "dataset", "did you mean 'kmnist'?")
    # The isolation fixture points every data set's mirrors at a dead local port.
    result = cli("train", "--dataset", "kmnist", "--data-dir", tmp_path / "empty", "--epochs", "1",
                 "--no-progress", "--out", tmp_path / "run")
    assert_one_line_error(result, "KMNIST files not found", "TINYGRAD_KMNIST_DATA=DIR", "TINYGRAD_KMNIST_MIRRORS")
    assert not (tmp_path / "empty").exists() and not (tmp_path / "run").exists()


def test_the_mnist_folder_for_fashion_mnist_is_one_line(cli, mnist_dir: Path, tmp_path: Path) -> None:
    result = cli("train", "--dataset", "fashion-mnist", "--data-dir", mnist_dir, "--epochs", "1",
                 "--no-progress", "--out", tmp_path / "run")
    assert_one_line_error(result, "It is MNIST's train-images-idx3-ubyte: each data set needs its own folder")
