"""The demo pipeline: breast-cancer classification with scikit-learn, three steps.

``prepare`` splits scikit-learn's bundled Wisconsin breast cancer data set into train and
test CSV files; ``train`` fits a model (logistic regression or a random forest) and
pickles it; ``evaluate`` scores it on the test set: scalar metrics (accuracy, precision,
recall, F1, ROC AUC), the confusion matrix and the ROC curve, stored as KFP stores them.

:func:`run_demo` runs it several times with different parameters; runs after the first
get ``prepare`` from the cache (same code, same parameters), so a fresh store shows
COMPLETE and CACHED executions, lineage across runs, and metrics to compare.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from lineage.artifacts import ClassificationMetrics, Dataset, Metrics, Model
from lineage.client.annotations import Input, Output
from lineage.client.decorator import step

PIPELINE = "breast-cancer-classifier"
# (label, model_type, parameters)
RUNS: list[tuple[str, str, dict[str, Any]]] = [
    ("logreg-C0.05", "logistic_regression", {"C": 0.05}),
    ("logreg-C1", "logistic_regression", {"C": 1.0}),
    ("logreg-C20", "logistic_regression", {"C": 20.0}),
    ("forest-50", "random_forest", {"n_estimators": 50, "max_depth": 4}),
    ("forest-200", "random_forest", {"n_estimators": 200, "max_depth": 8}),
]
ROC_POINTS = 40


@step
def prepare(
    train: Output[Dataset], test: Output[Dataset], test_size: float = 0.25, seed: int = 7
) -> int:
    """Split the data set into train and test CSV files (label in the last column)."""
    import numpy as np
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    data = load_breast_cancer()
    x_train, x_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=test_size, random_state=seed, stratify=data.target
    )
    header = ",".join([*(str(n).replace(" ", "_") for n in data.feature_names), "label"])
    for artifact, x, y in ((train, x_train, y_train), (test, x_test, y_test)):
        np.savetxt(
            artifact.path,
            np.column_stack([x, y]),
            delimiter=",",
            header=header,
            comments="",
            fmt="%.6g",
        )
        artifact.metadata.update(
            {"rows": int(len(y)), "features": int(x.shape[1]), "source": "sklearn breast_cancer"}
        )
    return int(len(data.target))


def _load(path: str) -> tuple[Any, Any]:
    import numpy as np

    table = np.loadtxt(path, delimiter=",", skiprows=1)
    return table[:, :-1], table[:, -1].astype(int)


@step
def train(
    data: Input[Dataset],
    model: Output[Model],
    model_type: str = "logistic_regression",
    hyperparameters: dict | None = None,
    seed: int = 7,
) -> float:
    """Fit the model on the training set; returns the training accuracy."""
    import pickle

    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = _load(data.path)
    options = dict(hyperparameters or {})
    if model_type == "logistic_regression":
        estimator = make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed, **options)
        )
    elif model_type == "random_forest":
        estimator = RandomForestClassifier(random_state=seed, **options)
    else:
        raise ValueError(f"unknown model_type {model_type!r}")
    estimator.fit(x, y)
    with open(model.path, "wb") as handle:
        pickle.dump(estimator, handle)
    model.framework = "scikit-learn"
    model.metadata.update({"model_type": model_type, **options})
    return float(estimator.score(x, y))


@step
def evaluate(
    test: Input[Dataset],
    model: Input[Model],
    metrics: Output[Metrics],
    classification: Output[ClassificationMetrics],
) -> float:
    """Score the model on the test set; returns the ROC AUC."""
    import pickle

    import numpy as np
    from sklearn import metrics as m

    x, y = _load(test.path)
    with open(model.path, "rb") as handle:
        estimator = pickle.load(handle)
    predicted = estimator.predict(x)
    scores = estimator.predict_proba(x)[:, 1]
    auc = float(m.roc_auc_score(y, scores))
    metrics.log_metric("accuracy", float(m.accuracy_score(y, predicted)))
    metrics.log_metric("precision", float(m.precision_score(y, predicted)))
    metrics.log_metric("recall", float(m.recall_score(y, predicted)))
    metrics.log_metric("f1", float(m.f1_score(y, predicted)))
    metrics.log_metric("roc_auc", auc)
    # Label 0 is malignant, 1 benign in scikit-learn's copy of the data set.
    classification.log_confusion_matrix(
        ["malignant", "benign"], m.confusion_matrix(y, predicted, labels=[0, 1]).tolist()
    )
    fpr, tpr, thresholds = m.roc_curve(y, scores)
    # roc_curve's first threshold is inf (nothing predicted positive): stored values
    # must be finite, and scores are probabilities, so clip to [0, 1].
    thresholds = np.clip(thresholds, 0.0, 1.0)
    if len(fpr) > ROC_POINTS:  # keep the curve light: evenly spaced points, ends kept
        keep = np.unique(np.linspace(0, len(fpr) - 1, ROC_POINTS).round().astype(int))
        fpr, tpr, thresholds = fpr[keep], tpr[keep], thresholds[keep]
    classification.log_roc_curve(fpr.tolist(), tpr.tolist(), thresholds.tolist())
    return auc


def run_demo(
    url: str | None = None,
    *,
    runs: int | None = None,
    echo: Callable[[str], Any] | None = print,
) -> str:
    """Record ``runs`` runs (default all of :data:`RUNS`) into ``url`` (a server, a
    directory; default ``./lineage-data``); returns a one-line summary."""
    import sklearn  # noqa: F401 - fail early, before any run starts, if it is missing

    from lineage.client.client import Client

    client = Client(url or "lineage-data")
    chosen = RUNS[: runs if runs is not None else len(RUNS)]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    states: dict[str, int] = {}
    for i, (label, model_type, hyperparameters) in enumerate(chosen, 1):
        with client.start_run(PIPELINE, f"{PIPELINE}-{stamp}-{i}-{label}"):
            split = prepare(test_size=0.25, seed=7)
            fitted = train(
                data=split.outputs["train"],
                model_type=model_type,
                hyperparameters=hyperparameters,
            )
            scored = evaluate(test=split.outputs["test"], model=fitted.outputs["model"])
        for handle in (split, fitted, scored):
            states[handle.state] = states.get(handle.state, 0) + 1
        if echo is not None:
            echo(
                f"run {i}/{len(chosen)} {label}: prepare {split.state.lower()}, "
                f"train {fitted.state.lower()} (train accuracy {fitted.output:.3f}), "
                f"evaluate {scored.state.lower()} (test ROC AUC {scored.output:.3f})"
            )
    client.close()
    counts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(states.items()))
    summary = (
        f"lineage demo: recorded {len(chosen)} runs of pipeline {PIPELINE!r} "
        f"({counts} executions) in {client.target.describe()}"
    )
    waiting = client.spool.count(client.target.url)
    if waiting:
        summary += (
            f", but {waiting} step report(s) are still waiting in the spool {client.spool.root}"
            " (the store was unreachable): `lineage sync` sends them"
        )
    return summary
