"""``python -m tinygrad_mnist``: the same command line as the ``tinygrad-mnist`` script.

Example:
    >>> import subprocess, sys
    >>> subprocess.run([sys.executable, "-m", "tinygrad_mnist", "--version"]).returncode  # doctest: +SKIP
    0
"""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
