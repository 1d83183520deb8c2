"""The county's clock: "now" and "today" in the county's time zone, whatever the server's, and the
range of dates an import or a period may name."""

import datetime as dt
from zoneinfo import ZoneInfo

from . import settings


def now() -> dt.datetime:
    """The county's wall-clock time, naive, as times are stored."""
    return dt.datetime.now(ZoneInfo(settings.COUNTY_TIMEZONE)).replace(tzinfo=None)


def today() -> dt.date:
    return now().date()


def earliest() -> dt.date:
    return dt.date(settings.EARLIEST_YEAR, 1, 1)


def latest(day: dt.date | None = None) -> dt.date:
    """The last plausible date: LATEST_YEARS_AHEAD years after today (29 February becomes the 28th)."""
    day = day or today()
    try:
        return day.replace(year=day.year + settings.LATEST_YEARS_AHEAD)
    except ValueError:
        return day.replace(year=day.year + settings.LATEST_YEARS_AHEAD, day=28)


def latest_event(moment: dt.datetime | None = None) -> dt.datetime:
    """The latest time an event can have happened: the end of the import day plus the tolerance."""
    day = (moment or now()).date()
    return dt.datetime.combine(day + dt.timedelta(days=1 + settings.FUTURE_TOLERANCE_DAYS), dt.time())
