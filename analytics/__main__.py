"""Command line: python -m analytics <command> ..."""

import argparse
import contextlib
import datetime as dt
import getpass
import re
import sys
import unicodedata
from pathlib import Path

import duckdb
import pandas as pd

from . import access, audit, city, db, demo, roads, summary, vocab
from .credit import INTEGRITY_FLAGS
from .period import Scope, parse_period, parse_scope


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期格式应为 YYYY-MM-DD,收到: {text!r}") from None


def _datetime(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"时间格式应为 YYYY-MM-DD 或 YYYY-MM-DD HH:MM,收到: {text!r}") from None


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"规模系数应为数字,收到: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("规模系数必须大于 0")
    return value


def cmd_init(args) -> int:
    if bool(args.county_code) != bool(args.county_name):
        raise ValueError("--county-code 与 --county-name 须同时给出")
    if args.county_code and not re.fullmatch(r"\d{6}", args.county_code):
        raise ValueError(f"县区代码应为 6 位行政区划代码,收到 {args.county_code!r}")
    applied = db.init_db(args.db)
    if applied:
        print(f"已初始化 {args.db}: 应用数据结构版本 {', '.join(map(str, applied))}")
    else:
        print(f"{args.db} 已是最新数据结构,未作改动")
    if args.county_code:
        # Which county the file holds, as a city's manifest and a Parquet export name it.
        with db.connect(args.db) as con:
            con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                            [("county_code", args.county_code), ("county_name", args.county_name),
                             ("county", args.county_name)])
        print(f"已登记县区: {args.county_name}({args.county_code})")
    return 0


def _not_to_overwrite(path: Path, force: bool) -> str | None:
    """Why the demo must not be written over path (None: it may)."""
    if not path.exists():
        return None
    try:
        with db.connect(path, read_only=True) as con:
            source = db.get_meta(con, "source") if db.schema_version(con) else None
            empty = not db.schema_version(con) or not db.table_counts(con).get("grids")
            if db.schema_version(con) and db.get_meta(con, "last_import"):
                source = "import"
    except duckdb.Error as exc:
        return f"无法打开 {path}({exc})。它不是本系统的数据库文件,或正被其他程序写入。"
    if not empty and source != "demo" and not force:
        return f"{path} 中已有非演示数据。若确需覆盖,请加 --force。"
    return None


def cmd_demo(args) -> int:
    def report(fraction: float, label: str) -> None:
        print(f"[{fraction:4.0%}] {label}", flush=True)

    if args.counties is None:
        if why := _not_to_overwrite(Path(args.db), args.force):
            print(f"错误: {why}", file=sys.stderr)
            return 2
        counts = demo.build_demo_file(Path(args.db), scale=args.scale, seed=args.seed, end=args.end, progress=report)
        print(f"演示数据已写入 {args.db}: {counts['people']:,} 名居民, {counts['credit_events']:,} 条积分记录, "
              f"{counts['tickets']:,} 张工单")
        return 0
    from . import names
    from .demo.city import places

    out = Path(args.out)
    counties = places(args.counties)
    files = [out / f"{p.code}.duckdb" for p in counties]
    for path in files:
        if why := _not_to_overwrite(path, args.force):
            print(f"错误: {why}", file=sys.stderr)
            return 2
    out.mkdir(parents=True, exist_ok=True)
    for place, path in zip(counties, files):
        # Each county its own seed: Huantai keeps the one given, so it is the single-county demo.
        print(f"== {place.name}({place.code})", flush=True)
        counts = demo.build_demo_file(path, scale=args.scale, seed=args.seed + place.position, end=args.end,
                                      progress=report, place=place)
        print(f"{place.name}: {counts['people']:,} 名居民, {counts['credit_events']:,} 条积分记录, "
              f"{counts['tickets']:,} 张工单,已写入 {path}")
    manifest = out / "city.json"
    code, name = names.CITY
    city.write(city.City(code, name, tuple(city.County(p.code, p.name, f) for p, f in zip(counties, files))), manifest)
    print(f"城市清单已写入 {manifest}:以 GRIDGOV_CITY={manifest} 启动驾驶舱即为全市视图")
    return 0


def cmd_refresh(args) -> int:
    with db.connect(args.db) as con:
        db.migrate(con)
        counts = summary.refresh(con)
    print("已重建汇总表: " + ", ".join(f"{name} {n:,} 行" for name, n in counts.items()))
    if duplicates := counts["summary_ledger_duplicates"]:
        print(f"注意:信用台账中有 {duplicates:,} 个记录编号出现不止一次,积分被重复计入;"
              "明细见“协商议事 → 数据质量”,请以冲销记录更正", file=sys.stderr)
    return 0


def cmd_export(args) -> int:
    from . import parquet

    with db.connect(_existing(args.db), read_only=True) as con:
        code = parquet.county_code(con, args.county_code)
        counts = parquet.export(con, args.parquet, code)
    print(f"县区 {code} 的数据已导出为 Parquet(按县区、月份分区)到 {args.parquet}: "
          + ", ".join(f"{table} {n:,} 行" for table, n in counts.items()))
    return 0


def cmd_spark(args) -> int:
    from . import metrics, parquet, spark

    if args.name not in spark.METRICS:
        raise ValueError(f"指标 {args.name} 尚未在 Spark 上验证;可用: {', '.join(spark.METRICS)}")
    metric, period, scope = metrics.get(args.name), parse_period(args.period), parse_scope(args.scope)
    code = parquet.county_code(None, args.county_code)
    session = spark.session(args.master)
    try:
        county = spark.SparkCounty(session, args.parquet, code)
        frame = metric.compute(county, period, scope)
    finally:
        session.stop()
    _write_frame(frame, args.format, args.out, metric)
    if args.out:
        print(f"{metric.name}({code} · {period.label_zh},Spark): {len(frame):,} 行,已写入 {args.out}", file=sys.stderr)


