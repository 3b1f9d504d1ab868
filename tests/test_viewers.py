"""Figure builders: tested on the figures' data, with metadata written by KFP's own classes
(and by a real local KFP run), by ours, and in KFP's MLMD custom-property form."""

import json
import math
import os
import random
import sys
import time

import plotly.graph_objects as go
import pytest
from kfp import dsl
from sklearn import metrics as skm

import lineage.artifacts as la
from lineage import model
from lineage.viewers import (
    MetadataError,
    auc,
    compare_metrics_figure,
    compare_metrics_table,
    compare_roc_figure,
    confusion_matrix_figure,
    describe_lineage_graph,
    layered_layout,
    lineage_graph_figure,
    metrics_table_figure,
    normalize_rows,
    precision_recall_data,
    precision_recall_figure,
    render_html,
    render_markdown,
    roc_curve_data,
    roc_curve_figure,
    sliced_confusion_matrix_figure,
    sliced_metrics_figure,
    theme,
)

CATEGORIES = ["cat", "dog", "bird"]
MATRIX = [[8, 1, 1], [2, 6, 2], [0, 0, 0]]
FPR = [0.0, 0.1, 0.3, 1.0]
TPR = [0.0, 0.6, 0.9, 1.0]
THRESHOLDS = [1.0, 0.7, 0.4, 0.0]


def classification(cls):
    m = cls()
    m.log_confusion_matrix(CATEGORIES, MATRIX)
    m.log_roc_curve(FPR, TPR, THRESHOLDS)
    return m


def scalar(cls):
    m = cls()
    m.log_metric("accuracy", 0.875)
    m.log_metric("epochs", 10)
    m.log_metric("loss", 0.1234567891)
    return m


def forms(artifact):
    """The metadata of one artifact in every stored form a viewer meets."""
    raw = artifact.metadata
    return {
        "raw": raw,
        "json": json.loads(json.dumps(raw)),
        "mlmd": la.metadata_to_custom_properties(raw, display_name="eval"),
        "mlmd-values": {
            k: model.Value.of(v)
            for k, v in la.metadata_to_custom_properties(raw, display_name="eval").items()
        },
    }


SOURCES = [
    (writer, form) for writer in ("kfp", "ours") for form in ("raw", "json", "mlmd", "mlmd-values")
]


def source_of(kind, writer, form):
    cls = {
        ("cls", "kfp"): dsl.ClassificationMetrics,
        ("cls", "ours"): la.ClassificationMetrics,
        ("metrics", "kfp"): dsl.Metrics,
        ("metrics", "ours"): la.Metrics,
    }[(kind, writer)]
    artifact = classification(cls) if kind == "cls" else scalar(cls)
    return forms(artifact)[form]


def assert_themed(fig):
    assert isinstance(fig, go.Figure)
    assert fig.layout.template == theme.TEMPLATE
    assert fig.layout.title.text


# ------------------------------------------------------------------ theme


def test_theme_is_one_registered_template():
    import plotly.io as pio

    assert pio.templates[theme.TEMPLATE_NAME] == theme.TEMPLATE
    assert list(theme.TEMPLATE.layout.colorway) == list(theme.COLORWAY)
    assert theme.TEMPLATE.layout.font.family == theme.FONT_FAMILY
    assert pio.templates.default != theme.TEMPLATE_NAME  # not imposed on other figures
    assert theme.series_color(len(theme.COLORWAY)) == theme.COLORWAY[0]


# ------------------------------------------------------------------ metrics table


@pytest.mark.parametrize(("writer", "form"), SOURCES)
def test_metrics_table_values(writer, form):
    fig = metrics_table_figure(source_of("metrics", writer, form))
    assert_themed(fig)
    (table,) = fig.data
    names, values = table.cells.values
    assert list(names) == ["accuracy", "epochs", "loss"]  # display_name is not a metric
    assert list(values) == ["0.875", "10", "0.123457"]  # 10.0 from MLMD shows as 10
    assert [h for h in table.header.values] == ["<b>Metric</b>", "<b>Value</b>"]
    if form.startswith("mlmd"):
        assert fig.layout.title.text == "Scalar metrics: eval"


def test_metrics_table_accepts_an_artifact_and_escapes_names():
    m = la.Metrics()
    m.log_metric("<b>f1</b>", 0.5)
    fig = metrics_table_figure(m, title="T")
    assert list(fig.data[0].cells.values[0]) == ["&lt;b&gt;f1&lt;/b&gt;"]
    assert fig.layout.title.text == "T"


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({}, "no scalar metrics"),
        ({"display_name": "m", "note": "text only"}, "no scalar metrics"),
        ([1, 2], "expected artifact metadata"),
        (None, "expected artifact metadata"),
    ],
)
def test_metrics_table_bad_input(metadata, message):
    with pytest.raises(ValueError, match=message):
        metrics_table_figure(metadata)


# ------------------------------------------------------------------ confusion matrix


