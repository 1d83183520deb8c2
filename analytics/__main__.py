"""Command line: python -m analytics <command> ..."""

import argparse
import datetime as dt
import sys
from pathlib import Path

import duckdb

from . import db, demo, summary
from .period import parse_period, parse_scope


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期格式应为 YYYY-MM-DD,收到: {text!r}") from None


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"规模系数应为数字,收到: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("规模系数必须大于 0")
    return value


def cmd_init(args) -> int:
    applied = db.init_db(args.db)
    if applied:
        print(f"已初始化 {args.db}: 应用数据结构版本 {', '.join(map(str, applied))}")
    else:
        print(f"{args.db} 已是最新数据结构,未作改动")
    return 0


def cmd_demo(args) -> int:
    path = Path(args.db)
    if path.exists():
        try:
            with db.connect(path, read_only=True) as con:
                source = db.get_meta(con, "source") if db.schema_version(con) else None
                empty = not db.schema_version(con) or not db.table_counts(con).get("grids")
                if db.schema_version(con) and db.get_meta(con, "last_import"):
                    source = "import"
        except duckdb.Error as exc:
            print(f"错误: 无法打开 {path}({exc})。它不是本系统的数据库文件,或正被其他程序写入。", file=sys.stderr)
            return 2
        if not empty and source != "demo" and not args.force:
            print(f"错误: {path} 中已有非演示数据。若确需覆盖,请加 --force。", file=sys.stderr)
            return 2

    def report(fraction: float, label: str) -> None:
        print(f"[{fraction:4.0%}] {label}", flush=True)

    counts = demo.build_demo_file(path, scale=args.scale, seed=args.seed, end=args.end, progress=report)
    print(f"演示数据已写入 {path}: {counts['people']:,} 名居民, {counts['credit_events']:,} 条积分记录, "
          f"{counts['tickets']:,} 张工单")
    return 0


def cmd_refresh(args) -> int:
    with db.connect(args.db) as con:
        db.migrate(con)
        counts = summary.refresh(con)
    print("已重建汇总表: " + ", ".join(f"{name} {n:,} 行" for name, n in counts.items()))
    return 0


def _write_frame(frame, fmt: str, out: Path | None) -> None:
    if fmt == "csv":
        text = frame.to_csv(index=False)
        out.write_text(text, encoding="utf-8-sig") if out else sys.stdout.write(text)
    elif fmt == "json":
        text = frame.to_json(orient="records", force_ascii=False, date_format="iso", indent=1)
        out.write_text(text, encoding="utf-8") if out else sys.stdout.write(text + "\n")
    else:
        if out is None:
            raise ValueError("xlsx 格式需要用 --out 指定输出文件")
        frame.to_excel(out, index=False, engine="openpyxl")


def cmd_metric(args) -> int:
    from . import metrics

    if args.docs:
        Path(args.docs).write_text(metrics.render_markdown(), encoding="utf-8")
        print(f"指标说明已写入 {args.docs}")
        return 0
    if args.list or not args.name:
        width = max(len(m.id) for m in metrics.REGISTRY)
        for m in metrics.REGISTRY:
            print(f"{m.id:<{width}}  {m.area}  {m.name}  ({m.unit})")
        return 0
    if not args.period:
        raise ValueError("请用 --period 指定统计期,例如 2026Q3、2026-09 或 2026-07-01..2026-09-30")
    metric = metrics.get(args.name)
    period, scope = parse_period(args.period), parse_scope(args.scope)
    if not Path(args.db).exists():
        raise ValueError(f"数据库文件不存在: {args.db}")
    with db.connect(args.db, read_only=True) as con:
        frame = metric.compute(con, period, scope, grid_id=args.grid)
    _write_frame(frame, args.format, args.out)
    if args.out:
        print(f"{metric.name}({period.label_zh}): {len(frame):,} 行,已写入 {args.out}", file=sys.stderr)
    return 0


def _existing(path: Path) -> Path:
    if not Path(path).exists():
        raise ValueError(f"数据库文件不存在: {path}")
    return path


