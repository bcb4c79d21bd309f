"""Errors caused by user input (arguments, configs, files), as opposed to bugs.

The CLI prints any ``UserError`` as one line on stderr and exits with status 2; everything else is a
bug and keeps its traceback.
"""


class UserError(Exception):
    """Base class of errors the user can fix; the message says how.

    Catch it to report a user's mistake in one line, as the CLI does:

    >>> from tinygrad_mnist.train import TrainConfig
    >>> try:
    ...     TrainConfig(activation="rleu").validate()
    ... except UserError as error:
    ...     print(f"error: {error}")  # doctest: +ELLIPSIS
    error: unknown activation 'rleu'; did you mean 'relu'? (choose from: ...)
    """


class ConfigError(UserError, ValueError):
    """An invalid training option or configuration value.

    >>> from tinygrad_mnist.train import TrainConfig
    >>> TrainConfig(lr=-1).validate()
    Traceback (most recent call last):
    ...
    tinygrad_mnist.errors.ConfigError: lr must be > 0, got -1
    """


class CheckpointError(UserError, ValueError):
    """A checkpoint file that cannot be loaded into this model (corrupt, crafted or mismatched).

    >>> import tempfile
    >>> from pathlib import Path
    >>> from tinygrad_mnist.train import load_checkpoint
    >>> bogus = Path(tempfile.mkdtemp()) / "checkpoint.npz"
    >>> _ = bogus.write_bytes(b"not a zip file")
    >>> try:
    ...     load_checkpoint(bogus)
    ... except CheckpointError as error:
    ...     print(str(error).split(": ", 1)[1])
    it is not an .npz (zip) file (truncated, or another format)
    """


class RunDirectoryError(UserError):
    """A run directory that would be overwritten, or that cannot be resumed.

    >>> from tinygrad_mnist.train import resume
    >>> resume("no/such/run")
    Traceback (most recent call last):
    ...
    tinygrad_mnist.errors.RunDirectoryError: cannot resume no/such/run: no such run folder
    """


class NonFiniteError(UserError, ArithmeticError):
    """Training produced a NaN or Inf loss or gradient.

    ``train.fit`` raises it (with ``on_nonfinite="stop"``) after writing the run's files; the
    message says where it happened and what to try, and ``error.summary`` is the run's summary:

    >>> from tinygrad_mnist import train
    >>> try:  # doctest: +SKIP
    ...     train.fit(train.TrainConfig(lr=1e3, init_std=1.0), out_dir="runs/too-fast")
    ... except NonFiniteError as error:
    ...     print(error.summary["stopped"])
    nonfinite
    """


class DataError(UserError):
    """A data file or download that cannot be used: missing, unreadable, damaged, oversized, or
    failing its checksum. The message names the file and says what to do.

    Every error the ``tinygrad_mnist.data`` package raises for a file, a folder or a download is one of
    its subclasses, :class:`IdxError` and :class:`MnistDataError`, never a bare ``OSError`` or
    ``zlib.error``. Example:

    >>> from tinygrad_mnist.data import read_idx
    >>> try:
    ...     read_idx("no/such/file.idx")
    ... except DataError as error:
    ...     print(type(error).__name__)
    IdxError
    """


class IdxError(DataError, ValueError):
    """The bytes are not a valid (optionally gzip-compressed) IDX file.

    The message names the file, says what is wrong and what to do about it. The parts are also
    available as attributes ``source``, ``problem`` and ``hint`` for callers that phrase their own
    message.

    Example:

    >>> from tinygrad_mnist.data import parse_idx
    >>> try:
    ...     parse_idx(b"not idx", "x.idx")
    ... except IdxError as error:
    ...     print(error.source, "|", error.problem)
    x.idx | bad magic number 6e 6f 74 20: an IDX file starts with two zero bytes
    """

    def __init__(self, source: str, problem: str, hint: str) -> None:
        super().__init__(f"{source}: {problem}. {hint}")
        self.source = source
        self.problem = problem
        self.hint = hint

    def __reduce__(self):
        # Keeps the error picklable (e.g. across multiprocessing) despite the 3-argument init.
        return type(self), (self.source, self.problem, self.hint)


class MnistDataError(DataError, RuntimeError):
    """The MNIST files are missing, could not be downloaded, or failed verification.

    The message says which files, where they were looked for, and what to do.

    Example:

    >>> from tinygrad_mnist.data import load_mnist
    >>> try:
    ...     load_mnist("/nonexistent", download=False)
    ... except MnistDataError as error:
    ...     "--data-dir" in str(error)
    True
    """
