"""Atomic writes and run directories: nothing is half-written and nothing is overwritten."""
import errno
import os
import stat

import numpy as np
import pytest

from tinygrad_mnist.data import MnistDataError
from tinygrad_mnist.errors import RunDirectoryError
from tinygrad_mnist.train import TrainConfig, checkpoint, fit, load_checkpoint, resume, runs
from tinygrad_mnist.atomic import atomic_open, atomic_write_text
from tinygrad_mnist.train.rundir import create_run_dir, run_name
from train_helpers import quiet


def test_atomic_write_replaces_and_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "summary.json"
    atomic_write_text(target, "old")
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "metrics.csv"
    atomic_write_text(target, "epoch\n1\n")
    with pytest.raises(RuntimeError):
        with atomic_open(target, "w") as handle:
            handle.write("epoch\n")
            raise RuntimeError("crash in the middle of writing")
    assert target.read_text() == "epoch\n1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.csv"]


def test_atomic_files_get_normal_permissions(tmp_path):
    target = tmp_path / "config.json"
    atomic_write_text(target, "{}")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_atomic_open_refuses_append_mode(tmp_path):
    with pytest.raises(ValueError, match="whole files"):
        with atomic_open(tmp_path / "x", "a"):
            pass


def test_run_names_describe_the_run():
    assert run_name(TrainConfig(hidden=[256, 128], activation="gelu", loss="hinge", seed=7)) == "gelu-hinge-256x128-s7"
    assert run_name(TrainConfig(hidden=[])) == "relu-ce-linear-s0"


def test_default_run_dirs_get_a_fresh_suffix(tmp_path):
    config = TrainConfig()
    names = [create_run_dir(config, root=tmp_path).name for _ in range(3)]
    assert names == ["relu-ce-128-s0", "relu-ce-128-s0-2", "relu-ce-128-s0-3"]


def test_fit_never_overwrites_a_non_empty_out_dir(tmp_path, data, small_config):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "notes.txt").write_text("precious")
    with pytest.raises(RunDirectoryError, match="not empty; results are never overwritten"):
        fit(small_config, out_dir=out, data=data, log=quiet)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_fit_without_out_dir_makes_a_new_runs_folder_each_time(tmp_path, data, small_config):
    config = small_config.replace(epochs=1)
    first = fit(config, data=data, log=quiet)["run_dir"]
    second = fit(config, data=data, log=quiet)["run_dir"]
    assert os.path.basename(first) == "relu-ce-32-s0"
    assert os.path.basename(second) == "relu-ce-32-s0-2"
    assert (tmp_path / "runs" / "relu-ce-32-s0" / "summary.json").is_file()


def test_fit_into_an_existing_empty_folder_is_fine(tmp_path, data, small_config):
    out = tmp_path / "empty"
    out.mkdir()
    assert fit(small_config.replace(epochs=1), out_dir=out, data=data, log=quiet)["stopped"] == "completed"


def test_out_dir_that_is_a_file_is_refused(tmp_path, data, small_config):
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunDirectoryError, match="not a folder"):
        fit(small_config, out_dir=tmp_path / "file", data=data, log=quiet)


def test_a_non_empty_out_dir_is_refused_before_any_data_is_loaded(tmp_path, monkeypatch):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("earlier work")

    def must_not_load(*args, **kwargs):
        raise AssertionError("data was loaded before the run folder was checked")

    monkeypatch.setattr(runs, "load_splits", must_not_load)
    with pytest.raises(RunDirectoryError):
        fit(TrainConfig(epochs=1), out_dir=out, log=quiet)
    assert (out / "keep.txt").read_text() == "earlier work"


def test_a_failed_data_load_leaves_no_empty_run_folder(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise MnistDataError("offline")

    monkeypatch.setattr(runs, "load_splits", offline)
    with pytest.raises(MnistDataError):
        fit(TrainConfig(epochs=1), out_dir=tmp_path / "run", log=quiet)
    assert not (tmp_path / "run").exists()


def test_a_write_on_a_full_disk_names_the_file(tmp_path):
    with pytest.raises(OSError) as info:
        with atomic_open(tmp_path / "metrics.csv", "w") as handle:
            handle.write("epoch,loss\n")
            raise OSError(errno.ENOSPC, "No space left on device")  # what a write on a full disk raises
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(tmp_path / "metrics.csv")
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_mid_run_keeps_the_last_checkpoint_and_says_how_to_go_on(tmp_path, data, small_config, monkeypatch):
    real_savez, calls = np.savez, []

    def savez_until_the_disk_is_full(handle, **arrays):
        calls.append(1)
        if len(calls) == 2:  # the checkpoint after epoch 1
            handle.write(b"PK partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_savez(handle, **arrays)

    monkeypatch.setattr(checkpoint.np, "savez", savez_until_the_disk_is_full)
    run = tmp_path / "run"
    with pytest.raises(RunDirectoryError) as info:
        fit(small_config, out_dir=run, data=data, log=quiet)
    assert str(info.value) == (
        f"cannot write {run / 'checkpoint.npz'}: No space left on device; the previous checkpoint (the starting "
        f"weights) is unchanged: free some space and continue with tinygrad-mnist train --resume {run}"
    )
    assert load_checkpoint(run)["training"]["state"]["epoch"] == 0
    assert not list(run.glob(".*.tmp*"))
    monkeypatch.setattr(checkpoint.np, "savez", real_savez)  # space was freed
    assert resume(run, data=data, log=quiet)["stopped"] == "completed"