OFFICIAL_METRICS = ("grid-credit-ranking", "red-flag-grids", "excellent-grid-workers")


def _official_note(con, period, scope, live: bool) -> None:
    """On stderr: whether the rows are the official (frozen) result, and with --live what changed since."""
    from . import official

    frozen = official.latest(con, period) if period.kind == "quarter" else None
    if frozen is None:
        if period.kind == "quarter":
            print(f"{period.label_zh}尚未冻结:以下为实时计算结果", file=sys.stderr)
        return
    print(f"{frozen.label}:{frozen.detail}", file=sys.stderr)
    if not live:
        print("以下为正式公布结果;加 --live 查看今日重算及公布后更正", file=sys.stderr)
        return
    grids, lines = official.corrections(con, period, scope)
    print("以下为今日重算结果(非正式公布结果)。公布后更正:" + ("无" if grids.empty and lines.empty else ""),
          file=sys.stderr)
    for g in grids.itertuples():
        print(f"  {g.community_name} {g.grid_name}({g.grid_id}):名次 {_int(g.official_rank)} → {_int(g.live_rank)},"
              f"人均积分 {_num(g.official_avg)} → {_num(g.live_avg)},居民 {_int(g.official_residents)} → "
              f"{_int(g.live_residents)}", file=sys.stderr)
    for line in lines.itertuples():
        print(f"  积分记录 #{line.event_id}({line.grid_name},{line.change_label}):"
              f"{_num(line.official_points)} → {_num(line.live_points)} 分,记录于 "
              f"{'—' if pd.isna(line.recorded_at) else f'{line.recorded_at:%Y-%m-%d %H:%M}'}", file=sys.stderr)


def _int(value) -> str:
    return "—" if pd.isna(value) else f"{int(value)}"


def _num(value) -> str:
    return "—" if pd.isna(value) else f"{value:.2f}"


def cmd_freeze(args) -> int:
    from . import official

    quarter = parse_period(args.quarter)
    target = f"季度考评 {quarter.label}"
    who = _operator()
    if args.user:
        with _on_behalf(args, target, "冻结考评结果") as user:
            access.require(user, "freeze")
        who = f"{user.name}({_operator()})"
    if not Path(args.db).exists():
        raise ValueError(f"数据库文件不存在: {args.db}")
    try:
        frozen = official.freeze(args.db, quarter, cutoff=args.cutoff, reason=args.reason, user=who)
    except ValueError as exc:
        audit.record("freeze", args.user or _operator(), target, f"{exc}({_operator()})", ok=False,
                     path=_audit_path(args))
        raise
    audit.record("freeze", args.user or _operator(), target, f"{frozen.detail}({_operator()})", path=_audit_path(args))
    with db.connect(args.db, read_only=True) as con:
        ranking = official.ranking(con, frozen)
    red = ranking[ranking["red_flag"]]
    print(f"已冻结{quarter.label_zh}考评结果,{frozen.label}:{frozen.detail}")
    print(f"指纹 SHA-256: {frozen.fingerprint}")
    print(f"参与排名网格 {len(ranking)} 个,红旗网格 {len(red)} 个:" + "、".join(red["grid_name"]))
    return 0


@contextlib.contextmanager
def _acting(args, target: str, asked: str):
    """The user named by --user and the name the change is recorded under: the user's (with the
    operator on the server), or the operator's. A refusal is audited (_on_behalf)."""
    with _on_behalf(args, target, asked) as user:
        yield user, f"{user.name}({_operator()})" if user else _operator()


def cmd_verify(args) -> int:
    from . import awards, credit

    period = parse_period(args.period)
    target = f"{period.label} {args.grid} {INTEGRITY_FLAGS[args.flag]}"
    with _acting(args, target, "核实积分异常提示") as (user, who):
        awards.verify(args.db, user, period, args.grid, args.flag, args.reason, checked_by=who)
    with db.connect(args.db, read_only=True) as con:
        row = credit.grid_credit_ranking(con, period, Scope(grids=(args.grid,))).iloc[0]
    print(f"已核实:{row.grid_name}{period.label_zh}的「{INTEGRITY_FLAGS[args.flag]}」({who})")
    if row.pending:
        print(f"该网格仍待核实:{row.check_reason.replace(';', '、')}")
    elif row.award_label:
        print(f"该网格评选结果:{row.award_label}")
    return 0


APPEAL_STATUSES = {**{code: code for code in ("accepted", "upheld", "rejected")},
                   **{label: code for code, label in vocab.APPEAL_STATUSES.items() if code != "pending"}}


def cmd_appeals(args) -> int:
    from . import appeals

    if args.action == "list":
        args.name = "appeals"
        return cmd_metric(args)
    target = args.appeal_id if args.action == "decide" else "异议申诉"
    with _acting(args, target, "登记和处理异议申诉") as (user, who):
        if args.action == "add":
            appeal_id = appeals.submit(args.db, user, by=who, raised_on=args.raised_on, reason=args.reason,
                                       event_id=args.event, quarter=args.quarter, grid_id=args.grid,
                                       raised_by=args.raised_by, raised_by_name=args.raised_by_name)
            print(f"已登记异议申诉 {appeal_id},状态为待处理。")
            return 0
        status = APPEAL_STATUSES[args.status]
        event = appeals.decide(args.db, user, args.appeal_id, status, by=who, decided_on=args.decided_on,
                               decision_reason=args.reason, corrected_points=args.corrected_points, event_id=args.event)
    print(f"异议申诉 {args.appeal_id} 已{vocab.APPEAL_STATUSES[status]}。"
          + (f"已在台账中写入更正记录 {event}。" if event is not None else ""))
    return 0


