"""The county's road and footpath network, for walking distances in the 10-minute service circle.

A county imports its network once as GeoJSON lines (`python -m analytics import-roads FILE.geojson`);
it is kept in WGS-84 beside the database as `<database file name>.roads.geojson`. Until then every
service-circle distance is a straight line, and the pages say so.

Walking distance from a building to a facility: a straight leg from each to the nearest point of
the network, plus the shortest way along it between those two points. Lines are joined where
they share a point or cross (footpaths in a compound cross at grade; an overpass would be taken
for a junction).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import shapely
from shapely.geometry import LineString, shape

from . import db, geo

if TYPE_CHECKING:  # imported where a network is built or walked: a third of a second every page would pay
    import networkx as nx

SUFFIX = ".roads.geojson"
IMPORTED = object()  # "the network imported for the connection's database, if any"
_SNAP = 7  # decimals of a degree (about 1 cm) at which two line ends are the same point


def path_for(db_path) -> Path:
    """Where the network of the database at db_path is kept."""
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + SUFFIX)


def database_path(con) -> Path | None:
    """The file behind con's current catalog (None for an in-memory database)."""
    row = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    return Path(row[0]) if row and row[0] else None


@dataclass(frozen=True)
class Network:
    graph: nx.Graph          # nodes: int ids with lon, lat; edges: weight in metres
    segments: np.ndarray     # (n, 2) node ids of each edge, for snapping
    tree: shapely.STRtree    # over the edges, in a local plane in metres
    lat0: float              # latitude of that plane's scale
    source: str = ""
    imported_at: str = ""

    @property
    def kilometres(self) -> float:
        return self.graph.size(weight="weight") / 1000

    @property
    def parts(self) -> int:
        import networkx as nx

        return nx.number_connected_components(self.graph)


def _plane(lon, lat, lat0: float) -> np.ndarray:
    """Equirectangular metres around lat0: good to a few centimetres across a county, and only used
    to find the nearest edge; every length is a great-circle distance."""
    k = np.pi / 180 * geo.EARTH_RADIUS_METRES
    return np.column_stack([np.asarray(lon) * k * np.cos(np.radians(lat0)), np.asarray(lat) * k])


