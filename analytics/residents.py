"""Residents as of a date: who was registered in which grid on a given day (居住登记).

A person without rows in residence_history has been registered in people.grid_id throughout; a
person with rows is registered on a day in the grid of the row covering it (moved_in <= day <
moved_out), and nowhere on a day no row covers. Every per-resident figure counts a grid's residents
as of the period's last day, and a grid's points are the points of those residents.
"""

import datetime as dt

import pandas as pd

from . import summary
from .period import COUNTY, Scope, in_scope


def registered(con, as_of: str = "$as_of", spans: str | None = None) -> str:
    """SQL to put after FROM: person_id, grid_id of everyone registered on the day bound to the
    parameter named by as_of (a DATE). spans: the registrations relation, default the summary's."""
    spans = spans or summary.relation(con, "summary_registrations")
    return f"""(SELECT person_id, grid_id FROM {spans} s
               WHERE (s.moved_in IS NULL OR s.moved_in <= {as_of}) AND (s.moved_out IS NULL OR s.moved_out > {as_of}))"""


def residents_by_grid(con, day: dt.date, scope: Scope = COUNTY) -> pd.DataFrame:
    """grid_id, residents (人): the people registered in each in-scope grid on `day`; grids without
    residents are left out."""
    return con.execute(f"""
        SELECT grid_id, count(*) AS residents FROM {registered(con)} r
        WHERE {in_scope("r.grid_id")} GROUP BY grid_id ORDER BY grid_id
    """, {"as_of": day, **scope.params(con)}).df()