def cmd_report(args) -> int:
    from . import report, review

    quarter, scope = parse_period(args.quarter), parse_scope(args.scope)
    out = args.out or Path(f"季度考评_{quarter.label}.{args.format}")
    with db.connect(_existing(args.db), read_only=True) as con:
        rv = report.write_pack(con, quarter, args.format, out, scope, review.scope_label(con, scope))
    print(f"{rv.quarter.label_zh}考评材料({args.format.upper()},{rv.scope_label})已写入 {out}:"
          f"{len(rv.tables['ranking'])} 个网格参与排名,{len(rv.tables['red_flags'])} 个红旗网格")
    return 0


def cmd_publish(args) -> int:
    from . import report, review

    month, scope = parse_period(args.month), parse_scope(args.scope)
    suffix = args.out.suffix.lower()
    if suffix not in ("", ".xlsx", ".pdf"):
        raise ValueError(f"公示文件须为 .xlsx 或 .pdf(不写扩展名则两种都写),收到: {args.out.name}")
    outs = [args.out] if suffix else [args.out.with_suffix(".xlsx"), args.out.with_suffix(".pdf")]
    with db.connect(_existing(args.db), read_only=True) as con:
        label = review.scope_label(con, scope)
        for out in outs:
            report.write_publication(con, month, out, scope, label)
    print(f"{month.label_zh}一月一公示与红灰榜(姓名已脱敏)已写入 " + "、".join(map(str, outs)))
    return 0


def cmd_bench(args) -> int:
    if args.imports:
        from .ingest import bench as import_bench

        return import_bench.run(args.rows)
    from . import bench

    return bench.run(args.scale, args.db, args.period, args.repeat)


def cmd_template(args) -> int:
    from . import ingest

    out = ingest.write_template(args.table, args.out)
    print(f"导入模板已写入 {out}")
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


def cmd_import(args) -> int:
    from . import ingest

    try:
        result = ingest.import_file(args.file, args.db, table=args.table, mapping=args.mapping,
                                    dry_run=args.dry_run, user=args.user)
    except ingest.Busy as exc:
        print(f"错误: {exc}", file=sys.stderr)
        return 2
    if args.errors and not result.problems.empty:
        fmt = "csv" if str(args.errors).lower().endswith(".csv") else "xlsx"
        Path(args.errors).write_bytes(ingest.problems_bytes(result.problems, fmt))
    if result.problems.empty:
        print(result.message)
        if result.import_id:
            print(f"导入编号 {result.import_id};如需撤销: python -m analytics undo --db {args.db}")
        return 0
    unusable = len(result.problems) == 1 and result.problems["行"].isna().all()
    print(f"{args.file}: {result.message}", file=sys.stderr)
    _print_problems(result.problems)
    if args.errors:
        print(f"全部问题已写入 {args.errors}", file=sys.stderr)
    return 2 if unusable else 1


