"""docs/RELIABILITY.md promises that each fault it lists is tried by the test it names: those tests must exist."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = re.compile(r"((?:core|gui)/test_\w+\.py)::(test_\w+)")


def test_every_test_named_in_the_reliability_table_exists():
    text = (ROOT / "docs" / "RELIABILITY.md").read_text(encoding="utf-8")
    references = set(REFERENCE.findall(text))
    assert len(references) > 40
    missing = []
    for file, name in sorted(references):
        path = ROOT / "tests" / file
        if not path.is_file() or not re.search(rf"^def {name}\(", path.read_text(encoding="utf-8"), re.M):
            missing.append(f"{file}::{name}")
    assert not missing, f"named in docs/RELIABILITY.md but not found: {missing}"
