"""Small helpers shared by the tests of hand-built databases."""

import math
from pathlib import Path


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