def cmd_undo(args) -> int:
    from . import ingest

    try:
        result = ingest.undo_last(args.db, user=args.user)
    except ingest.Busy as exc:
        print(f"错误: {exc}", file=sys.stderr)
        return 2
    print(result.message)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analytics", description="网格治理驾驶舱 命令行工具")
    sub = parser.add_subparsers(dest="command", required=True, metavar="命令")

    p = sub.add_parser("init", help="创建或升级数据库(可重复执行,不丢数据)")
    p.add_argument("--db", type=Path, default=db.default_db_path(), help="数据库文件路径")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("demo", help="生成演示县数据")
    p.add_argument("--db", type=Path, default=db.default_db_path(), help="数据库文件路径")
    p.add_argument("--scale", type=_positive, default=1.0, help="规模系数,1 为桓台县实际规模")
    p.add_argument("--seed", type=int, default=demo.DEFAULT_SEED, help="随机种子,相同种子生成相同数据")
    p.add_argument("--end", type=_date, default=None, help="数据截至日期 YYYY-MM-DD,默认今天")
    p.add_argument("--force", action="store_true", help="覆盖已有的非演示数据库")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("refresh", help="由基础表重建全部汇总表(用其他工具或 SQL 写入数据之后)")
    p.add_argument("--db", type=Path, default=db.default_db_path(), help="数据库文件路径")
    p.set_defaults(func=cmd_refresh)

    p = sub.add_parser("metric", help="计算一个指标并输出 CSV/XLSX/JSON;--list 列出全部指标")
    p.add_argument("name", nargs="?", help="指标编号,如 grid-credit-ranking")
    p.add_argument("--list", action="store_true", help="列出全部指标及中文名称")
    p.add_argument("--docs", metavar="FILE", help="把指标说明写成 Markdown 文件")
    p.add_argument("--db", type=Path, default=db.default_db_path(), help="数据库文件路径")
    p.add_argument("--period", help="统计期: 2026Q3、2026-09 或 2026-07-01..2026-09-30")
    p.add_argument("--scope", default="", help="范围: S:街道编号,C:社区编号,G:网格编号(逗号分隔),默认全县")
    p.add_argument("--grid", help="网格编号(网格积分明细等指标需要)")
    p.add_argument("--format", choices=["csv", "xlsx", "json"], default="csv", help="输出格式,默认 csv")
    p.add_argument("--out", type=Path, help="输出文件,默认打印到屏幕(xlsx 必须指定)")
    p.set_defaults(func=cmd_metric)

    p = sub.add_parser("report", help="季度考评会议材料:PPTX、PDF 或 XLSX")
    p.add_argument("--quarter", required=True, help="季度,如 2026Q3")
    p.add_argument("--scope", default="", help="范围: S:街道编号,C:社区编号,G:网格编号(逗号分隔),默认全县")
    p.add_argument("--format", choices=["pptx", "pdf", "xlsx"], default="pptx", help="文件格式,默认 pptx")
    p.add_argument("--out", type=Path, help="输出文件,默认 季度考评_季度.格式")
    p.add_argument("--db", type=Path, default=db.default_db_path(), help="数据库文件路径")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("publish", help="一月一公示与红灰榜(姓名脱敏),XLSX 和 PDF")
    p.add_argument("--month", required=True, help="月份,如 2026-09")
    p.add_argument("--scope", default="", help="范围: S:街道编号,C:社区编号,G:网格编号(逗号分隔),默认全县")
    p.add_argument("--out", type=Path, required=True,
                   help="输出文件:以 .xlsx 或 .pdf 结尾则只写该格式,否则同名写出 .xlsx 和 .pdf 两个文件")
    p.add_argument("--db", type=Path, default=db.default_db_path(), help="数据库文件路径")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("bench", help="各页面指标用时:DuckDB 与直接用 pandas 计算对比")
    p.add_argument("--scale", type=_positive, default=1.0, help="演示数据规模系数,默认 1")
    p.add_argument("--db", type=Path, default=None, help="数据库文件,默认 data/bench-scale{规模}.duckdb(没有则生成)")
    p.add_argument("--period", default=None, help="统计期,默认数据截至日之前最后一个完整季度")
    p.add_argument("--repeat", type=int, default=5, help="每项计时次数,默认 5")
    p.add_argument("--import", dest="imports", action="store_true",
                   help="改为测导入速度:CSV/Parquet 积分台账每秒行数、10 万行 Excel 用时")
    p.add_argument("--rows", type=int, default=1_000_000, help="导入测速的台账行数,默认 1000000")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("template", help="生成导入模板(Excel,每张表一个工作表,另附允许取值说明)")
    p.add_argument("table", nargs="*", default=["all"], help="表名(中文或英文),默认 all 全部")
    p.add_argument("--out", type=Path, required=True, help="输出的 .xlsx 文件")
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("import", help="导入 Excel/CSV/Parquet 文件(整个文件要么全部导入,要么不改动数据库)")
    p.add_argument("file", type=Path, help="要导入的文件")
    p.add_argument("--table", help="目标表(文件无法按工作表名或列头判断时)")
    p.add_argument("--mapping", type=Path, help="映射文件(YAML),用于其他系统导出的文件")
    p.add_argument("--db", type=Path, default=db.default_db_path(), help="数据库文件路径")
    p.add_argument("--dry-run", action="store_true", help="只检查,不写入")
    p.add_argument("--errors", type=Path, help="把全部问题写入文件(.xlsx 或 .csv)")
    p.add_argument("--user", help="操作人,记入导入日志")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("undo", help="撤销最近一次导入(恢复导入前的备份)")
    p.add_argument("--db", type=Path, default=db.default_db_path(), help="数据库文件路径")
    p.add_argument("--user", help="操作人,记入导入日志")
    p.set_defaults(func=cmd_undo)

    p = sub.add_parser("imports", help="列出导入日志")
    p.add_argument("--db", type=Path, default=db.default_db_path(), help="数据库文件路径")
    p.set_defaults(func=cmd_imports)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError, duckdb.Error) as exc:
        print(f"错误: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
