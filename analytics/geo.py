"""Geometry of the demo county: the real outline, and polygons drawn inside it."""

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Polygon, shape

OUTLINE_PATH = Path(__file__).resolve().parent.parent / "data" / "geo" / "huantai_370321.geojson"

# The built-up area of the county seat (索镇街道 and 少海街道), drawn by hand around
# 118.10 E, 36.96 N; convex, so every cell cut from it by Voronoi stays one polygon.
URBAN_AREA = Polygon(
    [
        (118.066, 36.946), (118.074, 36.936), (118.092, 36.931), (118.116, 36.932),
        (118.131, 36.940), (118.136, 36.956), (118.132, 36.974), (118.118, 36.984),
        (118.094, 36.986), (118.075, 36.979), (118.066, 36.965),
    ]
)
# 少海街道 lies west of this line, 索镇街道 east of it.
SUBDISTRICT_BORDER_LON = (118.107, 118.104)  # at the south and north edges


@lru_cache(maxsize=1)
def county_outline():
    data = json.loads(OUTLINE_PATH.read_text(encoding="utf-8"))
    return shape(data["features"][0]["geometry"])


def split_urban_area() -> tuple[Polygon, Polygon]:
    """Return (west, east) halves of the urban area."""
    (south, north) = SUBDISTRICT_BORDER_LON
    minx, miny, maxx, maxy = URBAN_AREA.bounds
    west = Polygon([(minx - 1, miny - 1), (south, miny - 1), (north, maxy + 1), (minx - 1, maxy + 1)])
    east = Polygon([(south, miny - 1), (maxx + 1, miny - 1), (maxx + 1, maxy + 1), (north, maxy + 1)])
    return URBAN_AREA.intersection(west), URBAN_AREA.intersection(east)


def random_points(polygon, n: int, rng: np.random.Generator, margin: float = 0.0) -> np.ndarray:
    """n uniform points (lon, lat) inside polygon shrunk by margin degrees."""
    target = polygon.buffer(-margin) if margin else polygon
    if target.is_empty:
        target = polygon
    minx, miny, maxx, maxy = target.bounds
    out = np.empty((0, 2))
    while len(out) < n:
        batch = max(64, 2 * (n - len(out)))
        xy = np.column_stack([rng.uniform(minx, maxx, batch), rng.uniform(miny, maxy, batch)])
        out = np.vstack([out, xy[shapely.contains_xy(target, xy[:, 0], xy[:, 1])]])
    return out[:n]


def points_in(polygons: list, which: np.ndarray, rng: np.random.Generator, margin: float = 0.0) -> np.ndarray:
    """One random point (lon, lat) per entry of which, inside polygons[which[i]]."""
    out = np.empty((len(which), 2))
    for k in np.unique(which):
        rows = np.flatnonzero(which == k)
        out[rows] = random_points(polygons[k], len(rows), rng, margin=margin)
    return out


def seeds(polygon, n: int, rng: np.random.Generator, weights=None, iterations: int = 8) -> np.ndarray:
    """n points spread over polygon by a few rounds of weighted k-means on sample points, so
    that their Voronoi cells come out compact; weights make some cells larger than others."""
    samples = random_points(polygon, 200 * n, rng)
    centres = samples[rng.choice(len(samples), n, replace=False)]
    scale = np.ones(n) if weights is None else np.sqrt(np.asarray(weights, dtype=float))
    for _ in range(iterations):
        dist = ((samples[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2) / scale[None, :] ** 2
        nearest = dist.argmin(axis=1)
        for k in range(n):
            members = samples[nearest == k]
            if len(members):
                centres[k] = members.mean(axis=0)
    return centres


def voronoi_cells(points: np.ndarray, area) -> list:
    """The Voronoi cells of points clipped to a convex area, one per point, in order.

    All cells come from one diagram, so neighbours share their edges vertex for vertex, and
    rounding the coordinates keeps them shared: the cells tile the area with no overlap.
    """
    cells = shapely.voronoi_polygons(MultiPoint(points), extend_to=area, ordered=True)
    return [shapely.set_precision(cell.intersection(area), 1e-6) for cell in cells.geoms]


def reading_order(polygons) -> list[int]:
    """Indexes of polygons from north-west to south-east, the way a map is read."""
    return sorted(range(len(polygons)), key=lambda k: (-round(polygons[k].centroid.y, 3), polygons[k].centroid.x))


def wkt(geometry) -> str:
    return shapely.to_wkt(geometry, rounding_precision=6)
