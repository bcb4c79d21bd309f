"""Temporaries of atomic writes: named after their writer, and cleaned up once that writer is dead
(the attack: SIGKILL during a checkpoint write left full-size ``.checkpoint.npz.*.tmp`` files for ever)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tinygrad_mnist.atomic import atomic_open, atomic_write_bytes, remove_stale_temporaries

_WRITE_THEN_HANG = """
import sys, time
from tinygrad_mnist.atomic import atomic_open
with atomic_open(sys.argv[1], "wb") as handle:
    handle.write(bytes(1 << 20))
    handle.flush()
    print("writing", flush=True)
    time.sleep(60)
"""


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_write_killed_by_sigkill_leaves_a_temporary_that_the_next_start_removes(tmp_path: Path) -> None:
    target = tmp_path / "checkpoint.npz"
    atomic_write_bytes(target, b"the previous checkpoint")
    writer = subprocess.Popen([sys.executable, "-c", _WRITE_THEN_HANG, str(target)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline() == "writing\n"
        [left] = temporaries(tmp_path)
        assert left.startswith(f".checkpoint.npz.{writer.pid}.") and left.endswith(".tmp")
        assert remove_stale_temporaries(target) == []  # its writer still runs: hands off
        writer.send_signal(signal.SIGKILL)
        writer.wait(30)
    finally:
        writer.kill()
        writer.communicate()
    assert temporaries(tmp_path) == [left]  # SIGKILL runs no cleanup code
    assert remove_stale_temporaries(target) == [tmp_path / left]
    assert temporaries(tmp_path) == [] and target.read_bytes() == b"the previous checkpoint"


def test_only_the_targets_own_stale_temporaries_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "checkpoint.npz"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    dead = int(gone.stdout)
    names = {
        f".checkpoint.npz.{dead}.ab12cd34.tmp": True,  # writer gone
        f".checkpoint.npz.{os.getpid()}.ab12cd34.tmp": False,  # this process: a write in progress
        f".checkpoint.npz.{os.getppid()}.ab12cd34.tmp": False,  # another live process
        ".checkpoint.npz.oldstyle1.tmp": False,  # no pid in the name, and touched just now
        f".metrics.csv.{dead}.ab12cd34.tmp": False,  # another target's
        "checkpoint.npz": False,
        "checkpoint.npz.tmp": False,  # not hidden: a user's file, not ours
    }
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    old = tmp_path / ".checkpoint.npz.oldstyle2.tmp"
    old.write_bytes(b"x")
    an_hour_ago = time.time() - 3700
    os.utime(old, (an_hour_ago, an_hour_ago))

    removed = remove_stale_temporaries(target)
    assert sorted(p.name for p in removed) == sorted([old.name] + [n for n, stale in names.items() if stale])
    assert all((tmp_path / name).exists() for name, stale in names.items() if not stale)


def test_a_missing_or_unreadable_folder_is_not_an_error(tmp_path: Path) -> None:
    assert remove_stale_temporaries(tmp_path / "no" / "such" / "file") == []


def test_a_failed_write_removes_its_own_temporary(tmp_path: Path) -> None:
    target = tmp_path / "summary.json"
    try:
        with atomic_open(target, "w") as handle:
            handle.write("half")
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert list(tmp_path.iterdir()) == []
