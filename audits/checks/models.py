"""Small, seeded scikit-learn models for the detection and utility checks."""

from __future__ import annotations

import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from audits.checks.base import rng_for
from audits.checks.encoding import MISSING_CODE, PreparedColumn

MAX_NATIVE_CATEGORIES = 250
MAX_ITER = 100
# One OpenMP thread per fit: on a small shared machine, OpenMP's spinning threads made
# fits several times slower, and audits scale out by worker processes anyway.


def feature_matrix(
    columns: list[PreparedColumn], frame: str, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Features for a gradient-boosting model: numbers as they are, categories as codes
    (missing as NaN). Returns the matrix and which columns are categorical; columns with
    very many categories are given as ordinal numbers instead."""
    x = np.empty((len(rows), len(columns)), dtype=np.float64)
    categorical = np.zeros(len(columns), dtype=bool)
    for j, col in enumerate(columns):
        values = col.read_rows(frame, rows)
        if col.is_numeric:
            x[:, j] = values
        else:
            x[:, j] = np.where(values == MISSING_CODE, np.nan, values)
            categorical[j] = len(col.categories) <= MAX_NATIVE_CATEGORIES
    return x, categorical


def _model(task: str, categorical: np.ndarray, seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    options = {
        "categorical_features": categorical if categorical.any() else None,
        "max_iter": MAX_ITER,
        "early_stopping": False,  # no random validation split: same inputs, same model
        "random_state": seed,
    }
    if task == "regression":
        return HistGradientBoostingRegressor(**options)
    return HistGradientBoostingClassifier(**options)


def fit_and_score(
    x: np.ndarray, y: np.ndarray, categorical: np.ndarray, *, seed: int, task: str
) -> tuple[np.ndarray, np.ndarray]:
    """Fit a classifier on a seeded, stratified half and return the predicted probability
    of class 1 on the other half, with that half's labels."""
    rng = rng_for(seed, "detection.split")
    test = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        test[rng.permutation(rows)[: len(rows) // 2]] = True
    model = _model("classification", categorical, seed)
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="openmp"):
        warnings.simplefilter("ignore")
        model.fit(x[~test], y[~test])
        proba = model.predict_proba(x[test])[:, 1]
    return proba, y[test]


def train_and_evaluate(
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    categorical: np.ndarray,
    *,
    task: str,
    seed: int,
) -> float:
    """Macro F1 (classification) or R² (regression) on ``test`` of a model fit on
    ``train``. A training set with a single class predicts that class."""
    from sklearn.metrics import f1_score, r2_score

    x_train, y_train = train
    x_test, y_test = test
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="openmp"):
        warnings.simplefilter("ignore")
        if task == "classification" and len(np.unique(y_train)) < 2:
            predicted = np.full(len(y_test), y_train[0] if len(y_train) else -1)
        else:
            model = _model(task, categorical, seed)
            model.fit(x_train, y_train)
            predicted = model.predict(x_test)
        if task == "regression":
            return float(r2_score(y_test, predicted))
        return float(f1_score(y_test, predicted, average="macro", zero_division=0))
