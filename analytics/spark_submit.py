"""The file to hand to spark-submit (a cluster runs a file, not `python -m`):

    spark-submit --master yarn --py-files analytics.zip analytics/spark_submit.py grid-credit-ranking \
        --parquet hdfs:///gridgov/lake --county-code 370321 --period 2026Q3 --out ranking.csv
"""

import sys

from analytics.__main__ import main

if __name__ == "__main__":
    sys.exit(main(["spark", *sys.argv[1:]]))
