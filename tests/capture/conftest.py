"""The capture tests use the op table of tests/ops and the training helpers of tests/train."""
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
for folder in ("ops", "train"):
    if str(TESTS / folder) not in sys.path:
        sys.path.insert(0, str(TESTS / folder))
