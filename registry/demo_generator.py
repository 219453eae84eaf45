"""A small Gaussian-copula generator used only to build the demo's chain of
synthetic generations. Plain pandas/numpy.

Each column is mapped to normal scores through its empirical ranks, the
correlation of those scores is estimated, new scores are drawn from that
multivariate normal and mapped back through the column's empirical quantiles.
Mapping back through quantiles of the training sample can never go beyond the
values it saw, and rare categories are drawn rarely, so when a generation is
trained on the previous generation's output the tails shrink and rare
categories drop out: the model-collapse effect the demo shows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def _to_numeric(column: pd.Series) -> tuple[np.ndarray, object]:
    """Values as floats plus what is needed to map them back."""
    if pd.api.types.is_bool_dtype(column):
        return column.astype(float).to_numpy(), "bool"
    if pd.api.types.is_numeric_dtype(column):
        return column.astype(float).to_numpy(), "number"
    parsed = pd.to_datetime(column, errors="coerce", format="%Y-%m-%d")
    if parsed.notna().mean() > 0.95:
        return (parsed - pd.Timestamp("1970-01-01")).dt.days.astype(float).to_numpy(), "date"
    codes, uniques = pd.factorize(column.astype(str), sort=True)
    return codes.astype(float), list(uniques)


def _from_numeric(values: np.ndarray, kind: object, template: pd.Series) -> pd.Series:
    if kind == "bool":
        return pd.Series(values >= 0.5)
    if kind == "date":
        days = np.round(values).astype(int)
        return pd.Series(pd.Timestamp("1970-01-01") + pd.to_timedelta(days, unit="D")).dt.strftime(
            "%Y-%m-%d"
        )
    if kind == "number":
        decimals = 0 if pd.api.types.is_integer_dtype(template) else 2
        return pd.Series(np.round(values, decimals))
    categories = np.asarray(kind, dtype=object)
    return pd.Series(categories[np.clip(np.round(values).astype(int), 0, len(categories) - 1)])


def copula_sample(
    frame: pd.DataFrame, *, rows: int, seed: int, id_column: str | None = None
) -> pd.DataFrame:
    """Fit a Gaussian copula to ``frame`` and draw ``rows`` new records."""
    rng = np.random.default_rng(seed)
    columns = [c for c in frame.columns if c != id_column]
    encoded, kinds, filled = {}, {}, {}
    for name in columns:
        column = frame[name]
        values, kind = _to_numeric(column)
        mask = np.isnan(values)
        if mask.any():
            values = np.where(mask, np.nanmedian(values), values)
        encoded[name], kinds[name], filled[name] = values, kind, mask.mean()
    matrix = np.column_stack([encoded[c] for c in columns])
    n = len(frame)
    ranks = stats.rankdata(matrix, axis=0) / (n + 1)
    scores = stats.norm.ppf(ranks)
    # A column left with a single value (a category every row shares) has no
    # correlation with anything: it is drawn independently.
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = np.corrcoef(scores, rowvar=False)
    correlation = np.nan_to_num(correlation)
    np.fill_diagonal(correlation, 1.0)
    correlation += np.eye(len(columns)) * 1e-6
    draws = rng.multivariate_normal(np.zeros(len(columns)), correlation, size=rows)
    uniform = stats.norm.cdf(draws)
    out = {}
    for i, name in enumerate(columns):
        quantiles = np.quantile(encoded[name], uniform[:, i])  # never beyond the seen range
        series = _from_numeric(quantiles, kinds[name], frame[name])
        if filled[name] > 0:
            series[rng.random(rows) < filled[name]] = None
        out[name] = series.to_numpy()
    result = pd.DataFrame(out)
    if id_column is not None:
        start = int(pd.to_numeric(frame[id_column]).max()) + 1
        result.insert(0, id_column, np.arange(start, start + rows))
    return result[list(frame.columns)]