@pytest.mark.parametrize(("writer", "form"), SOURCES)
def test_confusion_matrix_counts(writer, form):
    fig = confusion_matrix_figure(source_of("cls", writer, form))
    assert_themed(fig)
    (heatmap,) = fig.data
    assert isinstance(heatmap, go.Heatmap)
    assert [list(r) for r in heatmap.z] == MATRIX
    assert list(heatmap.x) == CATEGORIES
    assert list(heatmap.y) == CATEGORIES
    assert [list(r) for r in heatmap.text] == [[str(v) for v in row] for row in MATRIX]
    assert fig.layout.xaxis.title.text == "Predicted label"
    assert fig.layout.yaxis.title.text == "True label"
    assert fig.layout.yaxis.autorange == "reversed"  # first category on top
    assert heatmap.zmin == 0 and heatmap.zmax == 8


@pytest.mark.parametrize(("writer", "form"), SOURCES)
def test_confusion_matrix_normalized_rows_sum_to_one(writer, form):
    fig = confusion_matrix_figure(source_of("cls", writer, form), normalize=True)
    z = [list(r) for r in fig.data[0].z]
    assert math.isclose(sum(z[0]), 1.0) and math.isclose(sum(z[1]), 1.0)
    assert z[2] == [0.0, 0.0, 0.0]  # a class with no items stays empty
    assert z[1] == pytest.approx([0.2, 0.6, 0.2])
    assert fig.data[0].zmax == 1
    assert [list(r) for r in fig.data[0].customdata][0] == ["8", "1", "1"]  # counts on hover
    assert "normalized" in fig.layout.title.text


def test_normalize_rows():
    assert normalize_rows([[1, 3], [0, 0]]) == [[0.25, 0.75], [0.0, 0.0]]


def test_confusion_matrix_from_bare_matrix_and_duplicate_labels():
    bare = {
        "annotationSpecs": [{"displayName": "x"}, {"displayName": "x"}],
        "rows": [{"row": [1, 0]}, {"row": [0, 1]}],
    }
    fig = confusion_matrix_figure(bare)
    assert list(fig.data[0].x) == ["x", "x (2)"]  # kept apart on the category axis
    assert fig.layout.xaxis.ticktext is None  # short names: as they are


def test_confusion_matrix_long_names_are_cut_on_the_axes_only():
    name = "a class name of forty-five characters, roughly"
    bare = {
        "annotationSpecs": [{"displayName": name}, {"displayName": "short"}],
        "rows": [{"row": [3, 1]}, {"row": [0, 4]}],
    }
    fig = confusion_matrix_figure(bare)
    assert list(fig.data[0].x) == [name, "short"]  # whole in the cells (and hover)
    for axis in (fig.layout.xaxis, fig.layout.yaxis):
        assert list(axis.tickvals) == [name, "short"]
        assert len(axis.ticktext[0]) <= 18 and axis.ticktext[1] == "short"


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({}, "no confusion matrix"),
        ({"confusionMatrix": {"struct": {"rows": []}}}, "must have 'annotationSpecs' and 'rows'"),
        (
            {"confusionMatrix": {"annotationSpecs": [], "rows": []}},
            "no categories",
        ),
        (
            {
                "confusionMatrix": {
                    "annotationSpecs": [{"displayName": "a"}, {"displayName": "b"}],
                    "rows": [{"row": [1, 2]}],
                }
            },
            "2 categories but 1 rows",
        ),
        (
            {
                "confusionMatrix": {
                    "annotationSpecs": [{"displayName": "a"}, {"displayName": "b"}],
                    "rows": [{"row": [1, 2]}, {"row": [3]}],
                }
            },
            r"rows\[1\] has 1 values, expected 2",
        ),
        (
            {
                "confusionMatrix": {
                    "annotationSpecs": [{"displayName": "a"}],
                    "rows": [{"row": ["many"]}],
                }
            },
            "must be a number",
        ),
        (
            {"confusionMatrix": {"annotationSpecs": [{"name": "a"}], "rows": [{"row": [1]}]}},
            "displayName",
        ),
        ({"confusionMatrix": [1, 2]}, "must be a dict"),
    ],
)
def test_confusion_matrix_malformed(metadata, message):
    with pytest.raises(MetadataError, match=message):
        confusion_matrix_figure(metadata)


# ------------------------------------------------------------------ curves


def test_auc_trapezoid():
    assert auc([0, 0, 1], [0, 1, 1]) == 1.0
    assert auc([0, 1], [0, 1]) == 0.5
    assert auc([1, 0.5, 0], [1, 0.5, 0]) == 0.5  # order does not matter
    assert auc([0, 0.5, 1], [0, 1, 1]) == 0.75
    with pytest.raises(ValueError):
        auc([0, 1], [0])


@pytest.mark.parametrize(
    ("fpr", "tpr", "expected"),
    [
        ([0.0, 0.0, 1.0], [0.0, 1.0, 1.0], 1.0),  # perfect classifier
        ([0.0, 1.0], [1.0, 1.0], 1.0),
        ([0.0, 1.0], [0.0, 1.0], 0.5),  # diagonal
        ([0.5], [0.5], 0.5),  # only the middle point logged: (0,0) and (1,1) implied
        ([0.0, 1.0], [0.0, 0.0], 0.0),  # always wrong: only the (1,1) anchor is up
    ],
)
@pytest.mark.parametrize("cls", [dsl.ClassificationMetrics, la.ClassificationMetrics])
def test_roc_auc_known_curves(cls, fpr, tpr, expected):
    m = cls()
    m.log_roc_curve(fpr, tpr, [1.0 - i / 10 for i in range(len(fpr))])
    assert roc_curve_data(m.metadata).auc == pytest.approx(expected)


