"""The metrics on Apache Spark, past one machine.

Not a second implementation: a `SparkCounty` stands where a DuckDB connection stands, so the
metric functions of credit, tickets, volunteers, ... run unchanged. Each query they send is
parsed as DuckDB SQL by SQLGlot, its bound parameters put in as literals of the syntax tree
(never as text), a few DuckDB idioms rewritten, and the result run by Spark SQL over views of
the Parquet export (analytics.parquet) narrowed to one county. Spark has no summary tables:
the summaries' defining queries run inline, as on a DuckDB file whose summaries are stale.
"""

import datetime as dt
import math

import pandas as pd
import sqlglot
from sqlglot import exp

from .parquet import TABLES

# The metrics whose answers on Spark a test compares with DuckDB's (tests/test_spark.py).
METRICS = ("grid-credit-ranking", "ticket-resolution", "ticket-resolution-community", "ticket-resolution-category",
           "ticket-resolution-channel", "ticket-resolution-county", "volunteer-summary",
           *(f"volunteers-by-{by}" for by in ("team", "grid", "community", "month", "kind")))


def literal(value) -> exp.Expression:
    """A bound parameter as a Spark SQL literal."""
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"参数不是有限数值: {value!r}")
        return exp.cast(exp.Literal.number(repr(value)), exp.DataType.Type.DOUBLE)
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, dt.datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), exp.DataType.Type.TIMESTAMPNTZ)
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.Type.DATE)
    if isinstance(value, (list, tuple)):
        if not value:  # an empty array has no element type to infer
            return exp.cast(exp.Array(expressions=[]), exp.DataType.build("ARRAY<STRING>", dialect="spark"))
        return exp.Array(expressions=[literal(v) for v in value])
    raise TypeError(f"cannot bind {type(value).__name__} for Spark")


def _spark_idioms(node: exp.Expression) -> exp.Expression:
    """DuckDB functions that SQLGlot carries over by name but Spark reads differently."""
    # epoch(a - b): seconds of an interval; Spark's unix_timestamp takes no interval.
    if isinstance(node, exp.TimeToUnix) and isinstance(node.this, exp.Sub):
        def micros(e):
            return exp.func("unix_micros", exp.cast(e, exp.DataType.Type.TIMESTAMP))
        elapsed = exp.Sub(this=micros(node.this.this), expression=micros(node.this.expression))
        return exp.Div(this=exp.cast(elapsed, exp.DataType.Type.DOUBLE), expression=exp.Literal.number("1e6"))
    # quantile_cont(x, q): linear interpolation, which is Spark's percentile(x, q).
    if isinstance(node, exp.PercentileCont) and node.expression is not None:
        return exp.func("percentile", node.this, node.expression)
    # list_extract(list, i): 1-based on both sides.
    if isinstance(node, exp.Anonymous) and node.name.lower() == "list_extract":
        items, position = node.expressions
        return exp.func("element_at", items, exp.cast(position, exp.DataType.Type.INT))
    return node


def transpile(sql: str, params: dict) -> str:
    """DuckDB SQL with $name parameters -> Spark SQL with the values as literals."""
    tree = sqlglot.parse_one(sql, read="duckdb")

    def bind(node):
        if isinstance(node, exp.Placeholder) and node.name:
            if node.name not in params:
                raise KeyError(f"no value bound for ${node.name}")
            return literal(params[node.name])
        return node

    return tree.transform(bind).transform(_spark_idioms).sql(dialect="spark")


def session(master: str | None = None, app: str = "gridgov", **config):
    """A SparkSession for the metrics (master: as spark-submit or the environment says when None):
    wall-clock timestamps (UTC session zone, so that none shifts), partition values kept as text
    (370321 is a code, 2026-07 a month), and DuckDB's NULL for a division by zero (ANSI mode off)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(master) if master else SparkSession.builder
    builder = (builder.appName(app)
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
               .config("spark.sql.ansi.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false"))
    for key, value in config.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


class _Result:
    def __init__(self, frame):
        self._frame = frame

    def df(self) -> pd.DataFrame:
        """As DuckDB's .df() gives it: decimals as floats, dates as datetime64."""
        from pyspark.sql import types

        frame = self._frame.toPandas()
        for field in self._frame.schema.fields:
            if isinstance(field.dataType, types.DecimalType):
                frame[field.name] = frame[field.name].astype("float64")
            elif isinstance(field.dataType, types.DateType):
                frame[field.name] = pd.to_datetime(frame[field.name])
        return frame

    def fetchall(self) -> list[tuple]:
        return [tuple(row) for row in self._frame.collect()]

    def fetchone(self):
        rows = self._frame.take(1)
        return tuple(rows[0]) if rows else None


class SparkCounty:
    """One county of a Parquet export, seen through Spark as the metrics see a DuckDB connection:
    execute(sql, params) with DuckDB SQL, then .df(), .fetchall() or .fetchone()."""

    def __init__(self, spark, root: str, code: str):
        self.spark, self.root, self.code = spark, str(root).rstrip("/"), code
        self.last_sql = None

    def _views(self) -> None:
        """The tables' names as views of this county: the metrics' SQL names them unqualified, so a
        session holds one county's views at a time."""
        if getattr(self.spark, "_gridgov_views", None) == (self.root, self.code):
            return
        for table in TABLES:
            frame = self.spark.read.parquet(f"{self.root}/{table}")
            frame = frame.where(frame["county_code"] == self.code).drop("county_code", "month")
            frame.createOrReplaceTempView(table)
        self.spark._gridgov_views = (self.root, self.code)

    def execute(self, sql: str, params: dict | None = None) -> _Result:
        self._views()
        self.last_sql = transpile(sql, params or {})
        return _Result(self.spark.sql(self.last_sql))

    def cursor(self) -> "SparkCounty":
        return self
