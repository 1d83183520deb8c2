"""Small helpers shared by the tests of hand-built databases."""

import contextlib
import math
import subprocess
import sys
from pathlib import Path

from analytics import db


@contextlib.contextmanager
def import_lock_held(db_path):
    """Another process holds the database's import lock until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pathlib import Path; from analytics.ingest import load\n"
         "with load.exclusive(Path(sys.argv[1])):\n    print('held', flush=True)\n    sys.stdin.read()", str(db_path)],
        cwd=db.ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.communicate("", timeout=60)
    assert holder.returncode == 0


def norm(rows, places: int = 6):
    """Round floats and turn NaN into None, so rows compare as plain tuples."""
    def one(value):
        if isinstance(value, float):
            return None if math.isnan(value) else round(value, places)
        return value
    return [tuple(one(v) for v in row) for row in rows]


def write(tmp_path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path