def read_lines(path, datum: str = "wgs84", outline=None, check: bool = True) -> list[LineString]:
    """The LineStrings of a GeoJSON file (FeatureCollection, Feature or bare geometry; MultiLineStrings
    split), in WGS-84. datum: "gcj02" for a file drawn on AMap. Raises ValueError saying what is wrong,
    and (check) where the lines leave the county's outline (WGS-84; Huantai's unless given)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"无法读取路网文件 {path}:{exc}") from None
    if not isinstance(data, dict):
        raise ValueError("路网文件应为 GeoJSON(FeatureCollection、Feature 或几何对象)")
    items = data.get("features") if data.get("type") == "FeatureCollection" else [data]
    lines, skipped = [], 0
    for item in items or []:
        geometry = item.get("geometry") if isinstance(item, dict) and item.get("type") == "Feature" else item
        try:
            shaped = shape(geometry) if geometry else None
        except (AttributeError, TypeError, ValueError, shapely.errors.GEOSException):
            shaped = None
        if shaped is None or shaped.geom_type not in ("LineString", "MultiLineString"):
            skipped += 1
            continue
        lines += [g for g in getattr(shaped, "geoms", [shaped]) if len(g.coords) >= 2]
    if not lines:
        raise ValueError(f"路网文件中没有线要素(LineString 或 MultiLineString);跳过了 {skipped} 个其他要素")
    if datum == "gcj02":
        lines = [shapely.transform(line, lambda xy: np.column_stack(geo.gcj02_to_wgs84(xy[:, 0], xy[:, 1])))
                 for line in lines]
    minx, miny, maxx, maxy = shapely.total_bounds(lines)
    cx0, cy0, cx1, cy1 = (outline if outline is not None else geo.county_outline_wgs84()).bounds
    if check and (minx < cx0 - 0.05 or maxx > cx1 + 0.05 or miny < cy0 - 0.05 or maxy > cy1 + 0.05):
        raise ValueError(f"路网坐标范围 经度 {minx:.4f}–{maxx:.4f}、纬度 {miny:.4f}–{maxy:.4f} 超出本县区边界"
                         f"(经度 {cx0:.3f}–{cx1:.3f}、纬度 {cy0:.3f}–{cy1:.3f}):应为经纬度(WGS-84 或 GCJ-02,经度在前),"
                         "不是投影坐标")
    return lines


def build(lines, source: str = "", imported_at: str = "") -> Network:
    """The network of lines (WGS-84), joined where they meet or cross."""
    import networkx as nx

    noded = shapely.get_parts(shapely.node(shapely.MultiLineString([list(line.coords) for line in lines])))
    coords = [np.round(np.asarray(line.coords)[:, :2], _SNAP) for line in noded]
    ids: dict[tuple, int] = {}
    graph = nx.Graph()
    for xy in coords:
        previous = None
        for lon, lat in xy:
            node = ids.setdefault((lon, lat), len(ids))
            if node not in graph:
                graph.add_node(node, lon=lon, lat=lat)
            if previous is not None and previous != node:
                a = graph.nodes[previous]
                graph.add_edge(previous, node, weight=float(geo.metres_between(a["lon"], a["lat"], lon, lat)))
            previous = node
    segments = np.array(list(graph.edges()), dtype=int).reshape(-1, 2)
    lon = np.array([graph.nodes[n]["lon"] for n in range(len(ids))])
    lat = np.array([graph.nodes[n]["lat"] for n in range(len(ids))])
    lat0 = float(lat.mean())
    xy = _plane(lon, lat, lat0)
    tree = shapely.STRtree(shapely.linestrings(np.stack([xy[segments[:, 0]], xy[segments[:, 1]]], axis=1)))
    return Network(graph, segments, tree, lat0, source, imported_at)


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> Network:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    about = data.get("properties", {})
    return build(read_lines(path, check=False), about.get("source", ""), about.get("imported_at", ""))


def network_for(con) -> Network | None:
    """The network imported for con's database, or None (distances are then straight lines)."""
    db_path = database_path(con)
    path = path_for(db_path) if db_path else None
    if path is None or not path.exists():
        return None
    return _load(str(path), path.stat().st_mtime)


