"""Periods (a quarter, a month or a date range) and scopes (which grids a viewer may see)."""

import datetime as dt
import re
from dataclasses import dataclass

from . import clock


@dataclass(frozen=True)
class Period:
    """Half-open: from start (inclusive) to end (exclusive), as dates."""

    kind: str  # "quarter", "month" or "range"
    start: dt.date
    end: dt.date

    @property
    def label(self) -> str:
        if self.kind == "quarter":
            return f"{self.start.year}Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        return f"{self.start.isoformat()}..{(self.end - dt.timedelta(days=1)).isoformat()}"

    @property
    def label_zh(self) -> str:
        if self.kind == "quarter":
            return f"{self.start.year}年第{(self.start.month - 1) // 3 + 1}季度"
        if self.kind == "month":
            return f"{self.start.year}年{self.start.month}月"
        last = self.end - dt.timedelta(days=1)
        return f"{self.start:%Y年%m月%d日}至{last:%Y年%m月%d日}"

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    def previous(self) -> "Period":
        if self.kind == "quarter":
            return quarter(self.start.year - (self.start.month == 1), (self.start.month - 1) // 3 or 4)
        if self.kind == "month":
            prev_end = self.start - dt.timedelta(days=1)
            return month(prev_end.year, prev_end.month)
        length = self.end - self.start
        return Period("range", self.start - length, self.start)

    def in_progress(self, as_of: dt.date) -> bool:
        """Whether the data (running to as_of) stop before the period's last day."""
        return self.start <= as_of < self.last_day

    def same_span_before(self, as_of: dt.date) -> "Period":
        """The part of the previous period as long as this one's part up to as_of: 1-1 December
        against 1-1 November, 1 October-28 November against 1 July-28 August. Never past the
        previous period's end."""
        before = self.previous()
        days = (min(as_of, self.last_day) - self.start).days + 1
        return Period("range", before.start, min(before.start + dt.timedelta(days=days), before.end))

    def months(self) -> list["Period"]:
        out, cursor = [], dt.date(self.start.year, self.start.month, 1)
        while cursor < self.end:
            out.append(month(cursor.year, cursor.month))
            cursor = out[-1].end
        return out

    def __str__(self) -> str:
        return self.label


def quarter(year: int, q: int) -> Period:
    start = dt.date(year, 3 * q - 2, 1)
    end = dt.date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
    return Period("quarter", start, end)


def month(year: int, m: int) -> Period:
    return Period("month", dt.date(year, m, 1), dt.date(year + (m == 12), 1 if m == 12 else m + 1, 1))


def quarter_of(day: dt.date) -> Period:
    return quarter(day.year, (day.month - 1) // 3 + 1)


def parse_period(text: str | Period) -> Period:
    """'2026Q3', '2026-09', or 'YYYY-MM-DD..YYYY-MM-DD' (both days included), within the years an
    import accepts (clock.earliest() to clock.latest())."""
    if isinstance(text, Period):
        return text
    period = _parse(str(text).strip())
    first, last = clock.earliest(), clock.latest()
    if period.start < first or period.start > last:
        raise ValueError(f"统计期 {text!r} 不在合理范围内:应在 {first.year} 年至 {last:%Y年%m月%d日} 之间")
    return period


def _parse(value: str) -> Period:
    if m := re.fullmatch(r"(\d{4})\s*[Qq]([1-4])", value):
        return quarter(int(m[1]), int(m[2]))
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})", value):
        if 1 <= int(m[2]) <= 12:
            return month(int(m[1]), int(m[2]))
    if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\s*(?:\.\.|~|至)\s*(\d{4}-\d{2}-\d{2})", value):
        try:
            first, last = dt.date.fromisoformat(m[1]), dt.date.fromisoformat(m[2])
        except ValueError:
            raise ValueError(f"日期无效: {value!r}") from None
        if last < first:
            raise ValueError(f"日期范围的结束日早于开始日: {value!r}")
        return Period("range", first, last + dt.timedelta(days=1))
    raise ValueError(f"无法识别的统计期: {value!r}。请写成季度 2026Q3、月份 2026-09 或日期范围 2026-07-01..2026-09-30")


