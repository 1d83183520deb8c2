import inspect
import shutil

import pandas as pd
import pytest

from analytics import db, metrics, summary
from analytics.period import Scope


def test_every_metric_is_documented_once():
    ids = [m.id for m in metrics.REGISTRY]
    assert len(ids) == len(set(ids))
    for m in metrics.REGISTRY:
        assert m.name and len(m.definition) > 10 and m.unit
        assert inspect.getdoc(m.function), f"{m.function_name} has no docstring"


@pytest.mark.parametrize("metric", metrics.REGISTRY, ids=lambda m: m.id)
def test_every_metric_runs_on_the_demo(demo_con, metric):
    county = metric.compute(demo_con, "2026Q3", grid_id="101-01")
    # Lists that a well-run quarter may leave empty.
    assert len(county) > 0 or metric.id in {"near-due-tickets", "overdue-tickets", "uncovered-buildings"}


# Facilities serve whoever lives within reach, across a community's border.
SERVED_ACROSS_BORDERS = {"service-coverage", "uncovered-buildings"}


def only_community(source, target, community: str, keep: tuple = ()):
    """A copy of the county holding only one community: its places and people, and what belongs to
    them (their tickets, ledger lines, redemptions, volunteering, teams, facilities...)."""
    shutil.copyfile(source, target)
    grids = "(SELECT grid_id FROM grids WHERE community_id = $c)"
    # Its people are those registered in it at the end of the quarter the test computes (2026Q3).
    people = (f"(SELECT person_id FROM people WHERE grid_id IN {grids} AND person_id NOT IN "
              f"(SELECT person_id FROM residence_history) UNION SELECT person_id FROM residence_history "
              f"WHERE grid_id IN {grids} AND moved_in <= DATE '2026-09-30' "
              f"AND (moved_out IS NULL OR moved_out > DATE '2026-09-30'))")
    orgs = f"(SELECT org_id FROM organizations WHERE grid_id IN {grids})"
    tickets = f"(SELECT ticket_id FROM tickets WHERE grid_id IN {grids})"
    deletes = {
        # An appeal belongs to the grid it names, or to that of its ledger line's subject: asked before those go.
        "appeals": f"""appeal_id NOT IN (SELECT a.appeal_id FROM appeals a
                         LEFT JOIN credit_events e ON e.event_id = a.event_id
                         LEFT JOIN people p ON e.subject_type = 'person' AND p.person_id = e.subject_id
                         LEFT JOIN organizations o ON e.subject_type = 'org' AND o.org_id = e.subject_id
                         WHERE coalesce(a.grid_id, p.grid_id, o.grid_id) IN {grids})""",
        "ticket_events": f"ticket_id NOT IN {tickets}", "ticket_ratings": f"ticket_id NOT IN {tickets}",
        "tickets": f"ticket_id NOT IN {tickets}",
        "credit_events": f"NOT ((subject_type = 'person' AND subject_id IN {people}) "
                         f"OR (subject_type = 'org' AND subject_id IN {orgs}))",
        "redemptions": f"person_id NOT IN {people}", "volunteer_activities": f"person_id NOT IN {people}",
        "team_members": f"person_id NOT IN {people}", "emergency_assignments": "community_id <> $c",
        "micro_wishes": f"grid_id NOT IN {grids}", "property_evaluations": f"org_id NOT IN {orgs}",
        "person_roles": f"person_id NOT IN {people}", "volunteer_teams": "community_id <> $c",
        "facilities": "coalesce(community_id, (SELECT community_id FROM grids g WHERE g.grid_id = facilities.grid_id)) <> $c",
        "organizations": f"org_id NOT IN {orgs}", "people": f"person_id NOT IN {people}",
        "residence_history": "person_id NOT IN (SELECT person_id FROM people)",
        "buildings": f"grid_id NOT IN {grids}", "grids": f"grid_id NOT IN {grids}", "communities": "community_id <> $c",
        "subdistricts": "subdistrict_id NOT IN (SELECT subdistrict_id FROM communities)",
    }
    with db.connect(target) as con:
        for table, condition in deletes.items():
            if table not in keep:
                con.execute(f"DELETE FROM {table} WHERE {condition}", {"c": community} if "$c" in condition else {})
        summary.refresh(con)
    return target


@pytest.fixture(scope="module")
def community_copies(small_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("scoped")
    return {keep: only_community(small_path, folder / f"{len(keep)}.duckdb", "201", keep)
            for keep in ((), ("facilities",))}


@pytest.mark.parametrize("metric", [m for m in metrics.REGISTRY if m.id != "county-profile"], ids=lambda m: m.id)
def test_a_scoped_metric_is_the_metric_of_a_county_holding_only_that_scope(small_path, community_copies, metric):
    """Narrowing to community 201 (东岳国际社区) gives what the whole-county figure gives on a
    database from which everything of the other communities was deleted: the scope reaches every row."""
    with db.connect(small_path, read_only=True) as full:
        scoped = metric.compute(full, "2026Q3", Scope(communities=("201",)), grid_id="201-01")
    copy = community_copies[("facilities",) if metric.id in SERVED_ACROSS_BORDERS else ()]
    with db.connect(copy, read_only=True) as alone:
        expected = metric.compute(alone, "2026Q3", grid_id="201-01")
    # The small county has no flagged record, no ticket open on its last day (the deadline lists
    # are as of that day; tests/test_workdays.py holds their scope to hand-built tickets) and no appeal
    # raised in 201 that quarter (tests/test_appeals.py holds theirs to a hand-built county).
    assert len(expected) > 0 or metric.id in {"data-quality-flags", "deadline-status", "overdue-tickets", "near-due-tickets",
                                              "appeals", "appeal-summary"}
    pd.testing.assert_frame_equal(scoped.reset_index(drop=True), expected.reset_index(drop=True))
