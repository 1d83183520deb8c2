"""One permission table (access.METRIC_PERMISSIONS): every metric for every role, asked on the pages
and on the command line, gets the same refusal or the same columns."""

import csv
import io

import pytest
from streamlit.testing.v1 import AppTest

from analytics import access, metrics
from tests.test_access_cli import USERS, cli, run  # noqa: F401  (cli is a fixture)

PERSONAL = {"excellent-grid-workers", "monthly-publication", "grid-team", "grid-ledger", "ticket-list", "worker-service",
            "appeals"}


def every_metric_on_a_page():
    """Run as a page would: each metric through pages._figures.metric for the signed-in user."""
    import streamlit as st

    from analytics import access, columns, metrics
    from analytics.period import COUNTY, parse_period
    from pages._figures import metric

    outcome = {}
    for m in metrics.REGISTRY:
        try:
            frame = metric(m.id, parse_period("2026Q3"), COUNTY, grid_id="201-01" if m.needs_grid else None)
            outcome[m.id] = list(columns.formatted(frame, metric_id=m.id).columns)  # as a file names them
        except access.Denied:
            outcome[m.id] = "denied"
        except ValueError as exc:
            outcome[m.id] = f"error: {exc}"
    st.session_state["outcome"] = outcome


def on_the_pages(cli, monkeypatch, name: str) -> dict:
    monkeypatch.setenv("GRIDGOV_DB", str(cli.db))
    monkeypatch.setenv("GRIDGOV_USERS", str(cli.users))
    app = AppTest.from_function(every_metric_on_a_page, default_timeout=120)
    app.session_state["user"] = access.UserStore(cli.users).get(name)
    app.run()
    assert not app.exception, app.exception
    return app.session_state["outcome"]


def on_the_command_line(cli, tmp_path, capsys, name: str) -> dict:
    outcome = {}
    for m in metrics.REGISTRY:
        out = tmp_path / f"{m.id}.csv"
        code = run(cli, "metric", m.id, "--period", "2026Q3", "--user", name, "--out", out,
                   *(["--grid", "201-01"] if m.needs_grid else []))
        err = capsys.readouterr().err
        if code == 3:
            outcome[m.id] = "denied"
        elif code == 2:
            outcome[m.id] = "error: " + err.strip().splitlines()[-1].removeprefix("错误: ")
        else:
            assert code == 0, err
            outcome[m.id] = next(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    return outcome


@pytest.mark.parametrize("name, role, place", USERS)
def test_every_metric_gets_the_same_answer_on_the_pages_and_the_command_line(cli, monkeypatch, tmp_path, capsys,
                                                                              name, role, place):
    pages, command_line = on_the_pages(cli, monkeypatch, name), on_the_command_line(cli, tmp_path, capsys, name)
    assert set(pages) == set(command_line) == {m.id for m in metrics.REGISTRY}
    differ = {m: (pages[m], command_line[m]) for m in pages if pages[m] != command_line[m]}
    assert differ == {}
    refused = {m for m, o in pages.items() if o == "denied"}
    expected = {"clerk": PERSONAL, "adm": set(pages)}.get(name, set())
    assert refused == expected
    titled = "标题" in pages["open-tickets"]  # a ticket's title may describe a resident
    assert titled == (role not in ("clerk", "admin"))


def test_the_table_names_only_registered_metrics():
    assert set(access.METRIC_PERMISSIONS) <= {m.id for m in metrics.REGISTRY}