def _write_frame(frame, fmt: str, out: Path | None, metric) -> None:
    """csv and xlsx as a page's download (Chinese headers, rounded as shown, text never a formula);
    json keeps the metric's own column names and full precision, for programs."""
    from . import columns, export

    if fmt == "json":
        text = frame.to_json(orient="records", force_ascii=False, date_format="iso", indent=1)
        out.write_text(text, encoding="utf-8") if out else sys.stdout.write(text + "\n")
        return
    rows = columns.formatted(frame, metric_id=metric.id)
    if fmt == "csv":
        out.write_bytes(export.csv_bytes(rows)) if out else sys.stdout.write(export.csv_text(rows))
    elif out is None:
        raise ValueError("xlsx 格式需要用 --out 指定输出文件")
    else:
        export.write_xlsx(out, {metric.name: rows})


def _operator() -> str:
    """Who ran the command on the server, as the audit log names them."""
    try:
        return f"命令行:{getpass.getuser()}"
    except Exception:  # no login name in a bare container
        return "命令行"


def _users_path(args) -> Path:
    """--users, else where the dashboard finds the users of this database (in a city deployment,
    GRIDGOV_CITY, those of the whole city, beside its manifest, whichever county's file --db names)."""
    if getattr(args, "users", None):
        return Path(args.users)
    return access.default_users_path(None if city.manifest_path() else args.db)


def _audit_path(args) -> Path:
    """Where the dashboard records what is done to this database (a city's log beside its manifest)."""
    return audit.default_path(None if city.manifest_path() else args.db)


def _asked(period, args) -> str:
    grid = f" · 网格 {args.grid}" if getattr(args, "grid", None) else ""
    return f"{period.label_zh} · 范围 {args.scope or '全县'}{grid}"


@contextlib.contextmanager
def _on_behalf(args, target: str, asked: str):
    """The user named by --user (None: the operator on the server); a refusal is written to the audit
    log before main() reports it."""
    try:
        yield access.UserStore(_users_path(args)).lookup(args.user) if args.user else None
    except access.Denied as exc:
        audit.record("denied", args.user, target, f"{asked}:{exc}({_operator()})", ok=False, path=_audit_path(args))
        raise


def _exported(args, user, target: str, period, scope_label: str) -> None:
    """Every export is recorded: on a user's behalf, or as the operator on the server."""
    audit.record("export", user.name if user else _operator(), target, f"{period.label_zh} · {scope_label}({_operator()})",
                 path=_audit_path(args))


def cmd_metric(args) -> int:
    from . import metrics

    if args.docs:
        Path(args.docs).write_text(metrics.render_markdown(), encoding="utf-8")
        print(f"指标说明已写入 {args.docs}")
        return 0
    if args.list or not args.name:
        listed = metrics.REGISTRY + metrics.CITY_REGISTRY
        width = max(len(m.id) for m in listed)
        for m in listed:
            print(f"{m.id:<{width}}  {m.area}  {m.name}  ({m.unit})")
        return 0
    if not args.period:
        raise ValueError("请用 --period 指定统计期,例如 2026Q3、2026-09 或 2026-07-01..2026-09-30")
    metric = metrics.get(args.name)
    period, scope = parse_period(args.period), parse_scope(args.scope)
    if not Path(args.db).exists():
        raise ValueError(f"数据库文件不存在: {args.db}")
    with _on_behalf(args, metric.id, _asked(period, args)) as user, db.connect(args.db, read_only=True) as con:
        user = access.with_area(user, con)
        scope = access.effective_scope(user, scope, con)
        label = scope.label
        if args.live and metric.id not in OFFICIAL_METRICS:
            raise ValueError(f"--live 只用于已冻结的季度考评结果:{'、'.join(OFFICIAL_METRICS)}")
        options = {"live": True} if args.live else {}
        frame = metric.compute(con, period, scope, grid_id=args.grid, user=user, **options)
        if metric.id in OFFICIAL_METRICS:
            _official_note(con, period, scope, args.live)
    _write_frame(frame, args.format, args.out, metric)
    _exported(args, user, metric.id, period, label + (f" · 网格 {args.grid}" if args.grid else ""))
    if args.out:
        print(f"{metric.name}({period.label_zh}): {len(frame):,} 行,已写入 {args.out}", file=sys.stderr)
    return 0


def cmd_city(args) -> int:
    from . import metrics

    manifest = args.city or city.manifest_path()
    if manifest is None:
        raise ValueError("请用 --city 指定城市清单(city.json),或设置 GRIDGOV_CITY")
    town = city.load(manifest)
    args.db = Path(manifest)  # the users file and the audit log of a city lie beside its manifest
    with contextlib.closing(city.attach(town)) as con:
        if args.action == "check":
            rows = []
            for c in town.counties:
                cur = city.county_cursor(con, c)
                rows.append([c.code, c.name, str(c.path), db.get_meta(cur, "as_of") or "",
                             f"{cur.execute('SELECT count(*) FROM grids').fetchone()[0]:,}"])
            _print_table(["县区代码", "县区", "数据库文件", "数据截至", "网格数"], rows)
            return 0
        if args.list or not args.name:
            for m in metrics.CITY_REGISTRY:
                print(f"{m.id}  {m.name}  ({m.unit})")
            print("以及 python -m analytics metric --list 中的任一指标(逐县区计算,前加县区列)")
            return 0
        if not args.period:
            raise ValueError("请用 --period 指定统计期,例如 2026Q3、2026-09 或 2026-07-01..2026-09-30")
        period = parse_period(args.period)
        asked = f"{period.label_zh} · 县区 {args.county or '全市'}"
        with _on_behalf(args, args.name, asked) as user:
            metric, frame = city.metric(con, town, args.name, period, user=user, county=args.county)
    _write_frame(frame, args.format, args.out, metric)
    _exported(args, user, metric.id, period, f"{town.name} · {args.county or '全市'}")
    if args.out:
        print(f"{metric.name}({period.label_zh}): {len(frame):,} 行,已写入 {args.out}", file=sys.stderr)
    return 0


