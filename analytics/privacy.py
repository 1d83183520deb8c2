"""Masking of personal data in anything that may be printed, posted or exported."""

import pandas as pd


def mask_name(name: str | None) -> str | None:
    """张三明 -> 张*明, 张三 -> 张*, 欧阳明月 -> 欧**月: keep the first and (for three or more
    characters) the last character."""
    if name is None or (isinstance(name, float) and pd.isna(name)):
        return name
    name = str(name).strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_sql(column: str) -> str:
    """The same rule as a SQL expression, for long lists; a test keeps the two equal."""
    c = f"trim({column})"
    return (f"CASE WHEN length({c}) <= 1 THEN {c} WHEN length({c}) = 2 THEN left({c}, 1) || '*' "
            f"ELSE left({c}, 1) || repeat('*', length({c}) - 2) || right({c}, 1) END")


def mask_names(values: pd.Series) -> pd.Series:
    return values.map(mask_name)