def sklearn_scores(n=400, seed=7):
    rng = random.Random(seed)
    y = [rng.random() < 0.35 for _ in range(n)]
    scores = [min(max(rng.gauss(0.65 if t else 0.4, 0.18), 0.001), 0.999) for t in y]
    return y, scores


def test_roc_auc_matches_sklearn():
    y, scores = sklearn_scores()
    fpr, tpr, thresholds = skm.roc_curve(y, scores)
    thresholds[0] = 1.0  # sklearn's inf is not storable
    m = la.ClassificationMetrics()
    m.log_roc_curve(fpr, tpr, thresholds)
    stored = la.metadata_to_custom_properties(m.metadata)
    assert roc_curve_data(stored).auc == pytest.approx(skm.roc_auc_score(y, scores))


@pytest.mark.parametrize(("writer", "form"), SOURCES)
def test_roc_figure_data(writer, form):
    fig = roc_curve_figure(source_of("cls", writer, form))
    assert_themed(fig)
    chance, curve = fig.data
    assert list(chance.x) == [0, 1] and list(chance.y) == [0, 1]
    assert list(curve.x) == FPR and list(curve.y) == TPR
    assert list(curve.customdata) == THRESHOLDS
    expected_auc = auc([0, *FPR, 1], [0, *TPR, 1])
    assert f"AUC = {expected_auc:.3f}" in curve.name
    assert fig.layout.xaxis.title.text == "False positive rate"
    assert fig.layout.yaxis.title.text == "True positive rate"
    assert tuple(fig.layout.xaxis.range) == (-0.02, 1.02)


def test_a_one_point_roc_curve_is_drawn_from_corner_to_corner():
    m = la.ClassificationMetrics()
    m.log_roc_curve([0.2], [0.85], [0.5])
    fig = roc_curve_figure(m.metadata)
    _, curve = fig.data
    assert list(curve.x) == [0.0, 0.2, 1.0] and list(curve.y) == [0.0, 0.85, 1.0]
    assert list(curve.customdata) == ["—", 0.5, "—"]
    assert "AUC = 0.825" in curve.name  # the area under exactly what is drawn


def test_roc_points_sorted_for_drawing():
    m = la.ClassificationMetrics()
    m.log_roc_curve([1.0, 0.0, 0.5], [1.0, 0.0, 0.8], [0.0, 1.0, 0.5])
    curve = roc_curve_data(m.metadata)
    assert curve.x == [0.0, 0.5, 1.0] and curve.y == [0.0, 0.8, 1.0]
    assert curve.thresholds == [1.0, 0.5, 0.0]


def test_precision_recall_computed_from_confusion_matrix_matches_sklearn():
    y, scores = sklearn_scores()
    fpr, tpr, thresholds = skm.roc_curve(y, scores, drop_intermediate=False)
    thresholds[0] = 1.0
    m = dsl.ClassificationMetrics()
    m.log_roc_curve(fpr.tolist(), tpr.tolist(), thresholds.tolist())
    m.log_confusion_matrix(
        ["False", "True"], skm.confusion_matrix(y, [s >= 0.5 for s in scores]).tolist()
    )
    curve, baseline = precision_recall_data(m.metadata)
    assert baseline == pytest.approx(sum(y) / len(y))
    for recall, precision, threshold in zip(curve.x, curve.y, curve.thresholds, strict=True):
        predicted = [s >= threshold for s in scores]
        if threshold == 1.0 and not any(predicted):
            assert (recall, precision) == (0.0, 1.0)
            continue
        assert precision == pytest.approx(skm.precision_score(y, predicted))
        assert recall == pytest.approx(skm.recall_score(y, predicted))
    sk_precision, sk_recall, _ = skm.precision_recall_curve(y, scores)
    assert curve.auc == pytest.approx(skm.auc(sk_recall, sk_precision), abs=0.01)


def test_precision_recall_from_stored_precision_and_counts():
    m = la.ClassificationMetrics()
    m.log_roc_curve([0.0, 0.25, 1.0], [0.5, 0.75, 1.0], [0.9, 0.5, 0.1], precision=[1.0, 0.6, 0.5])
    curve, baseline = precision_recall_data(m.metadata)
    assert (curve.x, curve.y, baseline) == ([0.5, 0.75, 1.0], [1.0, 0.6, 0.5], None)
    assert curve.auc == pytest.approx(0.25 * 0.8 + 0.25 * 0.55)
    # without precision: computed from the class sizes given
    k = dsl.ClassificationMetrics()
    k.log_roc_curve([0.0, 0.5, 1.0], [0.0, 1.0, 1.0], [1.0, 0.5, 0.0])
    curve, baseline = precision_recall_data(k.metadata, positives=10, negatives=30)
    assert curve.y == pytest.approx([1.0, 10 / 25, 0.25])
    assert baseline == 0.25
    vertex = [
        {"confidenceThreshold": 0.5, "recall": 0.5, "truePositiveCount": 3, "falsePositiveCount": 1}
    ]
    curve, _ = precision_recall_data({"confidenceMetrics": {"list": vertex}})
    assert curve.y == [0.75]