def _existing(path: Path) -> Path:
    if not Path(path).exists():
        raise ValueError(f"数据库文件不存在: {path}")
    return path


def cmd_report(args) -> int:
    from . import export, report

    quarter, scope = parse_period(args.quarter), parse_scope(args.scope)
    with _on_behalf(args, args.out.name if args.out else f"季度考评_{quarter.label}", _asked(quarter, args)) as user, \
            db.connect(_existing(args.db), read_only=True) as con:
        user = access.with_area(user, con)
        scope = access.effective_scope(user, scope, con)
        # Named by the scope the pack holds, which for a user held to a place is that place.
        out = args.out or Path(export.file_name("季度考评", quarter.label, scope.label) + f".{args.format}")
        rv = report.write_pack(con, quarter, args.format, out, scope, user=user)
    _exported(args, user, out.name, quarter, rv.scope_label)
    print(f"{rv.quarter.label_zh}考评材料({args.format.upper()},{rv.scope_label})已写入 {out}:"
          f"{len(rv.tables['ranking'])} 个网格参与排名,{len(rv.tables['red_flags'])} 个红旗网格")
    return 0


def cmd_publish(args) -> int:
    from . import report

    month, scope = parse_period(args.month), parse_scope(args.scope)
    suffix = args.out.suffix.lower()
    if suffix not in ("", ".xlsx", ".pdf"):
        raise ValueError(f"公示文件须为 .xlsx 或 .pdf(不写扩展名则两种都写),收到: {args.out.name}")
    outs = [args.out] if suffix else [args.out.with_suffix(".xlsx"), args.out.with_suffix(".pdf")]
    names = "、".join(out.name for out in outs)
    with _on_behalf(args, names, _asked(month, args)) as user, db.connect(_existing(args.db), read_only=True) as con:
        access.require_metric(user, "monthly-publication")  # before any file is written
        user = access.with_area(user, con)
        scope = access.effective_scope(user, scope, con)
        label = scope.label
        for out in outs:
            report.write_publication(con, month, out, scope, user=user)
    _exported(args, user, names, month, label)
    print(f"{month.label_zh}一月一公示与红灰榜(姓名已脱敏)已写入 " + "、".join(map(str, outs)))
    return 0


def cmd_template(args) -> int:
    from . import ingest
    from .ingest import validate

    county = validate.HOME
    if Path(args.db).exists():  # a database not made yet takes Huantai's template, as an import would
        with db.connect(args.db, read_only=True) as con:
            county = validate.county_of(con)
    out = ingest.write_template(args.table, args.out, county)
    print(f"{county.name}的导入模板已写入 {out}")
    return 0


def _print_problems(problems, limit: int = 50) -> None:
    shown = problems.head(limit).fillna("")
    for row in shown.itertuples(index=False):
        where = "、".join(x for x in (str(row.工作表), f"第 {int(row.行)} 行" if row.行 != "" else "",
                                       f"列“{row.列}”" if row.列 else "") if x)
        value = f" 值“{row.值}”" if row.值 not in ("", None) else ""
        print(f"  {where}{value}: {row.问题}", file=sys.stderr)
    if len(problems) > limit:
        print(f"  ……共 {len(problems):,} 个问题,只显示前 {limit} 个;用 --errors 文件.xlsx 导出全部", file=sys.stderr)


def _importer(args, target: str) -> tuple[str, str]:
    """(the audit log's user, the import log's user) for an import or undo: --user must name an enabled
    user allowed to import, recorded with the operator beside it; without it, the operator."""
    if not args.user:
        return _operator(), _operator()
    with _on_behalf(args, target, "导入或撤销导入") as user:
        access.require_import(user, _county_code(args.db), city.manifest_path() is not None)
    return user.name, f"{user.name}({_operator()})"


def _county_code(path: Path) -> str | None:
    """The county a database records holding (meta county_code); None for none or no file yet."""
    if not Path(path).exists():
        return None
    with db.connect(path, read_only=True) as con:
        return db.get_meta(con, "county_code")


def cmd_import(args) -> int:
    from . import ingest

    who, logged = _importer(args, Path(args.file).name)
    try:
        result = ingest.import_file(args.file, args.db, table=args.table, mapping=args.mapping,
                                    dry_run=args.dry_run, user=logged)
    except ingest.Busy as exc:
        print(f"错误: {exc}", file=sys.stderr)
        return 2
    if not args.dry_run:
        audit.record("import", who, Path(args.file).name, f"{result.message}({_operator()})",
                     ok=result.status in ("imported", "unchanged"), path=_audit_path(args))
    if args.errors and not result.problems.empty:
        fmt = "csv" if str(args.errors).lower().endswith(".csv") else "xlsx"
        Path(args.errors).write_bytes(ingest.problems_bytes(result.details, fmt))
    if result.problems.empty:
        print(result.message)
        if result.import_id:
            print(f"导入编号 {result.import_id};如需撤销: python -m analytics undo --db {args.db}")
        return 0
    unusable = result.details["行"].isna().all()
    print(f"{args.file}: {result.message}", file=sys.stderr)
    _print_problems(result.problems)
    if args.errors:
        print(f"全部问题已写入 {args.errors}", file=sys.stderr)
    return 2 if unusable else 1


def cmd_undo(args) -> int:
    from . import ingest

    who, logged = _importer(args, "撤销导入")
    try:
        result = ingest.undo_last(args.db, user=logged)
    except ingest.Busy as exc:
        print(f"错误: {exc}", file=sys.stderr)
        return 2
    audit.record("undo", who, result.file_name, f"{result.message}({_operator()})", path=_audit_path(args))
    print(result.message)
    return 0