def _attach(network: Network, graph: nx.Graph, lon, lat) -> np.ndarray:
    """Add point i to graph as node ("p", i) on its nearest edge, which is split there; returns the
    straight legs from the points to those nodes (metres)."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    points = shapely.points(_plane(lon, lat, network.lat0))
    nearest = network.tree.query_nearest(points, all_matches=False)[1]
    t = shapely.line_locate_point(network.tree.geometries[nearest], points, normalized=True)
    u, v = network.segments[nearest, 0], network.segments[nearest, 1]
    node = network.graph.nodes
    ulon, ulat = np.array([node[n]["lon"] for n in u]), np.array([node[n]["lat"] for n in u])
    vlon, vlat = np.array([node[n]["lon"] for n in v]), np.array([node[n]["lat"] for n in v])
    slon, slat = ulon + t * (vlon - ulon), ulat + t * (vlat - ulat)
    on_edge: dict[tuple, list] = {}
    for i, edge in enumerate(zip(u, v)):
        on_edge.setdefault(edge, []).append(i)
    for (a, b), members in on_edge.items():
        graph.remove_edge(a, b)
        chain = [(0.0, a, node[a]["lon"], node[a]["lat"])]
        for i in members:
            graph.add_node(("p", i), lon=slon[i], lat=slat[i])
            chain.append((t[i], ("p", i), slon[i], slat[i]))
        chain.append((1.0, b, node[b]["lon"], node[b]["lat"]))
        chain.sort(key=lambda c: c[0])
        for (_, p, plon, plat), (_, q, qlon, qlat) in zip(chain, chain[1:]):
            graph.add_edge(p, q, weight=float(geo.metres_between(plon, plat, qlon, qlat)))
    return geo.metres_between(lon, lat, slon, slat)


def _from_destinations(network: Network, lon, lat, first: int = 0, cutoff: float | None = None):
    """The network with points attached and the walking distance of every node from the nearest of
    the points numbered `first` and after (the destinations)."""
    import networkx as nx

    graph = network.graph.copy()
    legs = _attach(network, graph, lon, lat)
    graph.add_node("start")
    for j in range(first, len(legs)):
        graph.add_edge("start", ("p", j), weight=float(legs[j]))
    return graph, legs, nx.single_source_dijkstra_path_length(graph, "start", cutoff=cutoff, weight="weight")


def nearest_walk(network: Network, origins: tuple, destinations: tuple) -> np.ndarray:
    """For each origin (lon array, lat array), the walking distance in metres to the nearest
    destination (lon array, lat array); inf where none can be reached along the network."""
    n = len(origins[0])
    if not n or not len(destinations[0]):
        return np.full(n, np.inf)
    lon, lat = np.concatenate([origins[0], destinations[0]]), np.concatenate([origins[1], destinations[1]])
    _, legs, reached = _from_destinations(network, lon, lat, first=n)
    return np.array([reached.get(("p", i), np.inf) for i in range(n)]) + legs[:n]


def import_roads(source, db_path, datum: str = "wgs84") -> Network:
    """Check the GeoJSON lines at source and keep them, in WGS-84, as the network of the database at
    db_path. The file is replaced whole: a reader sees the old network or the new one."""
    outline = None  # a database still to be made holds Huantai
    if Path(db_path).exists():
        with db.connect(db_path, read_only=True) as con:
            outline = geo.outline_of(con)
    lines = read_lines(source, datum, outline)
    about = {"source": Path(source).name, "imported_at": dt.datetime.now().isoformat(timespec="seconds"),
             "datum_of_source": datum}
    network = build(lines, about["source"], about["imported_at"])
    target = path_for(db_path)
    data = {"type": "FeatureCollection", "properties": about, "features": [
        {"type": "Feature", "properties": {}, "geometry": {
            "type": "LineString", "coordinates": np.round(np.asarray(line.coords)[:, :2], _SNAP).tolist()}}
        for line in lines]}
    tmp = target.with_name(f".{target.name}.{os.getpid()}")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, target)
    _touch(db_path)
    return network


def _touch(db_path) -> None:
    # The dashboard keys its cached figures on the database file's modification time.
    if Path(db_path).exists():
        os.utime(db_path)


def remove_roads(db_path) -> bool:
    """Go back to straight-line distances; whether there was a network."""
    path = path_for(db_path)
    if path.exists():
        path.unlink()
        _touch(db_path)
        return True
    return False


def reach(network: Network, destinations: tuple, metres: float) -> list[list[list[float]]]:
    """The parts of the network within `metres` walking of any destination (lon, lat arrays), as
    paths [[lon, lat], [lon, lat]] for a map; an edge reached from one end only is cut where the
    distance runs out."""
    if not len(destinations[0]):
        return []
    graph, _, reached = _from_destinations(network, *destinations, cutoff=metres)
    paths = []
    for a, b, w in graph.edges(data="weight"):
        if "start" in (a, b):
            continue
        pa, pb = graph.nodes[a], graph.nodes[b]
        # How far along the edge the walk gets from each end.
        ra, rb = (max(0.0, metres - reached[n]) if n in reached else 0.0 for n in (a, b))
        if not (ra or rb):
            continue
        if ra + rb >= w:
            paths.append([[pa["lon"], pa["lat"]], [pb["lon"], pb["lat"]]])
            continue
        for near, far, r in ((pa, pb, ra), (pb, pa, rb)):
            if r > 0:
                share = r / w
                paths.append([[near["lon"], near["lat"]], [near["lon"] + share * (far["lon"] - near["lon"]),
                                                           near["lat"] + share * (far["lat"] - near["lat"])]])
    return paths