@pytest.mark.parametrize("cls", [dsl.ClassificationMetrics, la.ClassificationMetrics])
def test_precision_recall_figure_data(cls):
    m = cls()
    m.log_confusion_matrix(["pos", "neg"], [[8, 2], [10, 30]])  # 10 positives, 40 negatives
    m.log_roc_curve([0.0, 0.25, 1.0], [0.0, 0.8, 1.0], [1.0, 0.5, 0.0])
    fig = precision_recall_figure(
        la.metadata_to_custom_properties(m.metadata, display_name="eval"), positive_label="pos"
    )
    assert_themed(fig)
    baseline, curve = fig.data
    assert list(baseline.y) == [0.2, 0.2] and "No skill" in baseline.name
    assert list(curve.x) == [0.0, 0.8, 1.0]
    assert list(curve.y) == pytest.approx([1.0, 8 / 18, 0.2])
    expected = 0.8 * (1.0 + 8 / 18) / 2 + 0.2 * (8 / 18 + 0.2) / 2
    assert f"AUC = {expected:.3f}" in curve.name and curve.name.startswith("eval")
    assert fig.layout.xaxis.title.text == "Recall" and fig.layout.yaxis.title.text == "Precision"
    assert fig.layout.title.text == "Precision-recall curve: eval"
    assert fig.layout.showlegend  # the AUC is in the legend, also for one trace


def test_precision_recall_needs_precision_or_counts():
    m = dsl.ClassificationMetrics()
    m.log_roc_curve([0.0, 1.0], [0.0, 1.0], [1.0, 0.0])
    with pytest.raises(MetadataError, match="positives= and negatives="):
        precision_recall_figure(m.metadata)
    with pytest.raises(ValueError, match="both positives and negatives"):
        precision_recall_data(m.metadata, positives=3)
    three_classes = source_of("cls", "ours", "raw")
    with pytest.raises(MetadataError, match="binary confusion matrix, got 3 categories"):
        precision_recall_figure(three_classes)
    m.log_confusion_matrix(["a", "b"], [[1, 1], [1, 1]])
    with pytest.raises(MetadataError, match="unknown positive label 'c'"):
        precision_recall_figure(m.metadata, positive_label="c")


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({}, "no ROC data"),
        ({"confidenceMetrics": []}, "empty"),
        ({"confidenceMetrics": {"list": "x"}}, "must be a list"),
        ({"confidenceMetrics": [{"falsePositiveRate": 0.1}]}, "has no 'recall'"),
        ({"confidenceMetrics": [{"recall": 0.1}]}, "has no 'falsePositiveRate'"),
        ({"confidenceMetrics": [{"recall": 2, "falsePositiveRate": 0}]}, "between 0 and 1"),
        ({"confidenceMetrics": [{"recall": "0.5", "falsePositiveRate": 0}]}, "must be a number"),
        ({"confidenceMetrics": [0.5]}, "must be a dict"),
    ],
)
def test_roc_malformed(metadata, message):
    with pytest.raises(MetadataError, match=message):
        roc_curve_figure(metadata)


# ------------------------------------------------------------------ sliced metrics


def sliced_ours():
    s = la.SlicedClassificationMetrics()
    s.log_roc_curve("US", [0.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 0.5, 0.0])  # perfect
    s.load_roc_readings("EU", [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])  # diagonal
    s.load_confusion_matrix("US", ["neg", "pos"], [[5, 0], [0, 5]])
    s.load_confusion_matrix("EU", ["neg", "pos"], [[3, 2], [2, 3]])
    s.set_confusion_matrix_categories("APAC", ["neg", "pos"])  # no items yet
    return s


@pytest.mark.parametrize("form", ["raw", "json", "mlmd", "mlmd-values"])
def test_sliced_metrics_figure(form):
    fig = sliced_metrics_figure(forms(sliced_ours())[form])
    assert_themed(fig)
    scatter = [t for t in fig.data if isinstance(t, go.Scatter)]
    bars = {t.name: t for t in fig.data if isinstance(t, go.Bar)}
    assert [t.name for t in scatter] == [
        "Chance (AUC = 0.5)",
        "US (AUC = 1.000)",
        "EU (AUC = 0.500)",
    ]
    assert list(bars["ROC AUC"].x) == ["US", "EU", "APAC"]
    assert list(bars["ROC AUC"].y) == [1.0, 0.5, None]
    assert list(bars["Accuracy"].y) == [1.0, 0.6, None]
    assert fig.layout.barmode == "group"


def test_sliced_metrics_with_only_confusion_matrices_from_patched_kfp():
    k = dsl.SlicedClassificationMetrics()
    k._sliced_metrics = {}  # KFP forgets to initialise it
    k.set_confusion_matrix_categories("a", ["x", "y"])
    k.log_confusion_matrix_row("a", "x", [3, 1])
    fig = sliced_metrics_figure(k.metadata)
    assert [t.name for t in fig.data] == ["Accuracy"]
    assert list(fig.data[0].y) == [0.75]
    cm = sliced_confusion_matrix_figure(k.metadata)
    assert [list(r) for r in cm.data[0].z] == [[3, 1], [0, 0]]


