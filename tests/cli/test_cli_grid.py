"""``grid``'s own options: --resume DIR continues a grid, --cluster runs it on Dask; bad input is one
line and exit status 2."""
from __future__ import annotations

import json
import time

import pytest

@pytest.mark.parametrize("cluster", ["closed-port", "local:0", "tcp://", "local:two", "host name:8786"])
def test_a_cluster_that_is_not_there_or_malformed_is_one_line(cli, closed_port, tmp_path, cluster):
    if cluster == "closed-port":
        pytest.importorskip("distributed", reason='Dask is not installed (pip install "tinygrad_mnist[cluster]")')
        cluster = f"tcp://127.0.0.1:{closed_port()}"
    start = time.monotonic()
    result = cli("grid", "--loss", "ce", "hinge", "--epochs", "1", "--out", tmp_path / "grid", "--cluster", cluster)
    assert result.code == 2 and len(result.err_lines) == 1, result.err
    assert result.err.startswith("tinygrad-mnist: error: ")
    if cluster.startswith("tcp://127.0.0.1"):
        assert f"cannot reach the Dask scheduler at {cluster}" in result.err
    else:
        assert "--cluster" in result.err and "local:N" in result.err
    assert time.monotonic() - start < 10
    assert not (tmp_path / "grid").exists()  # nothing was written


def test_without_dask_cluster_says_how_to_install_it(cli, monkeypatch, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "distributed" else real(name, *a))
    result = cli("grid", "--loss", "ce", "hinge", "--out", tmp_path / "grid", "--cluster", "local:2", "--dry-run")
    assert result.code == 2 and result.err_lines == [
        'tinygrad-mnist: error: running a grid on a cluster needs Dask, which is not installed: '
        'pip install "tinygrad_mnist[cluster]"']


def tiny_grid(mnist_dir, out, *extra):
    return ["grid", "--loss", "ce", "hinge", "--train-size", "300", "--test-size", "100", "--hidden", "8",
            "--epochs", "1", "--batch-size", "50", "--no-progress", "--jobs", "1", "--data-dir", mnist_dir, "--out", out,
            *extra]


def test_grid_resume_and_the_same_command_continue_a_grid(cli, mnist_dir, tmp_path):
    out = tmp_path / "grid"
    assert cli(*tiny_grid(mnist_dir, out)).code == 0
    summary = json.loads((out / "ce" / "summary.json").read_text())
    import shutil

    shutil.rmtree(out / "hinge")  # as if the grid had been stopped before this run started
    dry = cli("grid", "--resume", out, "--dry-run")
    assert dry.code == 0, dry.err
    assert f"run 1 ({out}/ce): loss='ce' [finished: kept]" in dry.out
    assert f"run 2 ({out}/hinge): loss='hinge' [starts]" in dry.out

    # The data folder recorded with the grid is not used (it may have moved): the session names one.
    elsewhere = cli("grid", "--resume", out, "--jobs", "1")
    assert elsewhere.code == 1 and "hinge: MnistDataError: MNIST files not found" in elsewhere.out
    assert elsewhere.out.startswith(f"grid: the data folder this grid was started with ({mnist_dir}) is not used")
    result = cli("grid", "--resume", out, "--jobs", "1", "--data-dir", mnist_dir)
    assert result.code == 0, result.err
    assert result.out.startswith(f"grid: 2 runs into {out} (1 finished earlier and kept, 1 starts), in this process")
    assert "[ce] running on" not in result.out and "[hinge] running on" in result.out
    assert json.loads((out / "ce" / "summary.json").read_text()) == summary  # not trained again
    assert "| ce | " in result.out and "| hinge |" in (out / "results.md").read_text()

    again = cli(*tiny_grid(mnist_dir, out))  # the same command: everything had finished
    assert again.code == 0, again.err
    assert again.out.startswith(f"grid: all 2 runs in {out} had finished; results.md is written again")


def test_grid_resume_refuses_changes_and_another_grid_is_never_mixed_in(cli, mnist_dir, tmp_path):
    out = tmp_path / "grid"
    assert cli(*tiny_grid(mnist_dir, out)).code == 0
    before = sorted(p.name for p in out.iterdir())

    changed = cli("grid", "--resume", out, "--lr", "0.5")
    assert changed.code == 2 and len(changed.err_lines) == 1
    assert "--resume continues the grid as it was planned, so --lr cannot go with it" in changed.err
    assert cli("grid", "--resume", out, "--data-dir", mnist_dir, "--disp-freq", "5", "--dry-run").code == 0

    other = cli(*tiny_grid(mnist_dir, out, "--lr", "0.5"))
    assert other.code == 2 and len(other.err_lines) == 1
    assert f"{out} holds another grid (its run 'ce' has lr=null, this one 0.5); continue that one with " \
           f"`tinygrad-mnist grid --resume {out}`" in other.err

    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "notes.txt").write_text("mine")
    not_a_grid = cli("grid", "--resume", plain)
    assert not_a_grid.code == 2 and "is not a grid folder (it has no grid.json)" in not_a_grid.err
    assert cli(*tiny_grid(mnist_dir, plain)).code == 2 and (plain / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in out.iterdir()) == before