def cmd_restore(args) -> int:
    from . import ingest, recovery

    source = recovery.restore(args.db, args.source)
    audit.record("restore", _operator(), Path(args.db).name, f"从备份 {source.name} 恢复", path=_audit_path(args))
    print(f"已从备份 {source} 恢复数据库 {args.db};被替换的文件留在 {Path(args.db).parent / 'backups'}。")
    with db.connect(args.db, read_only=True) as con:
        log = ingest.import_log(con)
    done = log[log["status"] == "imported"]
    if not done.empty:
        last = done.iloc[0]
        print(f"恢复后的数据库中最近一次导入为第 {int(last['import_id'])} 次({last['file_name']},"
              f"{last['finished_at']:%Y-%m-%d %H:%M});此后导入的文件请重新导入。")
    return 0


def cmd_imports(args) -> int:
    from . import ingest

    if not Path(args.db).exists():
        raise ValueError(f"数据库文件不存在: {args.db}")
    with db.connect(args.db, read_only=True) as con:
        log = ingest.import_log(con)
    if log.empty:
        print("尚无导入记录")
        return 0
    status = {"imported": "已导入", "undone": "撤销", "rejected": "未导入"}
    for row in log.itertuples(index=False):
        print(f"#{row.import_id}  {row.started_at:%Y-%m-%d %H:%M:%S}  {row.user_name or ''}  "
              f"{status.get(row.status, row.status)}  {row.file_name}  新增 {row.rows_added or 0:,} "
              f"更新 {row.rows_updated or 0:,} 未变 {row.rows_skipped or 0:,}  sha256 {str(row.file_sha256)[:12]}")
    return 0


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _print_table(headers: list[str], rows: list[list[str]]) -> None:
    """Columns padded to their widest cell, a Chinese character counting as two."""
    widths = [max(_width(str(v)) for v in column) for column in zip(headers, *rows)]
    for row in [headers, *rows]:
        print("  ".join(str(v) + " " * (w - _width(str(v))) for v, w in zip(row, widths)).rstrip())


def _read_password(args, identity: str = "") -> str:
    """From one line of stdin (--password-stdin) or typed twice; never echoed, printed or logged."""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password and not identity:
            raise ValueError("标准输入中没有读到密码")
        return password
    hint = "(使用统一身份认证登录可直接回车)" if identity else ""
    password = getpass.getpass(f"请输入密码{hint}:")
    if password != getpass.getpass("请再次输入密码:"):
        raise ValueError("两次输入的密码不一致,未作改动")
    return password


def _place_label(user: access.User, con) -> str:
    county = f"县区 {user.county} " if user.county else ""
    if user.role_info.level == "county":
        return county.strip() or "全县"
    if con is None or user.county:  # a place of another county than --db's is named by its id
        return county + user.place
    name = user.scope.describe(con)  # the id itself when the place is no longer in the database
    return f"{user.place} {name}" if name != user.place else user.place


def _database(args):
    """A read-only connection to --db when it can be opened (to check or name places), else None."""
    if not Path(args.db).exists():
        return None
    try:
        return db.connect(args.db, read_only=True)
    except duckdb.Error:  # another process is writing it: users can still be listed and changed
        return None


def _county_database(args):
    """users add --county: a read-only connection to that county's own database, where the places
    given are checked: the city's (GRIDGOV_CITY) for the code, else --db, which must record the code."""
    manifest = city.manifest_path()
    path = city.load(manifest).county(args.county).path if manifest else Path(args.db)
    if not path.exists():
        raise ValueError(f"县区 {args.county} 的数据库 {path} 不存在,无法核对用户的所属县区与地点:"
                         "请用 --db 指向该县区的数据库,或设置 GRIDGOV_CITY 指向城市清单")
    con = db.connect(path, read_only=True)
    code, name = city.identity(con)
    if code != args.county:
        con.close()
        held = f"县区 {code}({name})" if code else "未登记县区代码"
        raise ValueError(f"数据库 {path} 记录的是{held},不是 --county {args.county}:"
                         "请用 --db 指向该县区的数据库,或设置 GRIDGOV_CITY 指向城市清单")
    return con


def cmd_users(args) -> int:
    store = access.UserStore(_users_path(args))

    def record(action: str, detail: str = "") -> None:
        audit.record(action, _operator(), args.name, detail, path=_audit_path(args))

    if args.action == "list":
        users = store.all()
        if not users:
            print(access.first_run_hint(store.path))
            return 0
        con = _database(args)
        try:
            rows = [[u.name, u.display_name, u.role_info.label, _place_label(u, con), u.identity,
                     "停用" if u.disabled else "启用", u.created_at.replace("T", " ")] for u in users]
        finally:
            if con is not None:
                con.close()
        _print_table(["用户名", "显示名", "角色", "所属范围", "统一身份", "状态", "创建时间"], rows)
        return 0
    if args.action == "add":
        con = _county_database(args) if args.county else _database(args)
        try:
            store.check_new(args.name, args.role, args.place or "", con)  # before the password is asked for
            user = store.add(args.name, args.role, _read_password(args, args.identity or ""), place=args.place or "",
                             display_name=args.display_name or "", identity=args.identity or "", con=con,
                             county=args.county or "")
        finally:
            if con is not None:
                con.close()
        where = "" if user.role_info.level == "county" else f",所属 {user.place}"
        where = f",县区 {user.county}{where}" if user.county else where
        record("user_add", f"角色 {user.role_info.label}{where}")
        print(f"已创建用户 {user.name}({user.role_info.label}{where})")
        return 0
    if store.get(args.name) is None:
        raise ValueError(f"没有用户 {args.name}(用户文件 {store.path})")
    if args.action == "passwd":
        store.set_password(args.name, _read_password(args))
        record("user_password")
        print(f"已修改用户 {args.name} 的密码")
    elif args.action == "disable":
        store.disable(args.name)
        record("user_disable")
        print(f"已停用用户 {args.name}")
    else:
        store.enable(args.name)
        record("user_enable")
        print(f"已启用用户 {args.name}")
    return 0