def test_sliced_confusion_matrix_figure_switches_slices():
    fig = sliced_confusion_matrix_figure(forms(sliced_ours())["mlmd"], normalize=True)
    assert_themed(fig)
    assert [t.name for t in fig.data] == ["US", "EU", "APAC"]
    assert [t.visible for t in fig.data] == [True, False, False]
    assert [list(r) for r in fig.data[1].z] == [[0.6, 0.4], [0.4, 0.6]]
    (menu,) = fig.layout.updatemenus
    assert [b.label for b in menu.buttons] == ["US", "EU", "APAC"]
    assert menu.buttons[1].args[0]["visible"] == [False, True, False]
    assert "slice EU" in menu.buttons[1].args[1]["title"]["text"]


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({}, "no slices"),
        ({"evaluationSlices": []}, "empty"),
        ({"evaluationSlices": [{"sliceClassificationMetrics": {}}]}, "must be"),
        ({"evaluationSlices": [{"slice": "a", "sliceClassificationMetrics": {}}]}, "no slice has"),
        (
            {
                "evaluationSlices": [
                    {"slice": "a", "sliceClassificationMetrics": {"confidenceMetrics": [{}]}}
                ]
            },
            "slice 'a': confidenceMetrics",
        ),
    ],
)
def test_sliced_malformed(metadata, message):
    with pytest.raises(MetadataError, match=message):
        sliced_metrics_figure(metadata)


# ------------------------------------------------------------------ run comparison


def runs_metrics():
    a, b = la.Metrics(), dsl.Metrics()
    a.log_metric("accuracy", 0.9)
    a.log_metric("loss", 0.3)
    b.log_metric("accuracy", 0.8)
    b.log_metric("f1", 0.7)
    return {
        "run-1": a.metadata,
        "run-2": la.metadata_to_custom_properties(b.metadata, display_name="m"),
    }


def test_compare_metrics_table():
    fig = compare_metrics_table(runs_metrics())
    assert_themed(fig)
    table = fig.data[0]
    assert list(table.header.values) == ["<b>Metric</b>", "<b>run-1</b>", "<b>run-2</b>"]
    names, run1, run2 = (list(c) for c in table.cells.values)
    assert names == ["accuracy", "loss", "f1"]
    assert run1 == ["0.9", "0.3", "—"]
    assert run2 == ["0.8", "—", "0.7"]


def test_compare_metrics_figure_small_multiples():
    fig = compare_metrics_figure(runs_metrics(), columns=2)
    assert_themed(fig)
    values = {(t.name, t.xaxis): t.y[0] for t in fig.data}
    assert values[("run-1", "x")] == 0.9 and values[("run-2", "x")] == 0.8  # accuracy panel
    assert values[("run-1", "x2")] == 0.3 and values[("run-2", "x2")] is None  # loss panel
    assert values[("run-2", "x3")] == 0.7  # f1 panel
    assert [a.text for a in fig.layout.annotations] == ["accuracy", "loss", "f1"]
    colors = {t.name: t.marker.color for t in fig.data}
    assert colors == {"run-1": theme.COLORWAY[0], "run-2": theme.COLORWAY[1]}
    assert sum(1 for t in fig.data if t.showlegend) == 2
    only = compare_metrics_figure(runs_metrics(), metrics=["f1"])
    assert {t.xaxis for t in only.data} == {"x"}
    with pytest.raises(MetadataError, match="no run has the metrics"):
        compare_metrics_figure(runs_metrics(), metrics=["recall"])


def test_compare_roc_overlays_runs():
    perfect, diagonal = dsl.ClassificationMetrics(), la.ClassificationMetrics()
    perfect.log_roc_curve([0.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 0.5, 0.0])
    diagonal.log_roc_curve([0.0, 1.0], [0.0, 1.0], [1.0, 0.0])
    metrics_only = la.Metrics(metadata={"accuracy": 0.5})
    fig = compare_roc_figure(
        [
            ("run-a", la.metadata_to_custom_properties(perfect.metadata)),
            ("run-b", diagonal),
            ("run-c", metrics_only.metadata),
        ]
    )
    assert_themed(fig)
    assert [t.name for t in fig.data] == [
        "Chance (AUC = 0.5)",
        "run-a (AUC = 1.000)",
        "run-b (AUC = 0.500)",
    ]
    assert list(fig.data[1].x) == [0.0, 0.0, 1.0]
    assert fig.data[1].line.color != fig.data[2].line.color
    assert "No ROC data: run-c" in fig.layout.annotations[0].text
    # an unreadable artifact is noted; the other curves are still drawn
    broken = {"confidenceMetrics": [{"recall": 0.5}]}
    fig = compare_roc_figure(
        [("run-a", la.metadata_to_custom_properties(perfect.metadata)), ("run-x", broken)]
    )
    assert [t.name for t in fig.data] == ["Chance (AUC = 0.5)", "run-a (AUC = 1.000)"]
    assert "Not drawn, run 'run-x'" in fig.layout.annotations[0].text