@dataclass(frozen=True)
class Scope:
    """The part of the county a viewer may see. Empty tuples at every level mean the whole county;
    otherwise a grid is in scope if it, its community or its subdistrict is listed."""

    subdistricts: tuple[str, ...] = ()
    communities: tuple[str, ...] = ()
    grids: tuple[str, ...] = ()

    @property
    def is_county(self) -> bool:
        return not (self.subdistricts or self.communities or self.grids)

    def grid_ids(self, con) -> list[str] | None:
        """The grids in scope, or None for the whole county. Unknown ids are an error."""
        return self.resolve(con).grid_ids()

    def params(self, con) -> dict:
        """Bound parameters for the SQL condition in_scope()."""
        return self.resolve(con).params()

    def describe(self, con) -> str:
        """The scope in words: 全县, or the names of the places it lists (an id no longer in the
        database as it is)."""
        return self.within([] if self.is_county else con.execute(PLACES_SQL).fetchall(), strict=False).label

    def resolve(self, con, label: str = "") -> "Area":
        """The scope as a plain value, asked of the database once: the grids it covers and its name
        (the places' names, when no label is given)."""
        return self.within([] if self.is_county else con.execute(PLACES_SQL).fetchall(), label)

    def within(self, places, label: str = "", strict: bool = True) -> "Area":
        """resolve() over rows of (subdistrict_id, subdistrict, community_id, community, grid_id, grid),
        as PLACES_SQL or the pages' cached county hierarchy give them: no query."""
        if self.is_county:
            return Area(None, label or "全县")
        names, grids = {}, set()
        levels = (("街道", 0, self.subdistricts), ("社区", 2, self.communities), ("网格", 4, self.grids))
        for row in places:
            for _, k, wanted in levels:
                if row[k] is not None:
                    names[k, row[k]] = row[k + 1]
            if row[4] is not None and any(row[k] in wanted for _, k, wanted in levels):
                grids.add(row[4])
        for what, k, wanted in levels:
            unknown = sorted(i for i in wanted if (k, i) not in names)
            if unknown and strict:
                raise ValueError(f"未知的{what}编号: {', '.join(unknown)}")
        named = [names.get((k, i), i) for _, k, wanted in levels for i in wanted]
        return Area(tuple(sorted(grids)), label or "、".join(named))


# Every place, grids or not, for Scope.resolve (the pages' hierarchy lists only places with grids).
PLACES_SQL = """
    SELECT s.subdistrict_id, s.name, c.community_id, c.name, g.grid_id, g.name
    FROM subdistricts s LEFT JOIN communities c USING (subdistrict_id) LEFT JOIN grids g USING (community_id)
"""


@dataclass(frozen=True)
class Area:
    """A scope resolved once at the edge of a request (the filter bar, a command): the grids it
    covers (None: the whole county, tickets without a grid included) and its name. Everything below
    takes it as it is: no query narrows or names it again."""

    grids: tuple[str, ...] | None
    label: str = "全县"

    @property
    def is_county(self) -> bool:
        return self.grids is None

    def grid_ids(self, con=None) -> list[str] | None:
        return None if self.grids is None else list(self.grids)

    def params(self, con=None) -> dict:
        return {"all_grids": self.grids is None, "scope_grids": list(self.grids or ())}

    def resolve(self, con=None, label: str = "") -> "Area":
        return self


COUNTY = Scope()


def bind(con, period: Period, scope: Scope) -> dict:
    """The usual bound parameters of a metric: $start, $end and the scope's."""
    return {"start": period.start, "end": period.end, **scope.params(con)}
def in_scope(col: str) -> str:
    """The SQL condition that the grid in column col is in the scope bound as $all_grids and
    $scope_grids (Area.params()). A row without a grid is in the whole county's scope only."""
    if not re.fullmatch(r"[\w.]+|coalesce\([\w., ]+\)", col):
        raise ValueError(f"not a column name: {col!r}")
    return f"($all_grids OR list_contains($scope_grids, {col}))"


def community_in_scope(col: str) -> str:
    """The SQL condition that a grid of the community in column col is in the bound scope (a place
    of a whole community is shown to whoever sees any of its grids)."""
    return f"EXISTS (SELECT 1 FROM grids sg WHERE sg.community_id = {col} AND {in_scope('sg.grid_id')})"


def place_in_scope(grid: str, community: str) -> str:
    """The SQL condition for a place kept by a grid, or else by a whole community."""
    return f"CASE WHEN {grid} IS NOT NULL THEN {in_scope(grid)} ELSE {community_in_scope(community)} END"


def parse_scope(text: str | None) -> Scope:
    """'S:370321002,C:101,G:101-03' or '' for the county (S = subdistrict, C = community, G = grid)."""
    if not text:
        return COUNTY
    parts = {"S": [], "C": [], "G": []}
    for item in filter(None, (p.strip() for p in text.split(","))):
        kind, _, ident = item.partition(":")
        if kind.upper() not in parts or not ident:
            raise ValueError(f"无法识别的范围 {item!r}: 请写成 S:街道编号、C:社区编号 或 G:网格编号")
        parts[kind.upper()].append(ident.strip())
    return Scope(tuple(parts["S"]), tuple(parts["C"]), tuple(parts["G"]))
