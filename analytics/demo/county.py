"""The county a build draws: its size and its three years; and how a total is split."""

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class County:
    """What every stage may know of the county it draws, besides the frames it is given."""

    scale: float
    end: pd.Timestamp  # midnight of the last day of data

    @property
    def start(self) -> pd.Timestamp:
        """The first day: three years of history end on `end`."""
        return self.end.replace(year=self.end.year - 3) + pd.Timedelta(days=1)

    @property
    def end_of_data(self) -> pd.Timestamp:
        return self.end + pd.Timedelta(hours=23, minutes=59)

    @property
    def year_start(self) -> pd.Timestamp:
        return pd.Timestamp(self.end.year, 1, 1)

    @property
    def quarters(self) -> pd.PeriodIndex:
        return pd.period_range(self.start, self.end, freq="Q")

    def scaled(self, value: int, minimum: int = 1) -> int:
        """A figure reported at scale 1, at this county's scale."""
        return max(minimum, int(round(value * self.scale)))


def allocate(total: int, weights, minimum: int = 0) -> np.ndarray:
    """Split an integer total in proportion to weights (largest remainder), each >= minimum."""
    weights = np.asarray(weights, dtype=float)
    base = np.full(len(weights), minimum, dtype=np.int64)
    rest = total - base.sum()
    if rest < 0:
        raise ValueError("total smaller than the minimums")
    share = weights / weights.sum() * rest
    out = base + np.floor(share).astype(np.int64)
    remainder = total - out.sum()
    out[np.argsort(-(share - np.floor(share)), kind="stable")[:remainder]] += 1
    return out