def test_compare_bad_input():
    with pytest.raises(MetadataError, match="no runs"):
        compare_metrics_table({})
    with pytest.raises(MetadataError, match="none of the runs has ROC data"):
        compare_roc_figure({"a": {"accuracy": 1.0}})
    with pytest.raises(MetadataError, match="run 'a'"):
        compare_roc_figure({"a": {"confidenceMetrics": [{"recall": 0.5}]}})
    with pytest.raises(MetadataError, match="none of the runs has scalar metrics"):
        compare_metrics_table({"a": {"display_name": "x"}})
    with pytest.raises(MetadataError, match="mapping"):
        compare_metrics_table("run-1")


# ------------------------------------------------------------------ a real local KFP run


@pytest.mark.slow
def test_metadata_from_a_real_kfp_local_run(tmp_path, monkeypatch):
    """KFP's own executor writes the metadata (ints become floats through protobuf)."""
    from kfp import local
    from kfp.dsl import ClassificationMetrics, Metrics, Output

    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path))

    @dsl.component(base_image="python:3.11")
    def evaluate(metrics: Output[Metrics], cls: Output[ClassificationMetrics]):
        metrics.log_metric("accuracy", 0.9)
        metrics.log_metric("epochs", 3)
        cls.log_confusion_matrix(["neg", "pos"], [[5, 1], [2, 8]])
        cls.log_roc_curve([0.0, 0.2, 1.0], [0.0, 0.8, 1.0], [1.0, 0.5, 0.0])

    task = evaluate()
    written_cls = task.outputs["cls"].metadata
    written_metrics = task.outputs["metrics"].metadata
    ours = la.ClassificationMetrics()
    ours.log_confusion_matrix(["neg", "pos"], [[5, 1], [2, 8]])
    ours.log_roc_curve([0.0, 0.2, 1.0], [0.0, 0.8, 1.0], [1.0, 0.5, 0.0])
    assert written_cls == ours.metadata  # 5.0 == 5
    assert la.metadata_to_custom_properties(written_cls) == la.metadata_to_custom_properties(
        ours.metadata
    )
    heatmap = confusion_matrix_figure(written_cls).data[0]
    assert [list(r) for r in heatmap.z] == [[5, 1], [2, 8]]
    assert list(heatmap.text[0]) == ["5", "1"]
    assert roc_curve_data(written_cls).auc == pytest.approx(0.8)
    assert list(metrics_table_figure(written_metrics).data[0].cells.values[1]) == ["0.9", "3"]


# ------------------------------------------------------------------ lineage graph


def pipeline_graph():
    return {
        "nodes": [
            {
                "id": "a:raw",
                "kind": "artifact",
                "name": "raw.csv",
                "type": "system.Dataset",
                "state": "LIVE",
            },
            {
                "id": "e:prep",
                "kind": "execution",
                "name": "prepare",
                "type": "system.ContainerExecution",
                "state": "COMPLETE",
            },
            {
                "id": "a:train",
                "kind": "artifact",
                "name": "train",
                "type": "system.Dataset",
                "state": "LIVE",
            },
            {
                "id": "a:test",
                "kind": "artifact",
                "name": "test",
                "type": "system.Dataset",
                "state": "LIVE",
            },
            {
                "id": "a:params",
                "kind": "artifact",
                "name": "params",
                "type": "system.Artifact",
                "state": 2,
            },
            {
                "id": "e:train",
                "kind": "execution",
                "name": "train",
                "type": "system.ContainerExecution",
                "state": 3,
            },
            {
                "id": "a:model",
                "kind": "artifact",
                "name": "<model>",
                "type": "system.Model",
                "state": "LIVE",
                "uri": "s3://b/m",
            },
            {"id": "e:eval", "kind": "execution", "name": "evaluate", "state": "FAILED"},
            {
                "id": "a:metrics",
                "kind": "artifact",
                "name": "metrics",
                "type": "system.Metrics",
                "state": "PENDING",
            },
            {"id": "c:run", "kind": "context", "name": "run-1", "type": "system.PipelineRun"},
        ],
        "edges": [
            {"source": "a:raw", "target": "e:prep", "kind": "input"},
            {"source": "e:prep", "target": "a:train", "kind": "output"},
            {"source": "e:prep", "target": "a:test", "kind": "output"},
            {"source": "a:train", "target": "e:train", "kind": "input"},
            {"source": "a:params", "target": "e:train", "kind": "input"},
            {"source": "e:train", "target": "a:model", "kind": "output"},
            {"source": "a:model", "target": "e:eval", "kind": "input"},
            {"source": "a:test", "target": "e:eval", "kind": "input"},
            {"source": "e:eval", "target": "a:metrics", "kind": "output"},
            {"source": "c:run", "target": "e:train", "kind": "association"},
        ],
    }


def node_positions(fig):
    positions = {}
    for trace in fig.data:
        if trace.customdata is None:
            continue
        for node_id, x, y in zip(trace.customdata, trace.x, trace.y, strict=True):
            positions[node_id] = (x, y)
    return positions


def test_lineage_graph_edges_go_from_lower_to_higher_layers():
    graph = pipeline_graph()
    fig = lineage_graph_figure(graph)
    assert_themed(fig)
    pos = node_positions(fig)
    assert set(pos) == {n["id"] for n in graph["nodes"]}
    for edge in graph["edges"]:
        assert pos[edge["source"]][0] < pos[edge["target"]][0], edge
    assert pos["a:raw"][0] == 0 and pos["a:metrics"][0] == max(x for x, _ in pos.values())
    # a source sits just before its consumer, not at the far left
    assert pos["a:params"][0] == pos["e:train"][0] - 1
    assert len(set(pos.values())) == len(pos)  # no two nodes on one spot


