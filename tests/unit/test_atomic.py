"""write_text_atomically: the old file stays whole when the new text cannot be written."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.atomic import write_text_atomically


def test_the_new_text_replaces_the_old_and_nothing_else_is_left(tmp_path: Path):
    path = tmp_path / "reports" / "index.html"  # the folder does not exist yet
    assert write_text_atomically(path, "first") == path
    write_text_atomically(path, "second — ü")
    assert path.read_text(encoding="utf-8") == "second — ü"
    assert sorted(p.name for p in path.parent.iterdir()) == ["index.html"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path: Path):
    path = tmp_path / "index.html"
    write_text_atomically(path, "yesterday's report")
    with pytest.raises(UnicodeEncodeError):
        write_text_atomically(path, "half a page \ud800")  # a lone surrogate: not UTF-8
    assert path.read_text(encoding="utf-8") == "yesterday's report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html"]
