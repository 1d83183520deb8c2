import inspect

import pytest

from analytics import metrics
from analytics.period import Scope


def test_every_metric_is_documented_once():
    ids = [m.id for m in metrics.REGISTRY]
    assert len(ids) == len(set(ids))
    for m in metrics.REGISTRY:
        assert m.name and len(m.definition) > 10 and m.unit
        assert inspect.getdoc(m.function), f"{m.function_name} has no docstring"


@pytest.mark.parametrize("metric", metrics.REGISTRY, ids=lambda m: m.id)
def test_every_metric_runs_on_the_demo_and_respects_scope(demo_con, metric):
    county = metric.compute(demo_con, "2026Q3", grid_id="101-01")
    # Lists that a well-run quarter may leave empty.
    assert len(county) > 0 or metric.id in {"near-due-tickets", "overdue-tickets", "uncovered-buildings"}
    if metric.id == "county-profile":
        with pytest.raises(ValueError):
            metric.compute(demo_con, "2026Q3", Scope(communities=("201",)))
        return
    scoped = metric.compute(demo_con, "2026Q3", Scope(communities=("101",)), grid_id="101-01")
    for column in ("community_id", "grid_id"):
        if column in scoped.columns:
            values = set(scoped[column].dropna())
            assert all(str(v).startswith("101") for v in values), (column, values - {"101"})