def test_lineage_graph_layout_function_agrees_with_the_figure():
    layout = layered_layout(pipeline_graph())
    fig_pos = node_positions(lineage_graph_figure(pipeline_graph()))
    for node, (x, y) in layout.positions.items():
        assert fig_pos[str(node)] == (x, y)
        assert layout.layer_of(node) == x


def test_lineage_graph_styles_nodes_by_kind_and_state():
    fig = lineage_graph_figure(pipeline_graph())
    nodes = {t.name: t for t in fig.data if t.customdata is not None}
    assert set(nodes) == {
        "Artifact · LIVE",
        "Artifact · PENDING",
        "Execution · COMPLETE",
        "Execution · FAILED",
        "Context",
    }
    assert list(nodes["Artifact · LIVE"].customdata) == [
        "a:raw",
        "a:train",
        "a:test",
        "a:params",
        "a:model",
    ]
    assert nodes["Execution · FAILED"].marker.symbol == "square"
    assert nodes["Execution · FAILED"].marker.line.color == theme.STATE_COLORS["FAILED"]
    assert nodes["Artifact · LIVE"].marker.symbol == "circle"
    assert nodes["Artifact · LIVE"].marker.color == theme.KIND_COLORS["artifact"]
    assert nodes["Context"].marker.symbol == "diamond"
    hover = dict(
        zip(nodes["Artifact · LIVE"].customdata, nodes["Artifact · LIVE"].hovertext, strict=True)
    )
    assert hover["a:model"].startswith("<b>&lt;model&gt;</b>")
    assert "type: system.Model" in hover["a:model"] and "uri: s3://b/m" in hover["a:model"]
    assert "state: LIVE" in hover["a:params"]  # MLMD's enum number 2 for artifacts
    assert list(nodes["Artifact · LIVE"].text)[4] == "&lt;model&gt;"  # labels on small graphs


def test_lineage_graph_edges_have_arrows_and_kinds():
    fig = lineage_graph_figure(pipeline_graph())
    edges = {t.name: t for t in fig.data if t.customdata is None}
    assert set(edges) == {"input edges", "output edges", "association edges"}
    inputs = edges["input edges"]
    assert len(inputs.x) == 4 * 5  # (source, middle, target, gap) per input edge
    assert inputs.marker.symbol == "arrow" and inputs.marker.angleref == "previous"
    assert list(inputs.marker.size[:4]) == [0, 12, 0, 0]
    assert edges["association edges"].line.dash == "dot"


def test_lineage_graph_highlight_and_labels_off():
    fig = lineage_graph_figure(pipeline_graph(), highlight="a:model", show_labels=False)
    selected = fig.data[-1]
    assert selected.name == "Selected"
    assert (selected.x[0], selected.y[0]) == node_positions(fig)["a:model"]
    assert all(t.mode == "markers" for t in fig.data if t.customdata is not None)
    with pytest.raises(MetadataError, match="unknown node"):
        lineage_graph_figure(pipeline_graph(), highlight="nope")


def random_dag(n, seed=1):
    rng = random.Random(seed)
    nodes = [
        {
            "id": i,
            "kind": "artifact" if i % 2 == 0 else "execution",
            "name": f"node {i}",
            "state": rng.choice(["LIVE", "PENDING"])
            if i % 2 == 0
            else rng.choice(["COMPLETE", "FAILED", "CACHED"]),
        }
        for i in range(n)
    ]
    edges = []
    for i in range(1, n):
        for _ in range(2):
            j = rng.randrange(max(0, i - 60), i)
            if j % 2 != i % 2:
                edges.append(
                    {"source": j, "target": i, "kind": "input" if j % 2 == 0 else "output"}
                )
    return {"nodes": nodes, "edges": edges}


def test_lineage_graph_2000_nodes_quickly():
    graph = random_dag(2000)
    start = time.perf_counter()
    fig = lineage_graph_figure(graph)
    elapsed = time.perf_counter() - start
    assert elapsed < 3.0, elapsed
    pos = node_positions(fig)
    assert len(pos) == 2000
    for edge in graph["edges"]:
        assert pos[str(edge["source"])][0] < pos[str(edge["target"])][0]
    assert all(t.mode == "markers" for t in fig.data if t.customdata is not None)  # no labels
    assert len(fig.to_json()) > 0


def test_lineage_graph_with_a_cycle_still_draws():
    graph = {
        "nodes": [{"id": i, "kind": "artifact"} for i in range(4)],
        "edges": [
            {"source": 0, "target": 1},
            {"source": 1, "target": 2},
            {"source": 2, "target": 1},
            {"source": 2, "target": 3},
        ],
    }
    layout = layered_layout(graph)
    assert layout.layer_of(1) == layout.layer_of(2)
    assert layout.layer_of(0) < layout.layer_of(1) < layout.layer_of(3)


