"""The counties of a demo city. Huantai is drawn as the county it is; every other county is drawn by
the same stages with a seed of its own, then renamed (its code, subdistricts and communities) and
moved east, side by side with Huantai: generated places, not the real districts' outlines."""

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from .. import geo, names

HUANTAI = names.CITY_COUNTIES[0]
# Degrees of longitude between two counties' urban areas (each about 0.07 wide).
SPACING = 0.1


@dataclass(frozen=True)
class Place:
    """Where and what a demo county is: its administrative code and name, its position in the city."""

    code: str
    name: str
    position: int  # 0 for Huantai, which is drawn as it is

    @property
    def is_huantai(self) -> bool:
        return self.position == 0


def places(n: int) -> list[Place]:
    if not 1 <= n <= len(names.CITY_COUNTIES):
        raise ValueError(f"县区数应在 1 到 {len(names.CITY_COUNTIES)} 之间(淄博市的区县数),收到 {n}")
    return [Place(code, name, k) for k, (code, name, _) in enumerate(names.CITY_COUNTIES[:n])]


class Relabel:
    """Turns the frames drawn for Huantai into a county's: every Huantai place name and code in text,
    and every coordinate moved east by the county's position."""

    def __init__(self, place: Place):
        _, _, subdistricts = names.CITY_COUNTIES[place.position]
        huantai_subs = HUANTAI[2]
        communities = [c for _, (_, comms) in sorted(names.COMMUNITIES.items()) for c, _ in comms]
        # Community words drawn by the code, so a county keeps its names whatever the seed.
        rng = np.random.default_rng(int(place.code))
        words = rng.choice(names.COMMUNITY_WORDS, len(communities), replace=False)
        mapping = {old: f"{word}社区" for old, word in zip(communities, words)}
        mapping.update(zip(huantai_subs, subdistricts))
        mapping.update({HUANTAI[1]: place.name, HUANTAI[1][:-1]: place.name[:-1], HUANTAI[0]: place.code})
        self.mapping = mapping
        self.pattern = re.compile("|".join(map(re.escape, sorted(mapping, key=len, reverse=True))))
        self.dlon = place.position * SPACING

    def outline(self) -> str:
        """Huantai's outline moved as the county's places are (WKT, WGS-84): the county records it in
        meta (county_outline), and an import checks coordinates against it."""
        return geo.wkt(shapely.transform(geo.county_outline_wgs84(), lambda xy: xy + [self.dlon, 0.0]))

    def text(self, value):
        return self.pattern.sub(lambda m: self.mapping[m[0]], value) if isinstance(value, str) else value

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        for column in frame.columns:
            if column == "lon":
                frame[column] = (frame[column] + self.dlon).round(6)
            elif column == "geometry_wkt":
                shapes = shapely.from_wkt(frame[column].to_numpy())
                moved = shapely.transform(shapes, lambda xy: xy + [self.dlon, 0.0])
                frame[column] = shapely.to_wkt(moved, rounding_precision=6)
            elif frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
                values = frame[column].unique()
                renamed = {v: self.text(v) for v in values}
                if any(renamed[v] != v for v in values if isinstance(v, str)):
                    frame[column] = frame[column].map(renamed)
        return frame
