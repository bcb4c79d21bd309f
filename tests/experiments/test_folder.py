"""The grid folder: one grid at a time, and run directories from other machines swapped in whole
(a crash between the two renames is repaired; a late or stale checkpoint never replaces a newer one)."""
from __future__ import annotations

import pytest

from train_helpers import synthetic
from tinygrad_mnist.errors import RunDirectoryError
from tinygrad_mnist.experiments.folder import GridFolder, grid_record
from tinygrad_mnist.experiments.rundirs import RESUME_FILES, pack_run_dir
from tinygrad_mnist.train import TrainConfig, fit, plan_grid

BASE = TrainConfig(hidden=[8], batch_size=50, disp_freq=0, progress=False)
AXES = {"seed": [0, 1]}


def record():
    return grid_record(BASE, AXES, [], plan_grid(BASE, AXES))


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory):
    """The files of one run after 1 epoch (a checkpoint sent mid-run) and after 2 (finished)."""
    from tinygrad_mnist.train.trainer import Trainer

    tmp = tmp_path_factory.mktemp("runs")
    data = synthetic(n_train=100, n_test=50)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Trainer, "_plot", lambda self: None)  # no curves: they are not the point here
        fit(BASE.replace(epochs=1), out_dir=tmp / "one", data=data, log=lambda line: None)
        fit(BASE.replace(epochs=2), out_dir=tmp / "two", data=data, log=lambda line: None)
    return pack_run_dir(tmp / "one", RESUME_FILES), pack_run_dir(tmp / "two")


def test_two_grids_never_work_in_one_folder(tmp_path):
    with GridFolder.open(tmp_path / "grid", record()):
        with pytest.raises(RunDirectoryError, match="the grid folder .* is in use by another process"):
            with GridFolder.open(tmp_path / "grid", record()):
                pass
    with GridFolder.open(tmp_path / "grid", record()):  # free again once the first let go
        pass


def test_late_or_stale_checkpoints_never_replace_newer_ones(tmp_path, snapshots):
    one_epoch, finished = snapshots
    with GridFolder.open(tmp_path / "grid", record()) as folder:
        assert folder.receive("seed0", one_epoch, progress=(1, 0))
        assert folder.state("seed0").progress == (1, 0)
        assert not folder.receive("seed0", one_epoch, progress=(1, 0))  # the same again: nothing new
        assert folder.receive("seed0", finished)  # the run's own end: always taken
        assert folder.state("seed0").kind == "finished"
        assert not folder.receive("seed0", one_epoch, progress=(1, 0))  # late: never over a finished run
        assert folder.state("seed0").kind == "finished"
        assert sorted(p.name for p in (tmp_path / "grid" / "seed0").iterdir()) == sorted(finished)
    assert not list((tmp_path / "grid" / ".grid" / "incoming").iterdir())


def test_a_swap_cut_short_between_its_renames_is_completed_when_the_folder_opens_again(tmp_path, snapshots):
    one_epoch, finished = snapshots
    out = tmp_path / "grid"
    with GridFolder.open(out, record()) as folder:
        folder.receive("seed0", one_epoch, progress=(1, 0))
    # What a crash leaves after the new copy was complete and the old one moved aside.
    incoming = out / ".grid" / "incoming"
    new = incoming / "seed0.new-abcd"
    new.mkdir()
    for name, content in finished.items():
        (new / name).write_bytes(content)
    (incoming / "seed0.new-abcd.complete").touch()
    (out / "seed0").rename(incoming / "seed0.old-abcd")
    # And a copy of seed1 that was still being written: it never counts.
    (incoming / "seed1.new-ef01").mkdir()
    (incoming / "seed1.new-ef01" / "checkpoint.npz").write_bytes(b"half")
    with GridFolder.open(out, record()) as folder:
        assert folder.state("seed0").kind == "finished"
        assert folder.state("seed1").kind == "fresh" and not (out / "seed1").exists()
    assert not list(incoming.iterdir())


def test_files_from_elsewhere_cannot_name_a_path(tmp_path):
    with GridFolder.open(tmp_path / "grid", record()) as folder:
        with pytest.raises(RunDirectoryError, match="not a plain file name"):
            folder.receive("seed0", {"../../escape.txt": b"x"})
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "grid" / "seed0").exists()