@pytest.mark.parametrize(
    ("graph", "message"),
    [
        ({"nodes": [], "edges": []}, "no nodes"),
        ({"edges": []}, "needs 'nodes' and 'edges'"),
        ([], "a dict with 'nodes' and 'edges'"),
        ({"nodes": [{"id": 1, "kind": "thing"}]}, "has kind 'thing'"),
        ({"nodes": [{"kind": "artifact"}]}, "with an 'id'"),
        ({"nodes": [{"id": 1, "kind": "artifact"}] * 2}, "duplicate node id 1"),
        (
            {"nodes": [{"id": 1, "kind": "artifact"}], "edges": [{"source": 1, "target": 2}]},
            "unknown node 2",
        ),
        (
            {"nodes": [{"id": 1, "kind": "artifact"}], "edges": [{"source": 1}]},
            "'source' and 'target'",
        ),
    ],
)
def test_lineage_graph_malformed(graph, message):
    with pytest.raises(MetadataError, match=message):
        lineage_graph_figure(graph)


def test_describe_lineage_graph_from_the_core_model():
    lineage = model.LineageGraph(
        artifacts=[
            model.Artifact(
                id=1, type="system.Dataset", uri="gs://b/d", state=model.ArtifactState.LIVE
            ),
            model.Artifact(
                id=2,
                type="system.Model",
                state=model.ArtifactState.LIVE,
                custom_properties={"display_name": model.Value.of("model")},
            ),
        ],
        executions=[
            model.Execution(
                id=1,
                name="train",
                type="system.ContainerExecution",
                last_known_state=model.ExecutionState.COMPLETE,
            )
        ],
        contexts=[model.Context(id=5, name="run-1", type="system.PipelineRun")],
        events=[
            model.Event(artifact_id=1, execution_id=1, type=model.EventType.INPUT),
            model.Event(artifact_id=2, execution_id=1, type=model.EventType.OUTPUT),
            model.Event(artifact_id=2, execution_id=1, type=model.EventType.DECLARED_OUTPUT),
            model.Event(artifact_id=99, execution_id=1, type=model.EventType.INPUT),  # not in graph
        ],
        attributions=[model.Attribution(context_id=5, artifact_id=2)],
        associations=[model.Association(context_id=5, execution_id=1)],
    )
    described = describe_lineage_graph(lineage)
    names = {n["id"]: n["name"] for n in described["nodes"]}
    assert names == {
        "artifact:1": "artifact 1",
        "artifact:2": "model",
        "execution:1": "train",
        "context:5": "run-1",
    }
    edges = {(e["source"], e["target"], e["kind"]) for e in described["edges"]}
    assert edges == {
        ("artifact:1", "execution:1", "input"),
        ("execution:1", "artifact:2", "output"),
        ("context:5", "artifact:2", "attribution"),
        ("context:5", "execution:1", "association"),
    }
    fig = lineage_graph_figure(described)
    pos = node_positions(fig)
    assert pos["artifact:1"][0] < pos["execution:1"][0] < pos["artifact:2"][0]
    states = {t.name for t in fig.data if t.customdata is not None}
    assert {"Artifact · LIVE", "Execution · COMPLETE", "Context"} <= states


# ------------------------------------------------------------------ documents


def test_html_is_sanitized():
    dirty = (
        '<h2 onclick="steal()">Report</h2><script>alert(1)</script>'
        '<style>body{display:none}</style><iframe src="https://evil"></iframe>'
        '<a href="javascript:alert(1)">bad</a><a href="https://ok.example/x">good</a>'
        '<img src="x" onerror="alert(1)"><img src="data:image/png;base64,iVBORw0KGgo=">'
        '<a href="data:text/html;base64,PHNjcmlwdD4=">data link</a>'
        "<table><tr><td colspan=2>cell</td></tr></table><form><input></form>"
    )
    clean = render_html(dirty)
    lowered = clean.lower()
    for bad in (
        "<script",
        "alert(1)",
        "onclick",
        "onerror",
        "<style",
        "<iframe",
        "javascript:",
        "data:text",
        "<form",
        "<input",
    ):
        assert bad not in lowered, bad
    assert "<h2>Report</h2>" in clean
    assert '<a href="https://ok.example/x" rel="noopener noreferrer">good</a>' in clean
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in clean
    assert '<td colspan="2">cell</td>' in clean


def test_markdown_renders_then_sanitizes():
    md = (
        "# Results\n\n| metric | value |\n|:--|--:|\n| auc | 0.91 |\n\n"
        "Some **bold** and ~~old~~ text.\n\n<script>alert(1)</script>\n\n"
        "[click](javascript:alert(1)) <img src=x onerror=alert(1)>\n\n```python\nx = 1\n```\n"
    )
    html = render_markdown(md.encode())
    assert "<h1>Results</h1>" in html
    assert '<th style="text-align:left">metric</th>' in html
    assert '<td style="text-align:right">0.91</td>' in html
    assert "<strong>bold</strong>" in html and "<s>old</s>" in html
    assert '<code class="language-python">' in html
    assert "<script" not in html and "onerror" not in html
    assert 'href="javascript' not in html


def test_documents_reject_non_text():
    with pytest.raises(TypeError, match="str or bytes"):
        render_html(None)  # type: ignore[arg-type]
    assert render_markdown("") == ""
    assert render_html(b"<p>caf\xc3\xa9</p>") == "<p>café</p>"
