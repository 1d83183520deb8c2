"""Command line: python -m analytics <command> ..."""

import argparse
import datetime as dt
import sys
from pathlib import Path

import duckdb

from . import db, demo


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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