def cmd_audit(args) -> int:
    from . import export

    if args.action and args.action not in audit.ACTIONS:
        raise ValueError(f"未知的操作 {args.action!r};可选: " + "、".join(f"{k}({v})" for k, v in audit.ACTIONS.items()))
    log = audit.read(limit=args.limit, action=args.action, user=args.user, path=_audit_path(args))
    shown = log.assign(at=log["at"].dt.strftime("%Y-%m-%d %H:%M:%S"), ok=log["ok"].map({True: "成功", False: "失败"}))
    shown = shown[["at", "user_name", "action_label", "target", "detail", "ok"]].fillna("")
    shown.columns = ["时间", "用户", "操作", "对象", "说明", "结果"]
    if args.format == "csv":
        sys.stdout.write(export.csv_text(shown))
    elif shown.empty:
        print("审计日志中没有符合条件的记录")
    else:
        _print_table(list(shown.columns), shown.astype(str).values.tolist())
    return 0


def cmd_import_roads(args) -> int:
    if args.remove:
        removed = roads.remove_roads(args.db)
        print("已删除路网:10分钟服务圈改按直线距离计算" if removed else "没有导入过路网:服务圈按直线距离计算")
        return 0
    if args.file is None:
        print("错误: 请给出路网文件(GeoJSON 线要素),或用 --remove 删除已导入的路网", file=sys.stderr)
        return 2
    try:
        network = roads.import_roads(args.file, args.db, datum=args.datum)
    except ValueError as exc:
        print(f"错误: {exc}", file=sys.stderr)
        return 1
    print(f"已导入路网 {args.file.name}: {network.graph.number_of_edges():,} 条线段,共 {network.kilometres:,.1f} 公里,"
          f"{network.parts} 个互不连通的部分;10分钟服务圈改按沿路网的步行距离计算。保存在 {roads.path_for(args.db)}")
    if network.parts > 1:
        print("提示:互不连通的部分之间无法步行到达;若路网本应连通,请检查相接处是否有共同的端点或交叉。")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analytics", description="网格治理驾驶舱 命令行工具")
    sub = parser.add_subparsers(dest="command", required=True, metavar="命令")
    # Options several commands share, each declared once.
    database = argparse.ArgumentParser(add_help=False)
    database.add_argument("--db", type=Path, default=db.default_db_path(),
                          help="数据库文件路径(用户文件 users.json、审计日志 audit.sqlite 和路网默认在其旁)")
    scope = argparse.ArgumentParser(add_help=False)
    scope.add_argument("--scope", default="", help="范围: S:街道编号,C:社区编号,G:网格编号(逗号分隔),默认全县")
    users_file = argparse.ArgumentParser(add_help=False)
    users_file.add_argument("--users", type=Path, help="用户文件,默认 GRIDGOV_USERS 或数据库旁的 users.json")
    behalf = argparse.ArgumentParser(add_help=False, parents=[users_file])
    behalf.add_argument("--user", help="代某用户导出:按其角色限定范围、隐去个人名单,并记入审计日志")
    importer = argparse.ArgumentParser(add_help=False, parents=[users_file])
    importer.add_argument("--user", help="操作人:须为有导入权限的已有用户,与服务器上的执行人一并记入导入日志")

    p = sub.add_parser("init", parents=[database], help="创建或升级数据库(可重复执行,不丢数据)")
    p.add_argument("--county-code", help="登记本库所属县区的 6 位行政区划代码(如 370321),全市部署与导出用")
    p.add_argument("--county-name", help="县区名称(如 桓台县),与 --county-code 一同给出")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("demo", parents=[database], help="生成演示县数据")
    p.add_argument("--scale", type=_positive, default=1.0, help="规模系数,1 为桓台县实际规模")
    p.add_argument("--seed", type=int, default=demo.DEFAULT_SEED, help="随机种子,相同种子生成相同数据")
    p.add_argument("--end", type=_date, default=None, help="数据截至日期 YYYY-MM-DD,默认今天")
    p.add_argument("--force", action="store_true", help="覆盖已有的非演示数据库")
    p.add_argument("--counties", type=int, metavar="N", help="生成 N 个县区(每个县区一个数据库文件,种子各不相同)及城市清单")
    p.add_argument("--out", type=Path, default=db.ROOT / "data" / "city", help="--counties 时写入的目录,默认 data/city")
    p.set_defaults(func=cmd_demo, checks_db=False)  # says itself what it finds in the file

    p = sub.add_parser("refresh", parents=[database], help="由基础表重建全部汇总表(用其他工具或 SQL 写入数据之后)")
    p.set_defaults(func=cmd_refresh)

    p = sub.add_parser("export", parents=[database], help="导出为 Parquet(按县区、月份分区),供 Spark 等引擎跨机器计算")
    p.add_argument("--parquet", type=Path, required=True, metavar="DIR", help="输出目录(多个县区可导出到同一目录)")
    p.add_argument("--county-code", help="县区代码(6 位),默认取数据库 meta 表中的 county_code")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("spark", parents=[scope], help="在 Spark 上由 Parquet 导出计算一个指标(定义与 DuckDB 相同,SQL 由 SQLGlot 转写)")
    p.add_argument("name", help="指标编号,如 grid-credit-ranking")
    p.add_argument("--parquet", required=True, metavar="DIR", help="export --parquet 的目录(本地路径或 hdfs://、s3a://、oss://)")
    p.add_argument("--county-code", required=True, help="县区代码(6 位)")
    p.add_argument("--period", required=True, help="统计期,如 2026Q3、2026-09")
    p.add_argument("--master", default=None, help="Spark master,如 local[2]、yarn、spark://主机:7077;用 spark-submit 提交时不写")
    p.add_argument("--format", choices=("csv", "xlsx", "json"), default="csv", help="输出格式,默认 csv")
    p.add_argument("--out", type=Path, default=None, help="输出文件,默认打印到屏幕")
    p.set_defaults(func=cmd_spark, checks_db=False)

    p = sub.add_parser("metric", parents=[database, scope, behalf], help="计算一个指标并输出 CSV/XLSX/JSON;--list 列出全部指标")
    p.add_argument("name", nargs="?", help="指标编号,如 grid-credit-ranking")
    p.add_argument("--list", action="store_true", help="列出全部指标及中文名称")
    p.add_argument("--docs", metavar="FILE", help="把指标说明写成 Markdown 文件")
    p.add_argument("--period", help="统计期: 2026Q3、2026-09 或 2026-07-01..2026-09-30")
    p.add_argument("--grid", help="网格编号(网格积分明细等指标需要)")
    p.add_argument("--format", choices=["csv", "xlsx", "json"], default="csv", help="输出格式,默认 csv")
    p.add_argument("--out", type=Path, help="输出文件,默认打印到屏幕(xlsx 必须指定)")
    p.add_argument("--live", action="store_true",
                   help="已冻结的季度:输出今日重算结果,并列出与正式公布结果的差异(公布后更正)")
    p.set_defaults(func=cmd_metric)

    p = sub.add_parser("city", parents=[behalf], help="全市(多个县区):check 核对城市清单;metric 逐县区计算指标并加县区列")
    p.add_argument("action", choices=["check", "metric"], help="check 或 metric")
    p.add_argument("name", nargs="?", help="指标编号:county-headlines、city-grid-ranking 等,或任一县级指标")
    p.add_argument("--city", type=Path, help="城市清单 city.json,默认 GRIDGOV_CITY")
    p.add_argument("--list", action="store_true", help="列出全市指标")
    p.add_argument("--period", help="统计期:2026Q3、2026-09 或 2026-07-01..2026-09-30")
    p.add_argument("--county", help="只算一个县区(行政区划代码)")
    p.add_argument("--format", choices=["csv", "xlsx", "json"], default="csv")
    p.add_argument("--out", type=Path, help="输出文件(默认打印到屏幕)")
    p.set_defaults(func=cmd_city, checks_db=False)


    p = sub.add_parser("freeze", parents=[database, users_file],
                       help="冻结季度考评结果(正式公布):网格排名、红旗网格、优秀网格员")
    p.add_argument("--quarter", required=True, help="季度,如 2026Q3")
    p.add_argument("--cutoff", type=_datetime, help="积分记录截止时间(按记录时间),默认现在;如 2026-10-08 18:00")
    p.add_argument("--reason", help="重新冻结的理由(已冻结的季度必填,原版本保留)")
    p.add_argument("--user", help="操作人:须为有冻结权限的已有用户(县级领导、系统管理员)")
    p.set_defaults(func=cmd_freeze)

    acting = argparse.ArgumentParser(add_help=False, parents=[database, users_file])
    acting.add_argument("--user", help="操作人:须为有相应权限的已有用户,与服务器上的执行人一并记入审计日志")

    p = sub.add_parser("verify", parents=[acting], help="核实积分异常提示(评选前):已核实的提示不再使红旗网格待核实")
    p.add_argument("--period", required=True, help="统计期,如 2026Q3")
    p.add_argument("--grid", required=True, help="网格编号")
    p.add_argument("--flag", required=True, choices=list(INTEGRITY_FLAGS),
                   help="提示类型: " + "、".join(f"{k}({v})" for k, v in INTEGRITY_FLAGS.items()))
    p.add_argument("--reason", required=True, help="核实说明:为什么这条提示不影响评选(必填)")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("appeals", help="异议申诉:add 登记、decide 处理、list 列出")
    actions = p.add_subparsers(dest="action", required=True, metavar="操作")
    q = actions.add_parser("add", parents=[acting], help="登记异议申诉(对一条积分记录,或对某季度某网格的排名)")
    q.add_argument("--event", type=int, help="被申诉的积分记录编号")
    q.add_argument("--quarter", help="被申诉排名的季度,如 2026Q3(与 --grid 一同给出)")
    q.add_argument("--grid", help="被申诉排名的网格编号")
    q.add_argument("--raised-on", required=True, help="提出日期 YYYY-MM-DD")
    q.add_argument("--raised-by", help="提出人编号(登记居民)")
    q.add_argument("--raised-by-name", help="提出人姓名(非登记居民)")
    q.add_argument("--reason", required=True, help="申诉理由")
    q.set_defaults(func=cmd_appeals)
    q = actions.add_parser("decide", parents=[acting], help="处理异议申诉:已受理、支持(写入更正记录)或驳回")
    q.add_argument("appeal_id", help="申诉编号,如 A2026-0001")
    q.add_argument("--status", required=True, choices=list(APPEAL_STATUSES),
                   help="处理结果: accepted(已受理)、upheld(支持)、rejected(驳回),中文亦可")
    q.add_argument("--decided-on", help="处理日期 YYYY-MM-DD,默认今天")
    q.add_argument("--reason", default="", help="处理理由(支持或驳回时必填)")
    q.add_argument("--corrected-points", type=float, help="更正后的分值(支持时;不写则整条冲正)")
    q.add_argument("--event", type=int, help="更正的积分记录编号(对排名的申诉支持时)")
    q.set_defaults(func=cmd_appeals)
    q = actions.add_parser("list", parents=[database, scope, behalf], help="列出某统计期内提出的异议申诉(姓名脱敏)")
    q.add_argument("--period", required=True, help="统计期: 2026Q4、2026-10 或 2026-10-01..2026-10-31")
    q.add_argument("--format", choices=["csv", "xlsx", "json"], default="csv", help="输出格式,默认 csv")
    q.add_argument("--out", type=Path, help="输出文件,默认打印到屏幕(xlsx 必须指定)")
    q.set_defaults(func=cmd_appeals, grid=None, live=False, docs=None, list=False)

    p = sub.add_parser("report", parents=[database, scope, behalf], help="季度考评会议材料:PPTX、PDF 或 XLSX")
    p.add_argument("--quarter", required=True, help="季度,如 2026Q3")
    p.add_argument("--format", choices=["pptx", "pdf", "xlsx"], default="pptx", help="文件格式,默认 pptx")
    p.add_argument("--out", type=Path, help="输出文件,默认 季度考评_季度_范围.格式")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("publish", parents=[database, scope, behalf], help="一月一公示与红灰榜(姓名脱敏),XLSX 和 PDF")
    p.add_argument("--month", required=True, help="月份,如 2026-09")
    p.add_argument("--out", type=Path, required=True,
                   help="输出文件:以 .xlsx 或 .pdf 结尾则只写该格式,否则同名写出 .xlsx 和 .pdf 两个文件")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("template", parents=[database],
                       help="生成导入模板(Excel,每张表一个工作表,另附允许取值说明;经纬度范围为 --db 所属县区的)")
    p.add_argument("table", nargs="*", default=["all"], help="表名(中文或英文),默认 all 全部")
    p.add_argument("--out", type=Path, required=True, help="输出的 .xlsx 文件")
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("import", parents=[database, importer], help="导入 Excel/CSV/Parquet 文件(整个文件要么全部导入,要么不改动数据库)")
    p.add_argument("file", type=Path, help="要导入的文件")
    p.add_argument("--table", help="目标表(文件无法按工作表名或列头判断时)")
    p.add_argument("--mapping", type=Path, help="映射文件(YAML),用于其他系统导出的文件")
    p.add_argument("--dry-run", action="store_true", help="只检查,不写入")
    p.add_argument("--errors", type=Path, help="把全部问题写入文件(.xlsx 或 .csv)")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("undo", parents=[database, importer], help="撤销最近一次导入(按该次导入保存的原数据逐行恢复)")
    p.set_defaults(func=cmd_undo)

    p = sub.add_parser("restore", parents=[database], help="数据库文件损坏时,从 backups/ 中最近一次完好的备份恢复")
    p.add_argument("--from", dest="source", type=Path, help="指定要恢复的备份文件(默认:最近一次完好的备份)")
    p.set_defaults(func=cmd_restore, checks_db=False)

    p = sub.add_parser("imports", parents=[database], help="列出导入日志")
    p.set_defaults(func=cmd_imports)

    p = sub.add_parser("import-roads", parents=[database], help="导入道路与步行路网(GeoJSON 线要素):服务圈改按沿路网的步行距离计算")
    p.add_argument("file", type=Path, nargs="?", help="GeoJSON 文件(LineString 或 MultiLineString,经纬度)")
    p.add_argument("--datum", choices=["wgs84", "gcj02"], default="wgs84",
                   help="文件的坐标系:wgs84(含 CGCS2000、天地图,默认)或 gcj02(高德地图上绘制的)")
    p.add_argument("--remove", action="store_true", help="删除已导入的路网,改回直线距离")
    p.set_defaults(func=cmd_import_roads)

    p = sub.add_parser("users", help="管理用户:add 新增、list 列出、disable 停用、enable 启用、passwd 修改密码")
    actions = p.add_subparsers(dest="action", required=True, metavar="操作")
    for action, text in (("add", "新增用户"), ("list", "列出全部用户"), ("disable", "停用用户"), ("enable", "启用用户"),
                         ("passwd", "修改密码")):
        q = actions.add_parser(action, parents=[database, users_file], help=text)
        if action != "list":
            q.add_argument("name", help="用户名(登录名)")
        if action == "add":
            q.add_argument("--role", required=True, help="角色: " + "、".join(f"{r.id}({r.label})" for r in access.ROLES.values()))
            q.add_argument("--place", help="所属街道、社区或网格编号(街道领导、社区书记、网格员必填)")
            q.add_argument("--county", help="全市部署中所属县区的行政区划代码(如 370321);县级角色不填即可查看全市,"
                                            "街道及以下角色必填(--db 指向该县区的数据库以核对 --place)")
            q.add_argument("--display-name", help="显示的姓名或称呼")
            q.add_argument("--identity", help="统一身份认证(OIDC)的邮箱或账号")
        if action in ("add", "passwd"):
            q.add_argument("--password-stdin", action="store_true", help="从标准输入读一行作为密码(不提示)")
        q.set_defaults(func=cmd_users, checks_db=False)  # users are managed even beside a damaged file

    p = sub.add_parser("audit", parents=[database], help="审计日志:登录、导出、越权、导入与用户变更,最新的在前")
    p.add_argument("--action", help="只看某种操作: " + "、".join(f"{k}({v})" for k, v in audit.ACTIONS.items()))
    p.add_argument("--user", help="只看某个用户")
    p.add_argument("--limit", type=int, default=100, help="最多显示条数,默认 100")
    p.add_argument("--format", choices=["table", "csv"], default="table", help="输出格式,默认 table")
    p.set_defaults(func=cmd_audit, checks_db=False)
    return parser


def _at_start(args) -> None:
    """Before a command reads or writes the database: what killed imports left is swept, and a damaged
    file is refused with what to do (commands that only name the file beside it are not held up)."""
    path = getattr(args, "db", None)
    if path is None or not getattr(args, "checks_db", True) or not Path(path).exists():
        return
    from . import recovery
    from .ingest import load

    load.sweep(Path(path))
    recovery.check(path)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _at_start(args)
        return args.func(args)
    except access.Denied as exc:
        print(f"错误: 无权访问。{exc}", file=sys.stderr)
        return 3
    except (ValueError, OSError, duckdb.Error) as exc:
        print(f"错误: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
