"""Outliers of monthly series with the modified z-score (DOMAIN.md: 0.6745 × |x − median| ÷ MAD, threshold 3.0).

No database: a series is a list of (period code, number)."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median

#: DOMAIN.md, "Reporting completeness, timeliness and outliers": default threshold 3.0.
DEFAULT_THRESHOLD = 3.0
#: A series shorter than this is not judged (the median of two values says little).
MIN_VALUES = 4
MODIFIED_Z_FACTOR = 0.6745


@dataclass(frozen=True)
class Point:
    period: str
    value: float
    z: float | None
    outlier: bool


def modified_z_scores(values: list[float]) -> list[float | None]:
    """0.6745 × |x − median| ÷ MAD for each value; None for all when MAD is 0 (the score is undefined)."""
    if not values:
        return []
    med = median(values)
    mad = median(abs(v - med) for v in values)
    if mad == 0:
        return [None] * len(values)
    return [MODIFIED_Z_FACTOR * abs(v - med) / mad for v in values]


def flag_series(series: list[tuple[str, float]], threshold: float = DEFAULT_THRESHOLD) -> list[Point]:
    """Every point of the series with its score; ``outlier`` when the score exceeds ``threshold``."""
    values = [v for _, v in series]
    scores = modified_z_scores(values) if len(values) >= MIN_VALUES else [None] * len(values)
    return [Point(period=p, value=v, z=(None if z is None else round(z, 4)), outlier=(z is not None and z > threshold))
            for (p, v), z in zip(series, scores, strict=True)]


def outliers_in(rows, threshold: float = DEFAULT_THRESHOLD) -> dict[tuple[str, str, str], list[Point]]:
    """The monthly series of any value rows, per (element, option combo, unit), each point scored.

    Rows of other period types and non-numeric values are left out."""
    from renkou.orgunits.periods import Period, PeriodError, PeriodType

    series: dict[tuple[str, str, str], list[tuple[str, float]]] = {}
    for row in rows:
        value = row["value"]
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        try:
            period = Period.parse(str(row["period"]))
        except PeriodError:
            continue
        if period.type is not PeriodType.MONTH:
            continue
        key = (row["data_element"], row.get("category_option_combo") or "", row["org_unit"])
        series.setdefault(key, []).append((period.code, float(value)))
    return {key: flag_series(sorted(points), threshold) for key, points in sorted(series.items())}
