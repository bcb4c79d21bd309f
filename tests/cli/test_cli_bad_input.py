"""Every kind of bad input ends as ONE line on stderr and exit status 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.code == 2, (result.code, result.out, result.err)
    assert "Traceback" not in result.err
    assert len(result.err_lines) == 1, result.err
    line = result.err_lines[0]
    assert line.startswith("tinygrad-mnist: error: "), line
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} not in {line!r}"


@pytest.mark.parametrize(
    "argv, fragments",
    [
        ([], ["missing command", "train"]),
        (["trian"], ["unknown command 'trian'", "did you mean 'train'?"]),
        (["evaluate", "x"], ["unknown command", "did you mean 'eval'?"]),
        (["train", "--activation", "gleu"], ["--activation", "did you mean 'gelu'?"]),
        (["train", "--loss", "hinje"], ["--loss", "did you mean 'hinge'?"]),
        (["train", "--init", "xavir"], ["did you mean 'xavier'?"]),
        (["grid", "--activation", "relu", "sigmod"], ["did you mean 'sigmoid'?"]),
        (["graph", "--loss", "crossentropy"], ["unknown loss", "choose from"]),
        (["train", "--lr", "-0.1"], ["--lr", "must be > 0"]),
        (["train", "--lr", "0"], ["--lr", "must be > 0"]),
        (["train", "--lr", "abc"], ["--lr", "lr must be a number"]),
        (["train", "--lr", "nan"], ["lr must be a finite number"]),
        (["train", "--lr", ""], ["--lr"]),
        (["train", "--lr"], ["--lr", "expected one argument"]),
        (["train", "--batch-size", "0"], ["--batch-size", "must be >= 1"]),
        (["train", "--batch-size", "2.5"], ["batch_size must be an integer"]),
        (["train", "--batch-size", "70000"], ["larger than the 60000 training samples"]),
        (["train", "--train-size", "100", "--batch-size", "200"], ["larger than the 100 training samples"]),
        (["train", "--train-size", "100", "--val-size", "100"], ["val_size", "100"]),
        (["train", "--val-size", "2.5"], ["val_size"]),
        (["train", "--train-size", "60001"], ["--train-size", "<= 60000"]),
        (["train", "--momentum", "1"], ["--momentum", "< 1"]),
        (["train", "--hidden", "0"], ["--hidden", ">= 1"]),
        (["train", "--hidden", "-5"], ["--hidden"]),
        (["train", "--focal-alpha", "0.1", "0.2"], ["--focal-alpha", "one weight or 10"]),
        (["train", "--focal-alpha", "2"], ["--focal-alpha", "<= 1"]),
        (["train", "--nesterov", "--momentum", "0"], ["nesterov"]),
        (["train", "--hiden", "3"], ["unknown option '--hiden'", "did you mean '--hidden'?"]),
        (["train", "--lr-shedule=step"], ["did you mean '--lr-schedule'?"]),
        (["train", "extra"], ["unexpected argument 'extra'"]),
        (["train", "--config", "no/such/file.toml"], ["--config", "does not exist"]),
        (["train", "--config", "."], ["--config", "not a file"]),
        (["train", "--resume", "no/such/run"], ["--resume", "does not exist"]),
        (["eval", "no/such/checkpoint.npz"], ["does not exist"]),
        (["eval"], ["required", "CHECKPOINT_OR_RUN_DIR"]),
        (["plot", "no/such/run"], ["does not exist"]),
        (["plot", "."], ["no metrics.csv"]),
        (["plot", ".", "--out", "curves.txt"], ["--out", ".png"]),
        (["graph", "--out", "graph.txt"], ["--out", ".dot"]),
        (["graph", "--batch-size", "0"], ["--batch-size"]),
        (["grid", "--loss", "ce"], ["at least one setting with several values"]),
        (["grid", "--loss", "ce", "ce"], ["twice"]),
        (["grid", "--loss", "ce", "hinge", "--jobs", "0"], ["--jobs", ">= 1"]),
        (["train", "--jobs", "2"], ["unknown option '--jobs'"]),
        (["train", "--out", ""], ["--out", "expected a directory name"]),
        (["grid", "--loss", "ce", "hinge", "--out", __file__], ["--out", "is a file"]),
    ],
)
def test_bad_arguments(cli, tmp_path, monkeypatch, argv, fragments):
    monkeypatch.chdir(tmp_path)  # so "." is an empty directory
    assert_one_line_error(cli(*argv, "--dry-run") if argv and argv[0] != "trian" else cli(*argv), *fragments)


@pytest.mark.parametrize(
    "text, fragments",
    [
        ("lr = \n", ["not valid TOML", "line 1"]),
        ("epoch = 3\n", ["unknown setting 'epoch'", "did you mean 'epochs'?"]),
        ("batch-size = 3\n", ["unknown setting 'batch-size'", "did you mean 'batch_size'?"]),
        ('activation = "gleu"\n', ["activation", "did you mean 'gelu'?"]),
        ("lr = -1\n", ["lr", "must be > 0"]),
        ('lr = "fast"\n', ["lr must be a number"]),
        ("epochs = 2.5\n", ["epochs must be an integer"]),
        ("hidden = 128\n", ["hidden", "list"]),
        ("nesterov = 1\n", ["nesterov", "true or false"]),
        ("[train]\nlr = 0.1\n", ["unknown table [train]"]),
        ("[grid]\nloss = []\n", ["non-empty list"]),
        ('[grid]\nloss = "ce"\n', ["non-empty list"]),
        ('[grid]\nloss = ["ce", "hinje"]\n', ["did you mean 'hinge'?"]),
        ('[grid]\nloss = ["ce", "hinge"]\n[[grid.override]]\nmatch = { loss = "hinge" }\n', ["'set'"]),
        ('[grid]\nloss = ["ce", "hinge"]\n[[grid.override]]\nmatch = { loss = "focal" }\nset = { lr = 1e-4 }\n',
         ["not one of the axis values"]),
        ('[grid]\nloss = ["ce", "hinge"]\n[[grid.override]]\nmatch = { seed = 1 }\nset = { lr = 1e-4 }\n',
         ["not an axis of the grid"]),
        ('[grid]\nloss = ["ce", "hinge"]\n[[grid.override]]\nwhen = { loss = "ce" }\nset = { lr = 1 }\n',
         ["unknown key 'when'"]),
    ],
)
def test_bad_config_files(cli, tmp_path, text, fragments):
    config = tmp_path / "bad.toml"
    config.write_text(text, encoding="utf-8")
    command = "grid" if "[grid]" in text else "train"
    assert_one_line_error(cli(command, "--config", config, "--dry-run"), *fragments)


def test_config_file_that_is_not_utf8(cli, tmp_path):
    config = tmp_path / "latin1.toml"
    config.write_bytes('activation = "r\xe9lu"\n'.encode("latin-1"))
    assert_one_line_error(cli("train", "--config", config, "--dry-run"), "not UTF-8")


def test_unreadable_config_file(cli, tmp_path, monkeypatch):
    config = tmp_path / "secret.toml"
    config.write_text("lr = 0.1\n")
    real_read_bytes = Path.read_bytes

    def denied(self):
        # chmod 0 cannot stop root, who runs these tests in some containers; fake the refusal.
        if self == config:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    assert_one_line_error(cli("train", "--config", config, "--dry-run"), "cannot be read", "Permission denied")


def test_resume_takes_no_other_settings(cli, tmp_path):
    assert_one_line_error(cli("train", "--resume", tmp_path, "--lr", "0.1", "--dry-run"), "drop --lr")
    assert_one_line_error(cli("train", "--resume", tmp_path, "--dry-run"), "not a run directory")


def test_missing_data_is_one_line_and_does_not_download(cli, tmp_path):
    # The isolation fixture points the download mirror at a dead local port.
    result = cli("train", "--data-dir", tmp_path / "empty", "--epochs", "1", "--train-size", "100",
                 "--no-progress", "--out", tmp_path / "run")
    assert_one_line_error(result, "MNIST")
    assert not (tmp_path / "empty").exists()  # a failed download creates no data folder


def test_corrupt_checkpoint_is_one_line(cli, tmp_path):
    bad = tmp_path / "checkpoint.npz"
    bad.write_bytes(b"this is not a zip file")
    assert_one_line_error(cli("eval", bad), "checkpoint")


def test_existing_run_directory_is_never_overwritten(cli, tmp_path, mnist_dir):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = cli("train", "--data-dir", mnist_dir, "--train-size", "100", "--test-size", "100",
                 "--epochs", "1", "--no-progress", "--out", out)
    assert_one_line_error(result, str(out))
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_warnings_are_one_line_each(cli, monkeypatch):
    import warnings

    from tinygrad_mnist.cli import evaluate
    from tinygrad_mnist.errors import UserError

    def warn_and_fail(args):
        warnings.warn("the cache is read-only\nso loading is slower")
        raise UserError("stop here")

    monkeypatch.setattr(evaluate, "run", warn_and_fail)  # the parser is built per call, from the module
    result = cli("eval", Path(__file__))
    assert result.code == 2
    assert result.err_lines == [
        "tinygrad-mnist: warning: the cache is read-only so loading is slower",
        "tinygrad-mnist: error: stop here",
    ]


def test_resume_takes_display_options_and_names_the_flags_typed(cli, trained_run):
    run_dir, _ = trained_run
    # --no-progress and --disp-freq change only what is shown, so a resume accepts them.
    result = cli("train", "--resume", run_dir, "--no-progress", "--disp-freq", "5", "--dry-run")
    assert result.code == 0, result.err
    assert_one_line_error(cli("train", "--resume", run_dir, "--no-nesterov", "--lr", "0.1", "--dry-run"),
                          "drop --lr, --no-nesterov")
