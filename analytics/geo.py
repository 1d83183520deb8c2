"""Geography: the county's outline, the WGS-84 <-> GCJ-02 datum shift, and the demo county's polygons.

Every coordinate in the database is WGS-84 (which CGCS2000, the datum of 天地图, matches to well under
a metre). Chinese consumer maps (AMap/高德) draw their tiles in GCJ-02, an obfuscated datum offset a few
hundred metres from WGS-84; data drawn over such tiles is shifted with wgs84_to_gcj02 first.
"""

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Polygon, shape

from .db import get_meta

# Mean earth radius (IUGG), for great-circle distances.
EARTH_RADIUS_METRES = 6_371_008.8

GEO_DIR = Path(__file__).resolve().parent.parent / "data" / "geo"
OUTLINE_PATH = GEO_DIR / "huantai_370321.geojson"

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
    """The outline as the file has it. It comes from DataV, whose outlines are in GCJ-02: a few
    hundred metres off, which the importer's bounding-box check on coordinates can bear."""
    data = json.loads(OUTLINE_PATH.read_text(encoding="utf-8"))
    return shape(data["features"][0]["geometry"])


@lru_cache(maxsize=1)
def county_outline_wgs84():
    """The outline shifted back to WGS-84, to be drawn with the data (see county_outline)."""
    return _to_wgs84(county_outline())


def _to_wgs84(shape_gcj02):
    return shapely.transform(shape_gcj02, lambda xy: np.column_stack(gcj02_to_wgs84(xy[:, 0], xy[:, 1])))


@lru_cache(maxsize=16)
def outline(code: str | None = None, wkt_text: str | None = None):
    """The outline (WGS-84) of the county a database holds, from what its meta records: the outline
    itself (county_outline, WKT: the demo's generated counties), else the DataV file of data/geo
    named by its code (county_code; *_<code>.geojson), else Huantai's for a file that records no county.
    Raises ValueError, in Chinese, for a county whose outline is nowhere."""
    if wkt_text:
        return shapely.from_wkt(wkt_text)
    if not code:
        return county_outline_wgs84()
    files = sorted(GEO_DIR.glob(f"*_{code}.geojson"))
    if not files:
        raise ValueError(f"没有县区 {code} 的边界,无法核对经纬度:请把该县区的边界(GeoJSON)放在 {GEO_DIR} 下,"
                         f"文件名以 _{code}.geojson 结尾")
    data = json.loads(files[0].read_text(encoding="utf-8"))
    return _to_wgs84(shape(data["features"][0]["geometry"]))


def outline_of(con):
    """The outline (WGS-84) of the county con's database records holding (see outline)."""
    return outline(get_meta(con, "county_code"), get_meta(con, "county_outline"))


def metres_between(lon1, lat1, lon2, lat2):
    """Great-circle distance in metres (haversine), element-wise over scalars or arrays."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2))
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_METRES * np.arcsin(np.minimum(1, np.sqrt(h)))


# -- WGS-84 <-> GCJ-02 --------------------------------------------------------------------
# The published form of the GCJ-02 shift: Krasovsky 1940 semi-major axis and eccentricity squared.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323


def _gcj_offset(lon, lat):
    x, y = lon - 105.0, lat - 35.0
    wave = (20 * np.sin(6 * x * np.pi) + 20 * np.sin(2 * x * np.pi)) * 2 / 3
    dlat = (-100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x)) + wave
            + (20 * np.sin(y * np.pi) + 40 * np.sin(y / 3 * np.pi)) * 2 / 3
            + (160 * np.sin(y / 12 * np.pi) + 320 * np.sin(y * np.pi / 30)) * 2 / 3)
    dlon = (300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x)) + wave
            + (20 * np.sin(x * np.pi) + 40 * np.sin(x / 3 * np.pi)) * 2 / 3
            + (150 * np.sin(x / 12 * np.pi) + 300 * np.sin(x / 30 * np.pi)) * 2 / 3)
    rad = np.radians(lat)
    magic = 1 - _GCJ_EE * np.sin(rad) ** 2
    dlat = dlat * 180 / ((_GCJ_A * (1 - _GCJ_EE)) / (magic * np.sqrt(magic)) * np.pi)
    dlon = dlon * 180 / (_GCJ_A / np.sqrt(magic) * np.cos(rad) * np.pi)
    return dlon, dlat


def _in_china(lon, lat):
    # The shift applies only inside this box; outside it GCJ-02 equals WGS-84.
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def wgs84_to_gcj02(lon, lat):
    """WGS-84 longitudes and latitudes (scalars or arrays) to GCJ-02."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlon, dlat = _gcj_offset(lon, lat)
    inside = _in_china(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def gcj02_to_wgs84(lon, lat):
    """GCJ-02 to WGS-84. The shift has no closed inverse; a few fixed-point rounds bring the
    round trip within a millimetre (the shift changes by under 1e-5 per metre moved)."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    wlon, wlat = lon.copy(), lat.copy()
    for _ in range(6):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        wlon, wlat = wlon - (glon - lon), wlat - (glat - lat)
    return wlon, wlat


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
