"""A city of demo counties opened as the dashboard opens it, compared county by county with each
county's own database, and timed (a benchmark that prints figures, not a test).

    python -m benchmarks city --city data/city/city.json [--period 2026Q3]

Per county: its size, then every value the 县区对比 page shows for it (headlines, its grids' rows of
the city grid ranking, each community of the city community ranking) against the same figure read
from the county's file alone, and the number of values that differ (tests/test_city.py asserts 0).
Then the time to attach the counties and to compute each city figure over all of them.
"""

import statistics
import time

import pandas as pd

from analytics import city, credit, db, metrics, overview
from analytics.period import Scope, parse_period


def _differ(a, b) -> bool:
    if pd.isna(a) and pd.isna(b):
        return False
    if isinstance(a, float) or isinstance(b, float):
        return abs(float(a) - float(b)) > 1e-9 * max(1.0, abs(float(b)))
    return a != b


def _compare(con, town, county, period) -> tuple[int, int]:
    """(values compared, values that differ) for one county."""
    headlines = city.county_headlines(con, town, period).set_index("county_code")
    grids = city.grid_ranking(con, town, period)
    communities = city.community_ranking(con, town, period)
    pairs = []
    with db.connect(county.path, read_only=True) as own:
        for key, value in overview.headline(own, period).set_index("key")["value"].items():
            pairs.append((headlines.loc[county.code, key], value))
        alone = credit.grid_credit_ranking(own, period).sort_values("grid_id").reset_index(drop=True)
        mine = grids[grids["county_code"] == county.code].drop(columns=[*city.COUNTY_COLUMNS, "city_rank"])
        mine = mine.sort_values("grid_id").reset_index(drop=True)
        pairs += [(mine.iat[r, c], alone.iat[r, c]) for r in range(len(alone)) for c in range(alone.shape[1])]
        pairs.append((len(mine), len(alone)))
        summary = metrics.get("credit-summary")
        for row in communities[communities["county_code"] == county.code].itertuples():
            one = summary.compute(own, period, Scope(communities=(row.community_id,))).iloc[0]
            pairs += [(row.residents, one["residents"]), (row.points, one["points"]), (row.avg_credit, one["avg_credit"])]
    return len(pairs), sum(_differ(a, b) for a, b in pairs)


def run(manifest, period: str, repeat: int) -> int:
    town = city.load(manifest)
    period = parse_period(period)
    started = time.perf_counter()
    con = city.attach(town)
    attached = (time.perf_counter() - started) * 1000
    print(f"{town.name}:{len(town.counties)} 个县区,统计期 {period.label_zh}")
    print(f"{'县区':<8}{'网格':>6}{'居民':>9}{'积分记录':>11}{'工单':>7}{'比对值数':>9}{'不一致':>7}")
    for county in town.counties:
        cur = city.county_cursor(con, county)
        sizes = [cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                 for t in ("grids", "people", "credit_events", "tickets")]
        compared, differ = _compare(con, town, county, period)
        print(f"{county.name:<8}{sizes[0]:>8,}{sizes[1]:>11,}{sizes[2]:>13,}{sizes[3]:>9,}{compared:>11,}{differ:>9,}")
    print(f"挂载 {len(town.counties)} 个县区数据库:{attached:.0f} ms")
    for m in metrics.CITY_REGISTRY:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            rows = m.function(con, town, period)
            times.append((time.perf_counter() - started) * 1000)
        print(f"{m.name}({m.id}):{len(rows):,} 行,中位数 {statistics.median(times):.0f} ms,最快 {min(times):.0f} ms")
    con.close()
    return 0
