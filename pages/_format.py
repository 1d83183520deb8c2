"""Text on a page: data shown literally inside Markdown, and a metric's definition as its help."""

import re

from analytics import metrics


def plain(text) -> str:
    """Text from the data or a user, shown literally inside Markdown (no links, no emphasis, no HTML)."""
    return re.sub(r"([\\`*_{}\[\]()<>#+\-.!|~$])", r"\\\1", str(text))

def definition(metric_id: str) -> str:
    m = metrics.get(metric_id)
    return f"**{m.name}**:{m.definition}(单位:{m.unit})"
