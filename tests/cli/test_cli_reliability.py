"""The attacks of issue 12 on `train`, `eval` and `graph`, as a user meets them: two runs racing for
one --out, models that cannot fit in memory, files nested thousands deep, a full disk, weights that
overflow, a Ctrl-C while the final files are written, and data folders that moved."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys

import numpy as np
import pytest

from test_cli_bad_input import assert_one_line_error
from tinygrad_mnist.train import load_checkpoint, memory, read_checkpoint

SMALL = ["--train-size", "200", "--test-size", "100", "--epochs", "2", "--batch-size", "50", "--hidden", "16",
         "--no-progress"]


def _cli_process(*argv, env=None, **options):
    environment = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", **(env or {}))
    return subprocess.Popen([sys.executable, "-m", "tinygrad_mnist", *map(str, argv)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=environment, **options)


# ---- item 1: two runs started together into one --out ---------------------------------------------


def test_two_cli_trainings_into_the_same_out_one_runs_the_other_gets_one_line(tmp_path, mnist_dir):
    out = tmp_path / "race"
    processes = [_cli_process("train", "--data-dir", mnist_dir, *SMALL, "--out", out) for _ in range(2)]
    results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in processes]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results
    _, _, err = next(r for r in results if r[0] == 2)
    assert len(err.splitlines()) == 1 and err.startswith("tinygrad-mnist: error: ")
    assert "is in use by another run" in err or "already exists and is not empty" in err
    assert json.loads((out / "summary.json").read_text())["stopped"] == "completed"


# ---- item 9: settings the CLI accepts but memory cannot hold; files nested thousands deep ----------


@pytest.fixture
def sixteen_gib(monkeypatch):
    """The memory available, pinned to 16 GiB so the tests mean the same on a bigger machine."""
    monkeypatch.setattr(memory, "available_memory", lambda: 16 << 30)


@pytest.mark.parametrize("command", [
    ["train", "--out", "{tmp}/run"],
    ["train", "--dry-run"],
    ["graph", "--out", "{tmp}/graph.dot"],
])
def test_a_model_too_large_for_memory_is_one_line_and_creates_nothing(cli, tmp_path, monkeypatch, sixteen_gib, command):
    monkeypatch.chdir(tmp_path)
    argv = [part.format(tmp=tmp_path) for part in command]
    result = cli(*argv, "--hidden", "65536", "65536")
    what = "drawing" if command[0] == "graph" else "training"
    assert_one_line_error(result, f"{what} this model needs about", "GiB of memory", "4,347,133,962 parameters",
                          "but only 16.0 GiB is available; use smaller hidden widths (--hidden)")
    assert list(tmp_path.iterdir()) == []  # no run folder, no runs/, no graph file


def test_a_toml_file_nested_5000_deep_is_one_line(cli, tmp_path):
    config = tmp_path / "deep.toml"
    config.write_text("hidden = " + "[" * 5000 + "]" * 5000 + "\n")
    assert_one_line_error(cli("train", "--config", config, "--dry-run"), "nests arrays or tables more than 32 deep")
    config.write_text("x = 1\n" + "".join(f"[{'a.' * 40}b]\n" for _ in range(1)))
    assert_one_line_error(cli("train", "--config", config, "--dry-run"), "nests arrays or tables more than 32 deep")


# ---- item 13: --dry-run says what the run would refuse; a full disk names the file -------------------


def test_dry_run_into_a_non_empty_out_is_refused_and_creates_nothing(cli, tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    assert_one_line_error(cli("train", "--dry-run", "--out", taken), f"{taken} already exists and is not empty")
    fresh = tmp_path / "fresh" / "run"
    result = cli("train", "--dry-run", "--out", fresh)
    assert result.code == 0 and json.loads(result.out)["hidden"] == [128]
    assert not (tmp_path / "fresh").exists()


def _small_file_limit():
    # Writes beyond 20 KB fail with EFBIG (Python ignores SIGXFSZ), as writes on a full disk fail.
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


def test_a_write_that_fails_for_lack_of_space_names_the_file(tmp_path, mnist_dir):
    # Loading MNIST writes nothing (it is verified and decompressed in memory), so the first file the
    # run writes is its first checkpoint, which the limit makes too large.
    out = tmp_path / "run"
    process = _cli_process("train", "--data-dir", mnist_dir, *SMALL, "--out", out, preexec_fn=_small_file_limit)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 2, err
    assert err.splitlines() == [
        f"tinygrad-mnist: error: cannot write {out / 'checkpoint.npz'}: File too large; nothing was trained yet: "
        "free some space (or fix the folder) and start the run again"
    ]
    assert not out.exists()  # the run never started: nothing is left behind


# ---- item 5: an update that overflows the weights ------------------------------------------------------


def test_weights_that_overflow_are_never_saved_and_the_message_names_the_kept_checkpoint(cli, tmp_path, mnist_dir):
    out = tmp_path / "run"
    result = cli("train", "--data-dir", mnist_dir, "--batch-size", "100", "--train-size", "100", "--test-size", "100",
                 "--lr", "1e38", "--init-std", "10", "--epochs", "3", "--no-progress", "--out", out)
    assert_one_line_error(result, "became", "by the end of epoch 1: an update overflowed",
                          f"The last good checkpoint is {out / 'checkpoint.npz'} (the starting weights)")
    arrays = read_checkpoint(out).arrays
    assert all(np.isfinite(a).all() for a in arrays.values() if a.dtype.kind == "f")
    assert load_checkpoint(out)["training"]["state"]["epoch"] == 0


# ---- item 11: Ctrl-C while the final files are written ------------------------------------------------

SIGNAL_AT_THE_END = """
import os, signal, sys
from tinygrad_mnist.cli import main
from tinygrad_mnist.train import run_files
real = run_files.write_metrics_csv

