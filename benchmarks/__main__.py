"""python -m benchmarks metrics|import|pages|city ..."""

import argparse
import sys
from pathlib import Path


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("规模系数必须大于 0")
    return value


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["pages"]:
        from . import pages

        pages.main(argv[1:])
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description="网格治理驾驶舱 性能测试(只打印数字)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="测试")
    p = sub.add_parser("metrics", help="各页面指标用时:DuckDB 与直接用 pandas 计算对比")
    p.add_argument("--scale", type=_positive, default=1.0, help="演示数据规模系数,默认 1")
    p.add_argument("--db", type=Path, default=None, help="数据库文件,默认 data/bench-scale{规模}.duckdb(没有则生成)")
    p.add_argument("--period", default=None, help="统计期,默认数据截至日之前最后一个完整季度")
    p.add_argument("--repeat", type=int, default=5, help="每项计时次数,默认 5")
    p = sub.add_parser("import", help="导入代价:不同规模数据库上导入 60 张工单的用时、内存、磁盘增长;"
                                      "--rows 时测 CSV/Parquet 积分台账每秒行数、10 万行 Excel 用时")
    p.add_argument("--sizes", default="1,10", help="数据库台账行数(百万),逗号分隔,默认 1,10")
    p.add_argument("--tickets", type=int, default=60, help="导入的工单数(另导入同样行数的台账),默认 60")
    p.add_argument("--rows", type=int, default=None, help="改测导入速度:台账行数,如 1000000")
    p.add_argument("--repeat", type=int, default=5, help="每种格式导入次数,默认 5")
    p = sub.add_parser("scale", help="台账 100 万、1000 万、5000 万行时的排名、公示、导入用时,及 Spark 与 DuckDB 对比")
    p.add_argument("--millions", type=int, nargs="+", default=[1, 10, 50], help="台账行数(百万),默认 1 10 50")
    p.add_argument("--repeat", type=int, default=3, help="每项计时次数,默认 3")
    p.add_argument("--no-spark", action="store_true", help="不测 Spark")
    p.add_argument("--base", type=Path, default=None, help="规模 1 的演示库(没有则生成到此处),默认临时生成")
    sub.add_parser("pages", help="各页面服务器用时(--db 数据库,--repeat 次数)")
    p = sub.add_parser("city", help="全市:逐县区比对县区对比页的数字与各县区自己的数据库,及各全市指标用时")
    p.add_argument("--city", type=Path, required=True, help="城市清单(city.json),如 demo --counties 3 生成的")
    p.add_argument("--period", default="2026Q3", help="统计期,默认 2026Q3")
    p.add_argument("--repeat", type=int, default=5, help="每项计时次数,默认 5")
    args = parser.parse_args(argv)
    if args.command == "scale":
        from . import scale

        return scale.run(args.millions, args.repeat, not args.no_spark, args.base)
    if args.command == "city":
        from . import city

        return city.run(args.city, args.period, args.repeat)
    if args.command == "import":
        from . import imports

        if args.rows is None:
            return imports.growth([_positive(s) for s in args.sizes.split(",")], args.tickets)
        return imports.run(args.rows, repeat=args.repeat)
    from . import metrics

    return metrics.run(args.scale, args.db, args.period, args.repeat)


if __name__ == "__main__":
    sys.exit(main())
