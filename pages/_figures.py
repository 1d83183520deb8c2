"""The figures a page shows, computed on the signed-in user's behalf and cached per file version:
the period and the area arrive resolved (a Period, an Area already narrowed to the user), so a
cached call costs no query beyond the figure's own."""

import importlib
from dataclasses import replace

import pandas as pd
import streamlit as st

from analytics import access, city, metrics, tickets
from analytics.period import Area, Period, Scope
from pages._database import TTL, city_connection, city_version, cursor, the_city, version
from pages._session import places, signed_in


# Streamlit hashes a dataclass argument through a deep asdict() on every call; its repr names every
# field in a tenth of the time, and a page makes a dozen cached calls per rerun.
ARGUMENTS = {Period: repr, Area: repr}


def narrowed(area: Area | Scope) -> tuple[access.User, Area]:
    """The signed-in user and the area held to the user's places: for the filter bar's area (an Area
    inside them) a comparison of grid lists, no query; anything else is resolved once here."""
    user = signed_in()
    user = replace(user, area=places(user))
    return user, access.effective_scope(user, area, None if isinstance(area, Area) else cursor())


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=ARGUMENTS)
def _compute(key, function_name: str, period: Period, area: Area, kwargs: tuple) -> pd.DataFrame:
    module, _, name = function_name.rpartition(".")
    function = getattr(importlib.import_module(module), name)
    return function(cursor(), period, area, **dict(kwargs))


def compute(function, period: Period, area: Area, **kwargs) -> pd.DataFrame:
    """An analytics function (con, period, area, **kwargs) within the user's places, cached for TTL seconds."""
    return _compute(version(), f"{function.__module__}.{function.__qualname__}", period, narrowed(area)[1],
                    tuple(sorted(kwargs.items())))


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=ARGUMENTS)
def _metric(key, metric_id: str, period: Period, area: Area, grid_id: str | None, names: bool,
            options: tuple) -> pd.DataFrame:
    return metrics.get(metric_id).call(cursor(), period, area, grid_id=grid_id, names=names, **dict(options))


def metric(metric_id: str, period: Period, area: Area, grid_id: str | None = None, names: bool = False,
           **options) -> pd.DataFrame:
    """A registered metric on the user's behalf, cached; the same function the command line and exports run.
    options go to the metric's function (the ticket list's search)."""
    user, area = narrowed(area)
    access.authorize(user, metric_id, area, grid_id=grid_id, names=names)
    return access.visible(user, _metric(version(), metric_id, period, area, grid_id, names,
                                        tuple(sorted(options.items()))))


@st.cache_resource(ttl=TTL, show_spinner=False, max_entries=64)
def map_deck(key: tuple, _build):
    """The map built by _build once per key (the file version and everything the map shows), its
    JSON made once: st.pydeck_chart then sends the text as it is, the layers already written into it."""
    deck = _build()
    text = deck.to_json()
    deck.to_json, deck.layers = (lambda: text), []
    return deck


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=ARGUMENTS)
def _ticket_history(key, ticket_id: str, area: Area, names: bool) -> pd.DataFrame:
    return tickets.ticket_history(cursor(), ticket_id, area, names=names)


def ticket_history(ticket_id: str, area: Area, names: bool = False) -> pd.DataFrame:
    user, area = narrowed(area)
    access.authorize(user, "ticket-list", area, names=names)  # the drill-down of a ticket in the list
    return _ticket_history(version(), ticket_id, area, names)


@st.cache_data(ttl=TTL, show_spinner=False)
def _city_areas(key, user: access.User) -> tuple:
    return tuple(city.areas(city_connection(), the_city(), user).items())


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=ARGUMENTS)
def _city_figure(key, metric_id: str, period: Period, areas: tuple) -> pd.DataFrame:
    return metrics.get(metric_id).function(city_connection(), the_city(), period, dict(areas))


def city_figure(metric_id: str, period: Period) -> pd.DataFrame:
    """A city figure (analytics.metrics.CITY_REGISTRY) over the counties the signed-in user may see, each
    county whole or narrowed to the user's places there; cached per version of the counties' files."""
    user = replace(signed_in(), area=None)
    access.require(user, "figures")
    key = city_version()
    return _city_figure(key, metric_id, period, _city_areas(key, user))