def write_metrics_csv(*args, **kwargs):
    for _ in range(int(sys.argv[1])):
        os.kill(os.getpid(), signal.SIGINT)
    return real(*args, **kwargs)

run_files.write_metrics_csv = write_metrics_csv
sys.exit(main(sys.argv[2:]))
"""


def _train_with_ctrl_c_at_the_end(times, mnist_dir, out):
    environment = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-c", SIGNAL_AT_THE_END, str(times), "train", "--data-dir", str(mnist_dir),
                           *SMALL, "--out", str(out)], capture_output=True, text=True, timeout=120, env=environment)


def test_ctrl_c_in_the_last_moment_finishes_the_files_and_exits_0(tmp_path, mnist_dir):
    out = tmp_path / "run"
    done = _train_with_ctrl_c_at_the_end(1, mnist_dir, out)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-2] == "SIGINT received while the final files were written; they were completed first"
    assert lines[-1].startswith("done after 2 epochs")
    assert (out / "curves.png").is_file() and json.loads((out / "summary.json").read_text())["stopped"] == "completed"


def test_a_second_ctrl_c_at_the_end_exits_130_and_resume_completes_the_files(cli, tmp_path, mnist_dir):
    out = tmp_path / "run"
    done = _train_with_ctrl_c_at_the_end(2, mnist_dir, out)
    assert done.returncode == 130, done.stderr
    assert done.stderr.splitlines() == [
        "tinygrad-mnist: error: interrupted; a train run can be continued with 'train --resume RUN_DIR'"]
    assert not (out / "summary.json").exists() and not (out / "curves.png").exists()
    result = cli("train", "--resume", out, "--data-dir", mnist_dir)
    assert result.code == 0, result.err
    assert result.out.splitlines()[-1].startswith("done after 2 epochs")
    assert (out / "curves.png").is_file() and json.loads((out / "summary.json").read_text())["stopped"] == "completed"
    assert_one_line_error(cli("train", "--resume", out, "--data-dir", mnist_dir), "already finished (completed)")


# ---- item 9: a crafted training state through the CLI ---------------------------------------------------


def test_a_crafted_batch_position_is_one_line(cli, tmp_path, mnist_dir):
    out = tmp_path / "run"
    done = _train_with_ctrl_c_at_the_end(2, mnist_dir, out)  # a finished run whose summary is missing
    assert done.returncode == 130
    path = out / "checkpoint.npz"
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays["__meta__"].tobytes())
    meta["training"].update(status="interrupted")
    meta["training"]["state"].update(epoch=1, batch=-5)
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, **arrays)
    assert_one_line_error(cli("train", "--resume", out, "--data-dir", mnist_dir),
                          "the checkpoint's training state is malformed: batch must be >= 0, got -5")


# ---- item 10: the data folder on resume and eval -----------------------------------------------------


@pytest.fixture
def moved_run(tmp_path, mnist_dir, monkeypatch):
    """A run trained from folder A with a relative --data-dir, interrupted, seen from folder B."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "mnist").symlink_to(mnist_dir, target_is_directory=True)
    # 40 batches per epoch: the Ctrl-C after the second lands well before the run could end.
    process = _cli_process("train", "--data-dir", "mnist", *SMALL, "--batch-size", "5", "--disp-freq", "1",
                           "--out", "run", cwd=a)
    for line in process.stdout:
        if line.startswith("Epoch [1][2] Batch [2][40]"):
            process.send_signal(signal.SIGINT)
            break
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    monkeypatch.chdir(b)
    return a / "run"


def test_a_run_whose_relative_data_dir_moved_resumes_with_a_data_flag(cli, tmp_path, mnist_dir, moved_run):
    result = cli("train", "--resume", moved_run)
    assert_one_line_error(result, "MNIST files not found", "The run was started with data_dir 'mnist' (give --data-dir")
    assert not (tmp_path / "b" / "mnist").exists()  # nothing created from the saved, relative path
    result = cli("train", "--resume", moved_run, "--data-dir", mnist_dir)
    assert result.code == 0, result.err
    assert result.out.startswith(f"Resuming {moved_run} at epoch 1 batch ")
    assert json.loads((moved_run / "summary.json").read_text())["stopped"] == "completed"


def test_a_run_resumes_with_the_data_variable(cli, mnist_dir, moved_run, monkeypatch):
    monkeypatch.setenv("TINYGRAD_MNIST_DATA", str(mnist_dir))
    result = cli("train", "--resume", moved_run)
    assert result.code == 0, result.err


def test_eval_uses_the_data_variable_never_the_folder_saved_in_the_checkpoint(cli, tmp_path, mnist_dir, monkeypatch):
    out = tmp_path / "run"
    stored = tmp_path / "stored-data"
    stored.symlink_to(mnist_dir, target_is_directory=True)
    assert cli("train", "--data-dir", stored, *SMALL, "--out", out).code == 0
    stored.unlink()  # the folder the run remembers is gone (moved, or a crafted path)
    result = cli("eval", out)
    assert_one_line_error(result, "MNIST files not found", f"The run was started with data_dir '{stored}'")
    assert not stored.exists()  # not created, nothing downloaded into it
    monkeypatch.setenv("TINYGRAD_MNIST_DATA", str(mnist_dir))
    result = cli("eval", out)
    assert result.code == 0, result.err
    assert result.out.startswith("accuracy ")
    assert not stored.exists()
