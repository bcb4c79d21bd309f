"""docs/reliability.md names the test behind each promise; every named test must exist."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _references():
    text = (ROOT / "docs" / "reliability.md").read_text()
    current = None
    for match in re.finditer(r"`(tests/[\w/]+\.py)?(?:::(\w+))?`", text):
        path, name = match.groups()
        if path:
            current = path
        if name:
            yield current, name
        elif path:
            yield path, None


def test_every_referenced_test_exists():
    references = list(_references())
    assert len(references) > 30
    for path, name in references:
        source = ROOT / path
        assert source.is_file(), f"docs/reliability.md names {path}, which does not exist"
        if name:
            assert re.search(rf"^\s*def {name}\(", source.read_text(), re.M), f"{path} has no test {name}"
