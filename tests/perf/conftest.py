"""benchmarks/ is a folder of scripts beside the package, not part of it: make it importable however
pytest is started (``python -m pytest`` already has the repository on sys.path, plain ``pytest`` not)."""
import sys
from pathlib import Path

REPO_ROOT = str(Path(__file__).resolve().parents[2])
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)
