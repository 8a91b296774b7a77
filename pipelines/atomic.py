"""Replace a text file all at once: a reader sees the old content or the new, never half.

Reports are opened in browsers left running and run markers are read by the next run
after a crash, so a file is written to a temporary name in its own folder, flushed to
disk, then renamed over the old one (``os.replace`` is atomic within a file system).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def write_text_atomically(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file and a rename.

    The folder is created if needed. On any error the temporary file is removed and
    ``path`` is left as it was.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("x", encoding="utf-8") as handle:  # "x": honours the umask
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path
